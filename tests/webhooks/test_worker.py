"""A real worker: the endpoint records a delivery, a ``db_worker`` process processes it.

The database task backend (django-tasks-db) on PostgreSQL, its worker started as a
separate process, as a shop runs it. Skipped when django-tasks-db is not installed
(``pip install -e .[tasks-db]``; it needs Django >= 5.2).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client, override_settings

from polar_checkouts.models import CheckoutSession, WebhookEvent, WebhookOutcome
from tests.polar_payloads import checkout_payload
from tests.webhook_helpers import deliver

pytest.importorskip("django_tasks_db")

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


def run_worker() -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),  # the test database, not the one it was made from
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "django", "db_worker"]
    command += ["--backend", "database", "--batch", "--no-startup-delay"]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@override_settings(POLAR_TASK_BACKEND="database")
def test_a_recorded_delivery_is_processed_by_the_worker_process():
    from django_tasks_db.models import DBTaskResult

    payload = checkout_payload(status="succeeded")
    response = deliver(Client(), "checkout.updated", payload, webhook_id="msg_worker")
    assert response.status_code == 200

    # Answered and recorded; nothing processed in the web process.
    event = WebhookEvent.objects.get(webhook_id="msg_worker")
    assert event.outcome == WebhookOutcome.PENDING
    assert not CheckoutSession.objects.exists()
    [queued] = DBTaskResult.objects.all()
    assert queued.args_kwargs["args"] == [event.pk]

    worker = run_worker()
    assert worker.returncode == 0, worker.stderr[-2000:]

    event.refresh_from_db()
    assert (event.outcome, event.attempts) == (WebhookOutcome.PROCESSED, 1)
    checkout = CheckoutSession.objects.get(pk=payload["id"])
    assert checkout.status == "succeeded"
    assert checkout.succeeded_notified_at is not None  # checkout_succeeded was claimed

    # Nothing left: a second worker run finds no task and changes nothing.
    assert run_worker().returncode == 0
    event.refresh_from_db()
    assert event.attempts == 1
