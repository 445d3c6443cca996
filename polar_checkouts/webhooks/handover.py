"""Handing recorded events to the task backend: one queued task wakes up for many events.

A task per delivery costs a second durable write on every delivery (a task row, a Redis
job), about as much as recording the event itself. Instead, the task that processes an event
also processes the events waiting after it (its *drain*), and a delivery enqueues a task only
when none is queued that has not started yet. Which is the case is one row,
:class:`~polar_checkouts.models.WebhookWakeUp`:

* A delivery, once its event has committed, reads the row. Claimed less than
  :data:`WAKE_UP_STALE_AFTER` ago: a task is queued and has not started; it will see this
  event (below), so nothing more is written. Otherwise the delivery claims the row (a
  conditional ``UPDATE``: one claimer wins) and enqueues
  ``process_webhook_event(event.pk, drain=True)`` (:func:`.tasks.hand_over`).
* That task, when it starts, first releases the row (its own commit), then processes its
  event and the events waiting, oldest first, up to :data:`DRAIN_LIMIT`, and hands over again
  when more are waiting.
* Why no event is left behind: a delivery that found the row claimed read it after its event
  committed, so the release it did not see yet comes later, and the drain that follows that
  release reads the events table afresh and finds the event.
* A claim whose task never ran (the process died between claim and enqueue, a broker that
  refused the job, a worker killed before the task started) goes stale after
  :data:`WAKE_UP_STALE_AFTER`, and the next delivery claims again;
  ``polar_checkouts_process_webhooks`` processes whatever waits meanwhile. An enqueue that
  fails releases the claim at once.
* With the immediate backend (no worker: a task runs inline, in the request) every event is
  enqueued by itself and nothing drains: a request never processes other deliveries' events.

The task still takes one event's primary key, never a payload, and each event is processed
once, under the row lock of :func:`.processing.process_due_event`, whichever task, drain or
retry command gets to it first.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Final

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from ..models import WebhookEvent, WebhookWakeUp
from .processing import due_condition, process_waiting_events

#: A claim older than this is taken to have lost its task: the next delivery claims again.
WAKE_UP_STALE_AFTER: Final = dt.timedelta(seconds=30)
#: How many waiting events one task processes after its own before handing over to another
#: (a worker is not kept on webhooks for ever while deliveries keep coming).
DRAIN_LIMIT: Final = 200
#: For how long (seconds) a task starts new waiting events before handing over to another
#: (slow receivers do not keep it past a job timeout).
DRAIN_SECONDS: Final = 30.0


def wake_up_pending(*, now: dt.datetime | None = None) -> bool:
    """Whether a task that will process waiting events is queued and has not started (a
    claim younger than :data:`WAKE_UP_STALE_AFTER`).

    Read on every delivery, so in plain SQL: the ORM's ``exists()`` cost four times the
    CPU of the statement itself (0.74 against 0.17 ms, measured on PostgreSQL here).
    """
    now = now or timezone.now()
    # The primary's answer (db_for_write): a replica's lagging copy could still show a
    # claim its task has released, and the event would wait for the retry command.
    conn = connections[router.db_for_write(WebhookWakeUp)]
    meta = WebhookWakeUp._meta
    field = meta.get_field("queued_at")
    quote = conn.ops.quote_name
    since = field.get_db_prep_value(now - WAKE_UP_STALE_AFTER, conn)
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {quote(meta.db_table)} "  # noqa: S608 - the model's own names
            f"WHERE {quote(str(meta.pk.column))} = %s AND {quote(str(field.column))} > %s",
            [WebhookWakeUp.ROW, since],
        )
        return cursor.fetchone() is not None


def claim_wake_up(*, now: dt.datetime | None = None) -> bool:
    """Claim the wake-up for a task about to be enqueued; ``False`` when a fresh claim
    stands (another delivery's task will process the events)."""
    now = now or timezone.now()
    free = Q(queued_at__isnull=True) | Q(queued_at__lte=now - WAKE_UP_STALE_AFTER)
    if WebhookWakeUp.objects.filter(free, pk=WebhookWakeUp.ROW).update(queued_at=now):
        return True
    if WebhookWakeUp.objects.filter(pk=WebhookWakeUp.ROW).exists():
        return False
    # No row yet (a new or emptied table): create it claimed; of two creators one wins.
    try:
        with transaction.atomic():
            WebhookWakeUp.objects.create(pk=WebhookWakeUp.ROW, queued_at=now)
    except IntegrityError:
        return False
    return True


def release_wake_up() -> None:
    """The queued task has started: the next delivery enqueues another."""
    WebhookWakeUp.objects.filter(pk=WebhookWakeUp.ROW).update(queued_at=None)


def drain(on_failed: Callable[[WebhookEvent], object] | None = None) -> int | None:
    """Process the events waiting now, oldest first, up to :data:`DRAIN_LIMIT` and for up to
    :data:`DRAIN_SECONDS` (``on_failed`` is called with each that failed). Returns the
    oldest event still waiting when it stopped there (for the caller to hand over to
    another task), else ``None``."""
    run = process_waiting_events(
        limit=DRAIN_LIMIT, on_failed=on_failed, until=time.monotonic() + DRAIN_SECONDS
    )
    if not run.cut_short:
        return None
    return (
        WebhookEvent.objects.filter(due_condition())
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )
