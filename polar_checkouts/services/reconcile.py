"""Reconciliation: catch up with Polar after the endpoint was disabled or the shop was down.

Two ways back to Polar's state, both safe to repeat:

1. **Refresh the cache** (:func:`refresh_cache`): every object type in :data:`REFRESHERS`
   is synced from Polar since the newest change the cache has seen, minus a margin. Other
   object types join with :func:`register_refresher` (one function per type, taking
   ``since``), so the command refreshes whatever the cache keeps.
2. **Redeliver failed events** (:func:`failed_events` and :func:`redeliver`): through
   Polar's webhooks API, this site's endpoint (the one signing with
   ``POLAR_WEBHOOK_SECRET``) is looked up, its failed deliveries listed and each event that
   never succeeded sent again. Redelivered events come through the endpoint as any
   delivery: the inbox records each ``webhook-id`` once, so an event seen before is not
   processed twice.

Polar disables an endpoint after 10 consecutive failed events and then skips its events,
redeliveries included: :func:`enable_endpoint` switches it back on first. Events skipped
before any attempt have no delivery to list (Polar's API cannot list them); the cache
refresh brings their objects up to date, but their signals (``order_paid`` …) were not sent.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Max
from django.db.models.functions import Coalesce

from ..client import get_client
from ..conf import polar_settings
from ..exceptions import PolarError
from ..models import DONE_OUTCOMES, CheckoutSession, Customer, Order, Subscription, WebhookEvent
from ..types import WebhookEndpoint
from .checkouts import sync_checkouts
from .customers import sync_customers
from .orders import sync_orders
from .subscriptions import sync_subscriptions

logger = logging.getLogger("polar_checkouts")

#: Default look-back before the newest change seen: Polar's checkouts live an hour by
#: default, so one created before that change may have changed after it; plus clock skew.
DEFAULT_MARGIN = dt.timedelta(hours=2)

#: ``refresh(since) -> summary`` per object type: sync from Polar what changed since
#: ``since`` (everything when ``None``); the summary is printed by the command.
Refresher = Callable[[dt.datetime | None], object]
#: What :func:`refresh_cache` syncs, by name; :func:`register_refresher` adds to it.
REFRESHERS: dict[str, Refresher] = {}
#: ``newest_seen() -> datetime | None`` per object type: the newest change in the cache.
NEWEST_SEEN: dict[str, Callable[[], dt.datetime | None]] = {}


def register_refresher(
    name: str, refresh: Refresher, newest_seen: Callable[[], dt.datetime | None]
) -> None:
    """Let :func:`refresh_cache` sync object type ``name``: ``refresh(since)`` syncs it,
    ``newest_seen()`` gives the newest ``modified_at`` (or ``created_at``) cached for it."""
    REFRESHERS[name] = refresh
    NEWEST_SEEN[name] = newest_seen


def _newest_checkout_change() -> dt.datetime | None:
    newest = CheckoutSession.objects.aggregate(newest=Max(Coalesce("modified_at", "created_at")))[
        "newest"
    ]
    return newest if isinstance(newest, dt.datetime) else None


def _refresh_checkouts(since: dt.datetime | None) -> object:
    return sync_checkouts(since=since)


register_refresher("checkouts", _refresh_checkouts, _newest_checkout_change)


def _newest_change(model: Any) -> Callable[[], dt.datetime | None]:
    def newest() -> dt.datetime | None:
        value = model.objects.aggregate(newest=Max(Coalesce("modified_at", "created_at")))["newest"]
        return value if isinstance(value, dt.datetime) else None

    return newest


def _refresh_subscriptions(since: dt.datetime | None) -> object:
    # Polar filters subscriptions by creation only, and an old subscription is exactly the
    # one that renews, fails or is cancelled later: always the whole list (one page per
    # hundred subscriptions), never a window that would miss those changes.
    return sync_subscriptions()


register_refresher("customers", lambda since: sync_customers(since=since), _newest_change(Customer))
# Orders by creation: renewals and new purchases since the outage. A refund of an older
# order changes that order in place; a reconcile with an earlier --since (or none) finds it.
register_refresher("orders", lambda since: sync_orders(since=since), _newest_change(Order))
register_refresher("subscriptions", _refresh_subscriptions, _newest_change(Subscription))


def default_since(margin: dt.timedelta = DEFAULT_MARGIN) -> dt.datetime | None:
    """The newest change the cache has seen (any registered type), minus ``margin``;
    ``None`` (sync everything) for an empty cache."""
    seen = [moment for newest in NEWEST_SEEN.values() if (moment := newest()) is not None]
    return max(seen) - margin if seen else None


def refresh_cache(
    since: dt.datetime | None, *, only: Iterable[str] | None = None
) -> dict[str, Any]:
    """Run every registered refresher (or those named in ``only``) from ``since``; their
    summaries by name. A refresher's Polar error is logged and reported, the others run."""
    wanted = set(only) if only is not None else set(REFRESHERS)
    done: dict[str, Any] = {}
    for name, refresh in REFRESHERS.items():
        if name not in wanted:
            continue
        try:
            done[name] = refresh(since)
        except PolarError as exc:
            logger.exception("Reconcile: refreshing %s from Polar failed", name)
            done[name] = exc
    return done


