"""``manage.py polar_checkouts_process_webhooks``: pending and due events, once each."""

from __future__ import annotations

import datetime as dt
import io
import time
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from polar_checkouts import signals
from polar_checkouts.models import WebhookEvent, WebhookOutcome
from tests.threads import errors_of, run_together
from tests.webhook_helpers import connected

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("polar_checkouts_process_webhooks", *args, stdout=out)
    return out.getvalue().strip()


def event(webhook_id: str, outcome: str = WebhookOutcome.PENDING, **fields: Any) -> WebhookEvent:
    return WebhookEvent.objects.create(
        webhook_id=webhook_id, type="benefit.created", outcome=outcome, **fields
    )


def outcomes() -> dict[str, tuple[str, int]]:
    return {e.webhook_id: (e.outcome, e.attempts) for e in WebhookEvent.objects.all()}


def _boom(sender: Any, **kwargs: Any) -> None:
    raise RuntimeError("warehouse offline")


@pytest.fixture
def waiting():
    now = timezone.now()
    event("pending")
    event("due", WebhookOutcome.FAILED, attempts=1, next_attempt_at=now - dt.timedelta(seconds=1))
    # Failed before next_attempt_at existed (migration 0003): due.
    event("legacy", WebhookOutcome.FAILED, attempts=1)
    event("later", WebhookOutcome.FAILED, attempts=1, next_attempt_at=now + dt.timedelta(hours=1))
    event("done", WebhookOutcome.PROCESSED, attempts=1)
    event("ignored", WebhookOutcome.IGNORED, attempts=1)


def test_processes_pending_and_due_events_only(waiting, signal_log):
    assert run() == "processed 3, failed 0, skipped 0"
    assert outcomes() == {
        "pending": (WebhookOutcome.PROCESSED, 1),
        "due": (WebhookOutcome.PROCESSED, 2),
        "legacy": (WebhookOutcome.PROCESSED, 2),
        "later": (WebhookOutcome.FAILED, 1),
        "done": (WebhookOutcome.PROCESSED, 1),
        "ignored": (WebhookOutcome.IGNORED, 1),
    }
    assert len(signal_log["webhook_received"]) == 3
    assert run() == "processed 0, failed 0, skipped 0"


def test_all_failed_retries_every_failed_event_now(waiting):
    assert run("--all-failed") == "processed 4, failed 0, skipped 0"
    assert outcomes()["later"] == (WebhookOutcome.PROCESSED, 2)


def test_a_failure_again_is_counted_and_pushed_back(waiting):
    with connected(signals.webhook_received, _boom):
        assert run() == "processed 0, failed 3, skipped 0"
    due = WebhookEvent.objects.get(webhook_id="due")
    assert due.attempts == 2
    assert due.next_attempt_at is not None
    assert due.last_attempt_at is not None
    assert due.next_attempt_at - due.last_attempt_at == dt.timedelta(seconds=120)
    # Nothing is due any more until the backoff has passed.
    assert run() == "processed 0, failed 0, skipped 0"


def test_limit_takes_the_oldest_first():
    base = timezone.now() - dt.timedelta(minutes=10)
    for i in range(3):
        event(f"e{i}", received_at=base + dt.timedelta(minutes=i))
    assert run("--limit", "2") == "processed 2, failed 0, skipped 0"
    assert WebhookEvent.objects.get(outcome=WebhookOutcome.PENDING).webhook_id == "e2"


def test_limit_must_be_positive():
    with pytest.raises(CommandError, match="--limit"):
        run("--limit", "0")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_process_each_event_once(signal_log):
    for i in range(20):
        event(f"c{i}")

    def slow(sender: Any, **kwargs: Any) -> None:
        time.sleep(0.02)

    with connected(signals.webhook_received, slow):
        results = run_together(*[run] * 4)

    assert errors_of(results) == []
    processed = sum(int(line.split(",")[0].split()[1]) for line in results)
    assert processed == 20
    assert set(outcomes().values()) == {(WebhookOutcome.PROCESSED, 1)}
    assert len(signal_log["webhook_received"]) == 20
