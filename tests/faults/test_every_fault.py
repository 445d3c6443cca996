"""Every checkout operation under every fault, through the real client and service layer.

Each cell of the matrix (operation × fault) runs the service function over the real
:class:`~polar_checkouts.client.PolarClient` against the fake Polar and checks:

* the outcome the retry policy promises: GET and PATCH retry and succeed once the fault
  is gone; POST (``create``, ``client_confirm``) is never repeated once Polar may have
  processed it, and raises the specific :class:`~polar_checkouts.exceptions.PolarError`;
* how many calls reached the fake (a timed-out ``create`` reached it exactly once);
* the cache: a failed call leaves every row as it was and adds none; a successful one
  stores what Polar answered;
* no error message carries the access token or a client secret.

Status and body faults go through the in-process adapter; connection refused, a reset in
the middle of the body and a read timeout go over real sockets to the standalone fake
server. The outcomes are collected into the table of RELIABILITY.md: the last test
renders it from this run (filling in any cell a ``-k`` selection skipped), writes it to
``test-artifacts/fault-table.md`` and fails when the committed table differs. Run with
``POLAR_UPDATE_RELIABILITY=1`` to rewrite the committed table.

The second half does the same for the storefront: each view under a persistent fault
answers a page or JSON message the customer can act on, never a 500 or a traceback.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import urllib3.util.retry
from django.contrib.messages import get_messages
from django.test import Client, override_settings
from django.urls import reverse

from polar_checkouts import client as client_module
from polar_checkouts import services
from polar_checkouts.exceptions import (
    InvalidResponseError,
    PolarConnectionError,
    PolarError,
    PolarTimeoutError,
    RateLimitError,
    ServerError,
)
from polar_checkouts.models import CheckoutSession
from polar_checkouts.testing import (
    PRODUCT_ONE_TIME_ID,
    TOKEN_SUCCEEDED,
    FakePolar,
    FakeTransport,
    set_default_fake,
)
from polar_checkouts.testing.server import FakePolarServer

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
RELIABILITY = ROOT / "RELIABILITY.md"
ARTIFACT = ROOT / "test-artifacts" / "fault-table.md"
TOKEN = "polar_oat_test_token_never_shown"  # tests/settings.py

OPERATIONS = ("list", "create", "get", "update", "client_get", "client_update", "client_confirm")
#: Operations sent as GET or PATCH: the client retries them.
RETRIED = frozenset({"list", "get", "update", "client_get", "client_update"})


@dataclass(frozen=True)
class Fault:
    """One fault: how to arm it on the fake, and whether it needs real sockets."""

    key: str
    label: str
    status: int | None = None
    fault: str | None = None
    retry_after: float | None = None
    sockets: bool = False
    body: bytes | None = None

    def arm(self, fake: FakePolar, route: str, **options: Any) -> None:
        """Inject this fault on ``route``; ``options`` (``times``, ``hang``) go to ``inject``."""
        fake.inject(
            self.status,
            fault=self.fault,
            route=route,
            retry_after=self.retry_after,
            body=self.body,
            **options,
        )


HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Error</title></head><body>"
    b"<h1>Something went wrong</h1><p>Please try again later.</p></body></html>"
)

FAULTS = (
    Fault("429", "429 with `Retry-After: 1`", status=429, retry_after=1),
    Fault("500", "500", status=500),
    Fault("502", "502", status=502),
    Fault("503", "503", status=503),
    Fault("504", "504", status=504),
    Fault("refused", "connection refused (socket)", fault="refused", sockets=True),
    Fault("reset", "connection reset mid-response (socket)", fault="reset", sockets=True),
    Fault("timeout", "read timeout (socket)", fault="timeout", sockets=True),
    Fault("malformed_json", "200, malformed JSON", fault="malformed_json"),
    Fault("html_502", "502, HTML error page (proxy)", status=502, fault="html"),
    Fault("html_200", "200, HTML page", fault="html", body=HTML_PAGE),
    Fault("missing_keys", "200, required keys missing", fault="missing_keys"),
)
FAULTS_BY_KEY = {fault.key: fault for fault in FAULTS}


def expected_outcome(op: str, fault: Fault) -> tuple[type[PolarError] | None, int]:
    """The promise: (error class or None for success, calls the fake must have seen)."""
    if fault.key == "refused":
        return None, 1  # never connected: every method may retry; the fake sees the retry
    if fault.key == "500":
        return ServerError, 1  # a 500 is Polar's bug, not a blip: no operation retries it
    if fault.key in ("malformed_json", "html_200", "missing_keys"):
        return InvalidResponseError, 1  # a 200 is an answer: nothing retries it
    if op in RETRIED:
        return None, 2  # one failed attempt, one successful retry
    return {
        "429": RateLimitError,
        "502": ServerError,
        "503": ServerError,
        "504": ServerError,
        "html_502": ServerError,
        "reset": PolarConnectionError,
        "timeout": PolarTimeoutError,
    }[fault.key], 1


# -- environments: the in-process fake, or the standalone server over sockets ---------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def in_process() -> Iterator[FakePolar]:
    """Every client built inside talks to a fresh fake through the in-process adapter."""
    fake = FakePolar()
    previous = set_default_fake(fake)
    try:
        with client_module.default_transport(FakeTransport(fake)):
            yield fake
    finally:
        set_default_fake(previous)
        fake.close()


@contextmanager
def over_sockets(*, start_on_first_retry: bool = False) -> Iterator[FakePolar]:
    """A standalone fake server on a loopback port, with short timeouts and no real sleeps.

    ``start_on_first_retry``: nothing listens on the port at first (the connection is
    refused for real); the server starts when the retry policy counts the failure.
    """
    fake = FakePolar()
    port = _free_port()
    servers: list[FakePolarServer] = []
    increment = client_module.PolarRetry.increment

    def start() -> None:
        if not servers:
            servers.append(FakePolarServer(fake, port=port).start())

    def start_then_increment(self: Any, *args: Any, **kwargs: Any) -> Any:
        start()
        return increment(self, *args, **kwargs)

    def no_sleep(seconds: float) -> None:
        pass

    if not start_on_first_retry:
        start()
    client_module.reset_client_cache()
    try:
        with (
            override_settings(
                POLAR_SERVER=f"http://127.0.0.1:{port}",
                POLAR_TIMEOUT=(2.0, 1.0),  # generous: a loaded machine must not time out the retry
                POLAR_MAX_RETRIES=2,
            ),
            mock.patch.object(urllib3.util.retry.time, "sleep", no_sleep),
            mock.patch.object(
                client_module.PolarRetry,
                "increment",
                start_then_increment if start_on_first_retry else increment,
            ),
        ):
            yield fake
    finally:
        for server in servers:
            server.stop()
        client_module.reset_client_cache()


# -- one cell ---------------------------------------------------------------------------------

NEW_NAME = "Grace Hopper"
CONFIRM = {
    "customer_email": "ada@example.com",
    "customer_name": "Ada Lovelace",
    "customer_billing_address": {"country": "FR"},
    "confirmation_token_id": TOKEN_SUCCEEDED,
}


def _snapshot() -> dict[str, tuple[Any, ...]]:
    return {
        str(row.pk): (row.status, row.customer_name, row.modified_at, row.payload)
        for row in CheckoutSession.objects.all()
    }


def _call(op: str, checkout: dict[str, Any]) -> Any:
    secret = checkout["client_secret"]
    if op == "list":
        return services.sync_checkouts()
    if op == "create":
        return services.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    if op == "get":
        return services.refresh_checkout(checkout["id"])
    if op == "update":
        return services.update_checkout(checkout["id"], {"customer_name": NEW_NAME})
    if op == "client_get":
        return services.client_get(secret)
    if op == "client_update":
        return services.client_update(secret, {"customer_name": NEW_NAME})
    return services.client_confirm(secret, CONFIRM)


def _check_success(op: str, fake: FakePolar, cached: dict[str, Any], result: Any) -> None:
    row = CheckoutSession.objects.get(pk=cached["id"])
    polar = fake.checkout(cached["id"])
    if op == "list":
        for checkout in fake.checkouts():
            assert CheckoutSession.objects.get(pk=checkout["id"]).status == checkout["status"]
    elif op == "create":
        assert CheckoutSession.objects.filter(pk=result.pk).exists()
        assert result.status == fake.checkout(str(result.pk))["status"] == "open"
    elif op in ("update", "client_update"):
        assert row.customer_name == polar["customer_name"] == NEW_NAME
    elif op == "client_confirm":
        assert row.status == "confirmed"
        assert polar["status"] in ("confirmed", "succeeded")
        assert "customer_session_token" not in row.payload
    else:
        assert row.status == polar["status"]
        assert row.modified_at is not None or polar["modified_at"] is None


def run_cell(op: str, fault: Fault) -> str:
    """Run one operation under one fault, assert the promise, and return the table cell."""
    environment = (
        over_sockets(start_on_first_retry=fault.key == "refused") if fault.sockets else in_process()
    )
    with environment as fake:
        CheckoutSession.objects.all().delete()
        first = fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID, customer_email="a@b.io")
        # A second checkout Polar has and the cache does not: a sync must bring it in.
        fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
        cached = fake.checkout(first["id"])
        CheckoutSession.objects.upsert_from_polar(cached)
        before = _snapshot()
        checkouts_before = len(fake.checkouts())
        if fault.key != "refused":  # refused for real: nothing listens yet
            fault.arm(fake, op, hang=5.0)

        error: PolarError | None = None
        result: Any = None
        try:
            result = _call(op, cached)
        except PolarError as exc:
            error = exc
        calls = len(fake.calls(op))

        expected_error, expected_calls = expected_outcome(op, fault)
        where = f"{op} under {fault.key}"
        if expected_error is None:
            assert error is None, f"{where}: expected a successful retry, got {error!r}"
            _check_success(op, fake, cached, result)
        else:
            assert type(error) is expected_error, (
                f"{where}: expected {expected_error}, got {error!r}"
            )
            # Nothing half-written: every row as it was, none added.
            assert _snapshot() == before, f"{where}: the cache changed"
            message = str(error)
            assert TOKEN not in message
            assert cached["client_secret"] not in message
        assert calls == expected_calls, f"{where}: the fake saw {calls} calls"
        if op == "create":
            # Polar has no idempotency keys: one create never makes a second checkout.
            made = len(fake.checkouts()) - checkouts_before
            assert made == 1 if error is None else made <= 1, f"{where}: {made} checkouts"
        if fault.key == "429" and error is None:
            assert fake.sleeps == [1.0]  # the adapter honoured Retry-After
        if isinstance(error, RateLimitError):
            assert error.retry_after == 1

    plural = "call" if calls == 1 else "calls"
    if error is None:
        return f"ok ({calls} {plural})" if calls == 1 else f"ok after retry ({calls} {plural})"
    return f"`{type(error).__name__}` ({calls} {plural})"


# -- the matrix ---------------------------------------------------------------------------------

RESULTS: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize("op", OPERATIONS)
@pytest.mark.parametrize("fault_key", [fault.key for fault in FAULTS])
def test_operation_under_fault(op, fault_key):
    RESULTS[(fault_key, op)] = run_cell(op, FAULTS_BY_KEY[fault_key])


def test_refused_for_good_gives_a_connection_error_and_no_row():
    """Nothing ever listens: every retry is refused, the error names the cause."""
    port = _free_port()
    client_module.reset_client_cache()
    with (
        override_settings(POLAR_SERVER=f"http://127.0.0.1:{port}", POLAR_MAX_RETRIES=2),
        mock.patch.object(urllib3.util.retry.time, "sleep"),
        pytest.raises(PolarConnectionError) as caught,
    ):
        services.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    assert "refused" in str(caught.value).lower()
    assert CheckoutSession.objects.count() == 0


def test_timed_out_confirm_is_found_confirmed_by_the_next_read():
    """A confirm whose answer was lost is not repeated; the next read shows it went through."""
    with over_sockets() as fake:
        created = fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
        secret = created["client_secret"]
        services.client_get(secret)
        fake.inject(fault="timeout", route="client_confirm", hang=5.0)
        with pytest.raises(PolarTimeoutError):
            services.client_confirm(secret, CONFIRM)
        assert len(fake.calls("client_confirm")) == 1
        assert CheckoutSession.objects.get(pk=created["id"]).status == "open"
        services.client_get(secret)
    assert CheckoutSession.objects.get(pk=created["id"]).status in ("confirmed", "succeeded")


# -- the storefront under persistent faults -------------------------------------------------

#: Views, the Polar operation each depends on, and how to call it.
VIEWS = ("create", "checkout page", "client GET", "client PATCH", "confirm", "status", "success")
VIEW_OPERATION = {
    "create": "create",
    "checkout page": "client_get",
    "client GET": "client_get",
    "client PATCH": "client_update",
    "confirm": "client_confirm",
    "status": "client_get",
    "success": "get",
}
#: What a customer can act on, by response kind.
RETRY_HINTS = ("try again", "reload", "check again")


def _request_view(view: str, http: Client, checkout: dict[str, Any]) -> Any:
    secret = checkout["client_secret"]
    if view == "create":
        return http.post(
            reverse("polar_checkouts:create"),
            {"product_id": PRODUCT_ONE_TIME_ID, "next": "/shop/item/"},
        )
    if view == "checkout page":
        return http.get(reverse("polar_checkouts:checkout", args=[secret]))
    if view == "client GET":
        return http.get(reverse("polar_checkouts:client", args=[secret]))
    if view == "client PATCH":
        return http.patch(
            reverse("polar_checkouts:client", args=[secret]),
            data=b'{"customer_name": "Grace"}',
            content_type="application/json",
        )
    if view == "confirm":
        return http.post(
            reverse("polar_checkouts:client-confirm", args=[secret]),
            data=b'{"confirmation_token_id": "ctoken_fake_succeeded"}',
            content_type="application/json",
        )
    if view == "status":
        return http.get(reverse("polar_checkouts:status", args=[secret]))
    return http.get(reverse("polar_checkouts:success") + f"?checkout_id={checkout['id']}")


def run_view_cell(view: str, fault: Fault) -> str:
    """One storefront view while Polar keeps failing; returns the table cell."""
    op = VIEW_OPERATION[view]
    with in_process() as fake:
        CheckoutSession.objects.all().delete()
        checkout = fake.create_checkout(
            product_id=PRODUCT_ONE_TIME_ID,
            customer_email=CONFIRM["customer_email"],
            customer_name=CONFIRM["customer_name"],
            customer_billing_address=CONFIRM["customer_billing_address"],
        )
        rows_before = CheckoutSession.objects.count()
        # Persistent: more failures than the client has retries.
        fault.arm(fake, op, times=20, hang=0)
        http = Client(raise_request_exception=False)
        response = _request_view(view, http, checkout)

    where = f"{view} under {fault.key}"
    body = response.content.decode()
    assert response.status_code != 500, where
    assert "Traceback" not in body, where
    assert "Exception" not in body, where
    assert TOKEN not in body, where
    assert CheckoutSession.objects.count() == rows_before, f"{where}: a row was stored"
    if response["Content-Type"].startswith("application/json"):
        data = response.json()
        assert 400 <= response.status_code < 600, where
        assert isinstance(data["detail"], str), where
        assert data["detail"], where
        if response.status_code == 429:
            assert response["Retry-After"] == "1"
        return f"{response.status_code} JSON"
    if response.status_code == 303:
        # Back to the page the customer came from, with a message saying what to do.
        assert response["Location"] == "/shop/item/", where
        shown = " ".join(str(m) for m in get_messages(response.wsgi_request)).lower()
        assert "try again" in shown or "wait a minute" in shown, where
        return "303 back + message"
    assert response.status_code == 503, where
    assert any(hint in body.lower() for hint in RETRY_HINTS), where
    if 'data-polar-state="busy"' in body:
        # Polar's own limit (issue 16): the page says how long, and so does Retry-After;
        # "Try again" leads back where the shopper was (this page for a GET).
        assert response["Retry-After"] == "1", where
        assert "try again in 1 second" in body, where
        back = "/shop/item/" if view == "create" else response.wsgi_request.get_full_path()
        assert f'href="{back}"' in body, f"{where}: no link to try again"
        return "503 busy page + `Retry-After`"
    assert 'href=""' in body, f"{where}: no link to try again"
    return "503 page"


VIEW_RESULTS: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("fault_key", [fault.key for fault in FAULTS])
def test_storefront_view_under_fault(view, fault_key):
    VIEW_RESULTS[(fault_key, view)] = run_view_cell(view, FAULTS_BY_KEY[fault_key])


def test_status_answers_from_the_cache_while_polar_is_down(polar_fake):
    """The page's poll keeps working from the cached row when Polar cannot be read."""
    checkout = polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    CheckoutSession.objects.upsert_from_polar(polar_fake.checkout(checkout["id"]))
    polar_fake.inject(503, route="client_get", times=20)
    response = Client().get(reverse("polar_checkouts:status", args=[checkout["client_secret"]]))
    assert response.status_code == 200
    assert response.json()["status"] == "open"


