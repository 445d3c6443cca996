"""A subscription with a free trial, from the fake Polar's own events, through
``process_event``: in order, shuffled and duplicated.

The events are what the fake sends (Polar's order, see
``polar_checkouts/testing/fake/trials.py``): a trial checkout (``trialing``, a paid order
of 0), the trial's end (``subscription.cycled`` and the first paid order), then a
cancellation at the period's end and the revocation.
"""

from __future__ import annotations

import functools
import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polar_checkouts.access import has_active_subscription
from polar_checkouts.client import PolarClient
from polar_checkouts.models import (
    CheckoutSession,
    Customer,
    Order,
    Subscription,
    WebhookEvent,
    WebhookOutcome,
)
from polar_checkouts.testing import TOKEN_SUCCEEDED, FakePolar, FakePolarAdapter
from polar_checkouts.webhooks.processing import process_event, record_delivery
from tests.webhook_helpers import SignalLog

pytestmark = pytest.mark.django_db

BUYER = {
    "customer_email": "ada@example.com",
    "customer_name": "Ada",
    "customer_billing_address": {"country": "SE"},
    "confirmation_token_id": TOKEN_SUCCEEDED,
}
#: Each once-only signal of the whole life: the trial's order of 0 and the first paid
#: order are each paid once; the subscription starts once (at the trial's start).
ONCE_SIGNALS = {
    "order_paid": 2,
    "subscription_activated": 1,
    "subscription_canceled": 1,
    "subscription_revoked": 1,
}

Steps = list[tuple[str, list[dict[str, Any]], dict[str, str]]]


def trial_life(external_id: str) -> tuple[Steps, str]:
    """The fake's events of a trial's whole life, step by step, and the product id: each
    step is (name, the events' payloads, the subscription's status after it)."""
    fake = FakePolar()
    try:
        client = PolarClient("t", server="fake", transport=FakePolarAdapter(fake))
        product = fake.add_product(
            "Club", price_amount=1500, recurring_interval="month",
            trial_interval="day", trial_interval_count=7,
        )  # fmt: skip
        steps: Steps = []

        def step(name: str, since: int) -> None:
            (subscription,) = fake.subscriptions.values()
            payloads = [json.loads(event.body) for event in fake.events[since:]]
            steps.append((name, payloads, {"status": subscription["status"]}))

        checkout = client.create({"products": [product["id"]], "external_customer_id": external_id})
        client.client_confirm(checkout["client_secret"], BUYER)
        # The payment settles by the next call, as in Polar a moment after the confirm.
        client.get(checkout["id"])
        step("trial", 0)
        since = len(fake.events)
        fake.advance_time(int(timedelta(days=7).total_seconds()))
        step("trial ends: first paid period", since)
        since = len(fake.events)
        (subscription_id,) = fake.subscriptions
        fake.cancel_subscription(subscription_id)
        step("cancel at the period's end", since)
        since = len(fake.events)
        fake.renew_subscription(subscription_id)
        step("revoked at the period's end", since)
        return steps, product["id"]
    finally:
        fake.close()


@functools.cache
def shared_life() -> tuple[Steps, str]:
    return trial_life("trial-member")


def deliver(payload: dict[str, Any], webhook_id: str) -> None:
    event, _ = record_delivery(webhook_id=webhook_id, payload=payload, headers={})
    processed = process_event(event)
    assert processed.outcome in (WebhookOutcome.PROCESSED, WebhookOutcome.IGNORED), processed.error


def once_counts(log: SignalLog) -> dict[str, int]:
    return {name: len(log[name]) for name in ONCE_SIGNALS}


def test_a_trial_in_polars_order(signal_log, django_user_model):
    user = django_user_model.objects.create_user("trialist")
    steps, product_id = trial_life(str(user.pk))
    # A cancellation at the period's end keeps access until Polar revokes it.
    access = {
        "trial": True,
        "trial ends: first paid period": True,
        "cancel at the period's end": True,
        "revoked at the period's end": False,
    }
    count = 0
    for name, payloads, expected in steps:
        for payload in payloads:
            count += 1
            deliver(payload, f"msg_{count}")
        subscription = Subscription.objects.get()
        assert subscription.status == expected["status"], name
        assert has_active_subscription(user, product_id) is access[name], name
        if name == "trial":
            assert subscription.status == "trialing"
            assert subscription.user_id == user.pk
            assert subscription.payload["trial_end"] == subscription.payload["current_period_end"]
            (activated,) = signal_log["subscription_activated"]
            assert activated["subscription"].status == "trialing"
            (paid,) = signal_log["order_paid"]
            assert (paid["order"].billing_reason, paid["order"].net_amount) == (
                "subscription_create",
                0,
            )

    assert once_counts(signal_log) == ONCE_SIGNALS
    paid = signal_log["order_paid"]
    assert [(c["order"].billing_reason, c["order"].net_amount) for c in paid] == [
        ("subscription_create", 0),
        ("subscription_cycle", 1500),
    ]
    transitions = [
        (c["previous_status"], c["subscription"].status) for c in signal_log["subscription_updated"]
    ]
    assert transitions.count(("trialing", "active")) == 1
    assert transitions[0] == (None, "trialing")
    assert transitions[-1] == ("active", "canceled")
    assert Customer.objects.get().user_id == user.pk
    assert {o.user_id for o in Order.objects.all()} == {user.pk}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), redelivered=st.booleans())
def test_shuffled_and_duplicated_trial_deliveries_end_alike(signal_log, data, redelivered):
    for model in (WebhookEvent, Order, Subscription, Customer, CheckoutSession):
        model.objects.all().delete()
    signal_log.calls.clear()
    steps, product_id = shared_life()
    events = [payload for _, payloads, _ in steps for payload in payloads]
    order = data.draw(st.permutations(range(len(events))))
    duplicates = data.draw(st.lists(st.integers(0, len(events) - 1), max_size=8))
    sequence = [(i, events[i]) for i in order]
    for index in duplicates:
        sequence.insert(index % (len(sequence) + 1), (index, events[index]))
    for n, (i, payload) in enumerate(sequence):
        deliver(payload, f"msg_{i}" if redelivered else f"dup_{n}")

    subscription = Subscription.objects.get()
    assert (subscription.status, subscription.cancel_at_period_end) == ("canceled", True)
    assert str(subscription.product_id) == product_id
    assert sorted((o.billing_reason, o.status, o.net_amount) for o in Order.objects.all()) == [
        ("subscription_create", "paid", 0),
        ("subscription_cycle", "paid", 1500),
    ]
    assert once_counts(signal_log) == ONCE_SIGNALS
