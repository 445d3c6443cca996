"""The durable inbox: record a verified delivery, then hand it over to a task after commit."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any, Final

from django.utils import timezone

from ..models import WebhookEvent, WebhookOutcome
from .processing import record_delivery
from .tasks import enqueue_after_commit, hand_over_after_commit

logger = logging.getLogger("polar_checkouts.webhooks")

#: A redelivery of an event still pending is enqueued again only when the event was
#: recorded longer ago than this. Polar sends an event again only after an attempt failed
#: (no 2xx within its timeout) and a backoff of about 4 s, so a copy arriving sooner is a
#: concurrent duplicate whose first delivery is handing its task over; a later one may
#: follow an answer lost with its web process, hand-over and all.
REENQUEUE_PENDING_AFTER: Final = dt.timedelta(seconds=2)


def receive_delivery(
    *,
    webhook_id: str,
    payload: Mapping[str, Any],
    headers: Mapping[str, str],
    body: str | None = None,
) -> WebhookEvent:
    """Record a verified delivery and hand it over to processing once the record is
    committed (:func:`.tasks.hand_over`: a task already queued that has not started
    will process it, or one is enqueued).

    ``body`` is the delivery's JSON text, stored as is when given (see
    :func:`.processing.record_delivery`).

    Returns the event as recorded, before processing. Raises only when the delivery could
    not be recorded (a database error); a processing failure never reaches the caller.
    A redelivery of a failed event makes it due at once and enqueues it; one of a pending
    event is enqueued again when the event was recorded more than
    :data:`REENQUEUE_PENDING_AFTER` ago (Polar only redelivers when it did not get our
    answer, and the hand-over may have been lost with it).
    """
    event, created = record_delivery(
        webhook_id=webhook_id, payload=payload, headers=headers, body=body
    )
    if created:
        hand_over_after_commit(event.pk)
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
        return event  # its first delivery's hand-over is under way
    enqueue_after_commit(event.pk)
    return event
