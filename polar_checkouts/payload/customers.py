"""Pure rules about Polar's customer objects: parse a payload, decide what it means.

A customer reaches the cache from ``customer.*`` events, from the API, and as the
``customer`` object every order and subscription embeds (``OrderCustomer`` and
``SubscriptionCustomer`` in Polar's spec: the same fields). ``customer.state_changed``
sends a ``CustomerState``: the customer plus its active subscriptions, benefits and
meters, of which only the customer is kept (:func:`customer_part`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any, Final

from django.utils import timezone

from .common import (
    clip_text,
    mapping_or_none,
    metadata_of,
    parse_polar_datetime,
    required_id,
    uuid_or_none,
    wins_by_date_then_rank,
)

#: Keys a ``CustomerState`` adds to a customer; they describe other objects, kept by them.
STATE_KEYS: Final = ("active_subscriptions", "granted_benefits", "active_meters")

#: Columns a customer upsert writes (everything that comes from Polar).
CUSTOMER_FIELDS: Final = (
    "external_id",
    "email",
    "name",
    "deleted_at",
    "created_at",
    "modified_at",
    "metadata",
    "payload",
)


def customer_id_of(payload: Mapping[str, Any]) -> uuid.UUID:
    """The customer UUID of ``payload``, or :class:`InvalidPayloadError`."""
    return required_id(payload, "customer")


def customer_part(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The customer of a ``Customer`` or ``CustomerState`` payload, without the state keys."""
    return {key: value for key, value in payload.items() if key not in STATE_KEYS}


def embedded_customer(payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ``customer`` object an order or subscription embeds, when it has a usable id."""
    customer = mapping_or_none(payload.get("customer"))
    if customer is None or uuid_or_none(customer.get("id")) is None:
        return None
    return customer


def external_id_of(payload: Mapping[str, Any]) -> str | None:
    """The shop's id for the buyer of an order or subscription (its customer's
    ``external_id``), or ``None`` for a guest buyer."""
    customer = embedded_customer(payload)
    value = customer.get("external_id") if customer is not None else None
    return value if isinstance(value, str) and value else None


def customer_fields(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The promoted column values of a (merged) customer payload; unknown keys ignored."""
    return {
        "external_id": clip_text(payload.get("external_id"), 255),
        "email": clip_text(payload.get("email"), 320),
        "name": clip_text(payload.get("name"), 255),
        "deleted_at": parse_polar_datetime(payload.get("deleted_at")),
        "created_at": parse_polar_datetime(payload.get("created_at")) or timezone.now(),
        "modified_at": parse_polar_datetime(payload.get("modified_at")),
        "metadata": metadata_of(payload.get("metadata")),
        "payload": dict(payload),
    }


def customer_wins(stored: Mapping[str, Any], incoming: Mapping[str, Any]) -> bool:
    """ "Newer data wins" for customers (both sides as :func:`customer_fields` returns them).

    On a tie a deletion wins over a live customer: Polar never brings a deleted one back.
    """
    return wins_by_date_then_rank(
        stored_when=_when(stored),
        incoming_when=_when(incoming),
        stored_state=stored["deleted_at"] is not None,
        incoming_state=incoming["deleted_at"] is not None,
        stored_rank=stored["deleted_at"] is not None,
        incoming_rank=incoming["deleted_at"] is not None,
    )


def _when(values: Mapping[str, Any]) -> dt.datetime | None:
    when: dt.datetime | None = values["modified_at"] or values["created_at"]
    return when
