"""The fake's orders and refunds: what a succeeded checkout and each renewal create
(:mod:`.lifecycle` decides when).

Events follow Polar's server (``order/service.py``, ``refund/service.py``): a new order
sends ``order.created``; becoming paid sends ``order.updated`` then ``order.paid`` (an
order born paid sends all three). A refund sends ``refund.created``, then the order's
``order.updated`` (its ``refunded_amount`` and status) and ``order.refunded``.
"""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .. import catalogue
from ..messages import NOT_FOUND, FakeResponse, HTTPError, json_response
from ..validation import (
    Errors,
    list_params,
    query_enum,
    uuid_value,
)
from . import subscriptions
from .customers import customer_for, customer_json, touch
from .filters import by_ids, query_ids
from .pricing import totals
from .serialise import discount_json, page_of, product_json, sort_items
from .state import CheckoutState, JsonDict, isoformat

if TYPE_CHECKING:
    from .core import FakePolar

__all__ = ["create_order", "customer_for", "order_json", "refund_order"]

ORDER_SORTS = (
    "created_at",
    "-created_at",
    "status",
    "-status",
    "invoice_number",
    "-invoice_number",
    "amount",
    "-amount",
    "net_amount",
    "-net_amount",
    "customer",
    "-customer",
    "product",
    "-product",
    "discount",
    "-discount",
    "subscription",
    "-subscription",
)
ORDER_STATUSES = ("draft", "pending", "paid", "refunded", "partially_refunded", "void")
BILLING_TYPES = ("one_time", "recurring")
#: ``GET /v1/orders/``'s id filters: query parameter -> the order's field (:mod:`.filters`).
ORDER_FILTERS = {
    "organization_id": "product.organization_id",
    "product_id": "product_id",
    "discount_id": "discount_id",
    "customer_id": "customer_id",
    "external_customer_id": "customer.external_id",
    "checkout_id": "checkout_id",
    "subscription_id": "subscription_id",
}
REFUND_REASONS = (
    "duplicate",
    "fraudulent",
    "customer_request",
    "service_disruption",
    "satisfaction_guarantee",
    "dispute_prevention",
    "other",
)
#: How long after a failed renewal Polar retries the payment (its first dunning interval).
RETRY_AFTER = timedelta(days=2)
#: Polar's ``OrderProduct``: the product without its prices, benefits and media.
ORDER_PRODUCT_DROPS = ("prices", "benefits", "medias", "attached_custom_fields", "is_deletable")


def create_order(
    fake: FakePolar, checkout: CheckoutState, subscription: JsonDict | None = None
) -> JsonDict:
    """Store the paid order of a succeeded checkout (no events) and return the record."""
    if subscription is not None and subscription["status"] == "trialing":
        return create_trial_order(fake, checkout, subscription)
    amounts = totals(fake, checkout)
    customer = fake.customers[checkout.customer_id or ""]
    net = amounts["net_amount"] or 0
    tax = amounts["tax_amount"] or 0
    order = new_order(
        fake,
        customer_id=customer["id"],
        product_id=checkout.product_id,
        price_id=checkout.price_id,
        subtotal=amounts["amount"] or 0,
        discount=amounts["discount_amount"] or 0,
        tax=tax,
        currency=checkout.currency or "usd",
        billing_reason="subscription_create" if subscription else "purchase",
        discount_id=checkout.discount_id,
        subscription_id=subscription["id"] if subscription else None,
        checkout_id=checkout.id,
        metadata=dict(checkout.metadata),
        custom_field_data=dict(checkout.custom_field_data),
        billing_address=copy.copy(checkout.customer_billing_address),
        paid=True,
        period=(
            (subscription["current_period_start"], subscription["current_period_end"])
            if subscription
            else (None, None)
        ),
    )
    if subscription is not None:
        # Renewals cost what the first period did, less a one-time discount.
        subscription["amount"] = net
        subscription["renewal"] = renewal_amounts(fake, order)
    checkout.order_id = order["id"]
    return order


