"""Subscriptions: the one path into the ``Subscription`` cache, and its signals.

:func:`store_subscription` (and :func:`store_subscriptions` for a page) is the single way
a subscription payload reaches the cache: ``subscription.*`` events, the subscription an
order embeds, the API and the sync. It stores the embedded customer first, resolves the
shop user, upserts ("newer data wins"), and sends the subscription signals in the same
transaction (:func:`send_subscription_signals`). The signals follow the stored state, not
the event's name, so a lifecycle delivered in any order, duplicated, or learnt from a
sync alone sends each of them once.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..client import get_client
from ..models import StoreCounts, StoreResult, Subscription
from ..payload.subscriptions import ACTIVE_STATUSES, has_started, is_canceled, is_revoked
from ..signals import (
    subscription_activated,
    subscription_canceled,
    subscription_revoked,
    subscription_updated,
)
from .checkouts import SyncResult
from .claims import claim, send_signal
from .customers import store_embedded_customers, user_ids_for
from .sync import sync_pages

logger = logging.getLogger("polar_checkouts")


def store_subscription(payload: Mapping[str, Any]) -> StoreResult[Subscription]:
    """Upsert one subscription payload and send its signals (one transaction)."""
    with transaction.atomic():
        store_embedded_customers([payload])
        user_id = next(iter(user_ids_for([payload]).values()), None)
        result: StoreResult[Subscription] = Subscription.objects.upsert_from_polar(
            payload, user_id=user_id
        )
        send_subscription_signals([result])
    return result


def store_subscriptions(payloads: Iterable[Mapping[str, Any]]) -> StoreCounts[Subscription]:
    """Upsert a page of subscriptions in bulk (same rule and signals, constant queries)."""
    payloads = list(payloads)
    with transaction.atomic():
        store_embedded_customers(payloads)
        counts: StoreCounts[Subscription] = Subscription.objects.upsert_many(
            payloads, user_ids=user_ids_for(payloads)
        )
        send_subscription_signals(counts.results)
    return counts


def send_subscription_signals(results: Sequence[StoreResult[Subscription]]) -> None:
    """Send what the stored state of each subscription calls for, each claim once.

    ``subscription_updated`` for each stored change; then, claimed by conditional
    ``UPDATE``: ``subscription_activated`` once it has started, ``subscription_canceled``
    once a cancellation is scheduled or made (an uncancel releases the claim, so a later
    cancellation is sent again), ``subscription_revoked`` once revoked (a reinstated
    subscription releases it).
    """
    if not results:
        return
    db = results[0].row._state.db or "default"
    rows = {result.row.pk: result.row for result in results}
    with transaction.atomic(using=db):
        for result in results:
            if result.changed:
                send_signal(
                    subscription_updated,
                    "subscription_updated",
                    sender=Subscription,
                    subscription=result.row,
                    previous_status=result.previous_status,
                )
        now = timezone.now()
        _claim_and_send(
            rows,
            "activated_notified_at",
            [pk for pk, row in rows.items() if has_started(row.status, row.started_at)],
            subscription_activated,
            "subscription_activated",
            now,
            db,
        )
        canceled = {pk for pk, row in rows.items() if is_canceled(row.canceled_at, row.status)}
        _release(rows, "canceled_notified_at", [pk for pk in rows if pk not in canceled], db)
        _claim_and_send(
            rows,
            "canceled_notified_at",
            sorted(canceled),
            subscription_canceled,
            "subscription_canceled",
            now,
            db,
        )
        revoked = {pk for pk, row in rows.items() if is_revoked(row.status)}
        reinstated = [pk for pk, row in rows.items() if row.status in ACTIVE_STATUSES]
        _release(rows, "revoked_notified_at", reinstated, db)
        _claim_and_send(
            rows,
            "revoked_notified_at",
            sorted(revoked),
            subscription_revoked,
            "subscription_revoked",
            now,
            db,
        )


def _claim_and_send(
    rows: Mapping[Any, Subscription],
    column: str,
    pks: list[Any],
    signal: Any,
    name: str,
    now: Any,
    db: str,
) -> None:
    candidates = [pk for pk in pks if getattr(rows[pk], column) is None]
    claimed = claim(
        Subscription, candidates, Q(**{f"{column}__isnull": True}), {column: now}, using=db
    )
    for pk in claimed:
        row = rows[pk]
        setattr(row, column, now)
        logger.info("Polar subscription %s: sending %s", pk, name)
        send_signal(signal, name, sender=Subscription, subscription=row)


def _release(rows: Mapping[Any, Subscription], column: str, pks: list[Any], db: str) -> None:
    """Clear a claim whose state no longer holds (uncanceled, reinstated)."""
    held = [pk for pk in pks if getattr(rows[pk], column) is not None]
    if held:
        Subscription.objects.using(db).filter(pk__in=held).update(**{column: None})
        for pk in held:
            setattr(rows[pk], column, None)


# -- reading from Polar ----------------------------------------------------------------------


def refresh_subscription(subscription_id: str | uuid.UUID) -> Subscription:
    """Fetch one subscription from Polar and update the cache (and send its signals)."""
    payload = get_client().get_subscription(str(subscription_id))
    result: StoreResult[Subscription] = store_subscription(payload)
    return result.row


def sync_subscriptions(
    *,
    progress: Callable[[SyncResult], None] | None = None,
    since: dt.datetime | None = None,
    **filters: Any,
) -> SyncResult:
    """Copy every subscription matching ``filters`` (``PolarClient.list_subscriptions``'s:
    ``product_id``, ``customer_id``, ``status``, ``organization_id`` …) from Polar into
    the cache, in pages of 100 stored in bulk; ``since`` keeps those created at or after it."""
    given = {key: value for key, value in filters.items() if value not in (None, [], ())}
    return sync_pages(
        get_client().list_subscriptions,
        store_subscriptions,
        what="subscription",
        progress=progress,
        since=since,
        **given,
    )
