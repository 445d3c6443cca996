"""The durable inbox: record a verified delivery, then hand it to a task after commit (or,
when the task backend is django-tasks-db on the same database, in the same transaction)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any, Final

from django.db import DatabaseError, transaction
from django.utils import timezone

from ..models import WebhookEvent, WebhookOutcome
from .processing import record_delivery
from .tasks import enqueue_after_commit, enqueue_processing, enqueues_in_database

logger = logging.getLogger("polar_checkouts.webhooks")

#: A redelivery of an event still pending is enqueued again only when the event was
#: recorded longer ago than this. Polar sends an event again only after an attempt failed
#: (no 2xx within its timeout) and a backoff of about 4 s, so a copy arriving sooner is a
#: concurrent duplicate whose first delivery is handing its task over right now; a later
#: one may follow an answer lost with its web process, task and all.
REENQUEUE_PENDING_AFTER: Final = dt.timedelta(seconds=2)


def receive_delivery(
    *,
    webhook_id: str,
    payload: Mapping[str, Any],
    headers: Mapping[str, str],
    body: str | None = None,
) -> WebhookEvent:
    """Record a verified delivery and hand it to processing once the record is committed.

    ``body`` is the delivery's JSON text, stored as is when given (see
    :func:`.processing.record_delivery`).

    When the task backend is django-tasks-db writing to the events' database
    (:func:`.tasks.enqueues_in_database`), a new delivery's event and task row are written
    in one transaction instead: they commit together, so a worker cannot see the task
    before the event, and the hand-over costs no second commit. If that transaction fails
    it is rolled back whole and the event is recorded alone, as with other backends (a
    database that refuses that too is a delivery not recorded: 503, Polar retries).

    Returns the event as recorded, before processing. Raises only when the delivery could
    not be recorded (a database error); a processing failure never reaches the caller.
    A redelivery of a failed event makes it due at once and enqueues it; one of a pending
    event is enqueued again when the event was recorded more than
    :data:`REENQUEUE_PENDING_AFTER` ago (Polar only redelivers when it did not get our
    answer, and the task may have been lost with it).
    """
    alias = enqueues_in_database()
    handed_over = False
    if alias is None:
        event, created = record_delivery(
            webhook_id=webhook_id, payload=payload, headers=headers, body=body
        )
    else:
        try:
            with transaction.atomic(using=alias):
                event, created = record_delivery(
                    webhook_id=webhook_id, payload=payload, headers=headers, body=body
                )
                if created:
                    enqueue_processing(event.pk, raise_database_errors=True)
                    handed_over = True
        except DatabaseError:
            # The transaction was rolled back whole: neither the event nor its task was
            # written. Record the event alone, as for any other backend; if the database
            # is down this raises too and the endpoint answers 503 (Polar retries).
            logger.exception(
                "Polar webhook %s: recording it with its task failed; recording it alone",
                webhook_id,
            )
            handed_over = False
            event, created = record_delivery(
                webhook_id=webhook_id, payload=payload, headers=headers, body=body
            )
    if created:
        if not handed_over:
            enqueue_after_commit(event.pk)
        return event
    if event.is_done:
        logger.info("Polar webhook %s (%s) is a duplicate; already done", webhook_id, event.type)
        return event
    if event.outcome == WebhookOutcome.FAILED:
        # Only a row read as failed is made due (a pending one costs no UPDATE); the
        # condition stays in the statement, as another process may have processed it since.
        WebhookEvent.objects.filter(pk=event.pk, outcome=WebhookOutcome.FAILED).update(
            next_attempt_at=timezone.now()
        )
    elif timezone.now() - event.received_at < REENQUEUE_PENDING_AFTER:
        return event  # its first delivery's task is on its way
    enqueue_after_commit(event.pk)
    return event
