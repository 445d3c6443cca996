"""A subscription's whole life through ``process_event``: in order, shuffled, duplicated.

Whatever order Polar's deliveries arrive in (and however often), the cache ends in the
same state and each once-only signal is sent once; ``has_active_subscription`` follows
the membership step by step when the events arrive in order.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polar_checkouts.access import has_active_subscription, has_purchased
from polar_checkouts.models import Customer, Order, Subscription, WebhookEvent, WebhookOutcome
from polar_checkouts.webhooks.processing import process_event, record_delivery
from tests.polar_objects import PRODUCT_ID, at
from tests.webhook_helpers import SignalLog
from tests.webhooks.lifecycle import ONCE_SIGNALS, Membership

pytestmark = pytest.mark.django_db

_counter = itertools.count()


def deliver(event_type: str, data: dict[str, Any], webhook_id: str | None = None) -> WebhookEvent:
    """Record and process one delivery as the endpoint's task would."""
    event, _ = record_delivery(
        webhook_id=webhook_id or f"msg_{next(_counter)}",
        payload={"type": event_type, "timestamp": at(10), "data": data},
        headers={},
    )
    processed = process_event(event)
    assert processed.outcome == WebhookOutcome.PROCESSED, processed.error
    return processed


def end_state(member: Membership) -> dict[str, Any]:
    sub = Subscription.objects.get(pk=member.subscription_id)
    orders = {str(o.pk): (o.status, o.refunded_amount) for o in Order.objects.all()}
    return {
        "subscription": (sub.status, sub.cancel_at_period_end, sub.canceled_at, sub.ended_at),
        "orders": [orders[order_id] for order_id in member.order_ids],
        "order_links": sorted(
            (str(o.subscription_id), str(o.customer_id), o.user_id) for o in Order.objects.all()
        ),
        "subscription_user": sub.user_id,
        "customer": Customer.objects.get().user_id,
    }


def once_counts(log: SignalLog) -> dict[str, int]:
    return {name: len(log[name]) for name in ONCE_SIGNALS}


def test_a_membership_in_polars_order(signal_log, django_user_model):
    user = django_user_model.objects.create_user("member")
    member = Membership(external_id=str(user.pk))

    for step in member.steps:
        for event_type, data in step.events:
            deliver(event_type, data)
        assert has_active_subscription(user, PRODUCT_ID) is step.access, step.name

    assert once_counts(signal_log) == ONCE_SIGNALS
    state = end_state(member)
    assert state["subscription"][0] == "canceled"
    assert state["orders"] == [("refunded", 900), ("paid", 0), ("paid", 0)]
    assert {row[2] for row in state["order_links"]} == {user.pk}
    assert state["subscription_user"] == state["customer"] == user.pk
    # Refunded, so the first order no longer counts as a purchase; the renewals do.
    assert has_purchased(user, PRODUCT_ID)

    # What each signal carried.
    paid = signal_log["order_paid"]
    assert [str(c["order"].pk) for c in paid] == member.order_ids
    assert all(
        c["sender"] is Order and c["event"].type in ("order.created", "order.updated") for c in paid
    )
    assert [c["order"].billing_reason for c in paid] == [
        "subscription_create",
        "subscription_cycle",
        "subscription_cycle",
    ]
    (refund,) = signal_log["order_refunded"]
    assert (refund["refunded_amount"], refund["previous_refunded_amount"]) == (900, 0)
    updates = [
        (c["previous_status"], c["subscription"].status) for c in signal_log["subscription_updated"]
    ]
    assert updates == [
        (None, "active"),
        ("active", "active"),  # renewed
        ("active", "past_due"),
        ("past_due", "active"),  # recovered
        ("active", "active"),  # cancellation scheduled
        ("active", "canceled"),  # revoked
    ]
    (canceled,) = signal_log["subscription_canceled"]
    assert canceled["subscription"].status == "active"  # scheduled, not yet revoked
    (revoked,) = signal_log["subscription_revoked"]
    assert revoked["subscription"].status == "canceled"


def test_uncancel_then_cancel_again_sends_subscription_canceled_twice(signal_log):
    member = Membership(external_id="nobody")
    deliver("subscription.active", member.sub("active", 1))
    cancel = {"cancel_at_period_end": True, "canceled_at": at(2)}
    deliver("subscription.canceled", member.sub("active", 2, **cancel))
    deliver("subscription.uncanceled", member.sub("active", 3))
    deliver(
        "subscription.canceled",
        member.sub("active", 4, cancel_at_period_end=True, canceled_at=at(4)),
    )
    assert len(signal_log["subscription_canceled"]) == 2
    assert len(signal_log["subscription_activated"]) == 1


def test_an_immediate_revocation_sends_canceled_then_revoked(signal_log):
    member = Membership(external_id="nobody")
    deliver("subscription.active", member.sub("active", 1))
    gone = member.sub("canceled", 2, canceled_at=at(2), ended_at=at(2))
    for event_type in ("subscription.updated", "subscription.canceled", "subscription.revoked"):
        deliver(event_type, gone)
    names = [
        name for name in ("subscription_canceled", "subscription_revoked") for _ in signal_log[name]
    ]
    assert names == ["subscription_canceled", "subscription_revoked"]


