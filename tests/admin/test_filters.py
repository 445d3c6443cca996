"""The checkout list's filters, sidebar choices and date drill-down."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from polar_checkouts.admin.filters import distinct_values
from polar_checkouts.models import CheckoutSession
from tests.admin.helpers import CHANGELIST, listed_ids, recent, store

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status__exact": "succeeded"}, {"paid"}),
        ({"expired": "yes"}, {"stale_open", "expired"}),
        ({"expired": "no"}, {"live", "paid", "yen"}),
        ({"currency": "jpy"}, {"yen"}),
        ({"product_name": "Sticker pack"}, {"yen"}),
    ],
)
def test_filters(viewer_client, params, expected):
    rows = {
        "live": recent(),
        "stale_open": recent(minutes_ago=60),
        "expired": recent(status="expired"),
        "paid": recent(status="succeeded"),
        "yen": recent(
            currency="jpy",
            total_amount=500,
            product={"id": str(uuid.uuid4()), "name": "Sticker pack"},
        ),
    }
    names = {str(row.pk): name for name, row in rows.items()}
    response = viewer_client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    assert {names[pk] for pk in listed_ids(response)} == expected


def test_created_date_filter_and_hierarchy(viewer_client):
    old = store(created_at=timezone.now() - dt.timedelta(days=40))
    new = recent()
    # The "Past 7 days" link of the date filter.
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    since = str(today - dt.timedelta(days=7))
    response = viewer_client.get(reverse(CHANGELIST), {"created_at__gte": since})
    assert listed_ids(response) == {str(new.pk)}
    year = old.created_at.year
    response = viewer_client.get(
        reverse(CHANGELIST),
        {"created_at__year": year, "created_at__month": old.created_at.month},
    )
    assert str(old.pk) in listed_ids(response)


# -- cheap sidebar and date hierarchy on large tables -----------------------------------


def test_distinct_values_skip_scan():
    for currency in ["usd", "eur", "usd", "jpy", "eur"]:
        store(currency=currency)
    store(currency=None)  # free: no currency, not a choice
    queryset = CheckoutSession.objects.all()
    assert distinct_values(queryset, "currency", 100) == ["eur", "jpy", "usd"]
    assert distinct_values(queryset, "currency", 2) == ["eur", "jpy"]


def test_sidebar_and_hierarchy_never_select_distinct_over_the_table(viewer_client):
    store(created_at=dt.datetime(2024, 3, 5, tzinfo=dt.timezone.utc), currency="eur")
    store(created_at=dt.datetime(2026, 7, 9, tzinfo=dt.timezone.utc))
    with CaptureQueriesContext(connection) as queries:
        page = viewer_client.get(reverse(CHANGELIST)).content.decode()
    assert not [q for q in queries.captured_queries if "DISTINCT" in q["sql"].upper()]
    assert ">EUR<" in page
    assert ">USD<" in page
    # Every year between the first and the last checkout, even one without any.
    for year in ("2024", "2025", "2026"):
        assert f"?created_at__year={year}" in page


def test_date_hierarchy_drills_down(viewer_client):
    store(created_at=dt.datetime(2026, 3, 5, 10, tzinfo=dt.timezone.utc))
    store(created_at=dt.datetime(2026, 5, 20, 10, tzinfo=dt.timezone.utc))

    page = viewer_client.get(reverse(CHANGELIST)).content.decode()
    # One year only: Django's behaviour, start at the months of that year.
    assert "created_at__month=3" in page
    assert "created_at__month=5" in page
    assert "created_at__month=6" not in page
    assert "All dates" in page

    page = viewer_client.get(
        reverse(CHANGELIST), {"created_at__year": "2026", "created_at__month": "5"}
    ).content.decode()
    assert "created_at__day=20" in page
    assert "created_at__day=21" not in page

    response = viewer_client.get(
        reverse(CHANGELIST),
        {"created_at__year": "2026", "created_at__month": "5", "created_at__day": "20"},
    )
    assert response.status_code == 200
    assert "May 20" in response.content.decode()
    assert len(response.context["cl"].result_list) == 1
