"""The checkout overview page: counts, conversion, revenue by currency and the chart."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from polar_checkouts import services
from polar_checkouts.admin.overview import (
    build_subscription_summary,
    format_ratio,
    monthly_amount,
)
from tests.admin.helpers import OVERVIEW, TOTALS, new_id, recent, store
from tests.polar_objects import at, customer_payload, subscription_payload

pytestmark = pytest.mark.django_db


def test_overview_numbers_and_chart(viewer_client):
    recent(status="succeeded", total_amount=1900)
    recent(status="succeeded", total_amount=1900)
    recent(status="succeeded", currency="jpy", total_amount=500)
    recent(status="failed")
    recent()
    recent(minutes_ago=60)  # open but past expiry: counted as expired
    recent(status="succeeded", total_amount=None, currency=None, amount=None)  # free
    store(status="succeeded", created_at=timezone.now() - dt.timedelta(days=45))  # too old

    response = viewer_client.get(reverse(OVERVIEW))

    assert response.status_code == 200
    overview = response.context["overview"]
    assert overview.created == 7
    assert overview.succeeded == 4
    assert overview.totals["expired"] == 1
    assert overview.totals["open"] == 1
    assert response.context["conversion"] == "57.1%"  # Babel's English percent
    assert [(r.currency, r.amount, r.checkouts) for r in overview.revenue] == [
        ("JPY", "500 JPY", 1),
        ("USD", "38.00 USD", 2),
    ]
    page = response.content.decode()
    assert "<svg" in page
    assert '<title id="polar-chart-title">Checkout sessions per day by status' in page
    assert f"{timezone.localdate().isoformat()}: 4 succeeded" in page
    assert "38.00 USD" in page
    assert "57.1%" in page
    assert "revenue in USD, tax included (2 checkouts)" in page
    assert "<script" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert len(overview.days) == 30


def test_overview_revenue_in_usd_eur_jpy_and_kwd(viewer_client):
    for currency, minor, _text in TOTALS:
        recent(status="succeeded", currency=currency, total_amount=minor)
    recent(status="succeeded", currency="usd", total_amount=1900)
    recent(status="succeeded", currency="jpy", total_amount=500)
    recent(status="succeeded", currency="kwd", total_amount=2)
    recent(status="failed", currency="kwd", total_amount=999_999)  # not revenue

    response = viewer_client.get(reverse(OVERVIEW))

    revenue = [(r.currency, r.amount, r.checkouts) for r in response.context["overview"].revenue]
    assert revenue == [
        ("EUR", "12.50 EUR", 1),
        ("JPY", "1000 JPY", 2),
        ("KWD", "1.502 KWD", 2),
        ("USD", "38.00 USD", 2),
    ]
    page = response.content.decode()
    for _currency, amount, _n in revenue:
        assert f'<span class="value polar-revenue">{amount}</span>' in page


def test_overview_with_no_checkouts(viewer_client):
    response = viewer_client.get(reverse(OVERVIEW))
    assert response.status_code == 200
    # The admin's one empty value, as in its lists.
    assert response.context["conversion"] == "-"
    page = response.content.decode()
    assert "no revenue yet" in page
    assert "—" not in page


def test_conversion_is_a_percentage_in_the_admins_language(viewer_client):
    for _ in range(5):
        recent(status="succeeded", total_amount=1900)
    for _ in range(3):
        recent(status="failed")
    with translation.override("fr"):
        response = viewer_client.get(reverse(OVERVIEW))
    assert response.context["conversion"] == "62,5\xa0%"  # CLDR's French: a no-break space
    with translation.override("en"):
        assert format_ratio(0.63) == "63%"
        assert format_ratio(0.625) == "62.5%"
        assert format_ratio(1.0) == "100%"
    assert format_ratio(0.63, "de") == "63\xa0%"


def test_revenue_is_shown_with_and_without_tax(viewer_client):
    recent(status="succeeded", total_amount=2280, tax_amount=380)
    recent(status="succeeded", total_amount=1900, tax_amount=None)
    response = viewer_client.get(reverse(OVERVIEW))
    (usd,) = response.context["overview"].revenue
    assert (usd.amount, usd.net_amount) == ("41.80 USD", "38.00 USD")
    page = response.content.decode()
    assert "38.00 USD excluding tax" in page
    assert "tax included" in page


def test_overview_uses_a_constant_number_of_queries(viewer_client):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert viewer_client.get(reverse(OVERVIEW)).status_code == 200
        return len(captured.captured_queries)

    empty = queries()
    for i in range(25):
        recent(minutes_ago=i * 90, status=["open", "succeeded", "failed", "expired"][i % 4])
    assert queries() == empty


# -- subscriptions and monthly recurring revenue ---------------------------------------------


def _subscription(**kwargs):
    payload = subscription_payload(new_id(), customer_payload(), **kwargs)
    return services.store_subscription(payload).row


def test_monthly_amounts_of_each_interval():
    assert monthly_amount(900, "month", 1) == 900
    assert monthly_amount(12000, "year", 1) == 1000
    assert monthly_amount(3000, "month", 3) == 1000
    assert monthly_amount(1200, "week", 1) == 5200
    assert monthly_amount(100, "week", 2) == Fraction(5200, 24)
    assert monthly_amount(12, "day", 1) == 365
    assert monthly_amount(24000, "year", 2) == 1000


def test_overview_counts_live_subscriptions_and_mrr_per_currency(viewer_client):
    for _ in range(2):
        _subscription()  # 9.00 USD a month
    _subscription(amount=12000, recurring_interval="year")  # 10.00 a month
    _subscription(amount=100, recurring_interval="week")  # 4.3333…
    _subscription(amount=10, recurring_interval="day")  # 3.041666…
    _subscription(amount=3000, recurring_interval_count=3)  # 10.00
    _subscription(cancel_at_period_end=True, canceled_at=at(60))  # pays until it ends
    _subscription(amount=1000, currency="jpy", recurring_interval="year")  # 83.33 yen
    _subscription(amount=1500, currency="kwd")
    _subscription(status="trialing")  # access, nothing paid yet
    _subscription(amount=None)  # free: access, no revenue
    _subscription(status="past_due")
    _subscription(status="canceled", ended_at=at(90))
    _subscription(status="incomplete")

    response = viewer_client.get(reverse(OVERVIEW))

    summary = response.context["overview"].subscriptions
    assert (summary.active, summary.trialing, summary.past_due, summary.canceling) == (
        11,
        1,
        1,
        1,
    )
    # USD: 18.00 + 10.00 + 4.3333 + 3.0417 + 10.00 + 9.00 = 54.375 → 54.38 (rounded once)
    assert [(r.currency, r.amount, r.minor, r.subscriptions) for r in summary.mrr] == [
        ("JPY", "83 JPY", 83, 1),
        ("KWD", "1.500 KWD", 1500, 1),
        ("USD", "54.38 USD", 5438, 7),
    ]
    page = response.content.decode()
    assert '<span class="value" id="polar-active-subscriptions">11</span>' in page
    assert "(1 trialing)" in page
    assert '<span class="value polar-mrr">54.38 USD</span>' in page
    assert "monthly recurring revenue in USD (7 subscriptions)" in page


def test_overview_without_subscriptions(viewer_client):
    page = viewer_client.get(reverse(OVERVIEW)).content.decode()
    assert '<span class="value" id="polar-active-subscriptions">0</span>' in page
    assert "no recurring revenue yet" in page


def test_the_subscription_summary_is_one_query_whatever_the_rows():
    with CaptureQueriesContext(connection) as empty:
        build_subscription_summary()
    for interval in ("day", "week", "month", "year"):
        for currency in ("usd", "eur"):
            _subscription(recurring_interval=interval, currency=currency)
    with CaptureQueriesContext(connection) as many:
        summary = build_subscription_summary()
    assert len(empty.captured_queries) == len(many.captured_queries) == 1
    assert summary.active == 8
