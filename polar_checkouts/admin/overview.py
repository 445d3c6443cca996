"""Numbers and chart geometry for the admin's checkout overview page.

Three aggregate queries whatever the size of the tables: checkout counts per day and
status over the window, revenue per currency, and the live subscriptions with their
monthly recurring revenue per currency. The chart is computed here as plain numbers and
drawn by the template as inline SVG, so the page needs no JavaScript or external assets.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton
from babel.numbers import format_percent
from django.db.models import Case, CharField, Count, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext as _

from ..models import (
    CheckoutSession,
    CheckoutStatus,
    RecurringInterval,
    Subscription,
    SubscriptionStatus,
    expired_condition,
)
from ..money import current_locale, format_amount
from .base import OTHER_COLOUR, STATUS_COLOURS

#: Stacking order, bottom to top.
CHART_STATUSES: tuple[str, ...] = (
    CheckoutStatus.SUCCEEDED,
    CheckoutStatus.CONFIRMED,
    CheckoutStatus.OPEN,
    CheckoutStatus.FAILED,
    CheckoutStatus.EXPIRED,
)

# Chart geometry, in SVG user units.
WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 70


@dataclass
class Bar:
    """One stacked segment of the chart."""

    x: str
    y: str
    width: str
    height: str
    colour: str
    title: str


@dataclass
class Tick:
    """An axis label at a position."""

    position: str
    label: str


@dataclass
class LegendItem:
    """A status swatch under the chart."""

    x: int
    colour: str
    label: str


@dataclass
class Chart:
    """Everything the template needs to draw the stacked bar chart."""

    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = LEFT
    plot_bottom: int = HEIGHT - BOTTOM
    plot_right: int = WIDTH - RIGHT
    bars: list[Bar] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    legend: list[LegendItem] = field(default_factory=list)
    legend_y: int = HEIGHT - 22
    title: str = ""
    description: str = ""


@dataclass
class DayRow:
    """Counts for one day, for the table under the chart."""

    day: dt.date
    counts: list[int]
    total: int


@dataclass
class Revenue:
    """Succeeded totals in one currency: as paid (tax included) and without the tax."""

    currency: str
    amount: str
    checkouts: int
    net_amount: str = ""


@dataclass
class RecurringRevenue:
    """Monthly recurring revenue in one currency."""

    currency: str
    amount: str
    minor: int
    subscriptions: int


@dataclass
class SubscriptionSummary:
    """Subscriptions giving access now, and what they bring in per month."""

    active: int = 0
    trialing: int = 0
    past_due: int = 0
    canceling: int = 0
    mrr: list[RecurringRevenue] = field(default_factory=list)


@dataclass
class Overview:
    """The overview page's numbers."""

    start: dt.date
    end: dt.date
    statuses: list[tuple[str, str, str]]  # (value, label, colour)
    days: list[DayRow]
    totals: dict[str, int]
    created: int
    succeeded: int
    conversion: float | None
    revenue: list[Revenue]
    chart: Chart
    subscriptions: SubscriptionSummary = field(default_factory=SubscriptionSummary)


def _effective_status() -> Case:
    """The status with open-but-past-``expires_at`` counted as expired (as staff expect).

    The database form of ``CheckoutSession.effective_status``, built on the one rule,
    :func:`polar_checkouts.models.expired_condition`.
    """
    return Case(
        When(expired_condition(), then=Value(CheckoutStatus.EXPIRED.value)),
        default=F("status"),
        output_field=CharField(),
    )


#: How many of each interval make a month: a payment every ``count`` units is worth
#: ``amount * PER_MONTH[unit] / count`` a month (a year is 12 months, 52 weeks, 365 days).
PER_MONTH: dict[str, Fraction] = {
    RecurringInterval.DAY: Fraction(365, 12),
    RecurringInterval.WEEK: Fraction(52, 12),
    RecurringInterval.MONTH: Fraction(1),
    RecurringInterval.YEAR: Fraction(1, 12),
}

#: What the summary counts: access now (active, trialing) and failing renewals (past due).
_LIVE_STATUSES = (
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.TRIALING,
    SubscriptionStatus.PAST_DUE,
)


def monthly_amount(amount: int, interval: str, count: int) -> Fraction:
    """What ``amount`` charged every ``count`` units of ``interval`` is worth per month, exactly."""
    return amount * PER_MONTH[interval] / max(count, 1)


