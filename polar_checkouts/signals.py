"""Signals for fulfilment: connect a receiver to act when Polar reports a payment.

Every signal's ``sender`` is a model class; receivers get these keyword arguments:

* ``checkout_updated(checkout, previous_status)``: a cached checkout changed, or was
  stored for the first time (``previous_status`` is ``None`` then).
* ``checkout_succeeded(checkout)``: sent **exactly once** per checkout, by whichever path
  sees the success first.
* ``order_paid(order, checkout, event)``: ``order`` is Polar's order dict, ``checkout``
  the cached checkout it came from (``None`` when unknown), ``event`` the webhook event.
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

This module only declares the signals; ``services`` and ``webhooks.processing`` send them.
"""

from __future__ import annotations

from django.dispatch import Signal

from .exceptions import ReceiverError

__all__ = [
    "ReceiverError",
    "checkout_succeeded",
    "checkout_updated",
    "order_paid",
    "webhook_received",
]

#: A cached checkout changed (or was stored for the first time: ``previous_status=None``).
checkout_updated = Signal()
#: A checkout reached ``succeeded``; sent exactly once per checkout, whatever path saw it.
checkout_succeeded = Signal()
#: Polar reported an order as paid (``order.paid``, or ``order.created`` from servers that
#: predate ``order.paid``); ``checkout`` is the cached checkout it came from, if any.
order_paid = Signal()
#: A verified webhook event is being processed (every type, known or not; ``event.type``
#: and ``event.data`` say what it is).
webhook_received = Signal()
