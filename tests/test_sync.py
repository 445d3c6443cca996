"""Bulk sync from Polar: ``services.sync_checkouts`` (the command over it: tests/management/)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from polar_checkouts.exceptions import ServerError
from polar_checkouts.models import CheckoutSession
from polar_checkouts.services import SyncResult, sync_checkouts
from tests.polar_payloads import BASE_TIME, checkout_payload, checkout_payloads

pytestmark = pytest.mark.django_db


def writes(queries):
    return [q["sql"] for q in queries if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))]


# -- services.sync_checkouts ----------------------------------------------------------------


def test_sync_walks_every_page_of_100(polar_list):
    polar_list.checkouts = checkout_payloads(250)

    result = sync_checkouts()

    assert (result.created, result.updated, result.unchanged, result.pages) == (250, 0, 0, 3)
    assert CheckoutSession.objects.count() == 250
    assert polar_list.pages_requested() == [1, 2, 3]
    assert {q["limit"][0] for q in polar_list.queries} == {"100"}


def test_sync_rerun_changes_nothing(polar_list):
    polar_list.checkouts = checkout_payloads(120)
    sync_checkouts()

    with CaptureQueriesContext(connection) as queries:
        result = sync_checkouts()

    assert (result.created, result.updated, result.unchanged) == (0, 0, 120)
    assert writes(queries.captured_queries) == []


def test_sync_counts_updates_only_for_newer_data(polar_list):
    polar_list.checkouts = checkout_payloads(5)
    sync_checkouts()
    newer = {
        **polar_list.checkouts[0],
        "status": "succeeded",
        "modified_at": "2026-11-02T00:00:00Z",
    }
    older = {**polar_list.checkouts[1], "status": "expired", "modified_at": "2026-10-01T00:00:00Z"}
    polar_list.checkouts[0], polar_list.checkouts[1] = newer, older

    result = sync_checkouts()

    assert (result.created, result.updated, result.unchanged) == (0, 1, 4)
    assert CheckoutSession.objects.get(pk=newer["id"]).status == "succeeded"
    assert CheckoutSession.objects.get(pk=older["id"]).status == "open"


DATA_STATEMENTS = ("SELECT", "INSERT", "UPDATE", "DELETE", "COPY")


def data_queries(queries):
    """Statements that read or write rows (transaction bookkeeping left out)."""
    return [q["sql"] for q in queries if q["sql"].startswith(DATA_STATEMENTS)]


def _sync_queries(stub, checkouts):
    stub.checkouts = checkouts
    with CaptureQueriesContext(connection) as queries:
        result = sync_checkouts()
    return result, data_queries(queries.captured_queries)


def test_sync_queries_grow_with_pages_not_rows(polar_list):
    # 40 rows fit one INSERT and one UPDATE even under SQLite's 999-parameter limit.
    one_page, q_one = _sync_queries(polar_list, checkout_payloads(40))
    many_rows, q_many = _sync_queries(
        polar_list, checkout_payloads(2, start=BASE_TIME + dt.timedelta(days=10))
    )
    assert (one_page.pages, many_rows.pages) == (1, 1)
    assert len(q_one) == len(q_many) == 2  # SELECT … FOR UPDATE, one INSERT (or COPY)

    full_page, q_full = _sync_queries(
        polar_list, checkout_payloads(100, start=BASE_TIME + dt.timedelta(days=20))
    )
    three_pages, q_three = _sync_queries(
        polar_list, checkout_payloads(300, start=BASE_TIME + dt.timedelta(days=30))
    )
    assert (full_page.pages, three_pages.pages) == (1, 3)
    assert three_pages.created == 300
    # One read plus batched inserts per page (SQLite's parameter limit splits 100 rows
    # into a few batches; PostgreSQL inserts them in one): never one query per row.
    assert len(q_three) == 3 * len(q_full)
    assert len(q_full) <= 4


def test_sync_update_pages_use_a_constant_number_of_queries(polar_list):
    polar_list.checkouts = checkout_payloads(40)
    sync_checkouts()
    polar_list.checkouts = [
        {**c, "modified_at": "2026-11-05T00:00:00Z"} for c in polar_list.checkouts
    ]
    with CaptureQueriesContext(connection) as queries:
        result = sync_checkouts()
    assert result.updated == 40
    statements = data_queries(queries.captured_queries)
    assert [sql.split()[0] for sql in statements] == ["SELECT", "UPDATE"]


def test_sync_since_filters_and_stops_paging(polar_list):
    polar_list.checkouts = checkout_payloads(300)  # newest first on Polar: pages 1..3
    since = BASE_TIME + dt.timedelta(minutes=150)

    result = sync_checkouts(since=since)

    assert result.created == 150
    assert CheckoutSession.objects.filter(created_at__lt=since).count() == 0
    # Page 2 holds the checkout created just before ``since``; page 3 is never read.
    assert polar_list.pages_requested() == [1, 2]


def test_sync_status_is_sent_and_applied_here_too(polar_list):
    polar_list.checkouts = [
        *checkout_payloads(3, status="succeeded"),
        *checkout_payloads(4, status="open", start=BASE_TIME + dt.timedelta(hours=1)),
    ]

    result = sync_checkouts(status="succeeded")

    assert result.created == 3
    assert set(CheckoutSession.objects.values_list("status", flat=True)) == {"succeeded"}
    assert polar_list.queries[0]["status"] == ["succeeded"]


def test_sync_status_with_a_current_server(polar_list):
    polar_list.honour_status = True
    polar_list.checkouts = [
        *checkout_payloads(2, status="failed"),
        *checkout_payloads(2, status="open"),
    ]
    assert sync_checkouts(status=["failed", "expired"]).created == 2
    assert polar_list.queries[0]["status"] == ["expired", "failed"]


def test_sync_sends_product_and_organization(polar_list):
    sync_checkouts(product_id=["p1", "p2"], organization_id="org-9")
    assert polar_list.queries[0]["product_id"] == ["p1", "p2"]
    assert polar_list.queries[0]["organization_id"] == ["org-9"]


def test_sync_error_keeps_the_pages_already_stored(polar_list):
    polar_list.checkouts = checkout_payloads(250)
    polar_list.fail_on_page = 3
    seen: list[SyncResult] = []

    with pytest.raises(ServerError):
        sync_checkouts(progress=lambda r: seen.append(SyncResult(**vars(r))))

    assert CheckoutSession.objects.count() == 200
    assert [(r.pages, r.rows) for r in seen] == [(1, 100), (2, 200)]


def test_sync_skips_rows_without_a_valid_id(polar_list):
    polar_list.checkouts = [*checkout_payloads(2), {**checkout_payload(), "id": "nope"}]
    assert sync_checkouts().created == 2