def build_subscription_summary(
    queryset: QuerySet[Subscription] | None = None,
) -> SubscriptionSummary:
    """Active (incl. trialing), trialing, past-due and cancelling subscriptions, and the
    monthly recurring revenue per currency, in one grouped query.

    MRR counts ``active`` subscriptions, each amount normalised to a month (yearly ÷ 12,
    weekly × 52/12, daily × 365/12, each ÷ its interval count), summed exactly and rounded
    to the currency's minor unit once. A subscription cancelled at the period's end still
    counts (it pays until it ends); trials (nothing paid yet), past-due ones (payment
    failing) and free ones do not.
    """
    if queryset is None:
        queryset = Subscription.objects.all()
    rows = (
        queryset.filter(status__in=[str(s) for s in _LIVE_STATUSES])
        .values("status", "currency", "recurring_interval", "recurring_interval_count")
        .annotate(
            n=Count("pk"),
            total=Sum("amount"),
            paying=Count("pk", filter=Q(amount__isnull=False)),
            canceling=Count("pk", filter=Q(cancel_at_period_end=True)),
        )
        .order_by()
    )
    summary = SubscriptionSummary()
    monthly: dict[str, Fraction] = defaultdict(Fraction)
    paying: dict[str, int] = defaultdict(int)
    for row in rows:
        status, n = row["status"], row["n"]
        if status == SubscriptionStatus.PAST_DUE:
            summary.past_due += n
            continue
        summary.active += n
        if status == SubscriptionStatus.TRIALING:
            summary.trialing += n
            continue
        summary.canceling += row["canceling"]
        interval, currency = row["recurring_interval"], (row["currency"] or "").lower()
        if row["total"] is None or not currency or interval not in PER_MONTH:
            continue
        monthly[currency] += monthly_amount(row["total"], interval, row["recurring_interval_count"])
        paying[currency] += row["paying"]
    for currency in sorted(monthly):
        minor = math.floor(monthly[currency] + Fraction(1, 2))  # half up, once per currency
        summary.mrr.append(
            RecurringRevenue(
                currency=currency.upper(),
                amount=format_amount(minor, currency),
                minor=minor,
                subscriptions=paying[currency],
            )
        )
    return summary


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 × 10ⁿ at or above ``value`` (for a tidy y axis)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= value:
                return factor * step
        step *= 10


def build_overview(
    queryset: QuerySet[CheckoutSession] | None = None,
    *,
    days: int = 30,
    today: dt.date | None = None,
    subscriptions: QuerySet[Subscription] | None = None,
) -> Overview:
    """Counts by status per day for the last ``days`` days, conversion and revenue, and
    the subscriptions giving access now with their monthly recurring revenue."""
    if queryset is None:
        queryset = CheckoutSession.objects.all()
    today = today or timezone.localdate()
    start = today - dt.timedelta(days=days - 1)
    start_at = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    window = queryset.filter(created_at__gte=start_at)

    per_day: dict[dt.date, dict[str, int]] = {}
    rows = (
        window.annotate(day=TruncDate("created_at"), shown=_effective_status())
        .values("day", "shown")
        .annotate(n=Count("pk"))
        .order_by()
    )
    extra_statuses: list[str] = []
    for row in rows:
        day = row["day"]
        if isinstance(day, dt.datetime):
            day = day.date()
        per_day.setdefault(day, {})[row["shown"]] = row["n"]
        if row["shown"] not in CHART_STATUSES and row["shown"] not in extra_statuses:
            extra_statuses.append(row["shown"])

    revenue_rows = (
        # Free checkouts have no amount or currency: they count as conversions, not revenue.
        window.filter(status=CheckoutStatus.SUCCEEDED, total_amount__isnull=False)
        .exclude(currency="")
        .values("currency")
        .annotate(
            total=Sum("total_amount"),
            tax=Sum(Coalesce("tax_amount", Value(0))),
            n=Count("pk"),
        )
        .order_by("currency")
    )
    revenue = [
        Revenue(
            currency=row["currency"].upper(),
            amount=format_amount(row["total"] or 0, row["currency"]),
            checkouts=row["n"],
            net_amount=format_amount((row["total"] or 0) - (row["tax"] or 0), row["currency"]),
        )
        for row in revenue_rows
    ]

    labels = dict(CheckoutStatus.choices)
    statuses = [
        (status, str(labels.get(status, status)), STATUS_COLOURS.get(status, OTHER_COLOUR))
        for status in (*CHART_STATUSES, *sorted(extra_statuses))
    ]
    day_list = [start + dt.timedelta(days=i) for i in range(days)]
    day_rows = []
    totals = {status: 0 for status, _label, _colour in statuses}
    for day in day_list:
        counts = [per_day.get(day, {}).get(status, 0) for status, _label, _colour in statuses]
        for (status, _label, _colour), n in zip(statuses, counts, strict=True):
            totals[status] += n
        day_rows.append(DayRow(day=day, counts=counts, total=sum(counts)))
    created = sum(totals.values())
    succeeded = totals[CheckoutStatus.SUCCEEDED]
    return Overview(
        start=start,
        end=today,
        statuses=statuses,
        days=day_rows,
        totals=totals,
        created=created,
        succeeded=succeeded,
        conversion=(succeeded / created) if created else None,
        revenue=revenue,
        chart=_chart(day_rows, statuses),
        subscriptions=build_subscription_summary(subscriptions),
    )


