"""Customers, orders and subscriptions shaped exactly as Polar's 2026-10 spec says.

Each factory starts from the smallest payload the spec allows for the object's webhook
(``tests.webhooks.spec_events.minimal_payload``, built from tests/data's copy of the
spec) and sets what a real object of that state carries; ``tests/payload`` checks every
factory's output against the spec, so they cannot drift from it.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from functools import cache
from typing import Any

from tests.webhooks.spec_events import minimal_payload

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.timezone.utc)
PRODUCT_ID = "4d6e2b1a-6f0c-4c3e-9a51-0c1d2e3f4a5b"
OTHER_PRODUCT_ID = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def iso(when: dt.datetime | None) -> str | None:
    """Polar's date-time text."""
    return None if when is None else when.isoformat().replace("+00:00", "Z")


def at(minutes: float) -> str:
    """``T0`` plus ``minutes``, as Polar's text."""
    text = iso(T0 + dt.timedelta(minutes=minutes))
    assert text is not None
    return text


@cache
def _base(event_type: str) -> dict[str, Any]:
    return minimal_payload(event_type)["data"]


def customer_payload(
    customer_id: str | None = None, *, external_id: str | None = None, **overrides: Any
) -> dict[str, Any]:
    """A ``Customer`` (individual) with ``external_id``."""
    data = copy.deepcopy(_base("customer.created"))
    data.update(
        id=customer_id or str(uuid.uuid4()),
        external_id=external_id,
        email="buyer@example.com",
        name="Ada Buyer",
        created_at=at(0),
        modified_at=None,
    )
    data.update(overrides)
    return data


def embedded_customer(customer: dict[str, Any]) -> dict[str, Any]:
    """The customer as an order or subscription embeds it (``OrderCustomer``)."""
    return {key: value for key, value in customer.items() if key != "type"} | {"type": "individual"}


def subscription_payload(
    subscription_id: str,
    customer: dict[str, Any],
    *,
    status: str = "active",
    modified: float | None = None,
    product_id: str = PRODUCT_ID,
    checkout_id: str | None = None,
    period: int = 0,
    cancel_at_period_end: bool = False,
    canceled_at: str | None = None,
    ended_at: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A monthly ``Subscription`` in ``status``; ``period`` counts renewals (30 days each)."""
    # The fake Polar builds the same shape (testing/fake/subscriptions.py,
    # create_from_checkout) on purpose apart from this one: the tests' copy, made from the
    # spec's smallest payload, checks the fake independently. Do not share a builder.
    data = copy.deepcopy(_base("subscription.created"))
    start = T0 + dt.timedelta(days=30 * period)
    end = start + dt.timedelta(days=30)
    data.update(
        id=subscription_id,
        created_at=at(0),
        modified_at=None if modified is None else at(modified),
        amount=900,
        currency="usd",
        recurring_interval="month",
        recurring_interval_count=1,
        status=status,
        current_period_start=iso(start),
        current_period_end=iso(end),
        cancel_at_period_end=cancel_at_period_end,
        canceled_at=canceled_at,
        started_at=None if status == "incomplete" else at(0),
        ends_at=iso(end) if cancel_at_period_end else ended_at,
        ended_at=ended_at,
        customer_id=customer["id"],
        product_id=product_id,
        checkout_id=checkout_id,
        customer=embedded_customer(customer),
    )
    data["product"] = {**data["product"], "id": product_id, "name": "Monthly membership"}
    data.update(overrides)
    return data


def order_payload(
    order_id: str,
    customer: dict[str, Any],
    *,
    status: str = "paid",
    modified: float | None = None,
    created: float = 0,
    product_id: str = PRODUCT_ID,
    billing_reason: str = "purchase",
    subscription: dict[str, Any] | None = None,
    checkout_id: str | None = None,
    refunded_amount: int = 0,
    **overrides: Any,
) -> dict[str, Any]:
    """An ``Order`` of 9.00 USD in ``status``, embedding ``subscription`` when given."""
    data = copy.deepcopy(_base("order.created"))
    data.update(
        id=order_id,
        created_at=at(created),
        modified_at=None if modified is None else at(modified),
        status=status,
        paid=status in ("paid", "partially_refunded", "refunded"),
        subtotal_amount=900,
        discount_amount=0,
        net_amount=900,
        tax_amount=0,
        total_amount=900,
        due_amount=0,
        refunded_amount=refunded_amount,
        refunded_tax_amount=0,
        currency="usd",
        billing_reason=billing_reason,
        customer_id=customer["id"],
        product_id=product_id,
        subscription_id=subscription["id"] if subscription else None,
        checkout_id=checkout_id,
        customer=embedded_customer(customer),
        subscription=(
            {k: v for k, v in subscription.items() if k in _ORDER_SUBSCRIPTION_KEYS}
            if subscription
            else None
        ),
    )
    if data.get("product"):
        data["product"] = {**data["product"], "id": product_id, "name": "Monthly membership"}
    data.update(overrides)
    return data


#: The keys of ``OrderSubscription`` (the subscription an order embeds).
_ORDER_SUBSCRIPTION_KEYS = frozenset(
    {
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
        "customer_cancellation_reason",
        "customer_cancellation_comment",
    }
)
