"""Signals for fulfilment: connect a receiver to act when Polar reports a payment.

Every signal's ``sender`` is a model class; receivers get these keyword arguments:

* ``checkout_updated(checkout, previous_status)``: a cached checkout changed, or was
  stored for the first time (``previous_status`` is ``None`` then).
* ``checkout_succeeded(checkout)``: sent **exactly once** per checkout, by whichever path
  sees the success first.
* ``order_paid(order, checkout, event)``: sent **exactly once per order** (one-time
  purchases and every renewal) when the cache first sees it paid, whatever the source.
  ``order`` is the cached :class:`~polar_checkouts.models.Order` (``order.payload`` is
  Polar's order dict, which receivers were given in earlier releases), ``checkout`` the cached
  checkout it came from (``None`` when unknown), ``event`` the webhook event that brought
  it (``None`` from a sync or an API read).
* ``order_refunded(order, refunded_amount, previous_refunded_amount)``: once per increase
  of the order's refunded amount the cache sees (a partial refund, then the rest: twice).
* ``subscription_activated(subscription)``: once per subscription, when it first started
  (active or trialing).
* ``subscription_updated(subscription, previous_status)``: a cached subscription changed,
  or was stored for the first time (``previous_status`` is ``None`` then).
* ``subscription_canceled(subscription)``: once per cancellation, when one is scheduled
  (at the period's end) or made; Polar's second ``subscription.canceled`` at revocation
  does not send it again. An uncancel makes a later cancellation send it again.
* ``subscription_revoked(subscription)``: once, when Polar revokes it: access ends now.
* ``webhook_received(event)``: every verified webhook event: each of the types
  Polar's spec declares (``polar_checkouts.webhooks.EVENT_TYPES``) and any type Polar
  added since (recorded as ``ignored``).

The checkout signals are sent by ``services.store_checkout`` (and its bulk form), the one
path every Polar payload takes into the cache (webhook, success page, status poll, sync,
admin refresh), in the transaction that stored it. Receivers run inside that transaction:
a receiver that raises rolls the change back with it, so the signal is sent again by the
next path that sees the same data (for a webhook, Polar's retry). Send e-mails and other
side effects outside the database with ``transaction.on_commit``. A raising receiver
reaches the caller as :class:`~polar_checkouts.exceptions.ReceiverError` (also
importable from here).

The order and subscription signals are sent the same way by ``services.store_order`` and
``services.store_subscription`` (and their bulk forms); each "once" is claimed by a
conditional ``UPDATE`` of a column of the row, so duplicated, reordered or concurrent
deliveries and syncs send it once.

This module only declares the signals; ``services`` sends them.
"""

from __future__ import annotations

from django.dispatch import Signal

from .exceptions import ReceiverError

__all__ = [
    "ReceiverError",
    "checkout_succeeded",
    "checkout_updated",
    "order_paid",
    "order_refunded",
    "subscription_activated",
    "subscription_canceled",
    "subscription_revoked",
    "subscription_updated",
    "webhook_received",
]

#: A cached checkout changed (or was stored for the first time: ``previous_status=None``).
checkout_updated = Signal()
#: A checkout reached ``succeeded``; sent exactly once per checkout, whatever path saw it.
checkout_succeeded = Signal()
#: An order was paid: sent once per order (renewals included), with the ``Order`` row;
#: ``checkout`` is the cached checkout it came from, if any, ``event`` the webhook event.
order_paid = Signal()
#: More of an order was refunded (``refunded_amount`` grew past ``previous_refunded_amount``).
order_refunded = Signal()
#: A subscription started (active or trialing for the first time); once per subscription.
subscription_activated = Signal()
#: A cached subscription changed (or was stored for the first time: ``previous_status=None``).
subscription_updated = Signal()
#: A cancellation was scheduled or made; once per cancellation (not again at revocation).
subscription_canceled = Signal()
#: Polar revoked the subscription (``canceled`` or ``unpaid``): access ends now.
subscription_revoked = Signal()
#: A verified webhook event is being processed (every type, known or not; ``event.type``
#: and ``event.data`` say what it is).
webhook_received = Signal()
