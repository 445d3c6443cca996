"""End to end: the fake Polar signs and POSTs its events over HTTP to a live server."""

from __future__ import annotations

import pytest
from django.urls import reverse

from polar_checkouts import services
from polar_checkouts.models import CheckoutSession, Customer, WebhookEvent, WebhookOutcome
from polar_checkouts.testing import PRODUCT_ONE_TIME_ID, PRODUCT_SUBSCRIPTION_ID, TOKEN_SUCCEEDED
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
        "customer.created",
        "customer.state_changed",
        "checkout.updated",
        "checkout.updated",
        "order.created",
        "order.updated",
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


def test_a_returning_customer_is_updated_by_customer_updated(live_server, polar_fake):
    url = live_server.url + reverse("polar_checkouts:webhook")
    polar_fake.configure_webhooks(url, SECRET, delivery="manual")

    def buy(product_id, country):
        checkout = services.create_checkout(product_id=product_id)
        services.client_confirm(
            checkout.client_secret or "",
            {
                "confirmation_token_id": TOKEN_SUCCEEDED,
                "customer_name": "Ada Lovelace",
                "customer_email": "ada@example.com",
                "customer_billing_address": {"country": country},
            },
        )
        polar_fake.checkout(str(checkout.pk))  # the payment settles on Polar's side
        return polar_fake.deliver_webhooks()

    buy(PRODUCT_SUBSCRIPTION_ID, "GB")
    customer = Customer.objects.get()
    assert customer.payload["billing_address"]["country"] == "GB"
    # The state Polar sends after the subscription: the customer with it, active.
    (state,) = [
        e
        for e in WebhookEvent.objects.filter(type="customer.state_changed")
        if e.payload["data"]["active_subscriptions"]
    ]
    assert state.outcome == WebhookOutcome.PROCESSED
    assert "active_subscriptions" not in customer.payload  # a customer, not its state

    delivered = buy(PRODUCT_ONE_TIME_ID, "FR")

    # A known customer: Polar updates it at confirmation, then sends its state.
    assert [e.type for e in delivered][1:3] == ["customer.updated", "customer.state_changed"]
    assert all(e.attempts[-1].status == 200 for e in delivered)
    updated = Customer.objects.get()
    assert updated.pk == customer.pk
    assert updated.payload["billing_address"]["country"] == "FR"
    assert updated.modified_at is not None
    assert customer.modified_at is None or updated.modified_at > customer.modified_at
    assert set(
        WebhookEvent.objects.filter(type__startswith="customer.").values_list("outcome", flat=True)
    ) == {WebhookOutcome.PROCESSED}


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
