"""django-tasks-db on the events' database: a hand-over's claim and its task row in one
transaction.

When ``POLAR_TASK_BACKEND`` names a django-tasks-db backend whose task rows go to the
database that holds ``WebhookEvent`` (both by ``router.db_for_write``), a delivery that
claims the wake-up (``polar_checkouts.webhooks.handover``) writes the claim and the task in
one ``BEGIN … COMMIT``: no claim stands without its task. The real backend, on the test
database.
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

from polar_checkouts.models import CheckoutSession, WebhookEvent, WebhookOutcome, WebhookWakeUp
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
def test_a_new_delivery_claims_the_wake_up_and_writes_its_task_in_one_transaction():
    WebhookWakeUp.objects.create()
    with statements() as seen:
        response = deliver(Client(), "checkout.updated", checkout_payload(), webhook_id="msg_1tx")
    assert response.status_code == 200

    writes = [sql.split("(")[0].strip() for sql in seen if not sql.startswith("SELECT")]
    # The event on its own (autocommit), then the claim and the task together, no savepoint.
    # Django sends SQLite's BEGIN itself; psycopg sends PostgreSQL's, and COMMIT goes through
    # the driver on both (on PostgreSQL the shared transaction is shown by xmin below).
    begin = ["BEGIN"] if connection.vendor == "sqlite" else []
    assert writes[0] == f'INSERT INTO "{WebhookEvent._meta.db_table}"'
    claim_and_task = writes[1:]
    assert claim_and_task[: len(begin)] == begin
    claim, task_insert = claim_and_task[len(begin) :]
    assert claim.startswith(f'UPDATE "{WebhookWakeUp._meta.db_table}" SET "queued_at"')
    assert task_insert == f'INSERT INTO "{TASK_TABLE}"'
    event = WebhookEvent.objects.get(webhook_id="msg_1tx")
    [task] = task_rows()
    assert task.args_kwargs == {"args": [event.pk], "kwargs": {"drain": True}}
    assert event.outcome == WebhookOutcome.PENDING
    assert WebhookWakeUp.objects.get().queued_at is not None


def writing_transaction(table: str, where: str = "", params: list[Any] | None = None) -> str:
    """PostgreSQL's id of the transaction that wrote the one row of ``table`` (matching
    ``where``)."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT xmin::text FROM "{table}" {where}', params or [])
        [(xid,)] = cursor.fetchall()
    return str(xid)


@pytest.mark.postgres
@override_settings(POLAR_TASK_BACKEND="database")
def test_on_postgresql_the_claim_and_the_task_come_from_the_same_transaction():
    # The row as migrated (created claimed when missing, it would be written in a savepoint:
    # a subtransaction's xmin, in the same transaction).
    WebhookWakeUp.objects.get_or_create(pk=WebhookWakeUp.ROW)
    deliver(Client(), "checkout.updated", checkout_payload(), webhook_id="msg_xmin")
    claim_xid = writing_transaction(WebhookWakeUp._meta.db_table)
    assert claim_xid == writing_transaction(TASK_TABLE)
    # The event committed before, on its own.
    event_xid = writing_transaction(
        WebhookEvent._meta.db_table, "WHERE webhook_id = %s", ["msg_xmin"]
    )
    assert event_xid != claim_xid


@override_settings(POLAR_TASK_BACKEND="database")
def test_deliveries_while_a_task_is_queued_write_only_their_event():
    client = Client()
    for n in range(3):
        response = deliver(client, "checkout.updated", checkout_payload(), webhook_id=f"msg_{n}")
        assert response.status_code == 200
    [task] = task_rows()
    assert task.args_kwargs["args"] == [WebhookEvent.objects.get(webhook_id="msg_0").pk]

    # The one task, run as a worker would: it processes its event and drains the others.
    assert task.task.func(*task.args_kwargs["args"], **task.args_kwargs["kwargs"]) == "processed"
    assert set(WebhookEvent.objects.values_list("outcome", flat=True)) == {WebhookOutcome.PROCESSED}
    assert WebhookWakeUp.objects.get().queued_at is None  # released when it started


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
    for task in task_rows():
        task.task.func(*task.args_kwargs["args"], **task.args_kwargs["kwargs"])
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

    # The event committed first; the claim and the task were rolled back together (no claim
    # stands without its task), and the delivery answered 200.
    assert response.status_code == 200
    [event] = WebhookEvent.objects.all()
    assert (event.webhook_id, event.outcome) == ("msg_notask", WebhookOutcome.PENDING)
    assert task_rows() == []
    assert not WebhookWakeUp.objects.filter(queued_at__isnull=False).exists()
    assert "could not be handed over" in caplog.text

    # The retry command processes it; the next delivery claims again.
    call_command("polar_checkouts_process_webhooks", verbosity=0)
    event.refresh_from_db()
    assert event.outcome == WebhookOutcome.PROCESSED
    assert CheckoutSession.objects.get(pk=payload["id"]).status == "succeeded"
    deliver(Client(), "checkout.updated", checkout_payload(), webhook_id="msg_next")
    assert len(task_rows()) == 1


@override_settings(POLAR_TASK_BACKEND="database")
def test_a_database_that_refuses_the_event_answers_503_and_keeps_nothing():
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
    # The claim was given back: the next delivery tries again.
    assert not WebhookWakeUp.objects.filter(queued_at__isnull=False).exists()


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
