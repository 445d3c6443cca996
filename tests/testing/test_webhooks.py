"""Webhook events of the fake: which ones, signed as Polar signs, retried with a stable id."""

from __future__ import annotations

import base64
import json

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from polar_checkouts.client import PolarClient
from polar_checkouts.exceptions import PaymentError
from polar_checkouts.testing import (
    PRODUCT_FREE_ID,
    PRODUCT_ONE_TIME_ID,
    TOKEN_DECLINED,
    TOKEN_FAILED,
    TOKEN_SUCCEEDED,
    polar_webhook,
)
from tests.newer_python import import_from_311

SECRET = "polar_whs_test_secret"
URL = "https://shop.example.com/polar/webhook/"
#: The events of a paid checkout, in the order Polar sends them: the customer is made at
#: confirmation (customer.created, then its state, before that update), and an order born
#: paid sends created, updated and paid (Polar's order service, _on_order_created).
PAID_CHECKOUT_EVENTS = [
    "checkout.created",
    "checkout.updated",
    "customer.created",
    "customer.state_changed",
    "checkout.updated",
    "checkout.updated",
    "order.created",
    "order.updated",
    "order.paid",
]
BUYER = {
    "customer_email": "ada@example.com",
    "customer_name": "Ada",
    "customer_billing_address": {"country": "SE"},
}


class Receiver:
    """An injectable sender: records deliveries and answers the statuses it is given."""

    def __init__(self, *statuses):
        self.statuses = list(statuses)
        self.deliveries = []

    def __call__(self, url, body, headers, timeout):
        self.deliveries.append((url, body, headers))
        status = self.statuses.pop(0) if self.statuses else 204
        if isinstance(status, Exception):
            raise status
        return status

    def types(self):
        return [polar_webhook(SECRET).verify(b, h)["type"] for _, b, h in self.deliveries]


@pytest.fixture
def receiver(polar_fake, spec_checked):
    receiver = Receiver()
    polar_fake.configure_webhooks(URL, SECRET, sender=receiver)
    yield receiver
    for event in polar_fake.events:
        spec_checked.check_event(event)


@pytest.fixture
def client(polar_fake):
    return PolarClient("t", max_retries=0)


def _buy(client, token=TOKEN_SUCCEEDED):
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID})
    client.client_update(checkout["client_secret"], {"customer_name": "Ada"})
    confirmed = client.client_confirm(
        checkout["client_secret"], {**BUYER, "confirmation_token_id": token}
    )
    client.get(checkout["id"])
    return checkout, confirmed


def test_a_paid_checkout_sends_every_event_in_order(client, polar_fake, receiver):
    checkout, _ = _buy(client)
    assert receiver.types() == PAID_CHECKOUT_EVENTS
    statuses = [
        polar_webhook(SECRET).verify(b, h)["data"].get("status")
        for _, b, h in receiver.deliveries
        if polar_webhook(SECRET).verify(b, h)["type"].startswith("checkout.")
    ]
    assert statuses == ["open", "open", "confirmed", "succeeded"]
    order = polar_webhook(SECRET).verify(*receiver.deliveries[-1][1:])["data"]
    assert order["checkout_id"] == checkout["id"]
    assert order["amount"] == 1900
    assert order["tax_amount"] == 475  # Swedish VAT, 25 %
    assert order["currency"] == "usd"
    assert {url for url, _, _ in receiver.deliveries} == {URL}


def test_failed_payment_sends_an_update_and_no_order(client, receiver):
    _buy(client, TOKEN_FAILED)
    assert receiver.types()[-1] == "checkout.updated"
    assert "order.paid" not in receiver.types()


def test_declined_confirm_changes_nothing_and_sends_nothing(client, receiver):
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID})
    with pytest.raises(PaymentError):
        client.client_confirm(
            checkout["client_secret"], {**BUYER, "confirmation_token_id": TOKEN_DECLINED}
        )
    assert receiver.types() == ["checkout.created"]


def test_expiry_sends_updated_and_expired(client, polar_fake, receiver):
    checkout = client.create({"product_id": PRODUCT_FREE_ID})
    polar_fake.advance_time(3601)
    assert receiver.types() == ["checkout.created", "checkout.updated", "checkout.expired"]
    expired = polar_webhook(SECRET).verify(*receiver.deliveries[-1][1:])
    assert expired["data"]["id"] == checkout["id"]
    assert expired["data"]["status"] == "expired"


