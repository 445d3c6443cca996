"""A membership's life as Polar reports it: the webhook events, in Polar's order.

Built from Polar's server (polarsource/polar @ c6c3645e, server/polar/subscription/
service.py ``_after_subscription_updated`` and order/service.py ``_on_order_created`` /
``_on_order_updated`` / refund/service.py): every change of a subscription sends
``subscription.updated`` plus the transition's own event (``active``, ``past_due``,
``canceled``, ``uncanceled``, ``revoked``; a revocation after a scheduled cancellation
sends ``subscription.canceled`` again, then ``subscription.revoked``); a renewal sends
``subscription.cycled``, then the new order's ``order.created`` (pending),
``order.updated`` and ``order.paid``; a refund sends ``order.updated``,
``refund.created``, ``order.refunded`` and ``refund.updated``. Every payload is a valid
2026-10 object (``tests.polar_objects``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.polar_objects import at, customer_payload, order_payload, subscription_payload


@dataclass
class Step:
    """One state change and the events Polar sends for it."""

    name: str
    events: list[tuple[str, dict[str, Any]]]
    #: ``has_active_subscription`` once these events are processed.
    access: bool


@dataclass
class Membership:
    """The ids and the steps of one member's lifecycle."""

    external_id: str
    customer: dict[str, Any] = field(init=False)
    subscription_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    order_ids: list[str] = field(default_factory=lambda: [str(uuid.uuid4()) for _ in range(3)])
    steps: list[Step] = field(init=False)

    def __post_init__(self) -> None:
        self.customer = customer_payload(external_id=self.external_id)
        self.steps = self._steps()

    def sub(self, status: str, modified: float, **kwargs: Any) -> dict[str, Any]:
        return subscription_payload(
            self.subscription_id, self.customer, status=status, modified=modified, **kwargs
        )

    def order(self, index: int, status: str, **kwargs: Any) -> dict[str, Any]:
        return order_payload(self.order_ids[index], self.customer, **kwargs, status=status)

    def _steps(self) -> list[Step]:
        started = self.sub("active", 1)
        first_paid = self.order(
            0, "paid", subscription=started, billing_reason="subscription_create", created=1
        )
        renewed = self.sub("active", 2, period=1)
        renewal = {"subscription": renewed, "billing_reason": "subscription_cycle", "created": 2}
        past_due = self.sub("past_due", 4, period=2, past_due_at=at(4))
        overdue = {"subscription": past_due, "billing_reason": "subscription_cycle", "created": 4}
        recovered = self.sub("active", 6, period=2)
        cancel_kwargs = {"period": 2, "cancel_at_period_end": True, "canceled_at": at(7)}
        canceling = self.sub("active", 7, **cancel_kwargs)
        revoked = self.sub("canceled", 8, **cancel_kwargs, ended_at=at(8))
        refunded = self.order(
            0,
            "refunded",
            subscription=revoked,
            billing_reason="subscription_create",
            created=1,
            modified=9,
            refunded_amount=900,
        )
        refund = {
            "id": str(uuid.uuid4()),
            "order_id": self.order_ids[0],
            "amount": 900,
            "status": "succeeded",
        }
        return [
            Step("customer", [("customer.created", self.customer)], access=False),
            Step(
                "new",
                [
                    ("subscription.created", started),
                    ("subscription.active", started),
                    ("order.created", first_paid),
                    ("order.updated", first_paid),
                    ("order.paid", first_paid),
                ],
                access=True,
            ),
            Step(
                "renew",
                [
                    ("subscription.updated", renewed),
                    ("subscription.cycled", renewed),
                    ("order.created", self.order(1, "pending", **renewal)),
                    ("order.updated", self.order(1, "paid", modified=3, **renewal)),
                    ("order.paid", self.order(1, "paid", modified=3, **renewal)),
                ],
                access=True,
            ),
            Step(
                "past_due",
                [
                    ("subscription.updated", past_due),
                    ("subscription.past_due", past_due),
                    ("order.created", self.order(2, "pending", **overdue)),
                ],
                access=True,
            ),
            Step(
                "recovered",
                [
                    ("order.updated", self.order(2, "paid", modified=5, **overdue)),
                    ("order.paid", self.order(2, "paid", modified=5, **overdue)),
                    ("subscription.updated", recovered),
                    ("subscription.active", recovered),
                ],
                access=True,
            ),
            Step(
                "cancel_at_period_end",
                [("subscription.updated", canceling), ("subscription.canceled", canceling)],
                access=True,
            ),
            Step(
                "revoke",
                [
                    ("subscription.updated", revoked),
                    ("subscription.canceled", revoked),
                    ("subscription.revoked", revoked),
                ],
                access=False,
            ),
            Step(
                "refund",
                [
                    ("order.updated", refunded),
                    ("refund.created", refund),
                    ("order.refunded", refunded),
                    ("refund.updated", refund),
                ],
                access=False,
            ),
        ]

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        """Every event of the lifecycle, in Polar's order."""
        return [event for step in self.steps for event in step.events]


#: Signals the whole lifecycle sends, each exactly once (whatever the delivery order).
ONCE_SIGNALS = {
    "order_paid": 3,
    "order_refunded": 1,
    "subscription_activated": 1,
    "subscription_canceled": 1,
    "subscription_revoked": 1,
}