def _chart(days: list[DayRow], statuses: list[tuple[str, str, str]]) -> Chart:
    chart = Chart()
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    peak = max((row.total for row in days), default=0)
    top = _nice_ceiling(max(peak, 1))
    slot = plot_width / max(len(days), 1)
    bar_width = slot * 0.7
    base = HEIGHT - BOTTOM

    # The axis speaks the admin's language: "Nov 5", "5 nov.", "11月5日" (CLDR, by Babel).
    try:
        locale = Locale.parse(to_locale(get_language() or "en"))
    except (ValueError, UnknownLocaleError):
        locale = Locale("en")
    for i, row in enumerate(days):
        x = LEFT + i * slot + (slot - bar_width) / 2
        y = float(base)
        for (_status, label, colour), n in zip(statuses, row.counts, strict=True):
            if not n:
                continue
            height = plot_height * n / top
            y -= height
            chart.bars.append(
                Bar(
                    x=f"{x:.1f}",
                    y=f"{y:.1f}",
                    width=f"{bar_width:.1f}",
                    height=f"{height:.1f}",
                    colour=colour,
                    title=f"{row.day.isoformat()}: {n} {label.lower()}",
                )
            )
        # Label every fifth day and the last one; thirty labels would overlap.
        if i % 5 == 0 or i == len(days) - 1:
            chart.x_ticks.append(
                Tick(
                    position=f"{LEFT + i * slot + slot / 2:.1f}",
                    label=format_skeleton("MMMd", row.day, locale=locale),
                )
            )

    for value in sorted({0, top // 2, top}):
        position = base - plot_height * value / top
        chart.y_ticks.append(Tick(position=f"{position:.1f}", label=str(value)))

    x = LEFT
    for _status, label, colour in statuses:
        chart.legend.append(LegendItem(x=x, colour=colour, label=label))
        x += 22 + 8 * len(label) + 18

    first, last = days[0].day, days[-1].day
    chart.title = _("Checkout sessions per day by status, %(start)s to %(end)s") % {
        "start": first.isoformat(),
        "end": last.isoformat(),
    }
    chart.description = _("Stacked bars; busiest day: %(peak)d checkout sessions.") % {"peak": peak}
    return chart


def format_ratio(ratio: float, locale: str | None = None) -> str:
    """A ratio as a percentage the way the language writes it (Babel, CLDR): ``0.63`` →
    ``"63%"`` in English, ``"63 %"`` in French; one decimal only when it is not zero."""
    return str(
        format_percent(
            round(ratio, 3), locale=locale or current_locale(), decimal_quantization=False
        )
    )


def overview_context(overview: Overview, empty_value: str = "-") -> dict[str, Any]:
    """Template variables for ``overview.html``; ``empty_value`` stands for no number
    (the admin site's ``empty_value_display``)."""
    conversion = (
        format_ratio(overview.conversion) if overview.conversion is not None else empty_value
    )
    return {
        "overview": overview,
        "conversion": conversion,
        "chart": overview.chart,
        "empty_value": empty_value,
    }
