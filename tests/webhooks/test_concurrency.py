"""Concurrency on PostgreSQL: several workers, each with its own connection, at once.

Every thread below opens its own database connection (Django's are per thread) and
closes it when done. The barrier makes them start together; the slow receivers only
widen the window in which they overlap, nothing is asserted about timing.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import responses
from django.db import connection
from django.test import Client

from polar_checkouts import services, signals
from polar_checkouts.models import CheckoutSession, WebhookEvent, WebhookOutcome
from tests.polar_payloads import BASE_TIME, CHECKOUTS_URL, checkout_payload
from tests.threads import run_together
from tests.webhook_helpers import connected, event_body, post, signed_headers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKERS = 6


def _slow(sender: Any, **kwargs: Any) -> None:
    time.sleep(0.05)


def test_same_event_from_many_workers_is_processed_once(signal_log):
    payload = checkout_payload(status="succeeded", modified_at=BASE_TIME)
    body = event_body("checkout.updated", payload)

    def deliver() -> int:
        headers = signed_headers(body, webhook_id="msg_concurrent")
        return post(Client(), body, headers).status_code

    with connected(signals.webhook_received, _slow):
        statuses = run_together(*[deliver] * WORKERS)

    assert statuses == [200] * WORKERS
    event = WebhookEvent.objects.get(webhook_id="msg_concurrent")
    assert (event.outcome, event.attempts) == (WebhookOutcome.PROCESSED, 1)
    assert len(signal_log["webhook_received"]) == 1
    assert len(signal_log["checkout_succeeded"]) == 1
    assert len(signal_log["checkout_updated"]) == 1


def test_different_updates_to_one_checkout_keep_the_newest(signal_log):
    checkout_id = str(uuid.uuid4())
    statuses = ["open", "open", "open", "confirmed", "confirmed", "succeeded"]
    versions = [
        checkout_payload(
            checkout_id,
            status=status,
            modified_at=BASE_TIME + dt.timedelta(seconds=i),
            customer_name=f"version {i}",
        )
        for i, status in enumerate(statuses)
    ]
    random.Random(7).shuffle(versions)

    def deliver(payload: dict[str, Any]) -> Callable[[], int]:
        def job() -> int:
            body = event_body("checkout.updated", payload)
            return post(Client(), body, signed_headers(body)).status_code

        return job

    with connected(signals.checkout_updated, _slow):
        results = run_together(*[deliver(v) for v in versions])

    assert results == [200] * len(versions)
    stored = CheckoutSession.objects.get(pk=checkout_id)
    assert stored.status == "succeeded"
    assert stored.customer_name == f"version {len(statuses) - 1}"
    assert WebhookEvent.objects.filter(outcome=WebhookOutcome.PROCESSED).count() == len(versions)
    assert [str(c["checkout"].pk) for c in signal_log["checkout_succeeded"]] == [checkout_id]


def test_webhook_and_refreshes_racing_send_succeeded_once(signal_log):
    checkout_id = str(uuid.uuid4())
    CheckoutSession.objects.upsert_from_polar(checkout_payload(checkout_id, status="confirmed"))
    paid = checkout_payload(checkout_id, status="succeeded", modified_at=BASE_TIME)
    body = event_body("checkout.updated", paid)

    def webhook() -> int:
        return post(Client(), body, signed_headers(body)).status_code

    def refresh() -> str:
        return services.refresh_checkout(checkout_id).status

    with responses.RequestsMock() as rsps:
        rsps.add("GET", CHECKOUTS_URL + checkout_id, json=paid)
        with connected(signals.checkout_updated, _slow):
            results = run_together(webhook, refresh, webhook, refresh, refresh)

    assert results == [200, "succeeded", 200, "succeeded", "succeeded"]
    assert [str(c["checkout"].pk) for c in signal_log["checkout_succeeded"]] == [checkout_id]
    assert CheckoutSession.objects.get(pk=checkout_id).succeeded_notified_at is not None


def test_delivery_is_committed_before_processing_even_with_atomic_requests(monkeypatch):
    # With ATOMIC_REQUESTS the whole view would be one transaction; the endpoint opts out,
    # so the recorded delivery is visible to other workers while its handler runs.
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    seen_from_elsewhere: list[bool] = []

    def look_from_another_connection(sender: Any, event: WebhookEvent, **kwargs: Any) -> None:
        def look() -> bool:
            return WebhookEvent.objects.filter(webhook_id=event.webhook_id).exists()

        seen_from_elsewhere.extend(run_together(look))

    body = event_body("checkout.created", checkout_payload())
    with connected(signals.webhook_received, look_from_another_connection):
        response = post(Client(), body, signed_headers(body, webhook_id="msg_visible"))

    assert response.status_code == 200
    assert seen_from_elsewhere == [True]
