"""Pure rules about Polar's objects: parse a payload, decide what it means.

Nothing here touches the database, settings or the network, so every rule is tested
without them. The models and services apply these rules; they do not restate them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any, Final

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .exceptions import InvalidPayloadError

#: The status Polar gives a checkout that can no longer be paid because time ran out.
EXPIRED = "expired"
#: The status of a checkout a buyer can still pay (until ``expires_at``).
OPEN = "open"

# How far along the lifecycle a status is. When two payloads cannot be ordered by time,
# the one further along wins, so a stale "open" never replaces "succeeded" and a late
# "failed" never replaces a payment that went through.
_STATUS_RANK: Final[dict[str, int]] = {
    OPEN: 0,
    "confirmed": 1,
    EXPIRED: 2,
    "failed": 2,
    "succeeded": 3,
}
_UNKNOWN_STATUS_RANK: Final = 1

#: Credentials Polar hands back that must never be stored (a customer-portal bearer token).
UNSTORED_KEYS: Final = ("customer_session_token",)

#: The range of a ``BigIntegerField`` on every database Django supports.
_BIGINT_RANGE: Final = range(-(2**63), 2**63)


def parse_polar_datetime(value: Any) -> dt.datetime | None:
    """An aware datetime from Polar's ISO-8601 text, or ``None`` when absent or unreadable."""
    if isinstance(value, dt.datetime):
        parsed: dt.datetime | None = value
    elif isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
    else:
        parsed = None
    if parsed is not None and timezone.is_naive(parsed):
        # Polar always sends UTC; a naive value can only mean UTC.
        parsed = timezone.make_aware(parsed, dt.timezone.utc)
    return parsed


def uuid_or_none(value: Any) -> uuid.UUID | None:
    """``value`` as a UUID, or ``None`` when it is empty or not a UUID."""
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except (ValueError, AttributeError, TypeError):
        return None


def is_expired(status: Any, expires_at: Any, now: dt.datetime | None = None) -> bool:
    """Expired in Polar, or still ``open`` there with ``expires_at`` already past.

    The one definition of "effectively expired": ``expires_at`` may be a datetime or
    Polar's text. The database form of the same rule is ``models.expired_condition``.
    """
    if status == EXPIRED:
        return True
    if status != OPEN:
        return False
    when = parse_polar_datetime(expires_at)
    return when is not None and when <= (now or timezone.now())


def int_or_none(value: Any) -> int | None:
    """``value`` as an int a ``BigIntegerField`` can hold, else ``None`` (booleans too)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
        return None
    # An amount no column can hold is not an amount; the raw payload still keeps it.
    return number if number in _BIGINT_RANGE else None


def clip_text(value: Any, max_length: int) -> str:
    """``value`` cut to ``max_length`` characters when it is a string, else ``""``."""
    return value[:max_length] if isinstance(value, str) else ""


def checkout_id_of(payload: Mapping[str, Any]) -> uuid.UUID:
    """The checkout UUID of ``payload``, or :class:`InvalidPayloadError`."""
    checkout_id = uuid_or_none(payload.get("id")) if isinstance(payload, Mapping) else None
    if checkout_id is None:
        raise InvalidPayloadError("A Polar checkout payload needs a UUID 'id'.")
    return checkout_id


def merge_payload(stored: Mapping[str, Any] | None, incoming: Mapping[str, Any]) -> dict[str, Any]:
    """The payload to store: ``incoming`` over ``stored``, so keys a payload lacks are kept.

    A public payload carries no ``metadata``/``subscription_id``; keeping the stored keys
    means a client-side read never wipes what a server-side read learnt.
    """
    merged = dict(stored or {})
    merged.update(incoming)
    for key in UNSTORED_KEYS:
        merged.pop(key, None)
    return merged


def fields_from_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The promoted column values of a (merged) payload; unknown keys are ignored."""
    product = payload.get("product")
    product_name = product.get("name") if isinstance(product, Mapping) else None
    metadata = payload.get("metadata")
    currency = payload.get("currency")
    created_at = parse_polar_datetime(payload.get("created_at"))
    return {
        "status": clip_text(payload.get("status"), 20),
        "client_secret": clip_text(payload.get("client_secret"), 255) or None,
        "product_id": uuid_or_none(payload.get("product_id"))
        or uuid_or_none(product.get("id") if isinstance(product, Mapping) else None),
        "product_price_id": uuid_or_none(payload.get("product_price_id")),
        "product_name": clip_text(product_name, 255),
        "customer_id": uuid_or_none(payload.get("customer_id")),
        "customer_email": clip_text(payload.get("customer_email"), 320),
        "customer_name": clip_text(payload.get("customer_name"), 255),
        "amount": int_or_none(payload.get("amount")),
        "tax_amount": int_or_none(payload.get("tax_amount")),
        "total_amount": int_or_none(payload.get("total_amount")),
        "currency": currency.lower()[:3] if isinstance(currency, str) else "",
        "expires_at": parse_polar_datetime(payload.get("expires_at")),
        # Polar always sends created_at; a payload without one is dated when first seen.
        "created_at": created_at or timezone.now(),
        "modified_at": parse_polar_datetime(payload.get("modified_at")),
        "metadata": dict(metadata) if isinstance(metadata, Mapping) else {},
        "payload": dict(payload),
    }


def status_rank(status: str) -> int:
    """How far along the checkout lifecycle ``status`` is (unknown statuses in the middle)."""
    return _STATUS_RANK.get(status, _UNKNOWN_STATUS_RANK)


def incoming_wins(
    *,
    stored_status: str,
    stored_modified_at: dt.datetime | None,
    stored_created_at: dt.datetime | None,
    incoming_status: str,
    incoming_modified_at: dt.datetime | None,
    incoming_created_at: dt.datetime | None,
) -> bool:
    """THE "newer data wins" rule: may an incoming payload overwrite the stored row?

    Each side is dated by ``modified_at``, or ``created_at`` when Polar never modified the
    checkout (``modified_at`` null). Strictly newer data always wins; strictly older never
    does. When the two cannot be told apart (same date, or a date missing) the incoming
    data wins only if it does not move the status backwards: a terminal status is never
    rolled back to ``open``/``confirmed``, and ``succeeded`` is never replaced by ``failed``
    or ``expired``.
    """
    stored_when = stored_modified_at or stored_created_at
    incoming_when = incoming_modified_at or incoming_created_at
    if stored_when is not None and incoming_when is not None:
        if incoming_when > stored_when:
            return True
        if incoming_when < stored_when:
            return False
    if incoming_status == stored_status:
        return True
    return status_rank(incoming_status) > status_rank(stored_status)
