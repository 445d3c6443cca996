"""The durable inbox: record once, enqueue after commit, answer 2xx (issue 14).

Enqueueing is checked on Django's dummy task backend (it keeps what it was given and runs
nothing); behaviour on the immediate backend (the default, and ``tests/settings.py``).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test import Client, TestCase, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from polar_checkouts import signals
from polar_checkouts.models import CheckoutSession, WebhookEvent, WebhookOutcome, WebhookWakeUp
from polar_checkouts.webhooks import inbox, process_webhook_event
from polar_checkouts.webhooks.handover import release_wake_up
from tests.polar_payloads import BASE_TIME, checkout_payload
from tests.settings import TASKS_PACKAGE
from tests.webhook_helpers import connected, deliver, event_body, post, signed_headers

pytestmark = pytest.mark.django_db

DUMMY = {"BACKEND": f"{TASKS_PACKAGE}.backends.dummy.DummyBackend"}
IMMEDIATE = {"BACKEND": f"{TASKS_PACKAGE}.backends.immediate.ImmediateBackend"}


def backend(alias: str = "default") -> Any:
    from importlib import import_module

    return import_module(TASKS_PACKAGE).task_backends[alias]


def _boom(sender: Any, **kwargs: Any) -> None:
    raise RuntimeError("fulfilment service down")


class BrokenBackend:
    """A task backend whose broker is down: every enqueue raises."""

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        self.alias = alias

    def validate_task(self, task: Any) -> None:
        pass

    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        raise ConnectionError("broker unreachable")


# -- hand-over --------------------------------------------------------------------------------


@override_settings(TASKS={"default": DUMMY})
def test_a_delivery_is_recorded_and_its_primary_key_enqueued_after_commit(client):
    body = event_body("checkout.created", checkout_payload())
    headers = signed_headers(body, webhook_id="msg_queued")
    url_post = {"data": body, "content_type": "application/json"}
    extra = {k: v for k, v in headers.items() if k != "content-type"}

    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
        response = client.post(reverse("polar_checkouts:webhook"), headers=extra, **url_post)
        # Answered before the transaction committed: nothing is enqueued yet.
        assert backend().results == []

    assert response.status_code == 200
    event = WebhookEvent.objects.get(webhook_id="msg_queued")
    assert event.outcome == WebhookOutcome.PENDING
    assert len(callbacks) == 1
    callbacks[0]()
    [result] = backend().results
    assert result.args == [event.pk]  # the key, never the payload
    assert result.kwargs == {"drain": True}  # then the events waiting (handover.py)
    assert result.task.func is process_webhook_event.func
    assert result.task.queue_name == "default"
    assert not CheckoutSession.objects.exists()  # the dummy backend ran nothing


@override_settings(
    TASKS={"default": IMMEDIATE, "polar": {**DUMMY, "QUEUES": ["default", "webhooks"]}},
    POLAR_TASK_BACKEND="polar",
    POLAR_TASK_QUEUE="webhooks",
)
def test_the_task_goes_to_the_configured_backend_and_queue(client):
    assert deliver(client, "checkout.created", checkout_payload()).status_code == 200
    [result] = backend("polar").results
    assert result.backend == "polar"
    assert result.task.queue_name == "webhooks"
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.PENDING


@override_settings(TASKS={"default": DUMMY})
def test_a_duplicate_of_a_done_event_is_not_enqueued_again(client):
    body = event_body("benefit.created", {"id": "b"})
    post(client, body, signed_headers(body, webhook_id="msg_dup"))
    WebhookEvent.objects.update(outcome=WebhookOutcome.PROCESSED)
    backend().clear()

    assert post(client, body, signed_headers(body, webhook_id="msg_dup")).status_code == 200
    assert backend().results == []


@pytest.mark.django_db(transaction=True)
@override_settings(TASKS={"default": DUMMY})
def test_the_record_costs_one_statement_and_a_duplicate_no_update(client):
    # The webhook view runs in autocommit: the INSERT commits by itself, with no
    # transaction opened around it (BEGIN and COMMIT would be two more round trips). Then
    # the hand-over: the wake-up is read, and claimed for the task it enqueues.
    WebhookWakeUp.objects.create()
    body = event_body("benefit.created", {"id": "b"})
    with CaptureQueriesContext(connection) as first:
        assert post(client, body, signed_headers(body, webhook_id="msg_cost")).status_code == 200
    assert [q["sql"].split()[0] for q in first.captured_queries] == ["INSERT", "SELECT", "UPDATE"]
    assert len(backend().results) == 1

    # A duplicate of a pending event: an INSERT that writes nothing (or is refused) and one
    # SELECT, no UPDATE. Right after the first delivery it is not enqueued again: the
    # first delivery's task is the one that processes it.
    with CaptureQueriesContext(connection) as duplicate:
        assert post(client, body, signed_headers(body, webhook_id="msg_cost")).status_code == 200
    assert [q["sql"].split()[0] for q in duplicate.captured_queries] == ["INSERT", "SELECT"]
    assert len(backend().results) == 1
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.PENDING

    # Another delivery while that task is queued and has not started: its INSERT and a read
    # of the wake-up, nothing else written, nothing enqueued (the queued task drains it).
    body = event_body("benefit.created", {"id": "c"})
    with CaptureQueriesContext(connection) as next_one:
        assert post(client, body, signed_headers(body, webhook_id="msg_next")).status_code == 200
    assert [q["sql"].split()[0] for q in next_one.captured_queries] == ["INSERT", "SELECT"]
    assert len(backend().results) == 1


@override_settings(TASKS={"default": DUMMY})
def test_a_redelivery_of_a_pending_event_is_enqueued_again_once_polar_could_have_retried(
    client,
):
    body = event_body("benefit.created", {"id": "b"})
    headers = signed_headers(body, webhook_id="msg_lost")
    post(client, body, headers)
    [first] = backend().results

    # A concurrent copy (within REENQUEUE_PENDING_AFTER of the record): nothing more.
    post(client, body, headers)
    assert backend().results == [first]

    # Polar's retry after a lost answer comes after its backoff: the task may have been
    # lost with the answer (a web process killed after the commit), so it is enqueued again.
    recorded = timezone.now() - inbox.REENQUEUE_PENDING_AFTER - dt.timedelta(seconds=1)
    WebhookEvent.objects.update(received_at=recorded)
    assert post(client, body, headers).status_code == 200
    event = WebhookEvent.objects.get()
    assert [r.args for r in backend().results] == [[event.pk], [event.pk]]
    assert event.outcome == WebhookOutcome.PENDING


@override_settings(TASKS={"default": DUMMY})
def test_unknown_type_answers_202_and_is_enqueued_like_any_other(client):
    assert deliver(client, "benefit.teleported", {"id": "b"}).status_code == 202
    assert len(backend().results) == 1


@override_settings(TASKS={"default": {"BACKEND": "tests.webhooks.test_inbox.BrokenBackend"}})
def test_a_backend_that_cannot_enqueue_leaves_the_event_pending_and_answers_200(client, caplog):
    assert deliver(client, "checkout.created", checkout_payload()).status_code == 200
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.PENDING
    assert any(
        "could not be enqueued" in r.getMessage() and r.levelno == logging.ERROR
        for r in caplog.records
    )


def test_a_delivery_that_cannot_be_recorded_answers_503(client, monkeypatch, caplog):
    def database_down(**kwargs: Any) -> Any:
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(inbox, "record_delivery", database_down)
    response = deliver(client, "checkout.created", checkout_payload())
    assert response.status_code == 503
    assert b"could not connect" not in response.content
    assert any(r.levelno == logging.ERROR for r in caplog.records)


# -- behaviour on the immediate backend -------------------------------------------------------


def test_a_failing_receiver_never_fails_the_delivery_and_schedules_a_retry(client):
    before = timezone.now()
    with connected(signals.webhook_received, _boom):
        response = deliver(client, "benefit.created", {"id": "b"}, webhook_id="msg_fail")
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookOutcome.FAILED
    assert "fulfilment service down" in event.error
    assert event.last_attempt_at is not None
    assert event.last_attempt_at >= before
    assert event.next_attempt_at == event.last_attempt_at + dt.timedelta(seconds=60)


@override_settings(POLAR_WEBHOOK_RETRY_DELAY=10, POLAR_WEBHOOK_RETRY_MAX_DELAY=35)
def test_retries_back_off_exponentially_up_to_the_cap():
    event = WebhookEvent.objects.create(webhook_id="msg_b", type="benefit.created")
    delays = []
    with connected(signals.webhook_received, _boom):
        for _ in range(4):
            WebhookEvent.objects.filter(pk=event.pk).update(next_attempt_at=None)
            process_webhook_event.call(event.pk)
            event.refresh_from_db()
            assert event.last_attempt_at is not None
            assert event.next_attempt_at is not None
            delays.append((event.next_attempt_at - event.last_attempt_at).total_seconds())
    assert delays == [10, 20, 35, 35]
    assert event.attempts == 4


def test_a_success_clears_the_retry():
    event = WebhookEvent.objects.create(
        webhook_id="msg_ok",
        type="benefit.created",
        outcome=WebhookOutcome.FAILED,
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1),
    )
    assert process_webhook_event.call(event.pk) == "processed"
    event.refresh_from_db()
    assert (event.outcome, event.next_attempt_at, event.error) == (
        WebhookOutcome.PROCESSED,
        None,
        "",
    )


def test_the_task_is_idempotent_and_respects_the_backoff(signal_log):
    event = WebhookEvent.objects.create(webhook_id="msg_once", type="benefit.created")
    assert process_webhook_event.call(event.pk) == "processed"
    assert process_webhook_event.call(event.pk) == "skipped"
    assert len(signal_log["webhook_received"]) == 1

    later = WebhookEvent.objects.create(
        webhook_id="msg_later",
        type="benefit.created",
        outcome=WebhookOutcome.FAILED,
        next_attempt_at=timezone.now() + dt.timedelta(minutes=5),
    )
    assert process_webhook_event.call(later.pk) == "skipped"
    later.refresh_from_db()
    assert (later.outcome, later.attempts) == (WebhookOutcome.FAILED, 0)


def test_a_redelivery_of_a_failed_event_processes_it_at_once(client, signal_log):
    body = event_body("benefit.created", {"id": "b"})
    with connected(signals.webhook_received, _boom):
        post(client, body, signed_headers(body, webhook_id="msg_again"))
    event = WebhookEvent.objects.get()
    assert event.next_attempt_at is not None
    assert event.next_attempt_at > timezone.now()  # not due yet...

    assert post(Client(), body, signed_headers(body, webhook_id="msg_again")).status_code == 200
    event.refresh_from_db()  # ...but Polar's redelivery is processed now
    assert (event.outcome, event.attempts) == (WebhookOutcome.PROCESSED, 2)


# -- retries by the task backend, where it can defer ------------------------------------------


@override_settings(TASKS={"default": DUMMY})
def test_a_failure_enqueues_its_retry_on_a_backend_that_can_defer():
    event = WebhookEvent.objects.create(webhook_id="msg_defer", type="benefit.created")
    with connected(signals.webhook_received, _boom):
        assert process_webhook_event.call(event.pk) == "failed"
    event.refresh_from_db()
    [retry] = backend().results
    assert retry.args == [event.pk]
    assert retry.task.run_after == event.next_attempt_at

    backend().clear()
    assert process_webhook_event.call(event.pk) == "skipped"  # not due: no new chain
    assert backend().results == []


def test_no_deferred_retry_on_the_immediate_backend(signal_log):
    event = WebhookEvent.objects.create(webhook_id="msg_inline", type="benefit.created")
    with connected(signals.webhook_received, _boom):
        assert process_webhook_event.call(event.pk) == "failed"
    event.refresh_from_db()
    assert event.attempts == 1  # not run again inline: the command retries it when due


def hours(n: int) -> dt.timedelta:
    return dt.timedelta(hours=n)


# -- ordering under the queue -----------------------------------------------------------------


@override_settings(TASKS={"default": DUMMY})
def test_tasks_run_out_of_order_never_roll_a_checkout_back(client, signal_log):
    checkout_id = "2b6f2e84-0f5a-4c35-9a57-3d1c8f0a7c11"
    versions = [
        checkout_payload(
            checkout_id, status=status, modified_at=BASE_TIME + dt.timedelta(seconds=i)
        )
        for i, status in enumerate(["open", "confirmed", "succeeded"])
    ]
    for i, payload in enumerate(versions):
        deliver(client, "checkout.updated", payload, webhook_id=f"msg_v{i}")
        release_wake_up()  # as if its task had started: the next delivery enqueues its own
    queued = [result.args[0] for result in backend().results]
    assert len(queued) == 3

    for event_id in reversed(queued):  # the newest first, the oldest last
        assert process_webhook_event.call(event_id) == "processed"

    assert CheckoutSession.objects.get(pk=checkout_id).status == "succeeded"
    assert len(signal_log["checkout_succeeded"]) == 1


@pytest.mark.parametrize("one_statement", [True, False], ids=["on conflict", "orm insert"])
@pytest.mark.parametrize("outcome", [WebhookOutcome.PENDING, WebhookOutcome.FAILED])
def test_a_redelivery_reads_back_the_recorded_state_with_its_types(
    outcome, one_statement, monkeypatch
):
    from polar_checkouts.webhooks import processing
    from polar_checkouts.webhooks.processing import record_delivery

    if not one_statement:  # as on a database without INSERT ... ON CONFLICT ... RETURNING
        monkeypatch.setattr(processing, "_inserts_on_conflict", lambda conn: False)

    payload = {"type": "checkout.updated", "data": checkout_payload()}
    first, created = record_delivery(webhook_id="msg_state", payload=payload, headers={})
    assert created
    retry_at = timezone.now() + dt.timedelta(minutes=3)
    WebhookEvent.objects.filter(pk=first.pk).update(outcome=outcome, next_attempt_at=retry_at)
    stored = WebhookEvent.objects.get(pk=first.pk)

    again, created = record_delivery(webhook_id="msg_state", payload=payload, headers={})
    assert not created
    assert (again.pk, again.webhook_id, again.type, again.outcome) == (
        first.pk,
        "msg_state",
        "checkout.updated",
        outcome,
    )
    # Dates come back as aware datetimes (SQLite hands back text: the fields' converters).
    assert again.received_at == stored.received_at
    assert again.next_attempt_at == stored.next_attempt_at
    assert timezone.is_aware(again.received_at)
    assert again.payload == payload  # not read with the state: loaded on first access
