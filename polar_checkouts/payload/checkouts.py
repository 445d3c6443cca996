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
    wins_by_date_then_rank,
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
    return wins_by_date_then_rank(
        stored_when=stored_modified_at or stored_created_at,
        incoming_when=incoming_modified_at or incoming_created_at,
        stored_state=stored_status,
        incoming_state=incoming_status,
        stored_rank=status_rank(stored_status),
        incoming_rank=status_rank(incoming_status),
    )


def checkout_wins(stored: Mapping[str, Any], incoming: Mapping[str, Any]) -> bool:
    """:func:`incoming_wins` for two sets of column values (as :func:`fields_from_payload`
    returns them): the form the shared upsert path asks every cached object's rule in."""
    return incoming_wins(
        stored_status=stored["status"],
        stored_modified_at=stored["modified_at"],
        stored_created_at=stored["created_at"],
        incoming_status=incoming["status"],
        incoming_modified_at=incoming["modified_at"],
        incoming_created_at=incoming["created_at"],
    )


#: The keys of Polar's ``CheckoutPublic``, what a client-secret read answers: the union of
#: its properties in the specs of the seed era (2024-12), 2025-02, 2026-04 and 2026-10.
#: A server-side payload (``Checkout``) also carries the shop's own data (``metadata``,
#: ``customer_metadata``, ``external_customer_id``…), which a buyer's page must not see;
#: a key missing here is only not shown, so the list errs on the safe side.
PUBLIC_CHECKOUT_KEYS: Final = frozenset(
    {
        "active_trial_interval",
        "active_trial_interval_count",
        "allow_discount_codes",
        "allow_trial",
        "amount",
        "attached_custom_fields",
        "billing_address_fields",
        "client_secret",
        "created_at",
        "currency",
        "custom_field_data",
        "customer_billing_address",
        "customer_billing_name",
        "customer_email",
        "customer_id",
        "customer_ip_address",
        "customer_name",
        "customer_tax_id",
        "discount",
        "discount_amount",
        "discount_id",
        "embed_origin",
        "expires_at",
        "id",
        "is_business_customer",
        "is_discount_applicable",
        "is_free_product_price",
        "is_payment_form_required",
        "is_payment_required",
        "is_payment_setup_required",
        "locale",
        "max_seats",
        "min_seats",
        "modified_at",
        "net_amount",
        "organization",
        "organization_id",
        "payment_method_type",
        "payment_processor",
        "payment_processor_metadata",
        "prices",
        "product",
        "product_id",
        "product_price",
        "product_price_id",
        "products",
        "require_billing_address",
        "return_url",
        "seats",
        "status",
        "subtotal_amount",
        "success_url",
        "tax_amount",
        "tax_behavior",
        "total_amount",
        "trial_end",
        "url",
    }
)


def organization_id_of(payload: Mapping[str, Any]) -> str | None:
    """The id of the organization selling ``payload``'s checkout, as text, when it says.

    Today's payloads name it (``organization_id``); seed-era ones only through the product.
    """
    organization = payload.get("organization")
    product = payload.get("product")
    for candidate in (
        payload.get("organization_id"),
        organization.get("id") if isinstance(organization, Mapping) else None,
        product.get("organization_id") if isinstance(product, Mapping) else None,
    ):
        parsed = uuid_or_none(candidate)
        if parsed is not None:
            return str(parsed)
    return None


def public_checkout(
    payload: Mapping[str, Any], organization: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """What a client-secret read of this checkout shows, built from a stored payload.

    Only the keys of ``CheckoutPublic``; ``organization`` (which a server-side payload
    lacks) is taken from the payload, else from ``organization``. ``None`` when the
    payload cannot stand in for Polar's answer: no client secret, or no organization.
    """
    view = {key: value for key, value in payload.items() if key in PUBLIC_CHECKOUT_KEYS}
    if not isinstance(view.get("organization"), Mapping):
        if organization is None:
            return None
        view["organization"] = dict(organization)
    if not isinstance(view.get("client_secret"), str) or not view["client_secret"]:
        return None
    return view
