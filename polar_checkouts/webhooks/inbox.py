"""The durable inbox: record a verified delivery, then hand it to a task after commit."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from ..models import WebhookEvent, WebhookOutcome
from .processing import record_delivery
from .tasks import enqueue_after_commit

logger = logging.getLogger("polar_checkouts.webhooks")


def receive_delivery(
    *, webhook_id: str, payload: Mapping[str, Any], headers: Mapping[str, str]
) -> WebhookEvent:
    """Record a verified delivery and hand it to processing once the record is committed.

    Returns the event as recorded, before processing. Raises only when the delivery could
    not be recorded (a database error); a processing failure never reaches the caller.
    A redelivery of an event not done yet is enqueued again, and makes a failed one due at
    once (Polar only redelivers when it did not get our answer).
    """
    event, created = record_delivery(webhook_id=webhook_id, payload=payload, headers=headers)
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
