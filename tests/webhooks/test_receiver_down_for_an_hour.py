"""Issue 14's "done when": a receiver that raises for an hour loses nothing and never gets
the endpoint disabled.

The fake Polar (Polar's 10 attempts, and its rule that 10 consecutive failed events disable
the endpoint) delivers to the real endpoint; the shop's fulfilment receivers of
``checkout_succeeded`` and ``order_paid`` raise for a simulated hour while shoppers buy.
Minute by minute the fake's clock and the app's retry clock move together, the fake sends
what is due and cron runs ``polar_checkouts_process_webhooks``. Then the receivers are fixed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.test import Client

from polar_checkouts import services, signals
from polar_checkouts.models import WebhookEvent, WebhookOutcome
from polar_checkouts.testing import PRODUCT_ONE_TIME_ID, TOKEN_SUCCEEDED
from polar_checkouts.testing.fake.webhook_api import POLAR_MAX_ATTEMPTS
from polar_checkouts.webhooks import processing
from tests.webhook_helpers import SECRET, connected, post

pytestmark = pytest.mark.django_db

MINUTES = 60
BUY_EVERY = 4  # minutes: 15 purchases in the hour
BUYER = {
    "confirmation_token_id": TOKEN_SUCCEEDED,
    "customer_name": "Ada Lovelace",
    "customer_email": "ada@example.com",
    "customer_billing_address": {"country": "GB"},
}


class Clock:
    """The app's retry clock (``processing``'s ``timezone.now``), moved with the fake's."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc) + self.offset


def test_a_receiver_raising_for_an_hour_loses_nothing(polar_fake, monkeypatch, capsys):
    clock = Clock()
    # Only the processing clock moves: signatures are still checked against real time,
    # which is when the fake signs them.
    monkeypatch.setattr(processing, "timezone", SimpleNamespace(now=clock.now))
    client = Client()
    answers: list[int] = []

    def shop(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        status = int(post(client, body, headers).status_code)
        answers.append(status)
        return status

    polar_fake.configure_webhooks(
        "https://shop.example.com/polar/webhook/",
        SECRET,
        delivery="manual",
        sender=shop,
        max_attempts=POLAR_MAX_ATTEMPTS,
    )
    broken = True
    fulfilled: Counter[tuple[str, str]] = Counter()

    def fulfil(sender, checkout, **kwargs):
        if broken:
            raise RuntimeError("fulfilment service is down")
        fulfilled["checkout", str(checkout.pk)] += 1

    def ship(sender, order, checkout, **kwargs):
        if broken:
            raise RuntimeError("fulfilment service is down")
        fulfilled["order", str(order.pk)] += 1  # the Order row (issue 13)

    bought = []
    with connected(signals.checkout_succeeded, fulfil), connected(signals.order_paid, ship):
        for minute in range(MINUTES):
            if minute % BUY_EVERY == 0:
                checkout = services.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
                services.client_confirm(checkout.client_secret or "", BUYER)
                bought.append(str(checkout.pk))
            polar_fake.advance_time(60)
            clock.offset += dt.timedelta(seconds=60)
            polar_fake.deliver_webhooks()
            call_command("polar_checkouts_process_webhooks")  # cron, every minute

        # The hour is over: every delivery was answered 2xx on its first attempt, so Polar
        # kept the endpoint enabled and has nothing to retry.
        assert polar_fake.webhook is not None
        assert polar_fake.webhook.enabled
        assert set(answers) == {200}
        assert {(e.state, len(e.attempts)) for e in polar_fake.events} == {("delivered", 1)}
        assert len(bought) == MINUTES // BUY_EVERY
        paid = [e for e in polar_fake.events if e.type == "order.paid"]
        assert len(paid) == len(bought)
        # Each success and payment failed here, was retried with backoff, and waits.
        failed = WebhookEvent.objects.filter(outcome=WebhookOutcome.FAILED)
        # Every event that reaches a raising receiver: the checkout's success, and each
        # order event showing the order paid (order_paid is claimed by the first one that
        # commits, so while the receiver raises each of them rolls back and fails).
        raising = [e for e in polar_fake.events if _reaches_a_receiver(e)]
        assert len(raising) >= 2 * len(bought)
        assert failed.count() == len(raising)
        assert min(e.attempts for e in failed) >= 2  # retried during the hour
        assert "fulfilment service is down" in failed[0].error
        assert not fulfilled

        # Fixed. The next due retry (at most POLAR_WEBHOOK_RETRY_MAX_DELAY away) processes
        # every waiting event; --all-failed would not have to wait for it.
        broken = False
        clock.offset += dt.timedelta(hours=6)
        call_command("polar_checkouts_process_webhooks")
        call_command("polar_checkouts_process_webhooks", "--all-failed")  # finds nothing

    assert not WebhookEvent.objects.exclude(outcome=WebhookOutcome.PROCESSED).exists()
    assert WebhookEvent.objects.count() == len(polar_fake.events)  # nothing lost
    expected = {("checkout", pk): 1 for pk in bought}
    expected |= {("order", str(e.payload()["data"]["id"])): 1 for e in paid}
    assert dict(fulfilled) == expected  # each exactly once
    assert capsys.readouterr().out.splitlines()[-2:] == [
        f"processed {len(raising)}, failed 0, skipped 0",
        "processed 0, failed 0, skipped 0",
    ]


def _reaches_a_receiver(event) -> bool:
    """Would this event send checkout_succeeded or order_paid (the raising receivers)?"""
    data = event.payload()["data"]
    if event.type == "checkout.updated":
        return data.get("status") == "succeeded"
    return event.type.startswith("order.") and data.get("status") == "paid"
