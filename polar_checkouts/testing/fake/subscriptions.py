"""The fake's subscriptions: the stored record, Polar's JSON shapes and the list/get routes.

What happens to a subscription over time (renewals, failures, cancellations) is
:mod:`.lifecycle`.
"""

from __future__ import annotations

import copy
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..messages import NOT_FOUND, FakeResponse, HTTPError, json_response
from ..validation import (
    Errors,
    list_params,
    query_bool,
    query_enum,
    uuid_value,
)
from .customers import customer_json
from .filters import by_ids, query_ids
from .serialise import discount_json, page_of, price_json, product_json, sort_items
from .state import CheckoutState, JsonDict, isoformat, next_period

if TYPE_CHECKING:
    from .core import FakePolar

STATUSES = (
    "incomplete",
    "incomplete_expired",
    "trialing",
    "active",
    "past_due",
    "canceled",
    "unpaid",
    "paused",
)
#: Polar's "active" filter and access: these statuses.
ACTIVE = ("active", "trialing")
SUBSCRIPTION_SORTS = (
    "customer",
    "-customer",
    "status",
    "-status",
    "started_at",
    "-started_at",
    "current_period_end",
    "-current_period_end",
    "ended_at",
    "-ended_at",
    "ends_at",
    "-ends_at",
    "amount",
    "-amount",
    "product",
    "-product",
    "discount",
    "-discount",
)
#: ``GET /v1/subscriptions/``'s id filters: query parameter -> the subscription's field
#: (:mod:`.filters`).
SUBSCRIPTION_FILTERS = {
    "organization_id": "product.organization_id",
    "product_id": "product_id",
    "customer_id": "customer_id",
    "external_customer_id": "customer.external_id",
    "discount_id": "discount_id",
}
CANCELLATION_REASONS = (
    "customer_service",
    "low_quality",
    "missing_features",
    "switched_service",
    "too_complex",
    "too_expensive",
    "unused",
    "other",
)
#: Keys of ``OrderSubscription`` (the subscription inside an order), in Polar's order.
SCALAR_KEYS = (
    "metadata",
    "created_at",
    "modified_at",
    "id",
    "amount",
    "currency",
    "recurring_interval",
    "recurring_interval_count",
    "status",
    "current_period_start",
    "current_period_end",
    "current_meter_period_start",
    "current_meter_period_end",
    "trial_start",
    "trial_end",
    "cancel_at_period_end",
    "canceled_at",
    "started_at",
    "ends_at",
    "ended_at",
    "past_due_at",
    "pause_at_period_end",
    "paused_at",
    "resumes_at",
    "customer_id",
    "product_id",
    "discount_id",
    "checkout_id",
    "seats",
    # Polar sends it, polar-sdk 1.x requires it; the 2026-10 spec does not list it.
    "units",
    "customer_cancellation_reason",
    "customer_cancellation_comment",
    # Deprecated keys Polar still serialises (hidden from its schema).
    "price_id",
    "user_id",
)


