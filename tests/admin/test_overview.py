"""The checkout overview page: counts, conversion, revenue by currency and the chart."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from polar_checkouts.admin.overview import format_ratio
from tests.admin.helpers import OVERVIEW, TOTALS, recent, store

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