def create_trial_order(
    fake: FakePolar, checkout: CheckoutState, subscription: JsonDict
) -> JsonDict:
    """The order of a trial checkout, as Polar's ``create_trial_order``: paid, of 0, one
    line "Trial period for <product> (<start> - <end>)", no discount; the subscription
    costs the checkout's amount from the trial's end (see :mod:`.trials`)."""
    customer = fake.customers[checkout.customer_id or ""]
    start, end = subscription["trial_start"], subscription["trial_end"]
    order = new_order(
        fake,
        customer_id=customer["id"],
        product_id=checkout.product_id,
        price_id=checkout.price_id,
        subtotal=0,
        discount=0,
        tax=0,
        currency=checkout.currency or "usd",
        billing_reason="subscription_create",
        discount_id=None,
        subscription_id=subscription["id"],
        checkout_id=checkout.id,
        metadata=dict(checkout.metadata),
        custom_field_data=dict(checkout.custom_field_data),
        billing_address=copy.copy(checkout.customer_billing_address),
        paid=True,
        period=(start, end),
    )
    item = order["items"][0]
    item["label"] = (
        f"Trial period for {fake.products[checkout.product_id]['name']} "
        f"({_us_date(start)} - {_us_date(end)})"
    )
    # OrderItem.from_trial has no price.
    item["product_price_id"] = None
    amounts = totals(fake, checkout)
    subscription["amount"] = amounts["net_amount"] or 0
    # The first paid period has the checkout's discount (Polar applies it from there).
    first = {
        "subtotal": amounts["amount"] or 0,
        "discount": amounts["discount_amount"] or 0,
        "tax": amounts["tax_amount"] or 0,
    }
    subscription["first_renewal"] = first
    subscription["renewal"] = renewal_amounts(
        fake,
        {
            "discount_id": checkout.discount_id,
            "subtotal_amount": first["subtotal"],
            "discount_amount": first["discount"],
            "tax_amount": first["tax"],
        },
    )
    checkout.order_id = order["id"]
    return order


def _us_date(value: str) -> str:
    """A date as Babel's ``format_date(..., locale="en_US")`` writes it: ``Nov 29, 2026``."""
    moment = subscriptions.parse_time(value)
    return f"{moment:%b} {moment.day}, {moment.year}"


def new_order(
    fake: FakePolar,
    *,
    customer_id: str,
    product_id: str,
    price_id: str,
    subtotal: int,
    discount: int,
    tax: int,
    currency: str,
    billing_reason: str,
    discount_id: str | None,
    subscription_id: str | None,
    checkout_id: str | None,
    metadata: dict[str, Any],
    custom_field_data: dict[str, Any],
    billing_address: dict[str, Any] | None,
    paid: bool,
    period: tuple[str | None, str | None] = (None, None),
) -> JsonDict:
    """Store a new order (``paid`` or ``pending``) and return the record; ``period`` is
    the (start, end) a subscription order bills."""
    now = isoformat(fake.now())
    customer = fake.customers[customer_id]
    product = fake.products[product_id]
    net = subtotal - discount
    number = len(fake.orders) + 1
    order: JsonDict = {
        "id": str(uuid.uuid4()),
        "created_at": now,
        "modified_at": None,
        "status": "paid" if paid else "pending",
        "subtotal_amount": subtotal,
        "discount_amount": discount,
        "net_amount": net,
        "tax_amount": tax,
        "total_amount": net + tax,
        "applied_balance_amount": 0,
        "refunded_amount": 0,
        "refunded_tax_amount": 0,
        "currency": currency,
        "billing_reason": billing_reason,
        "billing_name": customer["billing_name"],
        "billing_address": billing_address,
        "invoice_number": f"FAKE-{number:04d}",
        "is_invoice_generated": False,
        "receipt_number": f"FAKE-R-{number:04d}" if paid else None,
        "seats": None,
        # Polar sends it, polar-sdk 1.x requires it; the 2026-10 spec does not list it.
        "units": None,
        "customer_id": customer_id,
        "product_id": product_id,
        "discount_id": discount_id,
        "subscription_id": subscription_id,
        "checkout_id": checkout_id,
        "next_payment_attempt_at": None,
        "metadata": metadata,
        "custom_field_data": custom_field_data,
        "platform_fee_amount": 0,
        "platform_fee_currency": None,
        "description": product["name"],
        # Polar still serialises this deprecated key (hidden from its schema).
        "product_price_id": price_id,
        "items": [
            {
                "created_at": now,
                "modified_at": None,
                "id": str(uuid.uuid4()),
                "label": product["name"],
                "amount": subtotal,
                "tax_amount": tax,
                "proration": False,
                "product_price_id": price_id,
                # Polar sends these (the period billed), polar-sdk 1.x requires them.
                "start_timestamp": period[0],
                "end_timestamp": period[1],
            }
        ],
    }
    fake.orders[order["id"]] = order
    return order


