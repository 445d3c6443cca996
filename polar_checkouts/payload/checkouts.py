"""Pure rules about Polar's checkout objects: parse a payload, decide what it means.

Nothing here touches the database, settings or the network, so every rule is tested
without them. The models and services apply these rules; they do not restate them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any, Final

from django.utils import timezone

from ..exceptions import InvalidPayloadError
from .common import (
    clip_text,
    int_or_none,
    parse_polar_datetime,
    uuid_or_none,
)

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


def checkout_id_of(payload: Mapping[str, Any]) -> uuid.UUID:
    """The checkout UUID of ``payload``, or :class:`InvalidPayloadError`."""
    checkout_id = uuid_or_none(payload.get("id")) if isinstance(payload, Mapping) else None
    if checkout_id is None:
        raise InvalidPayloadError("A Polar checkout payload needs a UUID 'id'.")
    return checkout_id


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
