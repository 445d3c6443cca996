"""What happens after a checkout, with the webhook events Polar sends, in its order.

From Polar's server (``subscription/service.py``, ``subscription/tasks.py``,
``order/service.py``):

* a succeeded checkout of a recurring price: ``subscription.created``,
  ``subscription.active``, ``subscription.updated``, ``customer.state_changed``; then its
  order ``order.created``, ``order.updated``, ``order.paid`` (a one-time price: the
  order's three only);
* a renewal at the period's end (:func:`renew_due`, run by the clock):
  ``subscription.cycled``, ``subscription.updated``, then the new order
  (``billing_reason`` ``subscription_cycle``) ``order.created`` and, once paid,
  ``order.updated``, ``order.paid``;
* a failed renewal payment: ``subscription.updated``, ``subscription.past_due``, then
  ``order.updated`` (its retry scheduled); the payment recovered: ``subscription.updated``,
  ``subscription.active``, then ``order.updated``, ``order.paid``;
* cancel at the period's end: ``subscription.updated``, ``subscription.canceled``; at the
  period's end the subscription ends: ``subscription.updated``, ``subscription.canceled``
  (again, as Polar sends it at revocation), ``subscription.revoked``;
* cancel now (revoke): ``subscription.updated``, ``subscription.canceled``,
  ``subscription.revoked``; uncancel: ``subscription.updated``, ``subscription.uncanceled``.
* a free trial (:mod:`.trials`): the same events at the checkout, the subscription
  ``trialing`` and its order a paid one of 0; the trial's end is a renewal as above
  (``subscription.cycled``, ``subscription.updated``, then the first paid order).

Every change of a subscription (its creation included) is followed by the customer's
``customer.state_changed`` (Polar enqueues it at the end of ``_after_subscription_created``
and ``_after_subscription_updated``), after that change's subscription events.

A past-due subscription is not renewed again until its payment is recovered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import orders, subscriptions
from .customers import state_changed, touch
from .state import CheckoutState, JsonDict, isoformat
from .subscriptions import CANCELLATION_REASONS, next_period, parse_time, subscription_json

if TYPE_CHECKING:
    from .core import FakePolar

#: Statuses in which a subscription can still be cancelled (Polar's billable statuses).
BILLABLE = ("trialing", "active", "past_due")


def checkout_succeeded(fake: FakePolar, checkout: CheckoutState) -> JsonDict:
    """The subscription (for a recurring price) and the paid order of a succeeded checkout,
    with their events; returns the order's JSON."""
    subscription = None
    if fake.prices[checkout.price_id]["type"] == "recurring":
        subscription = subscriptions.create_from_checkout(fake, checkout)
    order = orders.create_order(fake, checkout, subscription)
    if subscription is not None:
        for event in ("subscription.created", "subscription.active", "subscription.updated"):
            fake.emit(event, subscription_json(fake, subscription["id"]))
        state_changed(fake, subscription["customer_id"])
    for event in ("order.created", "order.updated", "order.paid"):
        fake.emit(event, orders.order_json(fake, order["id"]))
    return orders.order_json(fake, order["id"])


def get(fake: FakePolar, subscription_id: str) -> JsonDict:
    """The stored subscription (``KeyError`` if unknown)."""
    return fake.subscriptions[subscription_id]


def _emit(fake: FakePolar, subscription: JsonDict, *events: str) -> None:
    touch(fake, subscription)
    for event in ("subscription.updated", *events):
        fake.emit(event, subscription_json(fake, subscription["id"]))
    state_changed(fake, subscription["customer_id"])


def renew_due(fake: FakePolar) -> None:
    """Renew or end every subscription whose period is over on the fake's clock."""
    now = fake.now()
    for subscription in list(fake.subscriptions.values()):
        while (
            subscription["status"] in ("active", "trialing")
            and parse_time(subscription["current_period_end"]) <= now
        ):
            if subscription["cancel_at_period_end"]:
                end_at_period_end(fake, subscription)
            else:
                cycle(fake, subscription)


def end_at_period_end(fake: FakePolar, subscription: JsonDict) -> None:
    """A subscription cancelled at its period's end ends (is revoked)."""
    subscription["status"] = "canceled"
    subscription["ended_at"] = subscription["current_period_end"]
    _emit(fake, subscription, "subscription.canceled", "subscription.revoked")


