"""The event types Polar sends, as its newest spec declares them (API version 2026-10).

Webhook payloads are not versioned: every API version sends the same types and shapes.
An event of a type listed here is processed (:mod:`.processing` has a handler for it or
passes it on through ``webhook_received``); any other type is one Polar added after this
list was written, recorded as ``ignored`` and answered 202. The test suite checks this
list against the ``webhooks`` section of ``tests/data/polar-openapi-2026-10.json``.
"""

from __future__ import annotations

from typing import Final

#: Every webhook event type of Polar's 2026-10 spec, in the spec's order.
EVENT_TYPES: Final = (
    "checkout.created",
    "checkout.updated",
    "checkout.expired",
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "customer.state_changed",
    "customer_seat.assigned",
    "customer_seat.claimed",
    "customer_seat.revoked",
    "member.created",
    "member.updated",
    "member.deleted",
    "order.created",
    "order.updated",
    "order.paid",
    "order.refunded",
    "subscription.created",
    "subscription.updated",
    "subscription.active",
    "subscription.canceled",
    "subscription.uncanceled",
    "subscription.cycled",
    "subscription.revoked",
    "subscription.past_due",
    "subscription.paused",
    "subscription.resumed",
    "refund.created",
    "refund.updated",
    "product.created",
    "product.updated",
    "discount.created",
    "discount.updated",
    "discount.deleted",
    "organization.updated",
    "benefit.created",
    "benefit.updated",
    "benefit_grant.created",
    "benefit_grant.updated",
    "benefit_grant.cycled",
    "benefit_grant.revoked",
)
_KNOWN: Final = frozenset(EVENT_TYPES)


def is_known_event_type(event_type: str) -> bool:
    """True for a type Polar's spec declares; False for one added since (or not Polar's)."""
    return event_type in _KNOWN
