"""The pure rules of customers, orders and subscriptions (no database)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polar_checkouts.exceptions import InvalidPayloadError
from polar_checkouts.payload import customers, orders, subscriptions
from polar_checkouts.payload.checkouts import incoming_wins
from tests.polar_objects import (
    PRODUCT_ID,
    at,
    customer_payload,
    order_payload,
    subscription_payload,
)
from tests.webhooks.spec_events import schema_errors

SUB_ID = "5b3c0f0e-1111-4a6b-8c7d-9e0f1a2b3c4d"
ORDER_ID = "6b3c0f0e-2222-4a6b-8c7d-9e0f1a2b3c4d"


def _event(event_type, data):
    return {"type": event_type, "timestamp": at(0), "data": data}


def test_the_test_factories_are_valid_polar_2026_10_objects():
    customer = customer_payload(external_id="42")
    sub = subscription_payload(SUB_ID, customer, cancel_at_period_end=True, canceled_at=at(1))
    order = order_payload(ORDER_ID, customer, subscription=sub, status="partially_refunded")
    assert schema_errors("customer.updated", _event("customer.updated", customer)) == []
    assert schema_errors("subscription.canceled", _event("subscription.canceled", sub)) == []
    assert schema_errors("order.refunded", _event("order.refunded", order)) == []


# -- parsing -------------------------------------------------------------------------------


def test_customer_fields_promote_external_id_email_and_deletion():
    payload = customer_payload(external_id="42", deleted_at=at(5), modified_at=at(5))
    fields = customers.customer_fields(payload)
    assert fields["external_id"] == "42"
    assert fields["email"] == "buyer@example.com"
    assert fields["deleted_at"] == dt.datetime(2026, 11, 1, 12, 5, tzinfo=dt.timezone.utc)
    assert fields["payload"] == payload


def test_customer_state_keeps_only_the_customer():
    state = {**customer_payload(), "active_subscriptions": [], "granted_benefits": []}
    assert "active_subscriptions" not in customers.customer_part(state)


def test_external_id_of_an_order_is_its_customers():
    customer = customer_payload(external_id="7")
    assert customers.external_id_of(order_payload(ORDER_ID, customer)) == "7"
    guest = customer_payload(external_id=None)
    assert customers.external_id_of(order_payload(ORDER_ID, guest)) is None
    assert customers.external_id_of({"id": ORDER_ID, "customer": "junk"}) is None


def test_order_fields_promote_amounts_links_and_status():
    customer = customer_payload()
    sub = subscription_payload(SUB_ID, customer)
    payload = order_payload(
        ORDER_ID,
        customer,
        subscription=sub,
        billing_reason="subscription_cycle",
        status="partially_refunded",
        refunded_amount=300,
    )
    fields = orders.order_fields(payload)
    assert fields["status"] == "partially_refunded"
    assert fields["billing_reason"] == "subscription_cycle"
    assert (fields["total_amount"], fields["refunded_amount"], fields["currency"]) == (
        900,
        300,
        "usd",
    )
    assert fields["product_id"] == uuid.UUID(PRODUCT_ID)
    assert fields["subscription_id"] == uuid.UUID(SUB_ID)
    assert fields["customer_id"] == uuid.UUID(customer["id"])


def test_a_seed_era_order_without_status_is_paid():
    assert orders.order_status({"id": ORDER_ID, "amount": 100}) == "paid"
    assert orders.order_status({"id": ORDER_ID, "paid": False}) == "pending"


def test_subscription_fields_promote_the_period_and_cancellation():
    customer = customer_payload()
    payload = subscription_payload(
        SUB_ID, customer, cancel_at_period_end=True, canceled_at=at(3), modified=3
    )
    fields = subscriptions.subscription_fields(payload)
    assert fields["status"] == "active"
    assert fields["cancel_at_period_end"] is True
    assert fields["canceled_at"] is not None
    assert fields["ends_at"] == fields["current_period_end"]
    assert fields["product_name"] == "Monthly membership"
    assert (fields["recurring_interval"], fields["recurring_interval_count"]) == ("month", 1)


@pytest.mark.parametrize(
    "rule",
    [customers.customer_id_of, orders.order_id_of, subscriptions.subscription_id_of],
)
@pytest.mark.parametrize("payload", [{}, {"id": "nope"}, {"id": None}, ["x"]])
def test_an_object_without_a_uuid_id_is_refused(rule, payload):
    with pytest.raises(InvalidPayloadError):
        rule(payload)


@given(st.dictionaries(st.text(max_size=20), st.none() | st.integers() | st.text(max_size=10)))
def test_parsing_never_raises_on_junk(data):
    data = {**data, "id": ORDER_ID}
    for parse in (
        customers.customer_fields,
        orders.order_fields,
        subscriptions.subscription_fields,
    ):
        fields = parse(data)
        assert fields["payload"] == data


# -- "newer data wins" and the ties ----------------------------------------------------------


def _sub(status, minutes, canceled=None):
    payload = subscription_payload(SUB_ID, customer_payload(), status=status, modified=minutes)
    payload["canceled_at"] = canceled
    return subscriptions.subscription_fields(payload)


def test_newer_subscription_data_wins_whatever_its_status():
    assert subscriptions.subscription_wins(_sub("canceled", 1), _sub("active", 2))
    assert not subscriptions.subscription_wins(_sub("active", 2), _sub("canceled", 1))


def test_on_a_tie_a_subscription_never_moves_backwards():
    assert subscriptions.subscription_wins(_sub("active", 1), _sub("canceled", 1))
    assert not subscriptions.subscription_wins(_sub("canceled", 1), _sub("active", 1))
    assert not subscriptions.subscription_wins(_sub("active", 1, at(1)), _sub("active", 1))
    assert subscriptions.subscription_wins(_sub("active", 1), _sub("active", 1, at(1)))


def _order(status, minutes, refunded=0):
    payload = order_payload(
        ORDER_ID, customer_payload(), status=status, modified=minutes, refunded_amount=refunded
    )
    return orders.order_fields(payload)


def test_on_a_tie_an_order_is_never_unpaid_or_unrefunded():
    assert orders.order_wins(_order("pending", 1), _order("paid", 1))
    assert not orders.order_wins(_order("paid", 1), _order("pending", 1))
    assert not orders.order_wins(_order("refunded", 1, 900), _order("paid", 1))
    assert orders.order_wins(
        _order("partially_refunded", 1, 100), _order("partially_refunded", 1, 300)
    )
    assert not orders.order_wins(
        _order("partially_refunded", 1, 300), _order("partially_refunded", 1, 100)
    )


def test_on_a_tie_a_deleted_customer_stays_deleted():
    live = customers.customer_fields(customer_payload(modified_at=at(1)))
    gone = customers.customer_fields(customer_payload(modified_at=at(1), deleted_at=at(1)))
    assert customers.customer_wins(live, gone)
    assert not customers.customer_wins(gone, live)


SUB_STATUSES = st.sampled_from(
    ["incomplete", "trialing", "active", "past_due", "canceled", "unpaid", "paused", "new"]
)
ORDER_STATUSES = st.sampled_from(
    ["draft", "pending", "paid", "partially_refunded", "refunded", "void", "new"]
)


@given(SUB_STATUSES, SUB_STATUSES, st.integers(0, 3), st.integers(0, 3), st.booleans())
def test_of_two_subscription_versions_the_newer_wins_and_ties_never_flip(a, b, ta, tb, canceled):
    """Dated apart, exactly the newer one wins, so versions applied in any order end in
    the newest; on a tie, two different states never both replace each other."""
    left, right = _sub(a, ta), _sub(b, tb, at(0) if canceled else None)
    forward = subscriptions.subscription_wins(left, right)
    backward = subscriptions.subscription_wins(right, left)
    if ta != tb:
        assert (forward, backward) == (tb > ta, ta > tb)
    elif (a, False) != (b, canceled):
        assert not (forward and backward)


@given(ORDER_STATUSES, ORDER_STATUSES, st.integers(0, 3), st.integers(0, 3), st.integers(0, 900))
def test_of_two_order_versions_the_newer_wins_and_ties_never_flip(a, b, ta, tb, refunded):
    left, right = _order(a, ta), _order(b, tb, refunded)
    forward, backward = orders.order_wins(left, right), orders.order_wins(right, left)
    if ta != tb:
        assert (forward, backward) == (tb > ta, ta > tb)
    elif (a, 0) != (b, refunded):
        assert not (forward and backward)


def test_the_checkout_rule_still_reads_as_before():
    t = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    common = {"stored_created_at": t, "incoming_created_at": t}
    assert incoming_wins(
        stored_status="open",
        stored_modified_at=t,
        incoming_status="succeeded",
        incoming_modified_at=t,
        **common,
    )
    assert not incoming_wins(
        stored_status="expired",
        stored_modified_at=t,
        incoming_status="failed",
        incoming_modified_at=t,
        **common,
    )
