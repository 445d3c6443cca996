"""Pure rules about Polar's subscription objects: parse a payload, decide what it means.

Polar's statuses (``SubscriptionStatus``): ``incomplete`` until the first payment,
``trialing`` and ``active`` while it runs, ``past_due`` while a failed renewal is
retried, ``paused``, and ``canceled`` or ``unpaid`` once revoked (access ended).
Cancelling at the period's end keeps it ``active`` with ``cancel_at_period_end`` and
``ends_at`` set (and ``canceled_at``, when the cancellation was made) until Polar revokes
it; uncancelling clears ``canceled_at`` again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any, Final

from django.utils import timezone

from .common import (
    bool_or_none,
    clip_text,
    currency_of,
    int_or_none,
    mapping_or_none,
    metadata_of,
    parse_polar_datetime,
    required_id,
    uuid_or_none,
    wins_by_date_then_rank,
)

INCOMPLETE: Final = "incomplete"
INCOMPLETE_EXPIRED: Final = "incomplete_expired"
TRIALING: Final = "trialing"
ACTIVE: Final = "active"
PAST_DUE: Final = "past_due"
CANCELED: Final = "canceled"
UNPAID: Final = "unpaid"
PAUSED: Final = "paused"

#: Statuses that give access (Polar's ``active_statuses``).
ACTIVE_STATUSES: Final = frozenset({TRIALING, ACTIVE})
#: Statuses of a revoked subscription: access has ended (Polar's ``revoked_statuses``).
REVOKED_STATUSES: Final = frozenset({CANCELED, UNPAID})
#: Statuses of a subscription that has started (its first payment or trial went through).
STARTED_STATUSES: Final = frozenset({TRIALING, ACTIVE, PAST_DUE, PAUSED})

# How far along the lifecycle a status is, for payloads the dates cannot order.
_STATUS_RANK: Final[dict[str, int]] = {
    INCOMPLETE: 0,
    TRIALING: 1,
    ACTIVE: 2,
    PAST_DUE: 2,
    PAUSED: 2,
    UNPAID: 3,
    CANCELED: 4,
    INCOMPLETE_EXPIRED: 4,
}
_UNKNOWN_STATUS_RANK: Final = 1

#: Columns a subscription upsert writes (everything that comes from Polar).
SUBSCRIPTION_FIELDS: Final = (
    "status",
    "amount",
    "currency",
    "recurring_interval",
    "recurring_interval_count",
    "current_period_start",
    "current_period_end",
    "cancel_at_period_end",
    "canceled_at",
    "started_at",
    "ends_at",
    "ended_at",
    "product_id",
    "product_name",
    "customer_id",
    "checkout_id",
    "created_at",
    "modified_at",
    "metadata",
    "payload",
)


def subscription_id_of(payload: Mapping[str, Any]) -> uuid.UUID:
    """The subscription UUID of ``payload``, or :class:`InvalidPayloadError`."""
    return required_id(payload, "subscription")


def embedded_subscription(payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ``subscription`` object an order embeds (``OrderSubscription``), if usable."""
    subscription = mapping_or_none(payload.get("subscription"))
    if subscription is None or uuid_or_none(subscription.get("id")) is None:
        return None
    return subscription


def subscription_fields(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The promoted column values of a (merged) subscription payload; unknown keys ignored."""
    product = mapping_or_none(payload.get("product"))
    interval_count = int_or_none(payload.get("recurring_interval_count"))
    return {
        "status": clip_text(payload.get("status"), 20),
        "amount": int_or_none(payload.get("amount")),
        "currency": currency_of(payload.get("currency")),
        "recurring_interval": clip_text(payload.get("recurring_interval"), 10),
        "recurring_interval_count": interval_count if interval_count and interval_count > 0 else 1,
        "current_period_start": parse_polar_datetime(payload.get("current_period_start")),
        "current_period_end": parse_polar_datetime(payload.get("current_period_end")),
        "cancel_at_period_end": bool_or_none(payload.get("cancel_at_period_end")) or False,
        "canceled_at": parse_polar_datetime(payload.get("canceled_at")),
        "started_at": parse_polar_datetime(payload.get("started_at")),
        "ends_at": parse_polar_datetime(payload.get("ends_at")),
        "ended_at": parse_polar_datetime(payload.get("ended_at")),
        "product_id": uuid_or_none(payload.get("product_id"))
        or uuid_or_none(product.get("id") if product else None),
        "product_name": clip_text(product.get("name") if product else None, 255),
        "customer_id": uuid_or_none(payload.get("customer_id")),
        "checkout_id": uuid_or_none(payload.get("checkout_id")),
        "created_at": parse_polar_datetime(payload.get("created_at")) or timezone.now(),
        "modified_at": parse_polar_datetime(payload.get("modified_at")),
        "metadata": metadata_of(payload.get("metadata")),
        "payload": dict(payload),
    }


def is_revoked(status: str) -> bool:
    """Polar revoked the subscription: access has ended (``canceled`` or ``unpaid``)."""
    return status in REVOKED_STATUSES


def has_started(status: str, started_at: dt.datetime | None) -> bool:
    """The subscription became active (or trialing) at some point: a paid first period or
    a trial, now or in the past (a revoked one that had started keeps ``started_at``)."""
    return status in STARTED_STATUSES or started_at is not None


def is_canceled(canceled_at: dt.datetime | None, status: str) -> bool:
    """A cancellation is scheduled or made (Polar's ``canceled``: ``canceled_at`` set),
    or the subscription was revoked outright."""
    return canceled_at is not None or is_revoked(status)


def status_rank(status: str) -> int:
    """How far along the subscription lifecycle ``status`` is (unknown ones in the middle)."""
    return _STATUS_RANK.get(status, _UNKNOWN_STATUS_RANK)


def subscription_wins(stored: Mapping[str, Any], incoming: Mapping[str, Any]) -> bool:
    """ "Newer data wins" for subscriptions (both sides as :func:`subscription_fields`).

    On a tie the status never moves backwards (a revoked subscription never becomes
    active again) and a made cancellation is not undone.
    """
    stored_canceled = stored["canceled_at"] is not None
    incoming_canceled = incoming["canceled_at"] is not None
    return wins_by_date_then_rank(
        stored_when=_when(stored),
        incoming_when=_when(incoming),
        stored_state=(stored["status"], stored_canceled),
        incoming_state=(incoming["status"], incoming_canceled),
        stored_rank=(status_rank(stored["status"]), stored_canceled),
        incoming_rank=(status_rank(incoming["status"]), incoming_canceled),
    )


def _when(values: Mapping[str, Any]) -> dt.datetime | None:
    when: dt.datetime | None = values["modified_at"] or values["created_at"]
    return when
