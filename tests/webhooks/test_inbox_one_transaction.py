"""django-tasks-db on the events' database: the event and its task row in one transaction.

When ``POLAR_TASK_BACKEND`` names a django-tasks-db backend whose task rows go to the
database that holds ``WebhookEvent`` (both by ``router.db_for_write``), the endpoint
writes a new delivery's event and its task in one ``BEGIN … COMMIT`` instead of enqueueing
after the event's commit (a second commit). The real backend, on the test database.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError, connection
from django.test import Client, override_settings
from django.utils import timezone

from polar_checkouts.models import CheckoutSession, WebhookEvent, WebhookOutcome
from polar_checkouts.webhooks.tasks import enqueues_in_database
from tests.polar_payloads import checkout_payload
from tests.settings import TASKS_PACKAGE
from tests.webhook_helpers import deliver

pytest.importorskip("django_tasks_db")

pytestmark = pytest.mark.django_db(transaction=True)


def _task_table() -> str:
    from django_tasks_db.models import DBTaskResult

    return str(DBTaskResult._meta.db_table)


TASK_TABLE = _task_table()
DUMMY = {"BACKEND": f"{TASKS_PACKAGE}.backends.dummy.DummyBackend"}


def with_dummy() -> dict[str, Any]:
    return {**settings.TASKS, "dummy": DUMMY}


def task_rows() -> list[Any]:
    from django_tasks_db.models import DBTaskResult

    return list(DBTaskResult.objects.order_by("enqueued_at"))


@contextmanager
def statements(fail: Callable[[str], bool] = lambda sql: False) -> Iterator[list[str]]:
    """Every statement Django sends on the default connection; those ``fail`` picks raise
    ``OperationalError`` instead of running (a database refusing the write)."""
    seen: list[str] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        if fail(sql):
            raise OperationalError("could not write (test)")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield seen


def inserts_into(table: str) -> Callable[[str], bool]:
    return lambda sql: sql.startswith("INSERT") and f'"{table}"' in sql


class TasksElsewhere:
    """A router sending django-tasks-db's rows to another database."""

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        from django_tasks_db.models import DBTaskResult

        return "tasks" if model is DBTaskResult else None


# -- detection ---------------------------------------------------------------------------------


@override_settings(POLAR_TASK_BACKEND="database")
def test_detected_for_django_tasks_db_on_the_events_database():
    assert enqueues_in_database() == "default"


@pytest.mark.parametrize("alias", ["default", "dummy", "no-such-alias"])
def test_not_for_other_backends(alias):
    # tests/settings.py: "default" is the immediate backend; "dummy" Django's dummy one; an
    # unknown alias is left to enqueue_processing, which logs it.
    with override_settings(POLAR_TASK_BACKEND=alias, TASKS=with_dummy()):
        assert enqueues_in_database() is None


@override_settings(POLAR_TASK_BACKEND="database", DATABASE_ROUTERS=[TasksElsewhere()])
def test_not_when_the_tasks_are_routed_to_another_database():
    assert enqueues_in_database() is None


# -- a new delivery ----------------------------------------------------------------------------


@override_settings(POLAR_TASK_BACKEND="database")
def test_a_new_delivery_writes_event_and_task_in_one_transaction():
    with statements() as seen:
        response = deliver(Client(), "checkout.updated", checkout_payload(), webhook_id="msg_1tx")
    assert response.status_code == 200

    writes = [sql.split("(")[0].strip() for sql in seen if not sql.startswith("SELECT")]
    # Two INSERTs in one transaction, no savepoint, nothing else written. Django sends
    # SQLite's BEGIN itself; psycopg sends PostgreSQL's, and COMMIT goes through the
    # driver on both (on PostgreSQL the shared transaction is shown by xmin below).
    begin = ["BEGIN"] if connection.vendor == "sqlite" else []
    inserts = [f'INSERT INTO "{WebhookEvent._meta.db_table}"', f'INSERT INTO "{TASK_TABLE}"']
    assert writes == [*begin, *inserts]
    event = WebhookEvent.objects.get(webhook_id="msg_1tx")
    [task] = task_rows()
    assert task.args_kwargs["args"] == [event.pk]
    assert event.outcome == WebhookOutcome.PENDING


def writing_transaction(table: str, webhook_id: str | None = None) -> str:
    """PostgreSQL's id of the transaction that wrote the one row of ``table`` (the row of
    ``webhook_id`` when given)."""
    where, params = ("WHERE webhook_id = %s", [webhook_id]) if webhook_id else ("", [])
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT xmin::text FROM "{table}" {where}', params)
        [(xid,)] = cursor.fetchall()
    return str(xid)


@pytest.mark.postgres
@override_settings(POLAR_TASK_BACKEND="database")
def test_on_postgresql_both_rows_come_from_the_same_transaction():
    deliver(Client(), "checkout.updated", checkout_payload(), webhook_id="msg_xmin")
    event_xid = writing_transaction(WebhookEvent._meta.db_table, "msg_xmin")
    assert event_xid == writing_transaction(TASK_TABLE)

    # Another backend keeps the hand-over after the event's commit: two transactions.
    with override_settings(POLAR_TASK_BACKEND="dummy", TASKS=with_dummy()):
        deliver(Client(), "checkout.updated", checkout_payload(), webhook_id="msg_after")
    assert writing_transaction(WebhookEvent._meta.db_table, "msg_after") != event_xid


