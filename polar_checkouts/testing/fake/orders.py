"""What a succeeded payment creates in the fake: the customer, the order, a subscription."""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from .pricing import totals
from .serialise import discount_json, price_json, product_json
from .state import CheckoutState, JsonDict, isoformat

if TYPE_CHECKING:
    from .core import FakePolar


def customer_for(fake: FakePolar, work: CheckoutState) -> JsonDict:
    """The fake customer of the checkout's e-mail address, created on first use."""
    email = (work.customer_email or "").lower()
    customer = fake.customers.get(email)
    if customer is None:
        customer = {
            "id": str(uuid.uuid4()),
            "stripe_id": "cus_fake" + uuid.uuid4().hex[:14],
            "created_at": isoformat(fake.now()),
            "email": work.customer_email,
        }
        fake.customers[email] = customer
    customer["name"] = work.customer_name
    customer["billing_address"] = work.customer_billing_address
    return customer


def create_order(fake: FakePolar, checkout: CheckoutState) -> JsonDict:
    """The order (and subscription, for a recurring price) of a succeeded checkout."""
    amounts = totals(fake, checkout)
    price = price_json(fake, checkout.price_id)
    product = product_json(fake, checkout.product_id)
    customer = next(c for c in fake.customers.values() if c["id"] == checkout.customer_id)
    now = isoformat(fake.now())
    subscription = None
    if price["type"] == "recurring":
        subscription = {
            "metadata": dict(checkout.metadata),
            "created_at": now,
            "modified_at": None,
            "id": str(uuid.uuid4()),
            "amount": amounts["net_amount"],
            "currency": checkout.currency,
            "recurring_interval": price["recurring_interval"],
            "status": "active",
            "current_period_start": now,
            "current_period_end": isoformat(fake.now() + timedelta(days=30)),
            "cancel_at_period_end": False,
            "started_at": now,
            "ended_at": None,
            "customer_id": customer["id"],
            "product_id": checkout.product_id,
            "price_id": checkout.price_id,
            "discount_id": checkout.discount_id,
            "checkout_id": checkout.id,
            "canceled_at": None,
            "ends_at": None,
            "customer_cancellation_reason": None,
            "customer_cancellation_comment": None,
            "user_id": customer["id"],
            # Keys today's Polar (2026-04 and later) sends and polar-sdk 1.x requires.
            "recurring_interval_count": 1,
            "current_meter_period_start": None,
            "current_meter_period_end": None,
            "trial_start": None,
            "trial_end": None,
            "pause_at_period_end": False,
            "paused_at": None,
            "resumes_at": None,
            "units": None,
        }
        fake.subscriptions[subscription["id"]] = subscription
        checkout.subscription_id = subscription["id"]
    discount = fake.discounts.get(checkout.discount_id or "")
    order = {
        "created_at": now,
        "modified_at": None,
        "id": str(uuid.uuid4()),
        "status": "paid",
        "paid": True,
        "metadata": dict(checkout.metadata),
        "custom_field_data": dict(checkout.custom_field_data),
        "amount": amounts["net_amount"] or 0,
        "subtotal_amount": amounts["amount"] or 0,
        "discount_amount": amounts["discount_amount"],
        "net_amount": amounts["net_amount"] or 0,
        "tax_amount": amounts["tax_amount"] or 0,
        "total_amount": amounts["total_amount"] or 0,
        "refunded_amount": 0,
        "refunded_tax_amount": 0,
        "currency": checkout.currency or "usd",
        "billing_reason": "subscription_create" if subscription else "purchase",
        "billing_address": copy.copy(checkout.customer_billing_address),
        "customer_id": customer["id"],
        "product_id": checkout.product_id,
        "product_price_id": checkout.price_id,
        "discount_id": checkout.discount_id,
        "subscription_id": subscription["id"] if subscription else None,
        "checkout_id": checkout.id,
        "customer": {
            "created_at": customer["created_at"],
            "modified_at": None,
            "id": customer["id"],
            "metadata": {},
            "email": customer["email"],
            "email_verified": False,
            "name": customer["name"],
            "billing_address": copy.copy(customer["billing_address"]),
            "tax_id": None,
            "organization_id": product["organization_id"],
            "avatar_url": "https://www.gravatar.com/avatar/00000000000000000000000000000000",
            "external_id": None,
            "type": "individual",
            "billing_name": customer["name"],
            "deleted_at": None,
            "first_user_event_at": None,
        },
        "user_id": customer["id"],
        "user": {
            "id": customer["id"],
            "email": customer["email"],
            "public_name": (customer["name"] or customer["email"] or "?")[:1],
        },
        "product": {
            k: v
            for k, v in product.items()
            if k not in ("prices", "benefits", "medias", "attached_custom_fields", "is_deletable")
        },
        "product_price": price,
        "discount": discount_json(fake, discount) if discount else None,
        "subscription": subscription,
        # Keys today's Polar (2026-04 and later) sends and polar-sdk 1.x requires.
        "applied_balance_amount": 0,
        "due_amount": 0,
        "billing_name": customer["name"],
        "invoice_number": None,
        "is_invoice_generated": False,
        "receipt_number": None,
        "units": None,
        "platform_fee_amount": 0,
        "platform_fee_currency": None,
        "description": product["name"],
        "items": [
            {
                "created_at": now,
                "modified_at": None,
                "id": str(uuid.uuid4()),
                "label": product["name"],
                "amount": amounts["net_amount"] or 0,
                "tax_amount": amounts["tax_amount"] or 0,
                "proration": False,
                "product_price_id": checkout.price_id,
                "start_timestamp": None,
                "end_timestamp": None,
            }
        ],
        "refundable_amount": amounts["net_amount"] or 0,
        "refundable_tax_amount": amounts["tax_amount"] or 0,
    }
    fake.orders[order["id"]] = order
    checkout.order_id = order["id"]
    return order