def test_headers_and_payload_are_polars(client, receiver):
    client.create({"product_id": PRODUCT_FREE_ID})
    ((_, body, headers),) = receiver.deliveries
    assert set(headers) == {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
        "user-agent",
    }
    assert headers["user-agent"] == "polar.sh webhooks"
    assert headers["webhook-signature"].startswith("v1,")
    payload = Webhook(base64.b64encode(SECRET.encode()).decode()).verify(body, headers)
    # api_version: polar-sdk 1.x requires it in every payload.
    assert set(payload) == {"type", "timestamp", "api_version", "data"}


def test_the_key_is_the_secret_s_utf8_bytes(client, receiver):
    # Polar's derivation: base64 of the secret's bytes. The raw string is the wrong key,
    # and so is any other secret.
    client.create({"product_id": PRODUCT_FREE_ID})
    ((_, body, headers),) = receiver.deliveries
    for wrong in (Webhook(base64.b64encode(b"another secret").decode()),):
        with pytest.raises(WebhookVerificationError):
            wrong.verify(body, headers)
    with pytest.raises((WebhookVerificationError, ValueError)):
        Webhook(SECRET).verify(body, headers)
    tampered = body.replace(b'"open"', b'"succeeded"')
    with pytest.raises(WebhookVerificationError):
        polar_webhook(SECRET).verify(tampered, headers)


def test_failed_deliveries_are_retried_with_the_same_webhook_id(polar_fake, client, spec_checked):
    receiver = Receiver(500, ConnectionError("down"), 200)
    endpoint = polar_fake.configure_webhooks(
        URL, SECRET, sender=receiver, delivery="manual", backoff=10
    )
    client.create({"product_id": PRODUCT_FREE_ID})
    assert receiver.deliveries == []
    (event,) = polar_fake.deliver_webhooks()
    assert event.state == "pending"
    assert polar_fake.deliver_webhooks() == []  # not due yet
    polar_fake.advance_time(endpoint.delay_after(1))
    polar_fake.deliver_webhooks()
    assert event.state == "pending"
    polar_fake.advance_time(endpoint.delay_after(2))
    polar_fake.deliver_webhooks()
    assert event.state == "delivered"
    assert [a.status for a in event.attempts] == [500, None, 200]
    assert "down" in event.attempts[1].error
    ids = {headers["webhook-id"] for _, _, headers in receiver.deliveries}
    assert ids == {event.id}
    for _, body, headers in receiver.deliveries:
        polar_webhook(SECRET).verify(body, headers)
    spec_checked.check_event(event)


def test_delivery_gives_up_after_max_attempts(polar_fake, client):
    receiver = Receiver(*[503] * 10)
    polar_fake.configure_webhooks(URL, SECRET, sender=receiver, delivery="manual", max_attempts=3)
    client.create({"product_id": PRODUCT_FREE_ID})
    for _ in range(5):
        polar_fake.deliver_webhooks(ignore_schedule=True)
    (event,) = polar_fake.events
    assert event.state == "failed"
    assert len(receiver.deliveries) == 3


def test_backoff_grows_exponentially(polar_fake):
    endpoint = polar_fake.configure_webhooks(URL, SECRET, sender=Receiver(), backoff=2)
    assert [endpoint.delay_after(n) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]


def test_a_receiver_may_call_the_fake_back(polar_fake, client):
    seen = []

    def handler(url, body, headers, timeout):
        # A webhook handler refreshing the checkout through the API: no deadlock.
        data = polar_webhook(SECRET).verify(body, headers)["data"]
        seen.append(PolarClient("t", max_retries=0).get(data["id"])["status"])
        return 200

    polar_fake.configure_webhooks(URL, SECRET, sender=handler)
    client.create({"product_id": PRODUCT_FREE_ID})
    assert seen == ["open"]


def test_events_are_recorded_even_without_an_endpoint(polar_fake, client):
    client.create({"product_id": PRODUCT_FREE_ID})
    (event,) = polar_fake.events
    assert (event.type, event.state) == ("checkout.created", "not_sent")
    assert polar_fake.deliver_webhooks() == []


def test_configure_rejects_an_unknown_delivery_mode(polar_fake):
    with pytest.raises(ValueError, match="delivery"):
        polar_fake.configure_webhooks(URL, SECRET, delivery="carrier-pigeon")


