"""``manage.py polar_checkouts_reconcile``: recovery after Polar disabled the endpoint.

The fake Polar delivers to the real endpoint (Django's test client as its sender) with
Polar's 10 attempts per event, and disables the endpoint after 10 consecutive failed events
as Polar does. The shop was down meanwhile; once it is back, the command syncs the cache,
re-enables the endpoint and has every failed event redelivered, each processed once.
"""

from __future__ import annotations

from io import StringIO

import pytest
import requests
from django.core.management import CommandError, call_command
from django.test import Client

from polar_checkouts.models import CheckoutSession, WebhookEvent, WebhookOutcome
from polar_checkouts.testing import PRODUCT_ONE_TIME_ID
from polar_checkouts.testing.fake.webhook_api import FAILURE_THRESHOLD, POLAR_MAX_ATTEMPTS
from tests.webhook_helpers import SECRET, post

pytestmark = pytest.mark.django_db

URL = "https://shop.example.com/polar/webhook/"


class Shop:
    """The fake's sender: the real endpoint through Django's test client, or a refused
    connection while the shop is down."""

    def __init__(self) -> None:
        self.down = False
        self.client = Client()

    def __call__(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        if self.down:
            raise requests.ConnectionError("connection refused")
        return int(post(self.client, body, headers).status_code)


@pytest.fixture
def shop(polar_fake):
    shop = Shop()
    polar_fake.configure_webhooks(
        URL, SECRET, delivery="manual", sender=shop, max_attempts=POLAR_MAX_ATTEMPTS
    )
    return shop


def reconcile(*args: str) -> str:
    out = StringIO()
    call_command("polar_checkouts_reconcile", *args, stdout=out, stderr=out)
    return out.getvalue()


def deliver_until_done(fake) -> None:
    for _ in range(POLAR_MAX_ATTEMPTS):
        fake.deliver_webhooks(ignore_schedule=True)


def test_a_disabled_endpoint_is_recovered_and_every_event_processed_once(polar_fake, shop):
    shop.down = True
    for _ in range(FAILURE_THRESHOLD + 1):
        polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    deliver_until_done(polar_fake)
    assert not polar_fake.webhook.enabled  # Polar gave up on the shop
    attempted = [e for e in polar_fake.events if e.attempts]
    assert len(attempted) == FAILURE_THRESHOLD + 1
    tries = [len(e.attempts) for e in attempted]
    # One more checkout while disabled: its event is skipped without any attempt.
    late = polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    polar_fake.deliver_webhooks(ignore_schedule=True)
    assert polar_fake.events[-1].skipped
    assert not polar_fake.events[-1].attempts
    assert not WebhookEvent.objects.exists()
    assert not CheckoutSession.objects.exists()

    shop.down = False
    # Without --enable-endpoint: the cache is synced, the endpoint reported disabled, and
    # nothing is redelivered (Polar would skip it).
    output = reconcile()
    assert "Synced checkouts since the beginning: created 12" in output
    assert "11 events never succeeded" in output
    assert "DISABLED" in output
    assert "--enable-endpoint" in output
    assert CheckoutSession.objects.count() == FAILURE_THRESHOLD + 2
    assert CheckoutSession.objects.filter(pk=late["id"]).exists()  # the skipped one too
    polar_fake.deliver_webhooks(ignore_schedule=True)
    assert not WebhookEvent.objects.exists()

    output = reconcile("--enable-endpoint")
    assert "Re-enabled the endpoint." in output
    assert "Asked Polar to redeliver 11 events." in output
    assert polar_fake.webhook.enabled
    polar_fake.deliver_webhooks()

    # Every event that failed reached the inbox once and was processed once.
    events = WebhookEvent.objects.order_by("received_at")
    assert [e.webhook_id for e in events] == [e.id for e in attempted]
    assert {(e.outcome, e.attempts) for e in events} == {(WebhookOutcome.PROCESSED, 1)}
    assert all(e.state == "delivered" for e in attempted)

    # Run again: nothing left to redeliver, nothing processed twice.
    output = reconcile()
    assert "0 events never succeeded, 11 recovered since" in output
    assert "Asked Polar to redeliver 0 events." in output
    polar_fake.deliver_webhooks(ignore_schedule=True)
    assert WebhookEvent.objects.count() == FAILURE_THRESHOLD + 1
    assert [len(e.attempts) for e in attempted] == [n + 1 for n in tries]  # one redelivery


def test_dry_run_changes_nothing(polar_fake, shop):
    shop.down = True
    for _ in range(FAILURE_THRESHOLD):
        polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    deliver_until_done(polar_fake)
    shop.down = False

    output = reconcile("--dry-run", "--enable-endpoint")
    assert "[dry run] Would sync checkouts" in output
    assert "[dry run] Would re-enable the endpoint" in output
    assert not polar_fake.webhook.enabled
    assert not CheckoutSession.objects.exists()
    assert polar_fake.calls("redeliver_webhook_event") == []


def test_an_enabled_endpoint_with_a_few_failed_events_gets_them_redelivered(polar_fake, shop):
    shop.down = True
    polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    deliver_until_done(polar_fake)
    (event,) = polar_fake.events
    assert event.state == "failed"
    assert polar_fake.webhook.enabled
    shop.down = False

    output = reconcile("--skip-sync")
    assert "DISABLED" not in output
    assert "Asked Polar to redeliver 1 events." in output
    polar_fake.deliver_webhooks()
    assert WebhookEvent.objects.get(webhook_id=event.id).outcome == WebhookOutcome.PROCESSED


def test_an_unknown_endpoint_id_is_a_clear_error(polar_fake, shop):
    with pytest.raises(CommandError, match="Could not read the webhook endpoints from Polar"):
        reconcile("--skip-sync", "--endpoint", "8b3c1b1e-2d7f-4c4e-9a0b-1c2d3e4f5a6b")


def test_without_any_endpoint_the_command_says_how_to_name_one(polar_fake):
    with pytest.raises(CommandError, match="--endpoint ENDPOINT_ID"):
        reconcile("--skip-sync")


def test_a_negative_margin_is_refused(polar_fake):
    with pytest.raises(CommandError, match="--margin"):
        reconcile("--margin", "-5")


def test_reconcile_refreshes_orders_subscriptions_and_customers_too(polar_fake, db):
    """Issue 14 x 13: the objects after the checkout join the refresh, so a webhook
    outage does not leave a subscription, its order or its customer stale."""
    import json
    import uuid

    from polar_checkouts.models import Customer, Order, Subscription
    from polar_checkouts.services import reconcile
    from polar_checkouts.testing import PRODUCT_SUBSCRIPTION_ID, TOKEN_SUCCEEDED

    assert {"checkouts", "customers", "orders", "subscriptions"} <= set(reconcile.REFRESHERS)
    checkout = polar_fake.create_checkout(products=[PRODUCT_SUBSCRIPTION_ID])
    body = {
        "customer_email": "ada@example.com",
        "customer_name": "Ada",
        "customer_billing_address": {"country": "NL"},
        "confirmation_token_id": TOKEN_SUCCEEDED,
    }
    answer = polar_fake.handle(
        "POST",
        f"/v1/checkouts/client/{checkout['client_secret']}/confirm",
        "",
        {"Polar-Version": "2026-10"},
        json.dumps(body).encode(),
    )
    assert answer.status == 200, answer.body
    polar_fake.checkout(checkout["id"])  # settles the payment
    assert polar_fake.subscriptions
    assert polar_fake.orders
    done = reconcile.refresh_cache(None)
    assert {"customers", "orders", "subscriptions"} <= set(done)
    assert set(Subscription.objects.values_list("pk", flat=True)) == {
        uuid.UUID(str(pk)) for pk in polar_fake.subscriptions
    }
    assert Order.objects.count() == len(polar_fake.orders) >= 1
    assert Customer.objects.count() == len(polar_fake.customers) >= 1
