"""The hand-over of recorded events to the task backend (polar_checkouts.webhooks.handover).

One queued task processes many events: a delivery enqueues one only while none is queued
that has not started. On Django's dummy backend (it keeps what it is given and runs
nothing), a broken one, and the immediate one.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from polar_checkouts.models import WebhookEvent, WebhookOutcome, WebhookWakeUp
from polar_checkouts.webhooks import handover, process_webhook_event
from tests.polar_payloads import checkout_payload
from tests.settings import TASKS_PACKAGE
from tests.webhook_helpers import deliver

pytestmark = pytest.mark.django_db

DUMMY = {"BACKEND": f"{TASKS_PACKAGE}.backends.dummy.DummyBackend"}
BROKEN = {"BACKEND": "tests.webhooks.test_inbox.BrokenBackend"}


def results() -> list[Any]:
    from importlib import import_module

    return list(import_module(TASKS_PACKAGE).task_backends["default"].results)


def deliver_new(client: Client, n: int) -> None:
    payload = checkout_payload(status="succeeded")
    assert deliver(client, "checkout.updated", payload, webhook_id=f"msg_h{n}").status_code == 200


def run(result: Any) -> str:
    """Run an enqueued task as a worker would."""
    return str(process_webhook_event.call(*result.args, **result.kwargs))


def claimed_at() -> dt.datetime | None:
    return WebhookWakeUp.objects.get(pk=WebhookWakeUp.ROW).queued_at


@override_settings(TASKS={"default": DUMMY})
def test_one_queued_task_processes_every_delivery_made_before_it_starts(client):
    for n in range(4):
        deliver_new(client, n)
    [task] = results()
    first = WebhookEvent.objects.get(webhook_id="msg_h0")
    assert (task.args, task.kwargs) == ([first.pk], {"drain": True})
    assert claimed_at() is not None

    assert run(task) == "processed"

    assert set(WebhookEvent.objects.values_list("outcome", "attempts")) == {
        (WebhookOutcome.PROCESSED, 1)
    }
    assert claimed_at() is None  # released when it started


@override_settings(TASKS={"default": DUMMY})
def test_a_delivery_after_the_task_started_enqueues_another(client):
    deliver_new(client, 0)
    [first] = results()
    run(first)
    deliver_new(client, 1)
    second = results()[1]
    assert second.args == [WebhookEvent.objects.get(webhook_id="msg_h1").pk]
    assert second.kwargs == {"drain": True}


@override_settings(TASKS={"default": DUMMY})
def test_a_delivery_seen_as_covered_is_drained_by_the_task_that_releases_later(client):
    # The order the argument in handover.py rests on: the delivery reads the claim after its
    # event committed; the release comes later; the drain after it finds the event.
    deliver_new(client, 0)
    [task] = results()
    deliver_new(client, 1)  # skipped: the claim is fresh
    assert len(results()) == 1
    assert WebhookEvent.objects.get(webhook_id="msg_h1").outcome == WebhookOutcome.PENDING
    run(task)
    assert WebhookEvent.objects.get(webhook_id="msg_h1").outcome == WebhookOutcome.PROCESSED


@override_settings(TASKS={"default": DUMMY})
def test_a_stale_claim_is_taken_over_by_the_next_delivery(client):
    # The claimer's task was lost (its process died after the claim, or a worker was killed
    # before the task started): after WAKE_UP_STALE_AFTER the next delivery claims again.
    deliver_new(client, 0)
    stale = timezone.now() - handover.WAKE_UP_STALE_AFTER - dt.timedelta(seconds=1)
    WebhookWakeUp.objects.update(queued_at=stale)
    deliver_new(client, 1)
    assert len(results()) == 2
    reclaimed = claimed_at()
    assert reclaimed is not None
    assert reclaimed > stale

    # Just inside the window, it stands.
    fresh = timezone.now() - handover.WAKE_UP_STALE_AFTER + dt.timedelta(seconds=5)
    WebhookWakeUp.objects.update(queued_at=fresh)
    deliver_new(client, 2)
    assert len(results()) == 2


@override_settings(TASKS={"default": DUMMY})
def test_without_the_row_the_first_delivery_creates_it_claimed(client):
    WebhookWakeUp.objects.all().delete()
    deliver_new(client, 0)
    assert len(results()) == 1
    assert claimed_at() is not None
    deliver_new(client, 1)
    assert len(results()) == 1


@override_settings(TASKS={"default": BROKEN})
def test_a_backend_that_cannot_enqueue_gives_the_claim_back(client, caplog):
    with caplog.at_level(logging.ERROR, "polar_checkouts.webhooks"):
        deliver_new(client, 0)
        deliver_new(client, 1)
    assert claimed_at() is None  # each delivery tried, and gave it back
    assert caplog.text.count("could not be enqueued") == 2
    assert set(WebhookEvent.objects.values_list("outcome", flat=True)) == {WebhookOutcome.PENDING}


@override_settings(TASKS={"default": DUMMY})
def test_a_drain_stops_at_its_limit_and_hands_over(client, monkeypatch):
    monkeypatch.setattr(handover, "DRAIN_LIMIT", 2)
    for n in range(5):
        deliver_new(client, n)
    [task] = results()
    run(task)  # its own event, then 2 of the 4 waiting
    processed = WebhookEvent.objects.filter(outcome=WebhookOutcome.PROCESSED)
    assert processed.count() == 3
    [successor] = results()[1:]
    oldest_waiting = (
        WebhookEvent.objects.filter(outcome=WebhookOutcome.PENDING).order_by("received_at").first()
    )
    assert oldest_waiting is not None
    assert (successor.args, successor.kwargs) == ([oldest_waiting.pk], {"drain": True})
    run(successor)
    assert processed.count() == 5


def test_the_immediate_backend_runs_each_event_alone_and_drains_nothing(client):
    # tests/settings.py: the default backend is the immediate one (no worker).
    waiting = WebhookEvent.objects.create(
        webhook_id="msg_left", type="checkout.updated", payload={"type": "checkout.updated"}
    )
    deliver_new(client, 0)
    assert WebhookEvent.objects.get(webhook_id="msg_h0").outcome == WebhookOutcome.PROCESSED
    # Another delivery's event is not processed in this request: that is the retry
    # command's (or its own task's) job.
    waiting.refresh_from_db()
    assert waiting.outcome == WebhookOutcome.PENDING
    assert claimed_at() is None


@override_settings(TASKS={"default": DUMMY})
def test_an_event_that_fails_in_a_drain_gets_its_retry_scheduled_on_the_backend(client):
    deliver_new(client, 0)
    # A checkout event whose data is not a checkout: its handler raises.
    response = deliver(client, "checkout.updated", "not a checkout", webhook_id="msg_bad")
    assert response.status_code == 200
    [task] = results()
    run(task)

    bad = WebhookEvent.objects.get(webhook_id="msg_bad")
    assert (bad.outcome, bad.attempts) == (WebhookOutcome.FAILED, 1)
    assert bad.next_attempt_at is not None
    [retry] = results()[1:]
    assert (retry.args, retry.kwargs) == ([bad.pk], {})
    assert retry.task.run_after == bad.next_attempt_at


@override_settings(TASKS={"default": DUMMY})
def test_a_drain_out_of_time_hands_over_after_the_event_it_started(client, monkeypatch):
    # Slow receivers: a drain starts no new event after DRAIN_SECONDS (here at once, so
    # each task takes its own event and one waiting one) and hands the rest over.
    monkeypatch.setattr(handover, "DRAIN_SECONDS", 0.0)
    for n in range(4):
        deliver_new(client, n)
    [task] = results()
    run(task)
    processed = WebhookEvent.objects.filter(outcome=WebhookOutcome.PROCESSED)
    assert set(processed.values_list("webhook_id", flat=True)) == {"msg_h0", "msg_h1"}
    [successor] = results()[1:]
    assert successor.args == [WebhookEvent.objects.get(webhook_id="msg_h2").pk]
    run(successor)
    assert processed.count() == 4
    assert len(results()) == 2  # the last drain found nothing left: no successor