def parse_time(value: str) -> datetime:
    """A datetime the fake wrote with :func:`~.state.isoformat`."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def create_from_checkout(fake: FakePolar, checkout: CheckoutState) -> JsonDict:
    """Store the subscription of a succeeded checkout for a recurring price (no events)."""
    price = fake.prices[checkout.price_id]
    product = fake.products[checkout.product_id]
    interval = product.get("recurring_interval") or price["recurring_interval"]
    now = fake.now()
    started = isoformat(now)
    trial_end = isoformat(checkout.trial_end) if checkout.trial_end else None
    # tests/polar_objects.py builds the same shape again on purpose: its own copy, made from
    # the spec's smallest payload, checks the fake independently (one shared builder would
    # let a mistake in it pass both). Keep them apart; change both when Polar changes.
    subscription: JsonDict = {
        "metadata": dict(checkout.metadata),
        "created_at": started,
        "modified_at": None,
        "id": str(uuid.uuid4()),
        "amount": 0,
        "currency": checkout.currency or "usd",
        "recurring_interval": interval,
        "recurring_interval_count": product.get("recurring_interval_count") or 1,
        # A trial (see .trials): trialing, and the current period is the trial.
        "status": "trialing" if trial_end else "active",
        "current_period_start": started,
        "current_period_end": trial_end or isoformat(next_period(now, interval)),
        "current_meter_period_start": None,
        "current_meter_period_end": None,
        "trial_start": started if trial_end else None,
        "trial_end": trial_end,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "started_at": started,
        "ends_at": None,
        "ended_at": None,
        "past_due_at": None,
        "pause_at_period_end": False,
        "paused_at": None,
        "resumes_at": None,
        "customer_id": checkout.customer_id,
        "product_id": checkout.product_id,
        "discount_id": checkout.discount_id,
        "checkout_id": checkout.id,
        "seats": None,
        "units": None,
        "customer_cancellation_reason": None,
        "customer_cancellation_comment": None,
        "price_id": checkout.price_id,
        "user_id": checkout.customer_id,
        "custom_field_data": dict(checkout.custom_field_data),
        # The fake's own: what each renewal costs (set with the first order).
        "renewal": {"subtotal": 0, "discount": 0, "tax": 0},
    }
    fake.subscriptions[subscription["id"]] = subscription
    checkout.subscription_id = subscription["id"]
    return subscription


def scalar_json(subscription: JsonDict) -> JsonDict:
    """Polar's ``OrderSubscription``: the subscription's own fields, nothing nested."""
    return {key: copy.deepcopy(subscription[key]) for key in SCALAR_KEYS}


def subscription_json(fake: FakePolar, subscription_id: str) -> JsonDict:
    """Polar's ``Subscription``, with its customer, product, discount and prices."""
    subscription = fake.subscriptions[subscription_id]
    discount = fake.discounts.get(subscription["discount_id"] or "")
    return {
        **scalar_json(subscription),
        "custom_field_data": dict(subscription["custom_field_data"]),
        "customer": customer_json(fake, subscription["customer_id"]),
        "product": product_json(fake, subscription["product_id"]),
        "discount": discount_json(fake, discount) if discount else None,
        "prices": [price_json(fake, subscription["price_id"])],
        "meters": [],
        "pending_update": None,
    }


# -- routes ----------------------------------------------------------------------------


def list_subscriptions(
    fake: FakePolar, headers: Any, params: dict[str, list[str]], body: bytes
) -> FakeResponse:
    """``GET /v1/subscriptions/``: Polar's filters, sorting and pages."""
    errors = Errors()
    wanted = query_ids(errors, params, SUBSCRIPTION_FILTERS)
    active = query_bool(errors, params, "active")
    statuses = query_enum(errors, params, "status", STATUSES)
    cancel_at_period_end = query_bool(errors, params, "cancel_at_period_end")
    reasons = query_enum(errors, params, "customer_cancellation_reason", CANCELLATION_REASONS)
    listing = list_params(errors, params, SUBSCRIPTION_SORTS, "-started_at")
    errors.raise_if_any()
    items = by_ids(fake, list(fake.subscriptions.values()), SUBSCRIPTION_FILTERS, wanted)
    if active is not None:
        items = [s for s in items if (s["status"] in ACTIVE) == active]
    if statuses:
        items = [s for s in items if s["status"] in statuses]
    if cancel_at_period_end is not None:
        items = [s for s in items if s["cancel_at_period_end"] == cancel_at_period_end]
    if reasons:
        items = [s for s in items if s["customer_cancellation_reason"] in reasons]

    def sort_value(subscription: JsonDict, name: str) -> Any:
        if name in ("customer", "product", "discount"):
            return subscription[f"{name}_id"] or ""
        value = subscription[name]
        return "" if value is None else value

    sort_items(items, listing.sorting, sort_value)
    page = page_of([subscription_json(fake, s["id"]) for s in items], listing.page, listing.limit)
    return json_response(200, page)


def get_subscription(fake: FakePolar, subscription_id: str) -> FakeResponse:
    """``GET /v1/subscriptions/{id}``."""
    errors = Errors()
    value = uuid_value(errors, ("path", "id"), subscription_id)
    errors.raise_if_any()
    if value not in fake.subscriptions:
        raise HTTPError(404, NOT_FOUND)
    return json_response(200, subscription_json(fake, value or ""))
