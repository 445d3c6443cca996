"""The local cache of Polar's objects and the log of webhook deliveries.

One module per Polar object; each holds its model and its one upsert path (row locks,
insert-or-get, bulk writes). What a payload means and whether it is newer than the row
are pure rules in :mod:`polar_checkouts.payload`. Every public name is importable from
``polar_checkouts.models``, as it was before this became a package.
"""

from .checkouts import (
    POLAR_FIELDS,
    TERMINAL_STATUSES,
    CheckoutSession,
    CheckoutSessionManager,
    CheckoutSessionQuerySet,
    CheckoutStatus,
    InvalidPayloadError,
    UpsertCounts,
    UpsertResult,
    checkout_id_of,
    expired_condition,
    fields_from_payload,
    format_amount,
    incoming_wins,
    merge_payload,
    parse_polar_datetime,
)
from .webhooks import DONE_OUTCOMES, WebhookEvent, WebhookOutcome

__all__ = [
    "DONE_OUTCOMES",
    "POLAR_FIELDS",
    "TERMINAL_STATUSES",
    "CheckoutSession",
    "CheckoutSessionManager",
    "CheckoutSessionQuerySet",
    "CheckoutStatus",
    "InvalidPayloadError",
    "UpsertCounts",
    "UpsertResult",
    "WebhookEvent",
    "WebhookOutcome",
    "checkout_id_of",
    "expired_condition",
    "fields_from_payload",
    "format_amount",
    "incoming_wins",
    "merge_payload",
    "parse_polar_datetime",
]