def find_endpoint(endpoint_id: str | None = None) -> WebhookEndpoint | None:
    """This site's webhook endpoint on Polar: ``endpoint_id`` if given, else the one whose
    secret is ``POLAR_WEBHOOK_SECRET`` (any of them while rotating), else the only one."""
    client = get_client()
    if endpoint_id:
        return client.get_webhook_endpoint(endpoint_id)
    endpoints = list(client.iter_webhook_endpoints())
    secrets = set(polar_settings.webhook_secrets)
    mine = [e for e in endpoints if e.get("secret") in secrets]
    if len(mine) == 1:
        return mine[0]
    return endpoints[0] if len(endpoints) == 1 else None


def enable_endpoint(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Switch a disabled endpoint back on (Polar sends new events to it again)."""
    return get_client().update_webhook_endpoint(str(endpoint["id"]), {"enabled": True})


@dataclass
class FailedEvents:
    """What :func:`failed_events` found among an endpoint's failed deliveries."""

    #: Event ids (``webhook-id``) that never succeeded, oldest delivery first.
    to_redeliver: list[str] = field(default_factory=list)
    #: Ids of events that succeeded in the end, or that this site has processed already.
    recovered: list[str] = field(default_factory=list)
    #: Ids Polar archived (no payload left: cannot be redelivered).
    archived: list[str] = field(default_factory=list)
    deliveries: int = 0


def failed_events(endpoint: WebhookEndpoint, *, since: dt.datetime | None = None) -> FailedEvents:
    """The events of ``endpoint`` with failed deliveries (since ``since``), sorted out."""
    found = FailedEvents()
    seen: set[str] = set()
    filters: dict[str, Any] = {"endpoint_id": str(endpoint["id"]), "succeeded": False}
    if since is not None:
        filters["start_timestamp"] = since
    for delivery in get_client().iter_webhook_deliveries(**filters):
        found.deliveries += 1
        event = delivery.get("webhook_event") or {}
        event_id = str(event.get("id") or "")
        if not event_id or event_id in seen:
            continue
        seen.add(event_id)
        if event.get("is_archived"):
            found.archived.append(event_id)
        elif event.get("succeeded") is True:
            found.recovered.append(event_id)
        else:
            found.to_redeliver.append(event_id)
    done_here = set(
        WebhookEvent.objects.filter(
            webhook_id__in=found.to_redeliver, outcome__in=DONE_OUTCOMES
        ).values_list("webhook_id", flat=True)
    )
    found.recovered += [i for i in found.to_redeliver if i in done_here]
    # Newest first from Polar; redeliver the oldest first.
    found.to_redeliver = [i for i in reversed(found.to_redeliver) if i not in done_here]
    return found


def redeliver(event_ids: Iterable[str]) -> tuple[list[str], dict[str, str]]:
    """Ask Polar to send each event again; ``(asked, errors by event id)``."""
    client = get_client()
    asked: list[str] = []
    errors: dict[str, str] = {}
    for event_id in event_ids:
        try:
            client.redeliver_webhook_event(event_id)
        except PolarError as exc:
            logger.warning("Reconcile: Polar refused to redeliver %s: %s", event_id, exc)
            errors[event_id] = str(exc)
        else:
            asked.append(event_id)
    return asked, errors
