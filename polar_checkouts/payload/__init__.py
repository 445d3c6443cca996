"""Pure rules about Polar's objects: parse a payload, decide what it means.

Nothing here touches the database, settings or the network, so every rule is tested
without them. The models and services apply these rules; they do not restate them.
``common`` holds what every object shares; one module per object holds the rest
(``checkouts``, ``customers``, ``orders``, ``subscriptions``). The public names of
``common`` and ``checkouts`` are importable from ``polar_checkouts.payload``, as before
this became a package.
"""

from ..exceptions import InvalidPayloadError
from .checkouts import (
    EXPIRED,
    OPEN,
    PUBLIC_CHECKOUT_KEYS,
    checkout_id_of,
    checkout_wins,
    fields_from_payload,
    incoming_wins,
    is_expired,
    organization_id_of,
    public_checkout,
    status_rank,
)
from .common import (
    UNSTORED_KEYS,
    bool_or_none,
    clip_text,
    currency_of,
    int_or_none,
    mapping_or_none,
    merge_payload,
    metadata_of,
    parse_polar_datetime,
    required_id,
    uuid_or_none,
    wins_by_date_then_rank,
)

__all__ = [
    "EXPIRED",
    "OPEN",
    "PUBLIC_CHECKOUT_KEYS",
    "UNSTORED_KEYS",
    "InvalidPayloadError",
    "bool_or_none",
    "checkout_id_of",
    "checkout_wins",
    "clip_text",
    "currency_of",
    "fields_from_payload",
    "incoming_wins",
    "int_or_none",
    "is_expired",
    "mapping_or_none",
    "merge_payload",
    "metadata_of",
    "organization_id_of",
    "parse_polar_datetime",
    "public_checkout",
    "required_id",
    "status_rank",
    "uuid_or_none",
    "wins_by_date_then_rank",
]
