"""The durable inbox: record a verified delivery, then hand it to a task after commit (or,
when the task backend is django-tasks-db on the same database, in the same transaction)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from ..models import WebhookEvent, WebhookOutcome
from .processing import new_event, record_delivery, recorded_event
from .tasks import enqueue_after_commit, enqueue_processing, enqueues_in_database

logger = logging.getLogger("polar_checkouts.webhooks")


def receive_delivery(
    *, webhook_id: str, payload: Mapping[str, Any], headers: Mapping[str, str]
) -> WebhookEvent:
    """Record a verified delivery and hand it to processing once the record is committed.

    When the task backend is django-tasks-db writing to the events' database
    (:func:`.tasks.enqueues_in_database`), a new delivery's event and task row are written
    in one transaction instead: they commit together, so a worker cannot see the task
    before the event, and the hand-over costs no second commit. If that transaction fails
    it is rolled back whole and the event is recorded alone, as with other backends (a
    database that refuses that too is a delivery not recorded: 503, Polar retries).

    Returns the event as recorded, before processing. Raises only when the delivery could
    not be recorded (a database error); a processing failure never reaches the caller.
    A redelivery of an event not done yet is enqueued again, and makes a failed one due at
    once (Polar only redelivers when it did not get our answer).
    """
    alias = enqueues_in_database()
    if alias is None:
        event, created = record_delivery(webhook_id=webhook_id, payload=payload, headers=headers)
    else:
        try:
            return _record_with_task(alias, webhook_id=webhook_id, payload=payload, headers=headers)
        except IntegrityError:
            # The unique key refused it (nothing was written): a redelivery.
            existing = recorded_event(webhook_id)
            if existing is None:
                raise  # not the unique key: a real integrity problem
            event, created = existing, False
        except DatabaseError:
            # The transaction was rolled back whole: neither the event nor its task was
            # written. Record the event alone, as for any other backend; if the database
            # is down this raises too and the endpoint answers 503 (Polar retries).
            logger.exception(
                "Polar webhook %s: recording it with its task failed; recording it alone",
                webhook_id,
            )
            event, created = record_delivery(
                webhook_id=webhook_id, payload=payload, headers=headers
            )
    if not created and event.is_done:
        logger.info("Polar webhook %s (%s) is a duplicate; already done", webhook_id, event.type)
        return event
    if not created and event.outcome == WebhookOutcome.FAILED:
        # Only a row read as failed is made due (a pending one, the usual duplicate, costs
        # no UPDATE); the condition stays in the statement, as another process may have
        # processed it since.
        WebhookEvent.objects.filter(pk=event.pk, outcome=WebhookOutcome.FAILED).update(
            next_attempt_at=timezone.now()
        )
    enqueue_after_commit(event.pk)
    return event


def _record_with_task(
    alias: str, *, webhook_id: str, payload: Mapping[str, Any], headers: Mapping[str, str]
) -> WebhookEvent:
    """Insert a new delivery's event and its task row in one transaction on ``alias``:
    ``BEGIN``, two ``INSERT``s, ``COMMIT``. Raises ``IntegrityError`` for a redelivery
    (the event's ``INSERT`` comes first, so nothing else was written) and
    ``DatabaseError`` when either row could not be written (both are rolled back).

    A backend error other than the database's (an invalid task) is logged, as after
    commit, and the event is recorded without a task for the retry command to process.
    """
    event = new_event(webhook_id=webhook_id, payload=payload, headers=headers)
    with transaction.atomic(using=alias):
        event.save(force_insert=True, using=alias)
        enqueue_processing(event.pk, raise_database_errors=True)
    return event