def test_events_are_listed_over_http(polar_fake, client, receiver):
    client.create({"product_id": PRODUCT_FREE_ID})
    response = polar_fake.handle("GET", "/_fake/events")
    (event,) = response.json()
    assert (event["type"], event["state"], event["attempts"]) == (
        "checkout.created",
        "delivered",
        1,
    )


def test_webhooks_can_be_configured_in_the_constructor():
    from polar_checkouts.testing import FakePolar

    receiver = Receiver()
    fake = FakePolar(webhook_url=URL, webhook_secret=SECRET, webhook_sender=receiver)
    fake.create_checkout(product_id=PRODUCT_FREE_ID)
    assert receiver.types() == ["checkout.created"]


@pytest.mark.django_db
def test_the_app_s_webhook_endpoint_accepts_the_fake_s_deliveries(polar_fake, client, settings):
    """The documented Django test-client sender, against this app's own webhook view."""
    from django.test import Client
    from django.urls import reverse

    browser = Client()

    def deliver(url, body, headers, timeout):
        response = browser.post(url, data=body, content_type="application/json", headers=headers)
        return response.status_code

    polar_fake.configure_webhooks(
        reverse("polar_checkouts:webhook"), settings.POLAR_WEBHOOK_SECRET, sender=deliver
    )
    _buy(client)
    assert [e.type for e in polar_fake.events] == PAID_CHECKOUT_EVENTS
    assert {e.state for e in polar_fake.events} == {"delivered"}


# -- the newest polar-sdk decodes every delivery ----------------------------------------------

SDK_MODULES = ("v2026_04", "v2026_10", "v2027_01")


@pytest.mark.parametrize("module", SDK_MODULES)
@pytest.mark.parametrize("version", [None, "2026-04", "2026-10", "2027-01"])
def test_every_delivery_decodes_with_polar_sdk(module, version):
    """Whatever version the calls asked for, each signed delivery passes the SDK's verifier
    and decoder (checkouts paid, free, pay-what-you-want, subscribed, failed, expired)."""
    import importlib

    from polar_checkouts.testing import (
        PRODUCT_PWYW_ID,
        PRODUCT_SUBSCRIPTION_ID,
        FakePolar,
    )

    import_from_311("polar", package="polar-sdk")
    from tests.testing.sdk_events import decode

    sdk = importlib.import_module(f"polar.{module}.webhooks")
    receiver = Receiver()
    fake = FakePolar(webhook_url=URL, webhook_secret=SECRET, webhook_sender=receiver)
    headers = {"Authorization": "Bearer t", **({"Polar-Version": version} if version else {})}
    path = "/v1/checkouts/custom/" if version is None else "/v1/checkouts/"
    outcomes = [
        (PRODUCT_ONE_TIME_ID, TOKEN_SUCCEEDED),
        (PRODUCT_FREE_ID, None),
        (PRODUCT_PWYW_ID, TOKEN_SUCCEEDED),
        (PRODUCT_SUBSCRIPTION_ID, TOKEN_SUCCEEDED),
        (PRODUCT_ONE_TIME_ID, TOKEN_FAILED),
        (PRODUCT_ONE_TIME_ID, "expire"),
    ]
    for product, token in outcomes:
        body = {"product_id": product, "payment_processor": "stripe"}
        created = fake.handle("POST", path, "", headers, json.dumps(body).encode())
        assert created.status == 201, created.body
        secret = created.json()["client_secret"]
        if token == "expire":
            fake.advance_time(3601)
            continue
        confirm = {**BUYER, **({"confirmation_token_id": token} if token else {})}
        answer = fake.handle(
            "POST", f"{path}client/{secret}/confirm", "", headers, json.dumps(confirm).encode()
        )
        assert answer.status == 200, answer.body
        fake.handle("GET", f"{path}{created.json()['id']}", "", headers)
    types = set()
    for _, body, signed in receiver.deliveries:
        event = decode(sdk, body, dict(signed), SECRET)
        assert event.type == json.loads(body)["type"]
        assert event.api_version == "2026-04"
        types.add(event.type)
    assert types == {
        "checkout.created",
        "checkout.updated",
        "checkout.expired",
        "customer.created",
        "customer.updated",
        "customer.state_changed",
        "order.created",
        "order.updated",
        "order.paid",
        "subscription.created",
        "subscription.active",
        "subscription.updated",
    }
