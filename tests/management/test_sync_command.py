"""``manage.py polar_checkouts_sync``: a thin command over ``services.sync_checkouts``."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command, execute_from_command_line

from polar_checkouts.exceptions import AuthenticationError
from polar_checkouts.management.commands.polar_checkouts_sync import parse_since
from polar_checkouts.models import CheckoutSession
from tests.polar_payloads import BASE_TIME, checkout_payloads

pytestmark = pytest.mark.django_db


class TTY(io.StringIO):
    def isatty(self):
        return True


def run(*args, stdout=None, stderr=None):
    stdout = stdout if stdout is not None else io.StringIO()
    stderr = stderr if stderr is not None else io.StringIO()
    call_command("polar_checkouts_sync", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def test_command_prints_a_summary_and_is_quiet_off_a_terminal(polar_list):
    polar_list.checkouts = checkout_payloads(120)
    out, err = run()
    assert out.strip() == "created 120, updated 0, unchanged 0"
    assert err == ""

    out, err = run()
    assert out.strip() == "created 0, updated 0, unchanged 120"


def test_command_shows_progress_on_a_terminal(polar_list):
    polar_list.checkouts = checkout_payloads(150)
    out, err = run(stdout=TTY())
    assert "pages 1, rows 100" in err
    assert "pages 2, rows 150" in err
    assert "rows/s" in err
    assert out.strip() == "created 150, updated 0, unchanged 0"


def test_command_verbosity_0_is_silent_even_on_a_terminal(polar_list):
    polar_list.checkouts = checkout_payloads(3)
    out, err = run("-v", "0", stdout=TTY())
    assert (out, err) == ("", "")
    assert CheckoutSession.objects.count() == 3


def test_command_filters(polar_list, settings):
    settings.POLAR_ORGANIZATION_ID = "org-default"
    polar_list.checkouts = [
        *checkout_payloads(2, status="succeeded"),
        *checkout_payloads(2, status="open", start=BASE_TIME + dt.timedelta(hours=2)),
    ]
    out, _ = run("--status", "succeeded", "--product", "p1", "--since", "2026-10-01")
    assert out.strip() == "created 2, updated 0, unchanged 0"
    query = polar_list.queries[0]
    assert query["status"] == ["succeeded"]
    assert query["product_id"] == ["p1"]
    assert query["organization_id"] == ["org-default"]

    run("--organization", "org-other")
    assert polar_list.queries[-1]["organization_id"] == ["org-other"]


def test_command_polar_error_is_a_clear_command_error(polar_list):
    polar_list.checkouts = checkout_payloads(150)
    polar_list.fail_on_page = 2
    polar_list.fail_status = 401

    with pytest.raises(CommandError) as excinfo:
        run()

    message = str(excinfo.value)
    assert "Polar sync stopped" in message
    assert "401" in message
    assert "100 checkout session(s)" in message
    assert isinstance(excinfo.value.__cause__, AuthenticationError)
    assert CheckoutSession.objects.count() == 100


def test_command_exits_non_zero_on_polar_errors(polar_list, capsys):
    polar_list.fail_on_page = 1
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


def test_a_failing_receiver_stops_the_sync_with_a_clear_error(polar_list):
    from io import StringIO

    from django.core.management import CommandError, call_command

    from polar_checkouts import signals

    polar_list.checkouts = checkout_payloads(3)

    def broken(sender, **kwargs):
        raise RuntimeError("crm down")

    signals.checkout_updated.connect(broken)
    try:
        with pytest.raises(CommandError, match="crm down"):
            call_command("polar_checkouts_sync", stdout=StringIO(), stderr=StringIO())
    finally:
        signals.checkout_updated.disconnect(broken)
    assert CheckoutSession.objects.count() == 0
