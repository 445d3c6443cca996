"""Webhook processing as a task of Django's task framework.

``django.tasks`` from Django 6.0; before, the ``django-tasks`` backport (a dependency of
this package), which has the same API. The task runs on the ``TASKS`` alias named by
``POLAR_TASK_BACKEND`` (``"default"``) and the queue named by ``POLAR_TASK_QUEUE`` (the
task's default queue when unset). With Django's default immediate backend there is no
worker: the task runs inline, right after the delivery's transaction commits.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

import django
from django.apps import apps
from django.db import DatabaseError, close_old_connections, connection, router, transaction

from ..conf import polar_settings
from ..models import WebhookEvent, WebhookOutcome
from .handover import claim_wake_up, release_wake_up, wake_up_pending
from .handover import drain as drain_waiting
from .processing import process_due_event

if TYPE_CHECKING or django.VERSION < (6, 0):
    from django_tasks import task, task_backends
    from django_tasks.backends.immediate import ImmediateBackend
else:  # pragma: no cover - Django 6.0+
    from django.tasks import task, task_backends
    from django.tasks.backends.immediate import ImmediateBackend

logger = logging.getLogger("polar_checkouts.webhooks")


@task()
def process_webhook_event(event_id: int, drain: bool = False) -> str:
    """Process the recorded :class:`~polar_checkouts.models.WebhookEvent` ``event_id`` if it
    is still waiting; returns its outcome (``"skipped"`` when it was not waiting).

    Idempotent: running it twice, or next to the retry command, processes the event once.
    When processing fails and the backend can defer tasks, the retry is enqueued for the
    event's ``next_attempt_at`` (the retry command covers every other backend).

    With ``drain`` (the task a delivery enqueued through :mod:`.handover`) it first releases
    the wake-up, so that later deliveries enqueue another task, and after its event
    processes the other events waiting, up to :data:`.handover.DRAIN_LIMIT`.
    """
    # A worker outlives database restarts: drop a connection that broke (or aged out)
    # since the last task, as Django does around each request, so one outage does not
    # fail every later task of a long-lived worker process.
    _close_broken_connections()
    try:
        if drain:
            release_wake_up()
        event = process_due_event(event_id)
        if event is not None:
            _schedule_retry(event)
        if drain:
            successor = drain_waiting(on_failed=_schedule_retry)
            if successor is not None:
                hand_over(successor)
    finally:
        _close_broken_connections()
    return "skipped" if event is None else str(event.outcome)


def _schedule_retry(event: WebhookEvent) -> None:
    # A failed event's next attempt, on a backend that can defer tasks (the retry command
    # covers the others).
    if event.outcome == WebhookOutcome.FAILED and event.next_attempt_at is not None:
        enqueue_processing(event.pk, run_after=event.next_attempt_at)


def _close_broken_connections() -> None:
    # Not inside a transaction (the task run inline by a caller's atomic block, or a
    # test's): closing there would break the caller's transaction.
    if not connection.in_atomic_block:
        close_old_connections()


def _configured_task() -> Any:
    return _task_for(polar_settings.task_backend, polar_settings.task_queue)


@functools.lru_cache(maxsize=16)
def _task_for(backend: str, queue_name: str | None) -> Any:
    # Built once per backend alias and queue (every delivery enqueues one): a Task only
    # names its backend, and the backend validates it again at each enqueue, so a changed
    # TASKS setting is still honoured.
    return process_webhook_event.using(backend=backend, queue_name=queue_name)


def enqueue_processing(
    event_id: int,
    *,
    run_after: datetime | None = None,
    drain: bool = False,
    raise_database_errors: bool = False,
) -> bool:
    """Hand ``event_id`` to :func:`process_webhook_event` on the configured backend and queue;
    whether it was enqueued.

    With ``run_after`` (a retry), only on a backend that can defer tasks; otherwise nothing
    is enqueued and the retry command processes the event when it is due. ``drain`` is
    passed on to the task (see :mod:`.handover`). A backend that cannot take it (a broker
    down, an unknown alias or queue) is logged; the event waits for
    ``manage.py polar_checkouts_process_webhooks``. With ``raise_database_errors`` (the task
    row is written in the caller's transaction, see :func:`enqueues_in_database`) a
    :class:`~django.db.DatabaseError` is raised instead: that transaction is broken.
    """
    try:
        configured = _configured_task()
        if run_after is not None:
            if not configured.get_backend().supports_defer:
                return False
            configured = configured.using(run_after=run_after)
        if drain:
            configured.enqueue(event_id, drain=True)
        else:
            configured.enqueue(event_id)
    except DatabaseError:
        if raise_database_errors:
            raise
        _log_not_enqueued(event_id)
        return False
    except Exception:
        _log_not_enqueued(event_id)
        return False
    return True


def _log_not_enqueued(event_id: int) -> None:
    logger.exception(
        "Polar webhook event %s could not be enqueued; "
        "polar_checkouts_process_webhooks will process it",
        event_id,
    )


def enqueue_after_commit(event_id: int) -> None:
    """Enqueue processing of ``event_id`` once the current transaction commits (at once
    outside a transaction), so a worker never looks for a row it cannot see yet."""
    transaction.on_commit(lambda: enqueue_processing(event_id))


def runs_inline() -> bool:
    """Whether the configured backend runs tasks inline, as they are enqueued (Django's
    immediate backend): then every event gets its own task and nothing drains (a web
    request must not process other deliveries' events)."""
    try:
        backend = task_backends[polar_settings.task_backend]
    except Exception:  # an unknown alias: enqueue_processing logs it
        return False
    return isinstance(backend, ImmediateBackend)


def enqueues_in_database() -> str | None:
    """The database alias when the configured task backend is django-tasks-db writing its
    task rows to the database that holds :class:`~polar_checkouts.models.WebhookEvent`
    (both by the routers' ``db_for_write``); otherwise ``None``.

    Then a hand-over's claim of the wake-up and its task row are written in one
    transaction (:func:`hand_over`): no claim stands without its task, and the
    hand-over costs one commit. Every other backend (Redis, another database) is enqueued
    after the claim's commit.
    """
    # Installed is not configured: a shop may have the package without the app in
    # INSTALLED_APPS (then its models cannot even be imported), and uses another backend.
    if not apps.is_installed("django_tasks_db"):
        return None
    try:
        from django_tasks_db import DatabaseBackend
        from django_tasks_db.models import DBTaskResult
    except ImportError:  # pragma: no cover - installed as an app, so importable
        return None
    try:
        backend = task_backends[polar_settings.task_backend]
    except Exception:  # an unknown alias: enqueue_processing logs it after commit
        return None
    if not isinstance(backend, DatabaseBackend):
        return None
    alias = router.db_for_write(WebhookEvent)
    return alias if router.db_for_write(DBTaskResult) == alias else None


def hand_over(event_id: int) -> None:
    """Make sure a task will process the recorded (and committed) event ``event_id``: a task
    queued that has not started will (its claim stands), or one is enqueued, claiming the
    wake-up (:mod:`.handover`). With the immediate backend, the event's own task runs now.

    Never raises: what cannot be handed over waits for ``polar_checkouts_process_webhooks``
    (and, for a claim that stays, for the next delivery after
    :data:`.handover.WAKE_UP_STALE_AFTER`).
    """
    try:
        if runs_inline():
            enqueue_processing(event_id)
            return
        if wake_up_pending():
            return
        alias = enqueues_in_database()
        if alias is not None:
            # django-tasks-db on this database: the claim and the task row commit together.
            with transaction.atomic(using=alias):
                if claim_wake_up() and not enqueue_processing(
                    event_id, drain=True, raise_database_errors=True
                ):
                    release_wake_up()
            return
        if claim_wake_up() and not enqueue_processing(event_id, drain=True):
            release_wake_up()
    except DatabaseError:
        logger.exception(
            "Polar webhook event %s could not be handed over; "
            "polar_checkouts_process_webhooks will process it",
            event_id,
        )


def hand_over_after_commit(event_id: int) -> None:
    """:func:`hand_over` once the current transaction commits (at once in autocommit)."""
    transaction.on_commit(lambda: hand_over(event_id))
