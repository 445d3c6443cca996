"""Bulk sync from Polar: services.sync_checkouts and ``manage.py polar_checkouts_sync``."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import responses
from django.core.management import CommandError, call_command, execute_from_command_line
from django.db import connection
from django.test.utils import CaptureQueriesContext

from polar_checkouts.exceptions import AuthenticationError, ServerError
from polar_checkouts.management.commands.polar_checkouts_sync import parse_since
from polar_checkouts.models import CheckoutSession
from polar_checkouts.services import SyncResult, sync_checkouts
from tests.polar_payloads import BASE_TIME, PolarListStub, checkout_payload

pytestmark = pytest.mark.django_db


def make_checkouts(n, *, start=BASE_TIME, **kwargs):
    """``n`` checkouts created a minute apart, oldest first."""
    return [
        checkout_payload(created_at=start + dt.timedelta(minutes=i), **kwargs) for i in range(n)
    ]


@pytest.fixture
def polar():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield PolarListStub().register(rsps)


def writes(queries):
    return [q["sql"] for q in queries if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))]


# -- services.sync_checkouts ----------------------------------------------------------------


def test_sync_walks_every_page_of_100(polar):
    polar.checkouts = make_checkouts(250)

    result = sync_checkouts()

    assert (result.created, result.updated, result.unchanged, result.pages) == (250, 0, 0, 3)
    assert CheckoutSession.objects.count() == 250
    assert polar.pages_requested() == [1, 2, 3]
    assert {q["limit"][0] for q in polar.queries} == {"100"}


def test_sync_rerun_changes_nothing(polar):
    polar.checkouts = make_checkouts(120)
    sync_checkouts()

    with CaptureQueriesContext(connection) as queries:
        result = sync_checkouts()

    assert (result.created, result.updated, result.unchanged) == (0, 0, 120)
    assert writes(queries.captured_queries) == []


def test_sync_counts_updates_only_for_newer_data(polar):
    polar.checkouts = make_checkouts(5)
    sync_checkouts()
    newer = {**polar.checkouts[0], "status": "succeeded", "modified_at": "2026-11-02T00:00:00Z"}
    older = {**polar.checkouts[1], "status": "expired", "modified_at": "2026-10-01T00:00:00Z"}
    polar.checkouts[0], polar.checkouts[1] = newer, older

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


def test_sync_queries_grow_with_pages_not_rows(polar):
    # 40 rows fit one INSERT and one UPDATE even under SQLite's 999-parameter limit.
    one_page, q_one = _sync_queries(polar, make_checkouts(40))
    many_rows, q_many = _sync_queries(
        polar, make_checkouts(2, start=BASE_TIME + dt.timedelta(days=10))
    )
    assert (one_page.pages, many_rows.pages) == (1, 1)
    assert len(q_one) == len(q_many) == 2  # SELECT … FOR UPDATE, one INSERT (or COPY)

    full_page, q_full = _sync_queries(
        polar, make_checkouts(100, start=BASE_TIME + dt.timedelta(days=20))
    )
    three_pages, q_three = _sync_queries(
        polar, make_checkouts(300, start=BASE_TIME + dt.timedelta(days=30))
    )
    assert (full_page.pages, three_pages.pages) == (1, 3)
    assert three_pages.created == 300
    # One read plus batched inserts per page (SQLite's parameter limit splits 100 rows
    # into a few batches; PostgreSQL inserts them in one): never one query per row.
    assert len(q_three) == 3 * len(q_full)
    assert len(q_full) <= 4


def test_sync_update_pages_use_a_constant_number_of_queries(polar):
    polar.checkouts = make_checkouts(40)
    sync_checkouts()
    polar.checkouts = [{**c, "modified_at": "2026-11-05T00:00:00Z"} for c in polar.checkouts]
    with CaptureQueriesContext(connection) as queries:
        result = sync_checkouts()
    assert result.updated == 40
    statements = data_queries(queries.captured_queries)
    assert [sql.split()[0] for sql in statements] == ["SELECT", "UPDATE"]


def test_sync_since_filters_and_stops_paging(polar):
    polar.checkouts = make_checkouts(300)  # newest first on Polar: pages 1..3
    since = BASE_TIME + dt.timedelta(minutes=150)

    result = sync_checkouts(since=since)

    assert result.created == 150
    assert CheckoutSession.objects.filter(created_at__lt=since).count() == 0
    # Page 2 holds the checkout created just before ``since``; page 3 is never read.
    assert polar.pages_requested() == [1, 2]


def test_sync_status_is_sent_and_applied_here_too(polar):
    polar.checkouts = [
        *make_checkouts(3, status="succeeded"),
        *make_checkouts(4, status="open", start=BASE_TIME + dt.timedelta(hours=1)),
    ]

    result = sync_checkouts(status="succeeded")

    assert result.created == 3
    assert set(CheckoutSession.objects.values_list("status", flat=True)) == {"succeeded"}
    assert polar.queries[0]["status"] == ["succeeded"]


def test_sync_status_with_a_current_server(polar):
    polar.honour_status = True
    polar.checkouts = [*make_checkouts(2, status="failed"), *make_checkouts(2, status="open")]
    assert sync_checkouts(status=["failed", "expired"]).created == 2
    assert polar.queries[0]["status"] == ["expired", "failed"]


def test_sync_sends_product_and_organization(polar):
    sync_checkouts(product_id=["p1", "p2"], organization_id="org-9")
    assert polar.queries[0]["product_id"] == ["p1", "p2"]
    assert polar.queries[0]["organization_id"] == ["org-9"]


def test_sync_error_keeps_the_pages_already_stored(polar):
    polar.checkouts = make_checkouts(250)
    polar.fail_on_page = 3
    seen: list[SyncResult] = []

    with pytest.raises(ServerError):
        sync_checkouts(progress=lambda r: seen.append(SyncResult(**vars(r))))

    assert CheckoutSession.objects.count() == 200
    assert [(r.pages, r.rows) for r in seen] == [(1, 100), (2, 200)]


def test_sync_skips_rows_without_a_valid_id(polar):
    polar.checkouts = [*make_checkouts(2), {**checkout_payload(), "id": "nope"}]
    assert sync_checkouts().created == 2


# -- the management command ----------------------------------------------------------------


class TTY(io.StringIO):
    def isatty(self):
        return True


def run(*args, stdout=None, stderr=None):
    stdout = stdout if stdout is not None else io.StringIO()
    stderr = stderr if stderr is not None else io.StringIO()
    call_command("polar_checkouts_sync", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def test_command_prints_a_summary_and_is_quiet_off_a_terminal(polar):
    polar.checkouts = make_checkouts(120)
    out, err = run()
    assert out.strip() == "created 120, updated 0, unchanged 0"
    assert err == ""

    out, err = run()
    assert out.strip() == "created 0, updated 0, unchanged 120"


def test_command_shows_progress_on_a_terminal(polar):
    polar.checkouts = make_checkouts(150)
    out, err = run(stdout=TTY())
    assert "pages 1, rows 100" in err
    assert "pages 2, rows 150" in err
    assert "rows/s" in err
    assert out.strip() == "created 150, updated 0, unchanged 0"


def test_command_verbosity_0_is_silent_even_on_a_terminal(polar):
    polar.checkouts = make_checkouts(3)
    out, err = run("-v", "0", stdout=TTY())
    assert (out, err) == ("", "")
    assert CheckoutSession.objects.count() == 3


def test_command_filters(polar, settings):
    settings.POLAR_ORGANIZATION_ID = "org-default"
    polar.checkouts = [
        *make_checkouts(2, status="succeeded"),
        *make_checkouts(2, status="open", start=BASE_TIME + dt.timedelta(hours=2)),
    ]
    out, _ = run("--status", "succeeded", "--product", "p1", "--since", "2026-10-01")
    assert out.strip() == "created 2, updated 0, unchanged 0"
    query = polar.queries[0]
    assert query["status"] == ["succeeded"]
    assert query["product_id"] == ["p1"]
    assert query["organization_id"] == ["org-default"]

    run("--organization", "org-other")
    assert polar.queries[-1]["organization_id"] == ["org-other"]


def test_command_polar_error_is_a_clear_command_error(polar):
    polar.checkouts = make_checkouts(150)
    polar.fail_on_page = 2
    polar.fail_status = 401

    with pytest.raises(CommandError) as excinfo:
        run()

    message = str(excinfo.value)
    assert "Polar sync stopped" in message
    assert "401" in message
    assert "100 checkout session(s)" in message
    assert isinstance(excinfo.value.__cause__, AuthenticationError)
    assert CheckoutSession.objects.count() == 100


def test_command_exits_non_zero_on_polar_errors(polar, capsys):
    polar.fail_on_page = 1
    with pytest.raises(SystemExit) as excinfo:
        execute_from_command_line(["manage.py", "polar_checkouts_sync"])
    assert excinfo.value.code == 1
    err = capsys.readouterr().err
    assert "Polar sync stopped" in err
    assert "Nothing was stored." in err


def test_command_rejects_a_bad_since():
    with pytest.raises(CommandError, match="--since must be an ISO date"):
        run("--since", "yesterday")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01", dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)),
        ("2026-11-01T08:30:00Z", dt.datetime(2026, 11, 1, 8, 30, tzinfo=dt.timezone.utc)),
        ("2026-11-01T08:30:00", dt.datetime(2026, 11, 1, 8, 30, tzinfo=dt.timezone.utc)),
        (
            "2026-11-01T08:30:00+02:00",
            dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.timezone.utc),
        ),
    ],
)
def test_parse_since(text, expected):
    assert parse_since(text) == expected


@pytest.mark.parametrize("text", ["2026-13-01", "2026-02-30T00:00:00", "soon"])
def test_parse_since_rejects_invalid_dates(text):
    with pytest.raises(CommandError):
        parse_since(text)


def test_command_against_the_fake_polar(polar_fake):
    from polar_checkouts.testing import PRODUCT_ONE_TIME_ID

    for _ in range(3):
        polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    out, _ = run()
    assert out.strip() == "created 3, updated 0, unchanged 0"

    polar_fake.inject(401, route="list")
    with pytest.raises(CommandError, match="Polar sync stopped: Polar answered 401"):
        run()
    assert CheckoutSession.objects.count() == 3


def test_a_failing_receiver_stops_the_sync_with_a_clear_error(polar):
    from io import StringIO

    from django.core.management import CommandError, call_command

    from polar_checkouts import signals

    polar.checkouts = make_checkouts(3)

    def broken(sender, **kwargs):
        raise RuntimeError("crm down")

    signals.checkout_updated.connect(broken)
    try:
        with pytest.raises(CommandError, match="crm down"):
            call_command("polar_checkouts_sync", stdout=StringIO(), stderr=StringIO())
    finally:
        signals.checkout_updated.disconnect(broken)
    assert CheckoutSession.objects.count() == 0