@override_settings(POLAR_TASK_BACKEND="database")
def test_a_redelivery_is_recorded_once_and_enqueued_again():
    client = Client()
    body = checkout_payload()
    assert deliver(client, "checkout.updated", body, webhook_id="msg_twice").status_code == 200
    # A concurrent copy writes nothing: no second event, no second task.
    with statements() as seen:
        assert deliver(client, "checkout.updated", body, webhook_id="msg_twice").status_code == 200
    event = WebhookEvent.objects.get(webhook_id="msg_twice")
    assert [t.args_kwargs["args"] for t in task_rows()] == [[event.pk]]
    assert not [sql for sql in seen if sql.startswith(f'INSERT INTO "{TASK_TABLE}"')]

    # Polar's retry, after its backoff, is enqueued again (after the commit).
    WebhookEvent.objects.update(received_at=timezone.now() - dt.timedelta(seconds=10))
    assert deliver(client, "checkout.updated", body, webhook_id="msg_twice").status_code == 200
    assert [t.args_kwargs["args"] for t in task_rows()] == [[event.pk], [event.pk]]

    # Both tasks run: the event is processed once, the second finds nothing to do.
    from django_tasks_db.models import DBTaskResult

    for task in DBTaskResult.objects.all():
        task.task.func(*task.args_kwargs["args"])
    event.refresh_from_db()
    assert (event.outcome, event.attempts) == (WebhookOutcome.PROCESSED, 1)


# -- failures ----------------------------------------------------------------------------------


@override_settings(POLAR_TASK_BACKEND="database")
def test_a_task_row_that_cannot_be_written_does_not_lose_the_event(caplog):
    payload = checkout_payload(status="succeeded")
    with (
        caplog.at_level(logging.ERROR, "polar_checkouts.webhooks"),
        statements(fail=inserts_into(TASK_TABLE)),
    ):
        response = deliver(Client(), "checkout.updated", payload, webhook_id="msg_notask")

    # The shared transaction was rolled back whole; the event was then recorded alone
    # (once: a single row, no task), and the delivery answered 200.
    assert response.status_code == 200
    [event] = WebhookEvent.objects.all()
    assert (event.webhook_id, event.outcome) == ("msg_notask", WebhookOutcome.PENDING)
    assert task_rows() == []
    assert "recording it with its task failed" in caplog.text
    assert "could not be enqueued" in caplog.text

    # The retry command processes it.
    call_command("polar_checkouts_process_webhooks", verbosity=0)
    event.refresh_from_db()
    assert event.outcome == WebhookOutcome.PROCESSED
    assert CheckoutSession.objects.get(pk=payload["id"]).status == "succeeded"


@override_settings(POLAR_TASK_BACKEND="database")
def test_a_database_that_refuses_both_writes_answers_503_and_keeps_nothing():
    def any_insert(sql: str) -> bool:
        return sql.startswith("INSERT")

    with statements(fail=any_insert):
        response = deliver(Client(), "checkout.updated", checkout_payload(), webhook_id="msg_down")
    assert response.status_code == 503  # not recorded: Polar retries
    assert not WebhookEvent.objects.exists()
    assert task_rows() == []


@override_settings(POLAR_TASK_BACKEND="database", POLAR_TASK_QUEUE="no-such-queue")
def test_a_task_the_backend_refuses_is_logged_and_the_event_kept(caplog):
    # The backend's own validation (an unknown queue) fails before any write: the event
    # commits without a task, as after commit, for the retry command.
    with caplog.at_level(logging.ERROR, "polar_checkouts.webhooks"):
        response = deliver(Client(), "checkout.updated", checkout_payload(), webhook_id="msg_q")
    assert response.status_code == 200
    assert WebhookEvent.objects.filter(webhook_id="msg_q").count() == 1
    assert task_rows() == []
    assert "could not be enqueued" in caplog.text


SHOP_WITHOUT_THE_APP = """
import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "polar_checkouts",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    USE_TZ=True,
    POLAR_ACCESS_TOKEN="polar_oat_x",
    POLAR_WEBHOOK_SECRET="polar_whs_x",
)
django.setup()
from django.core.management import call_command

call_command("migrate", verbosity=0)
from polar_checkouts.models import WebhookEvent
from polar_checkouts.webhooks.inbox import receive_delivery
from polar_checkouts.webhooks.tasks import enqueues_in_database

assert enqueues_in_database() is None
receive_delivery(
    webhook_id="msg_without_the_app",
    payload={"type": "checkout.created", "timestamp": "2026-11-29T06:00:00Z", "data": {}},
    headers={},
)
print(WebhookEvent.objects.filter(webhook_id="msg_without_the_app").count())
"""


def test_a_shop_with_the_package_installed_but_not_the_app_records_deliveries():
    """django-tasks-db installed in the environment (as the tasks-db extra does) but not in
    INSTALLED_APPS, with the default task backend: the inbox must not import its models
    (Django refuses a model of an app that is not installed, which answered every
    delivery with a 500 in the example shop); the delivery is recorded."""
    run = subprocess.run(
        [sys.executable, "-c", SHOP_WITHOUT_THE_APP],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "1"
