"""Free trials in the fake, as Polar's server does them (see
``polar_checkouts/testing/fake/trials.py`` for the facts and their sources). Every answer
and event is checked against the 2026-10 spec by the autouse ``spec_checked`` fixture."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from polar_checkouts.testing import PRODUCT_SUBSCRIPTION_ID
from tests.testing.test_lifecycle import BUYER, DAY, PURCHASE_EVENTS, RENEWAL_EVENTS, types, when


@pytest.fixture
def trial_product(fake):
    return fake.add_product(
        "Club with a week's trial",
        price_amount=1500,
        recurring_interval="month",
        trial_interval="day",
        trial_interval_count=7,
    )


def near(value, expected):
    """``value`` (a JSON datetime) is ``expected`` give or take the test's run time (the
    fake's clock is the real one plus what the test advanced)."""
    return abs(when(value) - expected) < timedelta(seconds=30)


def buy(client, body):
    checkout = client.create({"external_customer_id": "user-42", **body})
    client.client_confirm(checkout["client_secret"], BUYER)
    return checkout, client.get(checkout["id"])


def test_the_product_shows_its_trial_and_the_default_catalogue_has_none(fake, trial_product):
    assert (trial_product["trial_interval"], trial_product["trial_interval_count"]) == ("day", 7)
    others = [p for p in fake.products.values() if p["id"] != trial_product["id"]]
    assert others
    assert all(p["trial_interval"] is None for p in others)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trial_interval": "day"}, "set together"),
        ({"trial_interval_count": 3}, "set together"),
        ({"trial_interval": "fortnight", "trial_interval_count": 1}, "trial_interval must be"),
        ({"trial_interval": "day", "trial_interval_count": 0}, "from 1 to 1000"),
        ({"trial_interval": "day", "trial_interval_count": 1001}, "from 1 to 1000"),
        ({"trial_interval": "day", "trial_interval_count": True}, "from 1 to 1000"),
    ],
)
def test_bad_trial_settings_are_refused(fake, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fake.add_product("X", price_amount=900, recurring_interval="month", **kwargs)


def test_a_one_time_product_cannot_have_a_trial(fake):
    with pytest.raises(ValueError, match="recurring"):
        fake.add_product("X", price_amount=900, trial_interval="day", trial_interval_count=1)


def test_the_control_route_adds_a_trial_product_and_refuses_a_bad_one(fake):
    body = {
        "name": "Trial club",
        "price_amount": 900,
        "recurring_interval": "month",
        "trial_interval": "week",
        "trial_interval_count": 2,
    }
    answer = fake.handle("POST", "/_fake/products", "", {}, json.dumps(body).encode())
    assert answer.status == 201
    assert (answer.json()["trial_interval"], answer.json()["trial_interval_count"]) == ("week", 2)
    bad = {**body, "trial_interval_count": None}
    answer = fake.handle("POST", "/_fake/products", "", {}, json.dumps(bad).encode())
    assert answer.status == 422
    assert "set together" in answer.json()["detail"][0]["msg"]


def test_a_trial_checkout_needs_no_payment_now_and_ends_the_trial_a_week_on(
    fake_client, fake, trial_product
):
    checkout = fake_client.create({"products": [trial_product["id"]]})
    assert checkout["allow_trial"] is True
    assert (checkout["active_trial_interval"], checkout["active_trial_interval_count"]) == (
        "day",
        7,
    )
    assert near(checkout["trial_end"], fake.now() + timedelta(days=7))
    assert checkout["is_payment_required"] is False
    assert checkout["is_payment_setup_required"] is True
    # Polar works the end out again at confirmation.
    fake.advance_time(600)
    confirmed = fake_client.client_confirm(checkout["client_secret"], BUYER)
    assert near(confirmed["trial_end"], fake.now() + timedelta(days=7))
    assert confirmed["trial_end"] != checkout["trial_end"]
    assert confirmed["payment_processor_metadata"]["intent_client_secret"].startswith("seti_")


def test_allow_trial_false_and_a_checkout_s_own_trial(fake_client, fake, trial_product):
    off = fake_client.create({"products": [trial_product["id"]], "allow_trial": False})
    assert off["allow_trial"] is False
    assert off["trial_end"] is None
    assert off["active_trial_interval"] is None
    assert off["is_payment_required"] is True
    own = fake_client.create(
        {"products": [trial_product["id"]], "trial_interval": "month", "trial_interval_count": 1}
    )
    assert own["active_trial_interval"] == "month"
    assert when(own["trial_end"]).month != fake.now().month
    # A product without a trial gets one from the checkout's own settings too (Polar:
    # the checkout's interval, or else the product's).
    plain = fake_client.create(
        {"products": [PRODUCT_SUBSCRIPTION_ID], "trial_interval": "day", "trial_interval_count": 3}
    )
    assert near(plain["trial_end"], fake.now() + timedelta(days=3))
    normal = fake_client.create({"products": [PRODUCT_SUBSCRIPTION_ID]})
    assert normal["trial_end"] is None
    assert normal["allow_trial"] is None


def test_a_trial_starts_trialing_with_a_paid_order_of_zero_then_converts(
    fake_client, fake, trial_product
):
    before = len(fake.events)
    checkout, after = buy(fake_client, {"products": [trial_product["id"]]})
    # The events of a purchase without a trial (tests/testing/test_lifecycle.py pins them),
    # subscription.active included: Polar counts trialing as active.
    assert types(fake, before)[-7:] == PURCHASE_EVENTS
    (subscription,) = fake_client.list_subscriptions(external_customer_id="user-42")
    assert subscription["status"] == "trialing"
    assert subscription["trial_start"] == subscription["current_period_start"]
    assert subscription["trial_end"] == subscription["current_period_end"] == after["trial_end"]
    # Polar: the trial ends when the checkout said (worked out at confirmation); the
    # subscription starts when the payment settles, a moment later.
    assert near(subscription["trial_end"], when(subscription["trial_start"]) + timedelta(days=7))
    assert subscription["amount"] == 1500
    (first,) = fake_client.list_orders(subscription_id=subscription["id"])
    assert first["status"] == "paid"
    assert first["billing_reason"] == "subscription_create"
    assert first["total_amount"] == first["net_amount"] == first["subtotal_amount"] == 0
    assert first["checkout_id"] == checkout["id"]
    (item,) = first["items"]
    assert item["amount"] == 0
    assert item["product_price_id"] is None
    assert item["label"].startswith("Trial period for Club with a week's trial (")
    state = [e for e in fake.events if e.type == "customer.state_changed"][-1]
    (listed,) = json.loads(state.body)["data"]["active_subscriptions"]
    assert listed["status"] == "trialing"

    # Six days: still trialing, nothing sent.
    before = len(fake.events)
    fake.advance_time(6 * DAY)
    assert types(fake, before) == []
    fake.advance_time(DAY)
    # The trial's end is a renewal: cycled, updated (no subscription.active: it was
    # already active in Polar's sense), then the first paid order.
    assert types(fake, before) == RENEWAL_EVENTS
    converted = fake.subscriptions[subscription["id"]]
    assert converted["status"] == "active"
    assert converted["current_period_start"] == subscription["trial_end"]
    assert when(converted["current_period_end"]).month != when(subscription["trial_end"]).month
    # The trial's dates stay on the subscription.
    assert converted["trial_end"] == subscription["trial_end"]
    orders = fake_client.list_orders(subscription_id=subscription["id"], sorting="created_at").items
    assert [o["billing_reason"] for o in orders] == ["subscription_create", "subscription_cycle"]
    assert orders[1]["status"] == "paid"
    assert orders[1]["net_amount"] == 1500
    assert orders[1]["items"][0]["start_timestamp"] == subscription["trial_end"]


def test_a_once_discount_is_for_the_first_paid_period_after_the_trial(
    fake_client, fake, trial_product
):
    discount = fake.add_discount(code="HALF", basis_points=5000, duration="once")
    buy(fake_client, {"products": [trial_product["id"]], "discount_id": discount["id"]})
    (subscription_id,) = fake.subscriptions
    fake.advance_time(7 * DAY)
    fake.renew_subscription(subscription_id)
    orders = sorted(fake.orders.values(), key=lambda o: o["created_at"])
    assert [o["net_amount"] for o in orders] == [0, 750, 1500]
    assert orders[0]["discount_id"] is None
    assert orders[1]["discount_id"] == discount["id"]
    assert orders[2]["discount_id"] is None


def test_cancel_during_the_trial_ends_it_at_the_trial_s_end_without_a_paid_order(
    fake_client, fake, trial_product
):
    buy(fake_client, {"products": [trial_product["id"]]})
    (subscription_id,) = fake.subscriptions
    canceled = fake.cancel_subscription(subscription_id)
    assert canceled["status"] == "trialing"
    assert canceled["cancel_at_period_end"] is True
    assert canceled["ends_at"] == canceled["trial_end"] == canceled["current_period_end"]
    before = len(fake.events)
    fake.advance_time(7 * DAY)
    assert types(fake, before) == [
        "subscription.updated",
        "subscription.canceled",
        "subscription.revoked",
        "customer.state_changed",
    ]
    ended = fake.subscriptions[subscription_id]
    assert ended["status"] == "canceled"
    assert ended["ended_at"] == ended["trial_end"]
    assert [o["total_amount"] for o in fake.orders.values()] == [0]


def test_revoke_during_the_trial_ends_it_now(fake_client, fake, trial_product):
    buy(fake_client, {"products": [trial_product["id"]]})
    (subscription_id,) = fake.subscriptions
    revoked = fake.revoke_subscription(subscription_id)
    assert revoked["status"] == "canceled"
    assert revoked["ended_at"] == revoked["canceled_at"]
    fake.advance_time(40 * DAY)
    assert len(fake.orders) == 1


def test_every_trial_event_decodes_with_polar_sdk(fake_client, fake, trial_product):
    pytest.importorskip("polar")
    from polar.v2026_10 import webhooks as sdk

    from polar_checkouts.testing.webhooks import sign
    from tests.testing.sdk_events import decode

    buy(fake_client, {"products": [trial_product["id"]]})
    fake.advance_time(7 * DAY)
    buy(fake_client, {"products": [trial_product["id"]], "external_customer_id": "user-43"})
    (_, second) = fake.subscriptions
    fake.cancel_subscription(second)
    fake.advance_time(7 * DAY)
    for event in fake.events:
        decoded = decode(sdk, event.body, sign("whsec", event.id, event.body), "whsec")
        assert decoded.type == event.type