def cycle(fake: FakePolar, subscription: JsonDict) -> None:
    """One renewal: the next period, its order, and its payment (or a failed one)."""
    start = parse_time(subscription["current_period_end"])
    subscription["current_period_start"] = isoformat(start)
    subscription["current_period_end"] = isoformat(
        next_period(
            start, subscription["recurring_interval"], subscription["recurring_interval_count"]
        )
    )
    if subscription["status"] == "trialing":
        subscription["status"] = "active"
    touch(fake, subscription)
    fake.emit("subscription.cycled", subscription_json(fake, subscription["id"]))
    fake.emit("subscription.updated", subscription_json(fake, subscription["id"]))
    state_changed(fake, subscription["customer_id"])
    # After a trial, the first paid period may carry a discount the next ones do not.
    renewal = subscription.pop("first_renewal", None) or subscription["renewal"]
    customer = fake.customers[subscription["customer_id"]]
    discount_id = subscription["discount_id"] if renewal["discount"] else None
    order = orders.new_order(
        fake,
        customer_id=subscription["customer_id"],
        product_id=subscription["product_id"],
        price_id=subscription["price_id"],
        subtotal=renewal["subtotal"],
        discount=renewal["discount"],
        tax=renewal["tax"],
        currency=subscription["currency"],
        billing_reason="subscription_cycle",
        discount_id=discount_id,
        subscription_id=subscription["id"],
        checkout_id=None,
        metadata=dict(subscription["metadata"]),
        custom_field_data={},
        billing_address=customer["billing_address"],
        paid=False,
        period=(subscription["current_period_start"], subscription["current_period_end"]),
    )
    fake.emit("order.created", orders.order_json(fake, order["id"]))
    if fake.renewal_failures.get(subscription["id"], 0) > 0:
        fake.renewal_failures[subscription["id"]] -= 1
        subscription["status"] = "past_due"
        subscription["past_due_at"] = isoformat(fake.now())
        _emit(fake, subscription, "subscription.past_due")
        orders.payment_failed(fake, order)
    else:
        orders.pay(fake, order)


def fail_renewals(fake: FakePolar, subscription_id: str, times: int = 1) -> None:
    """Make the next ``times`` renewal payments of a subscription fail (``past_due``)."""
    get(fake, subscription_id)
    if times < 0:
        raise ValueError("times must be 0 or more")
    fake.renewal_failures[subscription_id] = times


def recover(fake: FakePolar, subscription_id: str) -> JsonDict:
    """The customer pays the failed renewal: the order is paid, the subscription active."""
    subscription = get(fake, subscription_id)
    if subscription["status"] != "past_due":
        raise ValueError(
            f"Subscription {subscription_id} is {subscription['status']}, not past_due"
        )
    pending = [
        o
        for o in fake.orders.values()
        if o["subscription_id"] == subscription_id and o["status"] == "pending"
    ]
    subscription["status"] = "active"
    subscription["past_due_at"] = None
    fake.renewal_failures.pop(subscription_id, None)
    _emit(fake, subscription, "subscription.active")
    for order in pending:
        orders.pay(fake, order)
    # Periods that ended while the payment was failing renew now.
    renew_due(fake)
    return subscription_json(fake, subscription_id)


def cancel(
    fake: FakePolar,
    subscription_id: str,
    *,
    at_period_end: bool = True,
    reason: str | None = None,
    comment: str | None = None,
) -> JsonDict:
    """Cancel at the period's end (access lasts until then) or now (revoked)."""
    subscription = get(fake, subscription_id)
    if reason is not None and reason not in CANCELLATION_REASONS:
        raise ValueError(f"reason must be one of {', '.join(CANCELLATION_REASONS)}")
    already = subscription["cancel_at_period_end"] or subscription["ends_at"]
    if (
        subscription["status"] not in BILLABLE
        or subscription["ended_at"]
        or (at_period_end and already)
    ):
        raise ValueError(f"Subscription {subscription_id} is already canceled")
    now = isoformat(fake.now())
    subscription["canceled_at"] = now
    if reason:
        subscription["customer_cancellation_reason"] = reason
    if comment:
        subscription["customer_cancellation_comment"] = comment
    if at_period_end:
        subscription["cancel_at_period_end"] = True
        subscription["ends_at"] = subscription["current_period_end"]
        _emit(fake, subscription, "subscription.canceled")
    else:
        subscription["ends_at"] = now
        subscription["ended_at"] = now
        subscription["status"] = "canceled"
        # Polar sends canceled when newly canceled, and again when one already set to
        # cancel at its period's end is revoked.
        _emit(fake, subscription, "subscription.canceled", "subscription.revoked")
        # Polar voids the revoked subscription's pending (failed renewal) orders.
        for order in fake.orders.values():
            if order["subscription_id"] == subscription_id and order["status"] == "pending":
                order["status"] = "void"
                order["next_payment_attempt_at"] = None
                touch(fake, order)
                fake.emit("order.updated", orders.order_json(fake, order["id"]))
    return subscription_json(fake, subscription_id)


def revoke(fake: FakePolar, subscription_id: str) -> JsonDict:
    """End a subscription now (Polar's revoke: cancel immediately)."""
    return cancel(fake, subscription_id, at_period_end=False)


def uncancel(fake: FakePolar, subscription_id: str) -> JsonDict:
    """Undo a cancellation at the period's end, before the period ends."""
    subscription = get(fake, subscription_id)
    if not subscription["cancel_at_period_end"] or subscription["status"] not in BILLABLE:
        raise ValueError(f"Subscription {subscription_id} is not set to cancel at period end")
    subscription["cancel_at_period_end"] = False
    subscription["ends_at"] = None
    subscription["canceled_at"] = None
    subscription["customer_cancellation_reason"] = None
    subscription["customer_cancellation_comment"] = None
    _emit(fake, subscription, "subscription.uncanceled")
    return subscription_json(fake, subscription_id)