def test_partial_refunds_send_order_refunded_per_increase(signal_log):
    member = Membership(external_id="nobody")
    deliver("order.paid", member.order(0, "paid", modified=1))
    deliver("order.updated", member.order(0, "partially_refunded", modified=2, refunded_amount=300))
    deliver(
        "order.refunded", member.order(0, "partially_refunded", modified=2, refunded_amount=300)
    )
    deliver("order.refunded", member.order(0, "refunded", modified=3, refunded_amount=900))
    amounts = [
        (c["previous_refunded_amount"], c["refunded_amount"]) for c in signal_log["order_refunded"]
    ]
    assert amounts == [(0, 300), (300, 900)]
    assert len(signal_log["order_paid"]) == 1


def test_a_receiver_that_raises_rolls_back_and_the_retry_sends_again(signal_log):
    from polar_checkouts import signals
    from tests.webhook_helpers import connected

    member = Membership(external_id="nobody")
    calls = []

    def flaky(sender, order, **kwargs):
        calls.append(order.pk)
        if len(calls) == 1:
            raise RuntimeError("mail server down")

    with connected(signals.order_paid, flaky):
        event = deliver_failing("order.paid", member.order(0, "paid", modified=1))
        assert event.outcome == WebhookOutcome.FAILED
        assert Order.objects.filter(pk=member.order_ids[0]).exists() is False
        assert process_event(event).outcome == WebhookOutcome.PROCESSED
    assert len(calls) == 2
    assert Order.objects.get().paid_notified_at is not None


def deliver_failing(event_type: str, data: dict[str, Any]) -> WebhookEvent:
    event, _ = record_delivery(
        webhook_id=f"msg_{next(_counter)}",
        payload={"type": event_type, "timestamp": at(10), "data": data},
        headers={},
    )
    return process_event(event)


# -- any order, any duplicates -------------------------------------------------------------------

_MEMBER_EXTERNAL_ID = "lifecycle-member"
_EVENTS = Membership(external_id=_MEMBER_EXTERNAL_ID)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    order=st.permutations(range(len(_EVENTS.events()))),
    duplicates=st.lists(st.integers(0, len(_EVENTS.events()) - 1), max_size=8),
    redelivered=st.booleans(),
)
def test_shuffled_and_duplicated_deliveries_end_alike(signal_log, order, duplicates, redelivered):
    for model in (WebhookEvent, Order, Subscription, Customer):
        model.objects.all().delete()
    signal_log.calls.clear()
    events = _EVENTS.events()
    sequence = [(i, events[i]) for i in order]
    # A duplicate is either Polar's retry of the same delivery (same webhook-id) or the
    # same data in another event (order.updated and order.paid carry one order).
    for index in duplicates:
        sequence.insert(index % (len(sequence) + 1), (index, events[index]))
    for i, (event_type, data) in sequence:
        deliver(event_type, data, webhook_id=f"msg_{i}" if redelivered else None)

    state = end_state(_EVENTS)
    assert state["subscription"][0] == "canceled"
    assert state["orders"] == [("refunded", 900), ("paid", 0), ("paid", 0)]
    assert once_counts(signal_log) == ONCE_SIGNALS
    assert not has_active_subscription(None)


# -- customers ---------------------------------------------------------------------------------


def test_customer_events_keep_the_customer_and_its_user(django_user_model):
    from tests.polar_objects import customer_payload

    user = django_user_model.objects.create_user("ada")
    customer = customer_payload(external_id=str(user.pk))
    deliver("customer.created", customer)
    renamed = {**customer, "name": "Ada Lovelace", "modified_at": at(2)}
    state = {**renamed, "active_subscriptions": [], "granted_benefits": [], "active_meters": []}
    deliver("customer.state_changed", state)
    deliver("customer.updated", renamed)
    stored = Customer.objects.get()
    assert (stored.user, stored.name) == (user, "Ada Lovelace")
    assert "active_subscriptions" not in stored.payload

    deliver("customer.deleted", {**renamed, "modified_at": at(3)})
    stored.refresh_from_db()
    assert stored.is_deleted
    # A stale update arriving after the deletion does not bring the customer back.
    deliver("customer.updated", {**renamed, "name": "Old", "modified_at": at(1)})
    stored.refresh_from_db()
    assert stored.is_deleted
    assert stored.name == "Ada Lovelace"


def test_an_event_without_an_object_fails_with_a_clear_error():
    event, _ = record_delivery(
        webhook_id="msg_broken",
        payload={"type": "subscription.updated", "timestamp": at(0), "data": {"id": "nope"}},
        headers={},
    )
    processed = process_event(event)
    assert processed.outcome == WebhookOutcome.FAILED
    assert "needs a UUID 'id'" in processed.error
    assert not Subscription.objects.exists()
