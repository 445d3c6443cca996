"""Orders: the one path into the ``Order`` cache, and the order signals.

:func:`store_order` (and :func:`store_orders` for a page) is the single way an order
payload reaches the cache: ``order.*`` events, the API and the sync. It stores the
embedded customer and subscription first, resolves the shop user, upserts ("newer data
wins") and sends ``order_paid`` (once per order, renewals included) and
``order_refunded`` (once per refunded increase) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..client import get_client
from ..models import CheckoutSession, Order, StoreCounts, StoreResult, WebhookEvent
from ..payload.orders import PAID
from ..payload.subscriptions import embedded_subscription
from ..signals import order_paid, order_refunded
from .checkouts import SyncResult
from .claims import claim, send_signal
from .customers import store_embedded_customers, user_ids_for
from .subscriptions import store_subscription, store_subscriptions
from .sync import sync_pages

logger = logging.getLogger("polar_checkouts")


def _store_embedded_subscriptions(payloads: Sequence[Mapping[str, Any]]) -> None:
    subscriptions: dict[Any, Mapping[str, Any]] = {}
    for payload in payloads:
        subscription = embedded_subscription(payload)
        if subscription is not None:
            subscriptions.setdefault(subscription["id"], subscription)
    if len(subscriptions) == 1:
        store_subscription(next(iter(subscriptions.values())))
    elif subscriptions:
        store_subscriptions(subscriptions.values())


def store_order(
    payload: Mapping[str, Any], *, event: WebhookEvent | None = None
) -> StoreResult[Order]:
    """Upsert one order payload and send its signals (one transaction).

    ``event`` is the webhook event that brought it, handed to ``order_paid``.
    """
    with transaction.atomic():
        store_embedded_customers([payload])
        _store_embedded_subscriptions([payload])
        user_id = next(iter(user_ids_for([payload]).values()), None)
        result: StoreResult[Order] = Order.objects.upsert_from_polar(payload, user_id=user_id)
        send_order_signals([result], event=event)
    return result


def store_orders(payloads: Iterable[Mapping[str, Any]]) -> StoreCounts[Order]:
    """Upsert a page of orders in bulk (same rule and signals, constant queries)."""
    payloads = list(payloads)
    with transaction.atomic():
        store_embedded_customers(payloads)
        _store_embedded_subscriptions(payloads)
        counts: StoreCounts[Order] = Order.objects.upsert_many(
            payloads, user_ids=user_ids_for(payloads)
        )
        send_order_signals(counts.results)
    return counts


def send_order_signals(
    results: Sequence[StoreResult[Order]], *, event: WebhookEvent | None = None
) -> None:
    """Send ``order_paid`` the first time each order is seen paid and ``order_refunded``
    for each increase of its refunded amount, each claimed by a conditional ``UPDATE``.

    ``paid_at`` is recorded with the claim: the paid version's ``modified_at`` (else its
    ``created_at``) when first seen ``paid``, its ``created_at`` when first seen already
    refunded.
    """
    if not results:
        return
    db = results[0].row._state.db or "default"
    rows = {result.row.pk: result.row for result in results}
    with transaction.atomic(using=db):
        now = timezone.now()
        unpaid = [pk for pk, row in rows.items() if row.is_paid and row.paid_notified_at is None]
        paid_at = Case(
            When(status=PAID, then=Coalesce(F("modified_at"), F("created_at"))),
            default=F("created_at"),
        )
        claimed = claim(
            Order,
            unpaid,
            Q(paid_notified_at__isnull=True),
            {"paid_notified_at": now, "paid_at": paid_at},
            using=db,
        )
        if claimed:
            checkout_ids = {rows[pk].checkout_id for pk in claimed if rows[pk].checkout_id}
            checkouts = CheckoutSession.objects.using(db).in_bulk(list(checkout_ids))
            for pk in claimed:
                order = rows[pk]
                order.paid_notified_at = now
                order.paid_at = (
                    (order.modified_at or order.created_at)
                    if order.status == PAID
                    else order.created_at
                )
                logger.info("Polar order %s paid; sending order_paid", pk)
                send_signal(
                    order_paid,
                    "order_paid",
                    sender=Order,
                    order=order,
                    checkout=checkouts.get(order.checkout_id),
                    event=event,
                )
        _send_refunds(rows, db)


def _send_refunds(rows: Mapping[Any, Order], db: str) -> None:
    grown = [pk for pk, row in rows.items() if row.refunded_amount > row.refunded_notified_amount]
    if not grown:
        return
    manager = Order.objects.using(db)
    if len(grown) == 1:
        row = rows[grown[0]]
        # The amount the last signal was sent for, read in the UPDATE's own condition.
        previous = row.refunded_notified_amount
        updated = manager.filter(pk=row.pk, refunded_notified_amount=previous).update(
            refunded_notified_amount=Value(row.refunded_amount)
        )
        notified = {row.pk: previous} if updated else {}
    else:
        notified = dict(
            manager.select_for_update()
            .filter(pk__in=grown, refunded_notified_amount__lt=F("refunded_amount"))
            .order_by("pk")
            .values_list("pk", "refunded_notified_amount")
        )
        if notified:
            manager.filter(pk__in=list(notified)).update(
                refunded_notified_amount=F("refunded_amount")
            )
    for pk, previous in notified.items():
        order = rows[pk]
        order.refunded_notified_amount = order.refunded_amount
        logger.info("Polar order %s refunded %s; sending order_refunded", pk, order.refunded_amount)
        send_signal(
            order_refunded,
            "order_refunded",
            sender=Order,
            order=order,
            refunded_amount=order.refunded_amount,
            previous_refunded_amount=previous,
        )


# -- reading from Polar ----------------------------------------------------------------------


def refresh_order(order_id: str | uuid.UUID) -> Order:
    """Fetch one order from Polar and update the cache (and send what it calls for)."""
    result: StoreResult[Order] = store_order(get_client().get_order(str(order_id)))
    return result.row


def sync_orders(
    *,
    progress: Callable[[SyncResult], None] | None = None,
    since: dt.datetime | None = None,
    **filters: Any,
) -> SyncResult:
    """Copy every order matching ``filters`` (``PolarClient.list_orders``'s: ``product_id``,
    ``customer_id``, ``status``, ``organization_id`` …) from Polar into the cache, in
    pages of 100 stored in bulk; ``since`` keeps orders created at or after it."""
    given = {key: value for key, value in filters.items() if value not in (None, [], ())}
    return sync_pages(
        get_client().list_orders,
        store_orders,
        what="order",
        progress=progress,
        since=since,
        **given,
    )
