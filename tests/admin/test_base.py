"""The admin's shared parts: payload masking and the estimated-count paginator."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from polar_checkouts.admin.base import EstimatedCountPaginator, masked_payload
from polar_checkouts.models import CheckoutSession
from tests.admin.helpers import store

pytestmark = pytest.mark.django_db


def test_masked_payload():
    secret = "polar_c_abcdef"
    masked = masked_payload(
        {
            "client_secret": secret,
            "url": f"https://polar.sh/checkout/{secret}",
            "nested": [{"customer_session_token": "polar_cst_x"}],
            "amount": 5,
        }
    )
    assert masked == {
        "client_secret": "polar_c_…****",
        "url": "https://polar.sh/checkout/polar_c_…****",
        "nested": [{"customer_session_token": "****"}],
        "amount": 5,
    }


# -- pagination on large tables ------------------------------------------------------------


def stored_and_analysed(n):
    """``n`` cached checkouts, with PostgreSQL's planner statistics brought up to date."""
    for _ in range(n):
        store()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE polar_checkouts_checkoutsession")


def test_paginator_counts_exactly_on_sqlite_and_filtered_lists():
    for _ in range(3):
        store()
    assert EstimatedCountPaginator(CheckoutSession.objects.all(), 50).count == 3
    assert EstimatedCountPaginator(CheckoutSession.objects.filter(status="open"), 50).count == 3


@pytest.mark.postgres
def test_paginator_uses_postgres_estimate_for_large_unfiltered_tables(monkeypatch):
    stored_and_analysed(5)
    monkeypatch.setattr(EstimatedCountPaginator, "estimate_threshold", 1)

    with CaptureQueriesContext(connection) as queries:
        count = EstimatedCountPaginator(CheckoutSession.objects.order_by("-created_at"), 50).count
    assert count == 5
    assert len(queries.captured_queries) == 1
    assert "reltuples" in queries.captured_queries[0]["sql"]

    with CaptureQueriesContext(connection) as queries:
        EstimatedCountPaginator(CheckoutSession.objects.filter(status="open"), 50).count  # noqa: B018
    assert any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)


@pytest.mark.postgres
def test_small_and_large_tables_cost_the_same_one_count_query(monkeypatch):
    stored_and_analysed(3)
    store()  # the estimate (3) is now stale: below the threshold the count must be exact

    def one_count(threshold):
        monkeypatch.setattr(EstimatedCountPaginator, "estimate_threshold", threshold)
        with CaptureQueriesContext(connection) as queries:
            count = EstimatedCountPaginator(CheckoutSession.objects.all(), 50).count
        return count, len(queries.captured_queries)

    assert one_count(50_000) == (4, 1)  # small table: exact, in the same single query
    assert one_count(1) == (3, 1)  # large table: the planner's estimate
