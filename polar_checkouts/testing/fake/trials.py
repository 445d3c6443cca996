"""Free trials, as Polar's server does them.

From Polar's server (``checkout/service.py`` ``_update_trial_end``, ``models/checkout.py``
``active_trial_interval``, ``kit/trial.py`` ``TrialInterval.get_end``,
``subscription/service.py`` ``create_or_update_from_checkout`` and ``cycle``,
``order/service.py`` ``create_trial_order``, ``models/order_item.py`` ``from_trial``):

* a checkout of a recurring product has a trial when ``allow_trial`` is not false (the
  create body's default is true) and the checkout's own ``trial_interval``/
  ``trial_interval_count``, or else the product's, are set; ``trial_end`` is "now" plus
  that interval, worked out again at each create, update and confirm; a trial checkout
  needs no payment now (``is_payment_required`` is false), only a saved payment method;
* the subscription starts ``trialing``: ``trial_start`` = ``current_period_start`` = now,
  ``trial_end`` = ``current_period_end``; the checkout's order is a paid order of 0 with
  ``billing_reason`` ``subscription_create`` and one line "Trial period for <product>
  (<start> - <end>)";
* at the trial's end the subscription cycles like any renewal: it becomes ``active``, its
  period runs from the trial's end for one interval, and the first paid order follows
  (``billing_reason`` ``subscription_cycle``: Polar's internal
  ``subscription_cycle_after_trial`` is shown as that). A discount starts with that first
  paid period (Polar sets ``discount_applied_at`` only then).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from .state import CheckoutState, next_period

if TYPE_CHECKING:
    from .core import FakePolar

#: Polar's ``TrialInterval``.
TRIAL_INTERVALS = ("day", "week", "month", "year")
#: Polar's bounds for ``trial_interval_count``.
MAX_TRIAL_COUNT = 1000


def check_trial(interval: Any, count: Any) -> None:
    """A product's trial settings: both or neither, a known interval, a count 1..1000."""
    if (interval is None) != (count is None):
        raise ValueError("trial_interval and trial_interval_count must be set together")
    if interval is None:
        return
    if interval not in TRIAL_INTERVALS:
        raise ValueError(f"trial_interval must be one of {', '.join(TRIAL_INTERVALS)}")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_TRIAL_COUNT:
        raise ValueError(f"trial_interval_count must be an integer from 1 to {MAX_TRIAL_COUNT}")


def trial_end(start: datetime, interval: str, count: int) -> datetime:
    """``start`` plus the trial (Polar's ``TrialInterval.get_end``: a ``relativedelta``,
    which :func:`~.state.next_period` matches, a month's end clamped)."""
    return next_period(start, interval, count)


def active_trial(fake: FakePolar, checkout: CheckoutState) -> tuple[str, int] | None:
    """The checkout's trial (interval, count), Polar's ``active_trial_interval(_count)``."""
    if checkout.echo.get("allow_trial") is False:
        return None
    product = fake.products.get(checkout.product_id)
    if product is None or not product["is_recurring"]:
        return None
    interval = checkout.echo.get("trial_interval") or product.get("trial_interval")
    count = checkout.echo.get("trial_interval_count") or product.get("trial_interval_count")
    if interval is None or count is None:
        return None
    return interval, count


def update_trial_end(fake: FakePolar, checkout: CheckoutState) -> None:
    """Polar's ``_update_trial_end``: the trial ends its interval after now."""
    trial = active_trial(fake, checkout)
    checkout.trial_end = trial_end(fake.now(), *trial) if trial else None


def allow_trial(fake: FakePolar, checkout: CheckoutState) -> bool | None:
    """The checkout's ``allow_trial``: as sent, or Polar's default (true) for a product with
    a trial (left null otherwise, as the fake has always shown it)."""
    if "allow_trial" in checkout.echo:
        return bool(checkout.echo["allow_trial"])
    product = fake.products.get(checkout.product_id) or {}
    return True if product.get("trial_interval") else None