def test_validation_error_with_an_unreadable_body_still_explains(polar_fake):
    """A 422 whose body is not Polar's JSON still gets the buyer a message to act on."""
    checkout = polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    polar_fake.inject(422, fault="html", route="client_update")
    response = Client(raise_request_exception=False).patch(
        reverse("polar_checkouts:client", args=[checkout["client_secret"]]),
        data=b'{"customer_name": "Grace"}',
        content_type="application/json",
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert detail
    assert "<html" not in detail.lower()


def test_nan_or_infinity_in_an_answer_is_an_invalid_response(polar_fake):
    """Not JSON, and not storable: refused before it reaches the cache."""
    checkout = polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    CheckoutSession.objects.upsert_from_polar(polar_fake.checkout(checkout["id"]))
    before = _snapshot()
    body = json.dumps(polar_fake.checkout(checkout["id"])).replace(
        '"amount": 1900', '"amount": NaN'
    )
    assert "NaN" in body
    polar_fake.inject(200, route="get", body=body.encode())
    with pytest.raises(InvalidResponseError):
        services.refresh_checkout(checkout["id"])
    assert _snapshot() == before


# -- the committed table ------------------------------------------------------------------------

TABLE_START = "<!-- fault-table:start (generated by tests/faults/test_every_fault.py) -->"
TABLE_END = "<!-- fault-table:end -->"


def _table(
    results: dict[tuple[str, str], str], columns: tuple[str, ...], header: str, *, code: bool
) -> list[str]:
    names = [f"`{column}`" if code else column for column in columns]
    lines = [
        f"| {header} | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for fault in FAULTS:
        cells = [results[(fault.key, column)] for column in columns]
        # The storefront table runs every fault in-process: the view only sees the error.
        label = fault.label if code else fault.label.replace(" (socket)", "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def render_tables(
    results: dict[tuple[str, str], str], view_results: dict[tuple[str, str], str]
) -> str:
    """The Markdown between the markers of RELIABILITY.md."""
    lines = [
        TABLE_START,
        "",
        "Service layer over the real client (fault armed once; calls = requests the fake saw):",
        "",
        *_table(results, OPERATIONS, "fault ↓ / operation →", code=True),
        "",
        "Storefront views while the fault persists (every retry fails too):",
        "",
        *_table(view_results, VIEWS, "fault ↓ / view →", code=False),
        "",
        TABLE_END,
    ]
    return "\n".join(lines)


def _fill(
    results: dict[tuple[str, str], str],
    keys: Callable[[], list[tuple[str, str]]],
    run: Callable[[str, Fault], str],
) -> None:
    for fault_key, column in keys():
        if (fault_key, column) not in results:
            results[(fault_key, column)] = run(column, FAULTS_BY_KEY[fault_key])


def test_committed_fault_table_matches_this_run():
    """RELIABILITY.md's table is what this run produced (cells not run above run here)."""
    _fill(RESULTS, lambda: [(f.key, op) for f in FAULTS for op in OPERATIONS], run_cell)
    _fill(VIEW_RESULTS, lambda: [(f.key, v) for f in FAULTS for v in VIEWS], run_view_cell)
    table = render_tables(RESULTS, VIEW_RESULTS)
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(table + "\n")

    text = RELIABILITY.read_text()
    start, end = text.index(TABLE_START), text.index(TABLE_END) + len(TABLE_END)
    if os.environ.get("POLAR_UPDATE_RELIABILITY") == "1":
        RELIABILITY.write_text(text[:start] + table + text[end:])
        text = RELIABILITY.read_text()
        start, end = text.index(TABLE_START), text.index(TABLE_END) + len(TABLE_END)
    assert text[start:end] == table, (
        f"RELIABILITY.md's fault table is stale; the run's table is in {ARTIFACT}. "
        "Rerun with POLAR_UPDATE_RELIABILITY=1 to update it."
    )
