"""Pure rules about Polar's order objects: parse a payload, decide what it means.

An order is ``pending`` until paid (renewals are created ``pending`` and paid a moment
later), then ``paid``, and ``partially_refunded`` or ``refunded`` after refunds; a
pending order whose payment cannot be recovered becomes ``void``. Polar's ``paid`` flag
is true for the three paid statuses.
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

PENDING: Final = "pending"
PAID: Final = "paid"
PARTIALLY_REFUNDED: Final = "partially_refunded"
REFUNDED: Final = "refunded"
VOID: Final = "void"

#: Statuses of an order that was paid (refunds included).
PAID_STATUSES: Final = frozenset({PAID, PARTIALLY_REFUNDED, REFUNDED})
#: Statuses of a paid order that is not fully refunded: what a purchase grants access by.
PURCHASED_STATUSES: Final = frozenset({PAID, PARTIALLY_REFUNDED})

# How far along the lifecycle a status is, for payloads the dates cannot order.
_STATUS_RANK: Final[dict[str, int]] = {
    "draft": 0,
    PENDING: 0,
    VOID: 1,
    PAID: 1,
    PARTIALLY_REFUNDED: 2,
    REFUNDED: 3,
}
_UNKNOWN_STATUS_RANK: Final = 1

#: Columns an order upsert writes (everything that comes from Polar).
ORDER_FIELDS: Final = (
    "status",
    "billing_reason",
    "subtotal_amount",
    "discount_amount",
    "net_amount",
    "tax_amount",
    "total_amount",
    "refunded_amount",
    "refunded_tax_amount",
    "currency",
    "product_id",
    "product_name",
    "customer_id",
    "subscription_id",
    "checkout_id",
    "created_at",
    "modified_at",
    "metadata",
    "payload",
)


def order_id_of(payload: Mapping[str, Any]) -> uuid.UUID:
    """The order UUID of ``payload``, or :class:`InvalidPayloadError`."""
    return required_id(payload, "order")


def order_status(payload: Mapping[str, Any]) -> str:
    """The order's status; orders of servers older than ``status`` (2025-03) are created
    once paid and carry neither ``status`` nor ``paid``, so they are ``paid``."""
    status = payload.get("status")
    if isinstance(status, str) and status:
        return status[:20]
    paid = bool_or_none(payload.get("paid"))
    return PENDING if paid is False else PAID


def order_fields(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The promoted column values of a (merged) order payload; unknown keys ignored."""
    product = mapping_or_none(payload.get("product"))
    subtotal = payload.get("subtotal_amount", payload.get("amount"))
    return {
        "status": order_status(payload),
        "billing_reason": clip_text(payload.get("billing_reason"), 40),
        "subtotal_amount": int_or_none(subtotal),
        "discount_amount": int_or_none(payload.get("discount_amount")),
        "net_amount": int_or_none(payload.get("net_amount")),
        "tax_amount": int_or_none(payload.get("tax_amount")),
        "total_amount": int_or_none(payload.get("total_amount")),
        "refunded_amount": int_or_none(payload.get("refunded_amount")) or 0,
        "refunded_tax_amount": int_or_none(payload.get("refunded_tax_amount")) or 0,
        "currency": currency_of(payload.get("currency")),
        "product_id": uuid_or_none(payload.get("product_id"))
        or uuid_or_none(product.get("id") if product else None),
        "product_name": clip_text(product.get("name") if product else None, 255),
        "customer_id": uuid_or_none(payload.get("customer_id")),
        "subscription_id": uuid_or_none(payload.get("subscription_id")),
        "checkout_id": uuid_or_none(payload.get("checkout_id")),
        "created_at": parse_polar_datetime(payload.get("created_at")) or timezone.now(),
        "modified_at": parse_polar_datetime(payload.get("modified_at")),
        "metadata": metadata_of(payload.get("metadata")),
        "payload": dict(payload),
    }


def is_paid(status: str) -> bool:
    """The order was paid (and may have been refunded since)."""
    return status in PAID_STATUSES


def status_rank(status: str) -> int:
    """How far along the order lifecycle ``status`` is (unknown statuses in the middle)."""
    return _STATUS_RANK.get(status, _UNKNOWN_STATUS_RANK)


def order_wins(stored: Mapping[str, Any], incoming: Mapping[str, Any]) -> bool:
    """ "Newer data wins" for orders (both sides as :func:`order_fields` returns them).

    On a tie the status never moves backwards (a paid order is never pending again, a
    refund is never undone) and of two refund states the larger refund wins.
    """
    return wins_by_date_then_rank(
        stored_when=_when(stored),
        incoming_when=_when(incoming),
        stored_state=(stored["status"], stored["refunded_amount"]),
        incoming_state=(incoming["status"], incoming["refunded_amount"]),
        stored_rank=(status_rank(stored["status"]), stored["refunded_amount"]),
        incoming_rank=(status_rank(incoming["status"]), incoming["refunded_amount"]),
    )


def _when(values: Mapping[str, Any]) -> dt.datetime | None:
    when: dt.datetime | None = values["modified_at"] or values["created_at"]
    return when
