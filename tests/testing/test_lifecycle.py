"""After the checkout, in the fake: customers, orders, subscriptions, renewals, failed
payments, cancellations, refunds and customer sessions, with Polar's events in Polar's
order. Every answer and every event is checked against Polar's specs by the autouse
``spec_checked`` fixture (``conftest.py``); the SDK test decodes every event."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from polar_checkouts.client import PolarClient
from polar_checkouts.exceptions import NotFoundError, PolarValidationError
from polar_checkouts.testing import (
    ORGANIZATION_ID,
    PRODUCT_ONE_TIME_ID,
    PRODUCT_SUBSCRIPTION_ID,
    SUBSCRIPTION_AMOUNT,
    TOKEN_SUCCEEDED,
    FakePolar,
)
from tests.newer_python import import_from_311

DAY = 24 * 3600
BUYER = {
    "customer_email": "ada@example.com",
    "customer_name": "Ada",
    "customer_billing_address": {"country": "SE"},
    "confirmation_token_id": TOKEN_SUCCEEDED,
}
#: The last events of a subscription purchase, in Polar's order.
PURCHASE_EVENTS = [
    "subscription.created",
    "subscription.active",
    "subscription.updated",
    "customer.state_changed",
    "order.created",
    "order.updated",
    "order.paid",
]
#: The events of a paid renewal, in Polar's order.
RENEWAL_EVENTS = [
    "subscription.cycled",
    "subscription.updated",
    "customer.state_changed",
    "order.created",
    "order.updated",
    "order.paid",
]


def buy(client, fake, product_id, external_id="user-42", email="ada@example.com"):
    """A paid checkout for ``product_id``; returns the checkout as Polar has it after."""
    checkout = client.create({"products": [product_id], "external_customer_id": external_id})
    client.client_confirm(checkout["client_secret"], {**BUYER, "customer_email": email})
    return client.get(checkout["id"])


def types(fake, since=0):
    return [e.type for e in fake.events[since:]]


def when(value):
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_a_one_time_purchase_makes_a_customer_with_the_external_id_and_a_paid_order(
    fake_client, fake
):
    checkout = buy(fake_client, fake, PRODUCT_ONE_TIME_ID)
    assert checkout["external_customer_id"] == "user-42"
    (order,) = fake_client.list_orders()
    assert order["status"] == "paid"
    assert order["paid"] is True
    assert order["billing_reason"] == "purchase"
    assert order["checkout_id"] == checkout["id"]
    assert order["subscription"] is None
    assert order["subscription_id"] is None
    assert order["customer"]["external_id"] == "user-42"
    assert order["net_amount"] == order["subtotal_amount"] == 1900
    assert order["total_amount"] == 1900 + order["tax_amount"]
    assert order["refundable_amount"] == 1900
    customer = fake_client.get_customer_by_external_id("user-42")
    assert customer["id"] == order["customer_id"] == checkout["customer_id"]
    assert customer["email"] == "ada@example.com"
    assert fake_client.list_subscriptions().total_count == 0
    assert types(fake) == [
        "checkout.created",
        "customer.created",
        "customer.state_changed",
        "checkout.updated",
        "checkout.updated",
        "order.created",
        "order.updated",
        "order.paid",
    ]


def test_a_subscription_purchase_sends_the_subscription_events_before_the_orders(fake_client, fake):
    before = len(fake.events)
    checkout = buy(fake_client, fake, PRODUCT_SUBSCRIPTION_ID)
    assert types(fake, before)[-7:] == PURCHASE_EVENTS
    (subscription,) = fake_client.list_subscriptions(external_customer_id="user-42")
    assert subscription["status"] == "active"
    assert subscription["checkout_id"] == checkout["id"] == subscription["checkout_id"]
    assert subscription["id"] == checkout["subscription_id"]
    assert subscription["amount"] == SUBSCRIPTION_AMOUNT
    assert subscription["recurring_interval"] == "month"
    start, end = (
        when(subscription["current_period_start"]),
        when(subscription["current_period_end"]),
    )
    assert (end.month - start.month) % 12 == 1
    (order,) = fake_client.list_orders(subscription_id=subscription["id"])
    assert order["billing_reason"] == "subscription_create"
    assert order["subscription"]["id"] == subscription["id"]
    assert order["items"][0]["start_timestamp"] == subscription["current_period_start"]


def test_the_list_filters(fake_client, fake):
    buy(fake_client, fake, PRODUCT_ONE_TIME_ID, external_id="a", email="a@example.com")
    buy(fake_client, fake, PRODUCT_SUBSCRIPTION_ID, external_id="b", email="b@example.com")
    b = fake_client.get_customer_by_external_id("b")
    assert [
        o["customer"]["external_id"] for o in fake_client.list_orders(external_customer_id="a")
    ] == ["a"]
    assert [o["product_id"] for o in fake_client.list_orders(customer_id=b["id"])] == [
        PRODUCT_SUBSCRIPTION_ID
    ]
    assert fake_client.list_orders(product_id=PRODUCT_ONE_TIME_ID).total_count == 1
    assert fake_client.list_orders(product_billing_type="recurring").total_count == 1
    assert fake_client.list_orders(status="refunded").total_count == 0
    assert fake_client.list_orders(organization_id=ORGANIZATION_ID).total_count == 2
    assert fake_client.list_subscriptions(active=True).total_count == 1
    assert fake_client.list_subscriptions(external_customer_id="a").total_count == 0
    assert fake_client.list_subscriptions(product_id=PRODUCT_SUBSCRIPTION_ID).total_count == 1
    assert [c["external_id"] for c in fake_client.list_customers(active=True)] == ["b"]
    assert [c["external_id"] for c in fake_client.list_customers(email="A@example.com")] == ["a"]
    assert [c["external_id"] for c in fake_client.list_customers(query="b@exa")] == ["b"]
    assert fake_client.list_customers(sorting="email").items[0]["email"] == "a@example.com"
    assert len(list(fake_client.iter_orders())) == 2


def test_unknown_ids_are_404_and_malformed_ones_422(fake_client):
    with pytest.raises(NotFoundError):
        fake_client.get_order("00000000-0000-4000-8000-000000000000")
    with pytest.raises(NotFoundError):
        fake_client.get_subscription("00000000-0000-4000-8000-000000000000")
    with pytest.raises(NotFoundError):
        fake_client.get_customer_by_external_id("nobody")
    with pytest.raises(PolarValidationError):
        fake_client.get_customer("not-a-uuid")
    with pytest.raises(PolarValidationError):
        fake_client.list_orders(status="shipped")


def states(fake, since=0):
    """The data of each ``customer.state_changed`` since event ``since``."""
    return [e.data for e in fake.events[since:] if e.type == "customer.state_changed"]


def test_a_known_customer_is_updated_at_confirmation_then_its_state_sent(fake_client, fake):
    buy(fake_client, fake, PRODUCT_ONE_TIME_ID)
    (customer,) = fake.customers.values()
    created = dict(customer)
    assert created["modified_at"] is None
    before = len(fake.events)
    checkout = fake_client.create(
        {
            "products": [PRODUCT_ONE_TIME_ID],
            "external_customer_id": "user-42",
            "customer_metadata": {"plan": "pro"},
        }
    )
    fake_client.client_confirm(
        checkout["client_secret"],
        {**BUYER, "customer_name": "Someone paying", "customer_billing_address": {"country": "FR"}},
    )
    # Polar's CustomerRepository.update sends customer.updated, then the state.
    assert types(fake, before)[:3] == [
        "checkout.created",
        "customer.updated",
        "customer.state_changed",
    ]
    updated = next(e.data for e in fake.events[before:] if e.type == "customer.updated")
    assert updated["id"] == created["id"]
    assert updated["name"] == "Ada"  # a name it had is never replaced (a cardholder's?)
    assert updated["billing_address"]["country"] == "FR"
    assert updated["metadata"] == {"plan": "pro"}
    assert updated["modified_at"] > created["created_at"]
    assert len(fake.customers) == 1


def test_the_customer_state_lists_its_active_and_trialing_subscriptions(fake_client, fake):
    before = len(fake.events)
    buy(fake_client, fake, PRODUCT_ONE_TIME_ID)
    # A new customer: customer.created, then its state (nothing active yet).
    first = states(fake, before)[0]
    assert first["active_subscriptions"] == []
    assert first["granted_benefits"] == first["active_meters"] == []
    assert first["id"] == next(iter(fake.customers))
    assert first["email"] == "ada@example.com"

    before = len(fake.events)
    buy(fake_client, fake, PRODUCT_SUBSCRIPTION_ID)
    (subscription_id,) = fake.subscriptions
    # Sent after the subscription's own events (Polar: _after_subscription_created).
    (listed,) = states(fake, before)[-1]["active_subscriptions"]
    assert listed["id"] == subscription_id
    assert listed["status"] == "active"
    assert listed["amount"] == SUBSCRIPTION_AMOUNT
    assert listed["meters"] == []

    fake.fail_renewals(subscription_id)
    before = len(fake.events)
    fake.renew_subscription(subscription_id)
    # Past due is not active in Polar's state (its active statuses: trialing, active).
    assert states(fake, before)[-1]["active_subscriptions"] == []
    fake.recover_subscription(subscription_id)
    assert [s["id"] for s in states(fake)[-1]["active_subscriptions"]] == [subscription_id]

    before = len(fake.events)
    fake.revoke_subscription(subscription_id)
    assert states(fake, before)[-1]["active_subscriptions"] == []


def test_renewal_at_the_period_end_cycles_and_pays_a_new_order(fake_client, fake):
    buy(fake_client, fake, PRODUCT_SUBSCRIPTION_ID)
    (subscription,) = fake.subscriptions.values()
    first_end = subscription["current_period_end"]
    before = len(fake.events)
    renewed = fake.renew_subscription(subscription["id"])
    assert types(fake, before) == RENEWAL_EVENTS
    assert renewed["current_period_start"] == first_end
    assert renewed["status"] == "active"
    orders = fake_client.list_orders(subscription_id=subscription["id"], sorting="created_at").items
    assert [o["billing_reason"] for o in orders] == ["subscription_create", "subscription_cycle"]
    assert orders[1]["status"] == "paid"
    assert orders[1]["checkout_id"] is None
    assert orders[1]["net_amount"] == SUBSCRIPTION_AMOUNT
    # Two more months at once: two renewals, in order.
    fake.advance_time(62 * DAY)
    assert fake_client.list_orders(subscription_id=subscription["id"]).total_count == 4
    assert types(fake).count("subscription.cycled") == 3


def test_a_failed_renewal_goes_past_due_until_the_payment_is_recovered(fake_client, fake):
    buy(fake_client, fake, PRODUCT_SUBSCRIPTION_ID)
    (subscription_id,) = fake.subscriptions
    fake.fail_renewals(subscription_id)
    before = len(fake.events)
    assert fake.renew_subscription(subscription_id)["status"] == "past_due"
    assert types(fake, before) == [
        "subscription.cycled",
        "subscription.updated",
        "customer.state_changed",
        "order.created",
        "subscription.updated",
        "subscription.past_due",
        "customer.state_changed",
        "order.updated",
    ]
    (pending,) = fake_client.list_orders(status="pending")
    assert pending["paid"] is False
    assert pending["due_amount"] == pending["total_amount"]
    assert pending["next_payment_attempt_at"] is not None
    assert fake_client.get_subscription(subscription_id)["past_due_at"] is not None
    # No further renewal while the payment fails.
    fake.advance_time(40 * DAY)
    assert fake_client.list_orders(subscription_id=subscription_id).total_count == 2
    before = len(fake.events)
    recovered = fake.recover_subscription(subscription_id)
    assert types(fake, before)[:5] == [
        "subscription.updated",
        "subscription.active",
        "customer.state_changed",
        "order.updated",
        "order.paid",
    ]
    assert recovered["past_due_at"] is None
    assert fake_client.get_order(pending["id"])["status"] == "paid"
    # The period that ended while it failed has renewed since.
    assert fake_client.get_subscription(subscription_id)["status"] == "active"
    assert when(fake_client.get_subscription(subscription_id)["current_period_end"]) > fake.now()


def test_cancel_at_period_end_keeps_it_active_then_it_ends(fake_client, fake):
    buy(fake_client, fake, PRODUCT_SUBSCRIPTION_ID)
    (subscription_id,) = fake.subscriptions
    before = len(fake.events)
    canceled = fake.cancel_subscription(subscription_id, reason="too_expensive")
    assert types(fake, before) == [
        "subscription.updated",
        "subscription.canceled",
        "customer.state_changed",
    ]
    assert canceled["status"] == "active"
    assert canceled["cancel_at_period_end"] is True
    assert canceled["ends_at"] == canceled["current_period_end"]
    assert canceled["canceled_at"] is not None
    assert canceled["customer_cancellation_reason"] == "too_expensive"
    with pytest.raises(ValueError, match="already canceled"):
        fake.cancel_subscription(subscription_id)

    before = len(fake.events)
    kept = fake.uncancel_subscription(subscription_id)
    assert types(fake, before) == [
        "subscription.updated",
        "subscription.uncanceled",
        "customer.state_changed",
    ]
    assert (kept["cancel_at_period_end"], kept["ends_at"], kept["canceled_at"]) == (
        False,
        None,
        None,
    )
    with pytest.raises(ValueError, match="not set to cancel"):
        fake.uncancel_subscription(subscription_id)

    fake.cancel_subscription(subscription_id)
    before = len(fake.events)
    ended = fake.renew_subscription(subscription_id)
    # Polar sends canceled again at revocation, then revoked; no renewal.
    assert types(fake, before) == [
        "subscription.updated",
        "subscription.canceled",
        "subscription.revoked",
        "customer.state_changed",
    ]
    assert ended["status"] == "canceled"
    assert ended["ended_at"] == ended["ends_at"]
    fake.advance_time(90 * DAY)
    assert fake_client.list_orders(subscription_id=subscription_id).total_count == 1
    assert fake_client.list_subscriptions(active=True).total_count == 0


def test_revoke_ends_it_now_and_voids_a_failed_renewal(fake_client, fake):
    buy(fake_client, fake, PRODUCT_SUBSCRIPTION_ID)
    (subscription_id,) = fake.subscriptions
    fake.fail_renewals(subscription_id)
    fake.renew_subscription(subscription_id)
    before = len(fake.events)
    revoked = fake.revoke_subscription(subscription_id)
    assert types(fake, before) == [
        "subscription.updated",
        "subscription.canceled",
        "subscription.revoked",
        "customer.state_changed",
        "order.updated",
    ]
    assert revoked["status"] == "canceled"
    assert revoked["ended_at"] is not None
    assert revoked["cancel_at_period_end"] is False
    assert fake_client.list_orders(status="void").total_count == 1
    with pytest.raises(ValueError):
        fake.revoke_subscription(subscription_id)


def test_partial_then_full_refund(fake_client, fake):
    buy(fake_client, fake, PRODUCT_ONE_TIME_ID)
    (order_id,) = fake.orders
    order = fake.order(order_id)
    before = len(fake.events)
    refund = fake.refund_order(order_id, 500, reason="satisfaction_guarantee")
    assert types(fake, before) == ["refund.created", "order.updated", "order.refunded"]
    assert refund["amount"] == 500
    assert refund["order_id"] == order_id
    assert refund["tax_amount"] == round(order["tax_amount"] * 500 / order["net_amount"])
    partial = fake_client.get_order(order_id)
    assert partial["status"] == "partially_refunded"
    assert partial["refunded_amount"] == 500
    assert partial["refundable_amount"] == order["net_amount"] - 500
    with pytest.raises(ValueError, match="from 1 to"):
        fake.refund_order(order_id, order["net_amount"])
    fake.refund_order(order_id)
    full = fake_client.get_order(order_id)
    assert full["status"] == "refunded"
    assert full["refunded_amount"] == order["net_amount"]
    assert full["refunded_tax_amount"] == order["tax_amount"]
    assert full["refundable_amount"] == 0
    with pytest.raises(ValueError, match="only a paid order"):
        fake.refund_order(order_id)


def test_customer_sessions_by_external_id_and_by_id(fake_client, fake):
    buy(fake_client, fake, PRODUCT_SUBSCRIPTION_ID)
    customer = fake_client.get_customer_by_external_id("user-42")
    session = fake_client.create_customer_session(
        external_customer_id="user-42", return_url="https://shop.example/account/"
    )
    assert session["customer_id"] == customer["id"]
    assert session["token"].startswith("polar_cst_")
    assert session["return_url"] == "https://shop.example/account/"
    url = urlsplit(session["customer_portal_url"])
    assert url.path == "/fake-polar-demo/portal"
    assert parse_qs(url.query)["customer_session_token"] == [session["token"]]
    by_id = fake_client.create_customer_session(customer_id=customer["id"])
    assert by_id["token"] != session["token"]
    assert by_id["return_url"] is None
    with pytest.raises(PolarValidationError) as info:
        fake_client.create_customer_session(external_customer_id="nobody")
    assert info.value.errors[0]["msg"] == "Customer does not exist."
    assert info.value.errors[0]["loc"] == ["body", "external_customer_id"]


def test_a_known_external_id_selects_its_customer_for_the_next_checkout(fake_client, fake):
    buy(fake_client, fake, PRODUCT_ONE_TIME_ID)
    again = fake_client.create(
        {"products": [PRODUCT_SUBSCRIPTION_ID], "external_customer_id": "user-42"}
    )
    assert again["customer_id"] == fake_client.get_customer_by_external_id("user-42")["id"]
    assert again["customer_email"] == "ada@example.com"
    fake_client.client_confirm(again["client_secret"], BUYER)
    assert fake_client.list_customers().total_count == 1


# -- the control routes, for other processes ------------------------------------------------


def _control(fake, path, body=None):
    answer = fake.handle("POST", f"/_fake/{path}", "", {}, json.dumps(body or {}).encode())
    return answer.status, answer.json()


def test_control_routes(fake_client, fake):
    buy(fake_client, fake, PRODUCT_SUBSCRIPTION_ID)
    (subscription_id,) = fake.subscriptions
    status, body = _control(fake, f"subscriptions/{subscription_id}/cancel")
    assert status == 200
    assert body["cancel_at_period_end"] is True
    assert _control(fake, f"subscriptions/{subscription_id}/uncancel")[1]["ends_at"] is None
    assert _control(fake, f"subscriptions/{subscription_id}/fail-renewals", {"times": 1})[0] == 200
    assert _control(fake, f"subscriptions/{subscription_id}/renew")[1]["status"] == "past_due"
    assert _control(fake, f"subscriptions/{subscription_id}/recover")[1]["status"] == "active"
    status, body = _control(fake, f"subscriptions/{subscription_id}/cancel", {"at_period_end": 1})
    assert status == 422
    assert "at_period_end" in body["detail"][0]["msg"]
    (order_id, *_) = fake.orders
    status, refund = _control(fake, f"orders/{order_id}/refund", {"amount": 100})
    assert status == 201
    assert refund["amount"] == 100
    status, body = _control(fake, f"orders/{order_id}/refund", {"amount": 10**9})
    assert status == 422
    assert _control(fake, "orders/00000000-0000-4000-8000-000000000000/refund")[0] == 404
    status, body = _control(fake, f"subscriptions/{subscription_id}/revoke")
    assert status == 200
    assert body["status"] == "canceled"
    assert fake.handle("GET", f"/_fake/subscriptions/{subscription_id}/revoke").status == 405


# -- the portal page ---------------------------------------------------------------------------


def _portal(fake, session):
    url = urlsplit(session["customer_portal_url"])
    return url.path, url.query


def test_the_portal_page_lists_and_cancels_then_uncancels(fake_client, fake):
    buy(fake_client, fake, PRODUCT_SUBSCRIPTION_ID)
    (subscription_id,) = fake.subscriptions
    session = fake_client.create_customer_session(
        external_customer_id="user-42", return_url="https://shop.example/account/"
    )
    path, query = _portal(fake, session)
    page = fake.handle("GET", path, query)
    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.body.decode()
    assert "ada@example.com" in html
    assert "Pro Membership" in html
    assert f'data-subscription="{subscription_id}"' in html
    assert 'href="https://shop.example/account/"' in html
    assert "Cancel subscription" in html

    before = len(fake.events)
    form = f"customer_session_token={session['token']}&subscription_id={subscription_id}"
    answer = fake.handle("POST", path, "", {}, (form + "&action=cancel").encode())
    assert answer.status == 303
    assert answer.headers["location"].startswith("portal?customer_session_token=")
    assert types(fake, before) == [
        "subscription.updated",
        "subscription.canceled",
        "customer.state_changed",
    ]
    assert fake.subscription(subscription_id)["cancel_at_period_end"] is True
    html = fake.handle("GET", path, query).body.decode()
    assert "Keep subscription" in html
    assert "cancels on" in html

    answer = fake.handle("POST", path, "", {}, (form + "&action=uncancel").encode())
    assert answer.status == 303
    assert fake.subscription(subscription_id)["cancel_at_period_end"] is False


def test_the_portal_refuses_a_bad_token_and_someone_elses_subscription(fake_client, fake):
    buy(fake_client, fake, PRODUCT_SUBSCRIPTION_ID)
    buy(fake_client, fake, PRODUCT_SUBSCRIPTION_ID, external_id="other", email="o@example.com")
    _mine, theirs = list(fake.subscriptions)
    session = fake_client.create_customer_session(external_customer_id="user-42")
    path, query = _portal(fake, session)
    assert fake.handle("GET", path, "customer_session_token=polar_cst_nope").status == 401
    form = f"customer_session_token={session['token']}&subscription_id={theirs}&action=cancel"
    assert fake.handle("POST", path, "", {}, form.encode()).status == 404
    assert fake.subscription(theirs)["cancel_at_period_end"] is False
    # A session lasts an hour.
    fake.advance_time(3601)
    assert fake.handle("GET", path, query).status == 401


def test_every_event_of_the_lifecycle_decodes_with_polar_sdk(fake_client, fake):
    import_from_311("polar", package="polar-sdk")
    from polar.v2026_10 import webhooks as sdk

    from polar_checkouts.testing.webhooks import sign
    from tests.testing.sdk_events import decode

    buy(fake_client, fake, PRODUCT_SUBSCRIPTION_ID)
    buy(fake_client, fake, PRODUCT_ONE_TIME_ID)
    (subscription_id,) = fake.subscriptions
    fake.renew_subscription(subscription_id)
    fake.fail_renewals(subscription_id)
    fake.renew_subscription(subscription_id)
    fake.recover_subscription(subscription_id)
    fake.cancel_subscription(subscription_id)
    fake.uncancel_subscription(subscription_id)
    fake.cancel_subscription(subscription_id)
    fake.renew_subscription(subscription_id)
    paid = next(o for o in fake.orders.values() if o["billing_reason"] == "purchase")
    fake.refund_order(paid["id"], 100)
    fake.refund_order(paid["id"])
    seen = set()
    for event in fake.events:
        decoded = decode(sdk, event.body, sign("whsec", event.id, event.body), "whsec")
        assert decoded.type == event.type
        seen.add(event.type)
    assert {
        "customer.created",
        "customer.updated",
        "customer.state_changed",
        "subscription.created",
        "subscription.active",
        "subscription.updated",
        "subscription.cycled",
        "subscription.past_due",
        "subscription.canceled",
        "subscription.uncanceled",
        "subscription.revoked",
        "order.created",
        "order.updated",
        "order.paid",
        "order.refunded",
        "refund.created",
    } <= seen


# -- over real HTTP: the standalone server ---------------------------------------------------


def test_the_portal_and_the_controls_over_the_standalone_server():
    import requests

    from polar_checkouts.testing.server import FakePolarServer

    with FakePolarServer(FakePolar(), port=0) as server:
        polar = PolarClient("polar_oat_any", server=server.base_url, max_retries=0)
        buy(polar, server.fake, PRODUCT_SUBSCRIPTION_ID)
        (subscription,) = polar.list_subscriptions(external_customer_id="user-42")
        session = polar.create_customer_session(
            external_customer_id="user-42", return_url="https://shop.example/account/"
        )
        assert session["customer_portal_url"].startswith(
            server.base_url + "/fake-polar-demo/portal?"
        )
        http = requests.Session()
        page = http.get(session["customer_portal_url"], timeout=5)
        assert page.status_code == 200
        assert "Cancel subscription" in page.text
        # The form posts to the page itself and comes back to it (post/redirect/get).
        form = {
            "customer_session_token": session["token"],
            "subscription_id": subscription["id"],
            "action": "cancel",
        }
        after = http.post(page.url.split("?")[0], data=form, timeout=5)
        assert after.history[0].status_code == 303
        assert after.status_code == 200
        assert "Keep subscription" in after.text
        assert polar.get_subscription(subscription["id"])["cancel_at_period_end"] is True
        renew = f"{server.base_url}/_fake/subscriptions/{subscription['id']}/renew"
        assert http.post(renew, timeout=5).json()["status"] == "canceled"
        assert [e.type for e in server.fake.events][-4:] == [
            "subscription.updated",
            "subscription.canceled",
            "subscription.revoked",
            "customer.state_changed",
        ]
