"""The local cache of Polar's objects and the log of webhook deliveries.

One module per Polar object (``checkouts``, ``customers``, ``orders``,
``subscriptions``; the machinery they share is in ``base``); each holds its model and its
one upsert path (row locks, insert-or-get, bulk writes). What a payload means and whether
it is newer than the row are pure rules in :mod:`polar_checkouts.payload`. Every public
name is importable from ``polar_checkouts.models``, as it was before this became a package.
"""

from .base import PolarObject, PolarObjectManager, StoreCounts, StoreResult
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
from .customers import Customer, CustomerManager, CustomerQuerySet
from .orders import Order, OrderBillingReason, OrderManager, OrderQuerySet, OrderStatus
from .subscriptions import (
    RecurringInterval,
    Subscription,
    SubscriptionManager,
    SubscriptionQuerySet,
    SubscriptionStatus,
)
from .webhooks import DONE_OUTCOMES, WebhookEvent, WebhookOutcome, WebhookWakeUp

__all__ = [
    "DONE_OUTCOMES",
    "POLAR_FIELDS",
    "TERMINAL_STATUSES",
    "CheckoutSession",
    "CheckoutSessionManager",
    "CheckoutSessionQuerySet",
    "CheckoutStatus",
    "Customer",
    "CustomerManager",
    "CustomerQuerySet",
    "InvalidPayloadError",
    "Order",
    "OrderBillingReason",
    "OrderManager",
    "OrderQuerySet",
    "OrderStatus",
    "PolarObject",
    "PolarObjectManager",
    "RecurringInterval",
    "StoreCounts",
    "StoreResult",
    "Subscription",
    "SubscriptionManager",
    "SubscriptionQuerySet",
    "SubscriptionStatus",
    "UpsertCounts",
    "UpsertResult",
    "WebhookEvent",
    "WebhookOutcome",
    "WebhookWakeUp",
    "checkout_id_of",
    "expired_condition",
    "fields_from_payload",
    "format_amount",
    "incoming_wins",
    "merge_payload",
    "parse_polar_datetime",
]
