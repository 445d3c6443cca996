"""End to end: the fake Polar signs and POSTs its events over HTTP to a live server."""

from __future__ import annotations

import pytest
from django.urls import reverse

from polar_checkouts import services
from polar_checkouts.models import CheckoutSession, WebhookEvent, WebhookOutcome
from polar_checkouts.testing import PRODUCT_ONE_TIME_ID, TOKEN_SUCCEEDED
from tests.webhook_helpers import SECRET

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_paid_checkout_reaches_the_cache_and_the_signals_by_webhook(
    live_server, polar_fake, signal_log
):
    url = live_server.url + reverse("polar_checkouts:webhook")
    polar_fake.configure_webhooks(url, SECRET, delivery="manual")

    checkout = services.create_checkout(
        product_id=PRODUCT_ONE_TIME_ID, customer_email="ada@example.com"
    )
    services.client_confirm(
        checkout.client_secret or "",
        {
            "confirmation_token_id": TOKEN_SUCCEEDED,
            "customer_name": "Ada Lovelace",
            "customer_email": "ada@example.com",
            "customer_billing_address": {"country": "GB"},
        },
    )
    assert CheckoutSession.objects.get(pk=checkout.pk).status == "confirmed"

    polar_fake.checkout(str(checkout.pk))  # the payment settles on Polar's side
    delivered = polar_fake.deliver_webhooks()

    assert [e.type for e in delivered] == [
        "checkout.created",
        "checkout.updated",
        "checkout.updated",
        "order.created",
        "order.paid",
    ]
    assert all(e.attempts[-1].status == 200 for e in delivered)
    # Only the webhook told this site about the success.
    stored = CheckoutSession.objects.get(pk=checkout.pk)
    assert stored.status == "succeeded"
    assert stored.succeeded_notified_at is not None
    assert [c["checkout"].pk for c in signal_log["checkout_succeeded"]] == [checkout.pk]
    (paid,) = signal_log["order_paid"]
    assert paid["checkout"].pk == checkout.pk
    assert paid["order"].payload["checkout_id"] == str(checkout.pk)
    assert paid["order"].checkout_id == checkout.pk
    events = WebhookEvent.objects.order_by("received_at")
    assert [e.webhook_id for e in events] == [e.id for e in delivered]
    assert {e.outcome for e in events} == {WebhookOutcome.PROCESSED}

    # Later paths (the success page, a poll) see the same success and send nothing again.
    services.refresh_checkout(checkout.pk)
    assert len(signal_log["checkout_succeeded"]) == 1


def test_a_failing_endpoint_is_retried_by_the_fake_until_it_succeeds(
    live_server, polar_fake, signal_log, settings
):
    url = live_server.url + reverse("polar_checkouts:webhook")
    polar_fake.configure_webhooks(url, SECRET, delivery="manual")
    settings.POLAR_WEBHOOK_SECRET = None  # misconfigured: 503 for everything

    checkout = services.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    (first,) = polar_fake.deliver_webhooks()
    assert first.attempts[-1].status == 503
    assert not WebhookEvent.objects.exists()

    settings.POLAR_WEBHOOK_SECRET = SECRET
    (retried,) = polar_fake.deliver_webhooks(ignore_schedule=True)
    assert retried.id == first.id
    assert retried.attempts[-1].status == 200
    event = WebhookEvent.objects.get(webhook_id=first.id)
    assert (event.type, event.outcome) == ("checkout.created", WebhookOutcome.PROCESSED)
    assert str(event.checkout_id) == str(checkout.pk)
