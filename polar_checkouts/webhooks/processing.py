"""Record a verified Polar event once, then process it once: the webhook log's core.

:func:`process_event` is THE processing entry point: the endpoint calls it (through
:func:`receive_delivery`), the admin's "reprocess" action calls it, and so will a task
queue worker. It works on a recorded :class:`~polar_checkouts.models.WebhookEvent`, never
on a request, so it can run anywhere, any number of times, concurrently.

The flow of one delivery (API.md §10), after :mod:`.verify` accepted it:

1. :func:`record_delivery` inserts a ``WebhookEvent`` keyed by ``webhook-id`` (insert, or
   get on ``IntegrityError``: never check-then-act), in one short transaction.
2. :func:`.inbox.receive_delivery` hands the event's primary key to a task of Django's task
   framework once that transaction has committed (:mod:`.tasks`), or, when the backend is
   django-tasks-db on the events' database, writes the task row in that same transaction;
   the endpoint answers 2xx whatever processing later does.
3. The task calls :func:`process_due_event`, which claims the row (a row lock, skipping
   rows another worker holds where the database can) and calls :func:`process_event`.
   That runs the handler for the event's type inside a savepoint (:func:`dispatch_event`);
   a handler that raises leaves the event ``failed`` with its error and a
   ``next_attempt_at`` (exponential backoff, capped), when the
   ``polar_checkouts_process_webhooks`` command processes it again. Concurrent callers
   wait on the row lock and then find it done.

What processing means per type is :data:`HANDLERS`: checkout, customer, order and
subscription events go into the cache through their one upsert path
(``services.store_checkout``, ``store_customer``, ``store_order``,
``store_subscription``), which sends their signals by the stored state (``order_paid``
once per order, whichever ``order.*`` event first shows it paid); ``refund.*`` events are
recorded and passed on (the order's own events carry the refunded totals). Every
other type Polar's spec declares (:data:`.events.EVENT_TYPES`) is passed on: recorded,
sent through ``webhook_received`` and marked ``processed``. A type Polar added since is
recorded, sent through ``webhook_received`` too, and marked ``ignored`` (the endpoint
answers 202). To process a type, add its handler to :data:`HANDLERS`.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from django.db import IntegrityError, connection, connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q
from django.utils import timezone

from ..conf import polar_settings
from ..exceptions import InvalidPayloadError
from ..masking import mask_secrets_in
from ..models import WebhookEvent, WebhookOutcome
from ..payload import uuid_or_none
from ..services import store_checkout, store_customer, store_order, store_subscription
from ..signals import webhook_received
from .events import is_known_event_type

logger = logging.getLogger("polar_checkouts.webhooks")

#: Headers kept on the recorded event; nothing else of the request is stored.
STORED_HEADERS: Final = (
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
    "user-agent",
)
#: Event types whose data is a ``Checkout``, stored through the one upsert path.
CHECKOUT_EVENTS: Final = frozenset({"checkout.created", "checkout.updated", "checkout.expired"})
#: Event types whose data is a ``Customer`` (a ``CustomerState`` for ``state_changed``).
CUSTOMER_EVENTS: Final = frozenset(
    {"customer.created", "customer.updated", "customer.deleted", "customer.state_changed"}
)
#: Event types whose data is an ``Order``.
ORDER_EVENTS: Final = frozenset({"order.created", "order.updated", "order.paid", "order.refunded"})
#: Event types whose data is a ``Refund``.
REFUND_EVENTS: Final = frozenset({"refund.created", "refund.updated"})
#: Event types whose data is a ``Subscription``.
SUBSCRIPTION_EVENTS: Final = frozenset(
    {
        "subscription.created",
        "subscription.updated",
        "subscription.active",
        "subscription.canceled",
        "subscription.uncanceled",
        "subscription.cycled",
        "subscription.revoked",
        "subscription.past_due",
        "subscription.paused",
        "subscription.resumed",
    }
)
_MAX_ERROR_CHARS: Final = 10_000

#: A handler does the app's own work for one event (given its ``data``) and says how it
#: went; it raises to leave the event ``failed`` (its writes are rolled back).
EventHandler = Callable[[WebhookEvent, Any], WebhookOutcome]


def checkout_id_for(event_type: str, data: Any) -> uuid.UUID | None:
    """The checkout an event belongs to: the data itself for ``checkout.*``, else its
    ``checkout_id`` (orders and subscriptions carry one)."""
    if not isinstance(data, Mapping):
        return None
    if event_type.startswith("checkout."):
        return uuid_or_none(data.get("id"))
    return uuid_or_none(data.get("checkout_id"))


def new_event(
    *, webhook_id: str, payload: Mapping[str, Any], headers: Mapping[str, str]
) -> WebhookEvent:
    """The :class:`~polar_checkouts.models.WebhookEvent` a verified delivery is recorded
    as (not saved)."""
    event_type = str(payload["type"])
    data = payload.get("data")
    object_id = data.get("id") if isinstance(data, Mapping) else None
    return WebhookEvent(
        webhook_id=webhook_id,
        type=event_type,
        payload=dict(payload),
        headers={k: v for k, v in headers.items() if k in STORED_HEADERS},
        checkout_id=checkout_id_for(event_type, data),
        object_id=str(object_id)[:255] if object_id else "",
    )


def record_delivery(
    *,
    webhook_id: str,
    payload: Mapping[str, Any],
    headers: Mapping[str, str],
    body: str | None = None,
) -> tuple[WebhookEvent, bool]:
    """Store a verified delivery once per ``webhook-id``; ``(event, created)``.

    ``body``, when given, is the delivery's JSON text that ``payload`` was parsed from:
    it is stored as is instead of serialising ``payload`` again.

    On PostgreSQL and SQLite a new delivery is one ``INSERT … ON CONFLICT DO NOTHING
    RETURNING`` (in the webhook view's autocommit, one round trip and its commit); a
    redelivery inserts nothing and the recorded row is read. Elsewhere the row is inserted
    through the ORM and read on ``IntegrityError``. Either way concurrent duplicates never
    both insert and never crash on the unique key.
    """
    event = new_event(webhook_id=webhook_id, payload=payload, headers=headers)
    using = router.db_for_write(WebhookEvent)
    conn = connections[using]
    if _inserts_on_conflict(conn):
        # At most twice: a row found by the INSERT but gone by the SELECT (deleted in
        # between, in the admin) is inserted again.
        for _attempt in range(2):
            pk = _insert_unless_recorded(conn, event, body)
            if pk is not None:
                event.pk = pk
                event._state.adding = False
                event._state.db = using
                return event, True
            existing = _recorded_state(webhook_id, using)
            if existing is not None:
                return existing, False
    # In autocommit (the webhook view is not atomic) the INSERT is its own transaction:
    # one round trip to the database instead of BEGIN, INSERT and COMMIT. Inside a
    # caller's transaction a savepoint keeps a duplicate's IntegrityError from breaking it.
    guard = transaction.atomic(using=using) if conn.in_atomic_block else nullcontext()
    try:
        with guard:
            event.save(force_insert=True, using=using)
    except IntegrityError:
        existing = _recorded_state(webhook_id, using)
        if existing is None:
            raise  # not the unique key: a real integrity problem
        return existing, False
    return event, True


#: What a redelivery decides on (its state, when it was recorded, for the log its type).
_STATE_FIELDS: Final = ("id", "webhook_id", "type", "outcome", "received_at", "next_attempt_at")


def _recorded_state(webhook_id: str, using: str) -> WebhookEvent | None:
    """The event recorded under ``webhook_id`` (a redelivery's), or ``None``: its state,
    without its payload and headers (they load on first access). In plain SQL with the
    fields' own converters: on every redelivery, and the ORM's compilation of this query
    cost four times the statement (measured here)."""
    conn = connections[using]
    meta = WebhookEvent._meta
    # In the model's order: from_db takes the values of a subset in that order.
    fields = [f for f in meta.concrete_fields if f.name in _STATE_FIELDS]
    quote = conn.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {quote(meta.db_table)} "  # noqa: S608 - the model's names
            f"WHERE {quote(str(meta.get_field('webhook_id').column))} = %s",
            [webhook_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    values = []
    for field, value in zip(fields, row, strict=True):
        column = field.get_col(meta.db_table)
        for convert in conn.ops.get_db_converters(column) + field.get_db_converters(conn):
            value = convert(value, column, conn)
        values.append(value)
    return WebhookEvent.from_db(using, [f.attname for f in fields], values)


def _inserts_on_conflict(conn: BaseDatabaseWrapper) -> bool:
    # INSERT ... ON CONFLICT (col) DO NOTHING RETURNING: PostgreSQL, and SQLite from 3.35
    # (the version Django's feature flag below needs).
    return conn.vendor in ("postgresql", "sqlite") and bool(
        conn.features.can_return_rows_from_bulk_insert
    )


def _insert_unless_recorded(
    conn: BaseDatabaseWrapper, event: WebhookEvent, body: str | None
) -> int | None:
    """Insert ``event``'s row unless its ``webhook_id`` is recorded; its primary key, or
    ``None`` when the unique key held another row (nothing written)."""
    sql, fields = _insert_statement(conn)
    params: list[Any] = []
    for field in fields:
        value = getattr(event, field.attname)
        if isinstance(field, models.JSONField):
            if field.attname == "payload" and _storable_as_is(body):
                params.append(body)  # the verified JSON text itself
            else:
                params.append(json.dumps(value, cls=field.encoder))
        else:
            params.append(field.get_db_prep_save(value, conn))
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def _storable_as_is(body: str | None) -> bool:
    # The text is the JSON that was parsed when it was read as UTF-8: not when it holds a
    # NUL (UTF-16 and UTF-32 JSON, which the JSON reader also takes, decode to text with
    # NULs) or starts with a byte order mark (which the reader skips and jsonb refuses).
    return body is not None and "\x00" not in body and not body.startswith("\ufeff")


#: The one-statement insert per database vendor, built once (see :func:`_insert_statement`).
_INSERT_STATEMENTS: dict[str, tuple[str, tuple[models.Field[Any, Any], ...]]] = {}


def _insert_statement(
    conn: BaseDatabaseWrapper,
) -> tuple[str, tuple[models.Field[Any, Any], ...]]:
    """The one-statement insert of a :class:`WebhookEvent` on ``conn``'s vendor, and its
    fields in parameter order (every concrete field but the automatic primary key)."""
    cached = _INSERT_STATEMENTS.get(conn.vendor)
    if cached is not None:
        return cached
    meta = WebhookEvent._meta
    quote = conn.ops.quote_name
    fields = tuple(f for f in meta.concrete_fields if not f.primary_key)
    json_placeholder = "%s::jsonb" if conn.vendor == "postgresql" else "%s"
    values = ", ".join(
        json_placeholder if isinstance(f, models.JSONField) else "%s" for f in fields
    )
    # Only the model's own table and column names go into the text, quoted; every value
    # is a parameter.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(str(f.column)) for f in fields)}) VALUES ({values}) "
        f"ON CONFLICT ({quote(str(meta.get_field('webhook_id').column))}) DO NOTHING "
        f"RETURNING {quote(str(meta.pk.column))}"
    )
    _INSERT_STATEMENTS[conn.vendor] = (sql, fields)
    return sql, fields


def _handle_checkout(event: WebhookEvent, data: Any) -> WebhookOutcome:
    if not isinstance(data, Mapping):
        raise InvalidPayloadError(f"{event.type} event without a checkout object in 'data'")
    store_checkout(data)
    return WebhookOutcome.PROCESSED


def _object_of(event: WebhookEvent, data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidPayloadError(f"{event.type} event without {what} object in 'data'")
    return data


def _handle_customer(event: WebhookEvent, data: Any) -> WebhookOutcome:
    customer = dict(_object_of(event, data, "a customer"))
    if event.type == "customer.deleted" and not customer.get("deleted_at"):
        # The event itself says it was deleted; date it by the event when Polar did not.
        customer["deleted_at"] = event.payload.get("timestamp") or timezone.now().isoformat()
    store_customer(customer)
    return WebhookOutcome.PROCESSED


def _handle_order(event: WebhookEvent, data: Any) -> WebhookOutcome:
    # The order's state decides what is signalled (order_paid once, order_refunded per
    # refund), not the event's name: deliveries may come in any order, or not at all.
    store_order(_object_of(event, data, "an order"), event=event)
    return WebhookOutcome.PROCESSED


def _handle_subscription(event: WebhookEvent, data: Any) -> WebhookOutcome:
    store_subscription(_object_of(event, data, "a subscription"))
    return WebhookOutcome.PROCESSED


def _handle_refund(event: WebhookEvent, data: Any) -> WebhookOutcome:
    # A Refund names its order but not the order's new totals; Polar sends the order
    # itself (order.updated, order.refunded) with every refund, which updates the cache.
    _object_of(event, data, "a refund")
    return WebhookOutcome.PROCESSED


def pass_on(event: WebhookEvent, data: Any) -> WebhookOutcome:
    """The handler of a known type the app keeps nothing of: ``webhook_received`` (sent
    for every event) passes it on to the shop, and that is all there is to do."""
    return WebhookOutcome.PROCESSED


#: What the app does itself per event type; every other type of
#: :data:`.events.EVENT_TYPES` is handled by :func:`pass_on`.
HANDLERS: Final[Mapping[str, EventHandler]] = MappingProxyType(
    {
        **dict.fromkeys(sorted(CHECKOUT_EVENTS), _handle_checkout),
        **dict.fromkeys(sorted(CUSTOMER_EVENTS), _handle_customer),
        **dict.fromkeys(sorted(ORDER_EVENTS), _handle_order),
        **dict.fromkeys(sorted(REFUND_EVENTS), _handle_refund),
        **dict.fromkeys(sorted(SUBSCRIPTION_EVENTS), _handle_subscription),
    }
)


def handler_for(event_type: str) -> EventHandler | None:
    """The handler of an event type: its entry in :data:`HANDLERS`, :func:`pass_on` for
    the other types Polar declares, ``None`` for a type unknown here (then ignored)."""
    handler = HANDLERS.get(event_type)
    if handler is None and is_known_event_type(event_type):
        return pass_on
    return handler


def dispatch_event(event: WebhookEvent) -> WebhookOutcome:
    """Run the handler of ``event``'s type, then ``webhook_received``; return the outcome."""
    handler = handler_for(event.type)
    data = event.payload.get("data") if isinstance(event.payload, Mapping) else None
    outcome = handler(event, data) if handler else WebhookOutcome.IGNORED
    webhook_received.send(sender=WebhookEvent, event=event)
    return outcome


def _error_text() -> str:
    """The current exception's traceback, secrets masked, cut to fit the log row."""
    text = mask_secrets_in(traceback.format_exc())
    return text[-_MAX_ERROR_CHARS:]


def process_event(event: WebhookEvent | int) -> WebhookEvent:
    """THE processing entry point: run a recorded event's handler unless it already ran.

    ``event`` is a :class:`~polar_checkouts.models.WebhookEvent` or its primary key (a
    task queue passes the key). Returns the event with its new ``outcome``: ``processed``
    or ``ignored`` (a type unknown here, see :func:`handler_for`) on success, ``failed``
    with ``error`` set when the handler raised; it never raises for a handler's failure.
    An event already processed or ignored is returned unchanged, so calling it twice is
    safe.

    Opens its own transaction: the row stays locked (``SELECT … FOR UPDATE``) from the
    check to the final write, so of several concurrent callers one processes and the
    others see the result. A failure rolls back the handler's writes (a savepoint) and is
    recorded on the event, with secrets masked.
    """
    pk = event.pk if isinstance(event, WebhookEvent) else event
    with transaction.atomic():
        locked = WebhookEvent.objects.select_for_update().get(pk=pk)
        if locked.is_done:
            return locked
        locked.attempts += 1
        locked.last_attempt_at = timezone.now()
        try:
            with transaction.atomic():
                outcome = dispatch_event(locked)
        except Exception:
            logger.exception(
                "Polar webhook %s (%s) failed on attempt %d",
                locked.webhook_id,
                locked.type,
                locked.attempts,
            )
            locked.outcome = WebhookOutcome.FAILED
            locked.error = _error_text()
            locked.processed_at = None
            locked.next_attempt_at = locked.last_attempt_at + polar_settings.webhook_retry_delay(
                locked.attempts
            )
        else:
            locked.outcome = outcome
            locked.error = ""
            locked.processed_at = timezone.now()
            locked.next_attempt_at = None
            logger.info("Polar webhook %s (%s): %s", locked.webhook_id, locked.type, outcome.value)
        locked.save(
            update_fields=[
                "attempts",
                "last_attempt_at",
                "outcome",
                "error",
                "processed_at",
                "next_attempt_at",
            ]
        )
    return locked


def due_condition(*, all_failed: bool = False) -> Q:
    """Events waiting for processing: pending ones, and failed ones whose retry is due (every
    failed one with ``all_failed``)."""
    failed = Q(outcome=WebhookOutcome.FAILED)
    if not all_failed:
        failed &= Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now())
    return Q(outcome=WebhookOutcome.PENDING) | failed


def process_due_event(event_id: int, *, all_failed: bool = False) -> WebhookEvent | None:
    """Process one event if it is still waiting (see :func:`due_condition`); else ``None``.

    The event is claimed with a row lock that other workers skip (``SKIP LOCKED`` where the
    database has it) and the condition is checked under that lock, so a task, a redelivery
    and any number of concurrent ``polar_checkouts_process_webhooks`` runs process it once,
    and a failed event is not retried before it is due.
    """
    skip_locked = connection.features.has_select_for_update_skip_locked
    with transaction.atomic():
        claimed = (
            WebhookEvent.objects.select_for_update(skip_locked=skip_locked)
            .filter(due_condition(all_failed=all_failed), pk=event_id)
            .first()
        )
        if claimed is None:
            return None
        return process_event(claimed)


@dataclass
class RetryRun:
    """What one :func:`process_waiting_events` run did."""

    processed: int = 0
    failed: int = 0
    skipped: int = 0  # taken by another worker meanwhile, or no longer waiting
    #: Stopped at ``limit`` or ``until`` with events of the run's list not yet looked at.
    cut_short: bool = False


def process_waiting_events(
    *,
    all_failed: bool = False,
    limit: int | None = None,
    on_failed: Callable[[WebhookEvent], object] | None = None,
    until: float | None = None,
) -> RetryRun:
    """Process the events waiting now (:func:`due_condition`), oldest first, each through
    :func:`process_due_event`: safe next to workers and to other runs of itself.

    At most ``limit`` events; none started after ``until`` (a :func:`time.monotonic`
    value). ``on_failed`` is called with each event that failed (the task schedules its
    retry)."""
    waiting = (
        WebhookEvent.objects.filter(due_condition(all_failed=all_failed))
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)
    )
    ids = list(waiting[: limit + 1] if limit else waiting)  # one more: are there others?
    run = RetryRun()
    if limit and len(ids) > limit:
        ids, run.cut_short = ids[:limit], True
    for n, pk in enumerate(ids):
        if until is not None and n and time.monotonic() >= until:
            run.cut_short = True
            break
        event = process_due_event(pk, all_failed=all_failed)
        if event is None:
            run.skipped += 1
        elif event.outcome == WebhookOutcome.FAILED:
            run.failed += 1
            if on_failed is not None:
                on_failed(event)
        else:
            run.processed += 1
    return run