def renewal_amounts(fake: FakePolar, order: JsonDict) -> dict[str, int]:
    """Subtotal, discount and tax of the renewals of a subscription's first order."""
    discount = fake.discounts.get(order["discount_id"] or "")
    subtotal, discount_amount, tax = (
        order["subtotal_amount"],
        order["discount_amount"],
        order["tax_amount"],
    )
    if discount_amount and (discount is None or discount["duration"] == "once"):
        net = subtotal - discount_amount
        # The same tax rate, on the undiscounted amount.
        tax = round(tax * subtotal / net) if net else 0
        discount_amount = 0
    return {"subtotal": subtotal, "discount": discount_amount, "tax": tax}


def order_json(fake: FakePolar, order_id: str) -> JsonDict:
    """Polar's ``Order``: the stored order with its customer, product, discount and
    subscription, and the amounts Polar computes."""
    order = fake.orders[order_id]
    product = product_json(fake, order["product_id"])
    discount = fake.discounts.get(order["discount_id"] or "")
    subscription = fake.subscriptions.get(order["subscription_id"] or "")
    due = 0 if order["status"] != "pending" else order["total_amount"]
    return {
        **copy.deepcopy(order),
        "paid": order["status"] in ("paid", "refunded", "partially_refunded"),
        "due_amount": due,
        "refundable_amount": max(
            0, order["net_amount"] + order["applied_balance_amount"] - order["refunded_amount"]
        ),
        "refundable_tax_amount": max(0, order["tax_amount"] - order["refunded_tax_amount"]),
        # Deprecated keys Polar still serialises (hidden from its schema).
        "amount": order["net_amount"],
        "user_id": order["customer_id"],
        "customer": customer_json(fake, order["customer_id"]),
        "product": {k: v for k, v in product.items() if k not in ORDER_PRODUCT_DROPS},
        "discount": discount_json(fake, discount) if discount else None,
        "subscription": subscriptions.scalar_json(subscription) if subscription else None,
    }


def pay(fake: FakePolar, order: JsonDict) -> None:
    """A pending order is paid: ``order.updated`` and ``order.paid``."""
    order["status"] = "paid"
    order["next_payment_attempt_at"] = None
    order["receipt_number"] = order["receipt_number"] or f"FAKE-R-{len(fake.orders):04d}"
    touch(fake, order)
    fake.emit("order.updated", order_json(fake, order["id"]))
    fake.emit("order.paid", order_json(fake, order["id"]))


def payment_failed(fake: FakePolar, order: JsonDict) -> None:
    """A renewal's payment failed: a retry is scheduled; ``order.updated``."""
    order["next_payment_attempt_at"] = isoformat(fake.now() + RETRY_AFTER)
    touch(fake, order)
    fake.emit("order.updated", order_json(fake, order["id"]))


def refund_order(
    fake: FakePolar,
    order_id: str,
    amount: int | None = None,
    *,
    reason: str = "customer_request",
    comment: str | None = None,
) -> JsonDict:
    """Refund ``amount`` (default: all that is refundable) of a paid order; returns
    Polar's ``Refund``. ``ValueError`` for an order that cannot be refunded so."""
    order = fake.orders.get(order_id)
    if order is None:
        raise KeyError(order_id)
    if order["status"] not in ("paid", "partially_refunded"):
        raise ValueError(f"Order {order_id} is {order['status']}: only a paid order is refunded.")
    if reason not in REFUND_REASONS:
        raise ValueError(f"reason must be one of {', '.join(REFUND_REASONS)}")
    refundable = order["net_amount"] + order["applied_balance_amount"] - order["refunded_amount"]
    if amount is None:
        amount = refundable
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= refundable:
        raise ValueError(f"amount must be a whole number of cents from 1 to {refundable}")
    # Polar: the tax refunded in proportion to the amount (calculate_refunded_tax_from_subtotal).
    tax = round(order["tax_amount"] * amount / order["net_amount"]) if order["net_amount"] else 0
    tax = min(tax, order["tax_amount"] - order["refunded_tax_amount"])
    refund = {
        "created_at": isoformat(fake.now()),
        "modified_at": None,
        "id": str(uuid.uuid4()),
        "metadata": {},
        "status": "succeeded",
        "reason": reason,
        "amount": amount,
        "tax_amount": tax,
        "currency": order["currency"],
        "organization_id": catalogue.ORGANIZATION_ID,
        "order_id": order["id"],
        "subscription_id": order["subscription_id"],
        "customer_id": order["customer_id"],
        "revoke_benefits": False,
        "dispute": None,
    }
    fake.refunds[refund["id"]] = {**refund, "comment": comment}
    fake.emit("refund.created", dict(refund))
    order["refunded_amount"] += amount
    order["refunded_tax_amount"] += tax
    order["status"] = (
        "refunded"
        if order["refunded_amount"] >= order["net_amount"] + order["applied_balance_amount"]
        else "partially_refunded"
    )
    touch(fake, order)
    fake.emit("order.updated", order_json(fake, order["id"]))
    fake.emit("order.refunded", order_json(fake, order["id"]))
    return refund


# -- routes ----------------------------------------------------------------------------


def list_orders(
    fake: FakePolar, headers: Any, params: dict[str, list[str]], body: bytes
) -> FakeResponse:
    """``GET /v1/orders/``: Polar's filters, sorting and pages."""
    errors = Errors()
    # Polar reads ``product_billing_type`` after ``product_id``: its errors come between.
    wanted = query_ids(errors, params, ("organization_id", "product_id"))
    billing_types = query_enum(errors, params, "product_billing_type", BILLING_TYPES)
    wanted |= query_ids(errors, params, [name for name in ORDER_FILTERS if name not in wanted])
    statuses = query_enum(errors, params, "status", ORDER_STATUSES)
    listing = list_params(errors, params, ORDER_SORTS, "-created_at")
    errors.raise_if_any()
    items = by_ids(fake, list(fake.orders.values()), ORDER_FILTERS, wanted)
    if billing_types:
        items = [
            o
            for o in items
            if ("recurring" if fake.products[o["product_id"]]["is_recurring"] else "one_time")
            in billing_types
        ]
    if statuses:
        items = [o for o in items if o["status"] in statuses]

    def sort_value(order: JsonDict, name: str) -> Any:
        if name == "amount":
            return order["net_amount"]
        if name in ("customer", "product", "discount", "subscription"):
            return order[f"{name}_id"] or ""
        return order[name] or ""

    sort_items(items, listing.sorting, sort_value)
    page = page_of([order_json(fake, o["id"]) for o in items], listing.page, listing.limit)
    return json_response(200, page)


def get_order(fake: FakePolar, order_id: str) -> FakeResponse:
    """``GET /v1/orders/{id}``."""
    errors = Errors()
    value = uuid_value(errors, ("path", "id"), order_id)
    errors.raise_if_any()
    if value not in fake.orders:
        raise HTTPError(404, NOT_FOUND)
    return json_response(200, order_json(fake, value or ""))
