"""Real RQ workers: the endpoint records deliveries, ``rqworker`` processes process them.

The Redis queue backend (django-tasks-rq) on Redis db 1 (``POLAR_TEST_REDIS_URL``) and
PostgreSQL, its workers started as separate processes, as a shop runs them
(``manage.py rqworker --job-class django_tasks_rq.Job``). Skipped without django-tasks-rq
(``pip install -e .[tasks-rq]``) or Redis on a developer's machine; in CI (``CI`` set,
where scripts/bootstrap installs both and starts Redis) either missing is a failure.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from polar_checkouts.models import CheckoutSession, WebhookEvent, WebhookOutcome
from tests.polar_payloads import checkout_payload
from tests.webhook_helpers import deliver
from tests.webhooks.test_worker import database_url

IN_CI = bool(os.environ.get("CI"))

try:
    import django_rq
    import django_tasks_rq  # noqa: F401
except ImportError:  # pragma: no cover - depends on the extras installed
    if IN_CI:
        raise
    pytest.skip("django-tasks-rq is not installed (the tasks-rq extra)", allow_module_level=True)

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
QUEUE = settings.RQ_TEST_QUEUE


@pytest.fixture
def queue():
    """The test queue on Redis, emptied before and after (scheduled retries too)."""
    from rq.registry import ScheduledJobRegistry

    redis_queue = django_rq.get_queue(QUEUE)
    try:
        redis_queue.connection.ping()
    except Exception as exc:
        where = settings.RQ_TEST_REDIS_URL
        message = f"Redis is not reachable at {where}: {exc!r}"
        if IN_CI:
            pytest.fail(message + " (scripts/bootstrap starts it; is redis-server installed?)")
        pytest.skip(message)

    def empty() -> None:
        redis_queue.empty()
        scheduled = ScheduledJobRegistry(queue=redis_queue)
        for job_id in scheduled.get_job_ids():
            scheduled.remove(job_id, delete_job=True)

    empty()
    yield redis_queue
    empty()


def start_worker() -> subprocess.Popen[str]:
    """``manage.py rqworker --burst``: works until the queue is empty, then exits."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),  # the test database, not the one it was made from
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(ROOT),
        "POLAR_TEST_TASK_BACKEND": "rq",
        "POLAR_TEST_TASK_QUEUE": QUEUE,
    }
    command = [sys.executable, "-m", "django", "rqworker", "--burst"]
    command += ["--job-class", "django_tasks_rq.Job", QUEUE]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def run_workers(count: int) -> str:
    """Run ``count`` burst workers side by side until each exits; fail with their output,
    else return it."""
    workers = [start_worker() for _ in range(count)]
    outputs = []
    for worker in workers:
        output, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0, output[-3000:]
        outputs.append(output)
    return "\n".join(outputs)


@override_settings(POLAR_TASK_BACKEND="rq", POLAR_TASK_QUEUE=QUEUE)
def test_deliveries_are_processed_once_each_by_concurrent_rq_workers(queue):
    payloads = [checkout_payload(status="succeeded") for _ in range(6)]
    client = Client()
    # Every delivery twice (Polar redelivers when our answer did not reach it, after its
    # backoff). The first delivery enqueues a task that will drain the others (it has not
    # started, so the next five enqueue nothing); the second copy of each event, still
    # pending, is enqueued again by itself: seven jobs for six events, each job a chance to
    # process an event twice.
    for copy in range(2):
        if copy:
            WebhookEvent.objects.update(received_at=timezone.now() - dt.timedelta(seconds=10))
        for n, payload in enumerate(payloads):
            response = deliver(client, "checkout.updated", payload, webhook_id=f"msg_rq_{n}")
            assert response.status_code == 200, (copy, n)

    # Answered and recorded; nothing processed in the web process; 7 jobs on Redis.
    assert WebhookEvent.objects.filter(outcome=WebhookOutcome.PENDING).count() == 6
    assert not CheckoutSession.objects.exists()
    assert queue.count == 7

    run_workers(2)

    assert queue.count == 0
    for n, payload in enumerate(payloads):
        event = WebhookEvent.objects.get(webhook_id=f"msg_rq_{n}")
        assert (event.outcome, event.attempts) == (WebhookOutcome.PROCESSED, 1), event.error
        checkout = CheckoutSession.objects.get(pk=payload["id"])
        assert checkout.status == "succeeded"
        assert checkout.succeeded_notified_at is not None  # checkout_succeeded was claimed


@override_settings(POLAR_TASK_BACKEND="rq", POLAR_TASK_QUEUE=QUEUE)
def test_a_failed_event_is_rescheduled_on_redis_for_its_next_attempt(queue):
    from rq.registry import ScheduledJobRegistry

    # A checkout event whose data is not a checkout: the handler raises on every attempt.
    response = deliver(Client(), "checkout.updated", "not a checkout", webhook_id="msg_rq_bad")
    assert response.status_code == 200

    output = run_workers(1)

    event = WebhookEvent.objects.get(webhook_id="msg_rq_bad")
    assert (event.outcome, event.attempts) == (WebhookOutcome.FAILED, 1)
    assert "without a checkout object" in event.error
    # The retry waits on RQ's scheduled registry (rqworker --with-scheduler enqueues it when
    # due), at the event's next_attempt_at: nothing is queued for now.
    assert queue.count == 0
    scheduled = ScheduledJobRegistry(queue=queue)
    assert scheduled.count == 1, output[-3000:]
    [job_id] = scheduled.get_job_ids()
    job = queue.fetch_job(job_id)
    assert job is not None
    assert list(job.args) == [event.pk]
    at = scheduled.get_scheduled_time(job)
    assert event.next_attempt_at is not None
    assert abs(at - event.next_attempt_at) < timedelta(seconds=1)
