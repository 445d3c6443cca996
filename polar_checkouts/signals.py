"""Signals for fulfilment: connect a receiver to act when Polar reports a payment.

Every signal's ``sender`` is a model class; receivers get these keyword arguments:

* ``checkout_updated(checkout, previous_status)``: a cached checkout changed, or was
  stored for the first time (``previous_status`` is ``None`` then).
* ``checkout_succeeded(checkout)``: sent **exactly once** per checkout, by whichever path
  sees the success first.
* ``order_paid(order, checkout, event)``: ``order`` is Polar's order dict, ``checkout``
  the cached checkout it came from (``None`` when unknown), ``event`` the webhook event.
* ``webhook_received(event)``: every verified webhook event, known type or not.

The checkout signals are sent by :func:`send_checkout_signals`, which every path that
stores a Polar payload (webhook, success page, status poll, sync, admin refresh) calls in
the transaction that stored it. Receivers run inside that transaction: a receiver that
raises rolls the change back with it, so the signal is sent again by the next path that
sees the same data (for a webhook, Polar's retry). Send e-mails and other side effects
outside the database with ``transaction.on_commit``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

if TYPE_CHECKING:
    from .models import UpsertResult

logger = logging.getLogger("polar_checkouts")


class ReceiverError(Exception):
    """A receiver of a checkout signal raised; the change it was sent for was rolled back.

    The original exception is its ``__cause__`` and was logged with its traceback.
    """


def _send(signal: Signal, name: str, **kwargs: object) -> None:
    from .models import CheckoutSession

    try:
        signal.send(sender=CheckoutSession, **kwargs)
    except Exception as exc:
        logger.exception("A %s receiver raised; the change is rolled back and retried", name)
        raise ReceiverError(f"A {name} receiver raised {type(exc).__name__}: {exc}") from exc


#: A cached checkout changed (or was stored for the first time: ``previous_status=None``).
checkout_updated = Signal()
#: A checkout reached ``succeeded``; sent exactly once per checkout, whatever path saw it.
checkout_succeeded = Signal()
#: Polar reported an order as paid (``order.paid``, or ``order.created`` from servers that
#: predate ``order.paid``); ``checkout`` is the cached checkout it came from, if any.
order_paid = Signal()
#: A verified webhook event is being processed (every type, known or not).
webhook_received = Signal()


def send_checkout_signals(result: UpsertResult) -> None:
    """Send ``checkout_updated`` for a stored change and ``checkout_succeeded`` the first time.

    Call it right after ``CheckoutSession.objects.upsert_from_polar`` in the same
    transaction (``services.store_checkout`` does). The success is claimed with a
    conditional ``UPDATE … WHERE succeeded_notified_at IS NULL``: of any number of
    concurrent paths, exactly one updates the row and sends the signal.
    """
    from .models import CheckoutSession, CheckoutStatus

    checkout = result.checkout
    with transaction.atomic(using=checkout._state.db):
        if result.changed:
            _send(
                checkout_updated,
                "checkout_updated",
                checkout=checkout,
                previous_status=result.previous_status,
            )
        if checkout.status != CheckoutStatus.SUCCEEDED or checkout.succeeded_notified_at:
            return
        now = timezone.now()
        claimed = (
            CheckoutSession.objects.using(checkout._state.db)
            .filter(pk=checkout.pk, succeeded_notified_at__isnull=True)
            .update(succeeded_notified_at=now)
        )
        if not claimed:
            # Another path claimed it first (and sends the signal there).
            return
        checkout.succeeded_notified_at = now
        logger.info("Polar checkout %s succeeded; sending checkout_succeeded", checkout.pk)
        _send(checkout_succeeded, "checkout_succeeded", checkout=checkout)


def send_checkout_signals_many(results: Sequence[UpsertResult]) -> None:
    """:func:`send_checkout_signals` for a page of results, with constant database work.

    A sync stores pages of up to 100 checkouts: one savepoint for the page and one locked
    ``SELECT`` plus one ``UPDATE`` claim every newly succeeded checkout of it, instead of
    a savepoint and an ``UPDATE`` per row.
    """
    from .models import CheckoutSession, CheckoutStatus

    if not results:
        return
    db = results[0].checkout._state.db
    with transaction.atomic(using=db):
        for result in results:
            if result.changed:
                _send(
                    checkout_updated,
                    "checkout_updated",
                    checkout=result.checkout,
                    previous_status=result.previous_status,
                )
        candidates = {
            result.checkout.pk: result.checkout
            for result in results
            if result.checkout.status == CheckoutStatus.SUCCEEDED
            and not result.checkout.succeeded_notified_at
        }
        if not candidates:
            return
        # The rows are locked until commit, so what this SELECT finds unclaimed no other
        # path can claim in between.
        claimable = list(
            CheckoutSession.objects.using(db)
            .select_for_update()
            .filter(pk__in=list(candidates), succeeded_notified_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not claimable:
            return
        now = timezone.now()
        CheckoutSession.objects.using(db).filter(pk__in=claimable).update(succeeded_notified_at=now)
        for pk in claimable:
            checkout = candidates[pk]
            checkout.succeeded_notified_at = now
            logger.info("Polar checkout %s succeeded; sending checkout_succeeded", pk)
            _send(checkout_succeeded, "checkout_succeeded", checkout=checkout)
