"""Sending a signal once: claims by conditional ``UPDATE``, and the send itself.

A "sent once" fact is a column of the row (``paid_notified_at``…). Whoever changes it
from null in a conditional ``UPDATE`` sends the signal; every other path (a duplicate
delivery, a concurrent worker, a sync) finds it set and sends nothing. Never
check-then-act: the ``UPDATE``'s own ``WHERE`` is the check.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import models
from django.db.models import Q
from django.dispatch import Signal

from ..exceptions import ReceiverError

logger = logging.getLogger("polar_checkouts")


def send_signal(signal: Signal, name: str, *, sender: type[models.Model], **kwargs: Any) -> None:
    """Send a signal; a receiver that raises becomes :class:`ReceiverError` (the change
    and the claim are rolled back with the caller's transaction, and sent again later)."""
    try:
        signal.send(sender=sender, **kwargs)
    except Exception as exc:
        logger.exception("A %s receiver raised; the change is rolled back and retried", name)
        raise ReceiverError(f"A {name} receiver raised {type(exc).__name__}: {exc}") from exc


def claim(
    model: type[models.Model],
    pks: Sequence[Any],
    unclaimed: Q,
    values: dict[str, Any],
    *,
    using: str,
) -> list[Any]:
    """Set ``values`` on the rows of ``pks`` that match ``unclaimed``; return their keys.

    One row: one conditional ``UPDATE``. Several (a sync's page): the candidates are
    locked in key order and read, then updated in one statement; the rows stay locked
    until commit, so what the ``SELECT`` found unclaimed nobody else can claim meanwhile.
    """
    if not pks:
        return []
    manager = model._default_manager.using(using)
    if len(pks) == 1:
        updated = manager.filter(unclaimed, pk=pks[0]).update(**values)
        return list(pks) if updated else []
    claimable = list(
        manager.select_for_update()
        .filter(unclaimed, pk__in=list(pks))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if claimable:
        manager.filter(pk__in=claimable).update(**values)
    return claimable
