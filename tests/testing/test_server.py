"""The fake over real sockets: the standalone server, and the Django-mounted urls."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.urls import reverse

from polar_checkouts.client import PolarClient
from polar_checkouts.exceptions import (
    AuthenticationError,
    PolarConnectionError,
    PolarTimeoutError,
)
from polar_checkouts.testing import (
    PRODUCT_FREE_ID,
    PRODUCT_ONE_TIME_ID,
    TOKEN_REQUIRES_ACTION,
    TOKEN_SUCCEEDED,
    FakePolar,
    polar_webhook,
)
from polar_checkouts.testing.server import FakePolarServer
from tests.newer_python import import_from_311

BUYER = {
    "customer_email": "ada@example.com",
    "customer_name": "Ada",
    "customer_billing_address": {"country": "NL"},
}


@pytest.fixture
def server():
    running = FakePolarServer(FakePolar(), port=0).start()
    yield running
    running.stop()


@pytest.fixture
def polar(server):
    """The real client with its real HTTPAdapter, talking to the server over loopback."""
    return PolarClient("polar_oat_any", server=server.base_url, timeout=(2, 0.5), max_retries=1)


# -- standalone server -------------------------------------------------------------------


def test_full_checkout_over_http(server, polar):
    assert server.base_url.startswith("http://127.0.0.1:")
    checkout = polar.create({"product_id": PRODUCT_ONE_TIME_ID})
    assert checkout["url"].startswith(server.base_url + "/checkout/")
    public = polar.client_get(checkout["client_secret"])
    assert public["id"] == checkout["id"]
    confirmed = polar.client_confirm(
        checkout["client_secret"], {**BUYER, "confirmation_token_id": TOKEN_SUCCEEDED}
    )
    assert confirmed["status"] == "confirmed"
    assert polar.get(checkout["id"])["status"] == "succeeded"
    assert [c["id"] for c in polar.list().items] == [checkout["id"]]
    # The bearer token was sent on server routes only, and nothing else was needed.
    (create,) = server.fake.calls("create")
    assert create.headers["authorization"] == "Bearer polar_oat_any"
    assert "authorization" not in server.fake.calls("client_get")[0].headers


def test_server_routes_without_a_token_are_401(server):
    with pytest.raises(AuthenticationError):
        PolarClient(None, server=server.base_url, max_retries=0).list()


def test_requires_action_completed_by_the_browser_route(server, polar):
    checkout = polar.create({"product_id": PRODUCT_ONE_TIME_ID})
    secret = checkout["client_secret"]
    polar.client_confirm(secret, {**BUYER, "confirmation_token_id": TOKEN_REQUIRES_ACTION})
    assert polar.get(checkout["id"])["status"] == "confirmed"
    done = requests.post(f"{server.base_url}/_fake/actions/{secret}/complete", timeout=5)
    assert done.status_code == 200
    assert done.headers["Access-Control-Allow-Origin"] == "*"
    assert polar.get(checkout["id"])["status"] == "succeeded"


def test_a_real_read_timeout_on_create_is_not_retried(server, polar):
    server.fake.inject(fault="timeout", hang=3, route="create")
    with pytest.raises(PolarTimeoutError):
        polar.create({"product_id": PRODUCT_FREE_ID})
    assert len(server.fake.calls("create")) == 1
    assert len(server.fake.checkouts()) == 1


def test_a_real_read_timeout_on_get_is_retried(server, polar):
    checkout = server.fake.create_checkout(product_id=PRODUCT_FREE_ID)
    server.fake.inject(fault="timeout", hang=3, route="get")
    assert polar.get(checkout["id"])["id"] == checkout["id"]
    assert len(server.fake.calls("get")) == 2


def test_a_reset_in_the_middle_of_the_body(server, polar):
    server.fake.inject(fault="reset", route="create")
    with pytest.raises(PolarConnectionError):
        polar.create({"product_id": PRODUCT_FREE_ID})
    assert len(server.fake.checkouts()) == 1  # processed; the answer broke on the way
    checkout = server.fake.checkouts()[0]
    server.fake.inject(fault="reset", route="get")
    assert polar.get(checkout["id"])["id"] == checkout["id"]


@pytest.mark.parametrize("fault", ["disconnect", "refused"])
def test_dropped_connections(server, polar, fault):
    checkout = server.fake.create_checkout(product_id=PRODUCT_FREE_ID)
    server.fake.inject(fault=fault, route="get")
    assert polar.get(checkout["id"])["id"] == checkout["id"]  # GET is retried
    server.fake.inject(fault=fault, route="create")
    with pytest.raises(PolarConnectionError):
        polar.create({"product_id": PRODUCT_FREE_ID})  # POST is not
    assert len(server.fake.checkouts()) == 1


def test_cors_preflight_and_headers(server):
    response = requests.options(
        f"{server.base_url}/v1/checkouts/client/polar_c_x/confirm",
        headers={
            "Origin": "https://shop.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=5,
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == "content-type"
    products = requests.get(
        f"{server.base_url}/v1/products/", headers={"Authorization": "Bearer x"}, timeout=5
    )
    assert products.headers["Access-Control-Allow-Origin"] == "*"


class _CollectorServer(ThreadingHTTPServer):
    received: list[tuple[bytes, dict[str, str]]]
    statuses: list[int]


class _Collector(BaseHTTPRequestHandler):
    server: _CollectorServer

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((body, {k.lower(): v for k, v in self.headers.items()}))
        status = self.server.statuses.pop(0) if self.server.statuses else 204
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def collector():
    httpd = _CollectorServer(("127.0.0.1", 0), _Collector)
    httpd.received = []
    httpd.statuses = [500]  # the first delivery fails, the retry succeeds
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_background_webhooks_over_http_with_a_retry(collector, spec_checked):
    fake = FakePolar()
    url = f"http://127.0.0.1:{collector.server_address[1]}/hook"
    fake.configure_webhooks(url, "polar_whs_secret", delivery="background", backoff=0.2)
    with FakePolarServer(fake, port=0) as server:
        polar = PolarClient("t", server=server.base_url, max_retries=0)
        polar.create({"product_id": PRODUCT_FREE_ID})
        deadline = time.monotonic() + 10
        while len(collector.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(collector.received) == 2
    (first_body, first), (second_body, second) = collector.received
    assert first["webhook-id"] == second["webhook-id"]
    assert first_body == second_body
    payload = polar_webhook("polar_whs_secret").verify(second_body, second)
    assert payload["type"] == "checkout.created"
    (event,) = fake.events
    assert event.state == "delivered"
    spec_checked.check_event(event)


@pytest.mark.slow
def test_command_line_server_prints_its_url_and_products(collector):
    collector.statuses = []
    hook = f"http://127.0.0.1:{collector.server_address[1]}/hook"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "polar_checkouts.testing.server",
            "--port",
            "0",
            "--webhook-url",
            hook,
            "--webhook-secret",
            "polar_whs_cli",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        first = process.stdout.readline()
        assert first.startswith("Fake Polar listening on http://127.0.0.1:")
        base_url = first.split()[-1]
        lines = [process.stdout.readline() for _ in range(5)]
        assert any(PRODUCT_ONE_TIME_ID in line for line in lines)
        response = requests.get(
            f"{base_url}/v1/products/", headers={"Authorization": "Bearer x"}, timeout=5
        )
        assert response.json()["pagination"]["total_count"] == 4
        PolarClient("t", server=base_url).create({"product_id": PRODUCT_FREE_ID})
        deadline = time.monotonic() + 10
        while not collector.received and time.monotonic() < deadline:
            time.sleep(0.05)
        ((body, headers),) = collector.received
        assert polar_webhook("polar_whs_cli").verify(body, headers)["type"] == "checkout.created"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_command_line_needs_url_and_secret_together(capsys):
    from polar_checkouts.testing.server import main

    with pytest.raises(SystemExit):
        main(["--port", "0", "--webhook-url", "http://127.0.0.1:1/"])
    assert "go together" in capsys.readouterr().err


# -- Django-mounted urls ------------------------------------------------------------------


def test_mounted_urls_serve_the_test_s_fake(client, polar_fake):
    root = reverse("polar_fake:api-root")
    assert root == "/polar-fake/"
    checkout = polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    secret = checkout["client_secret"]
    response = client.get(f"{root}v1/checkouts/client/{secret}")
    assert response.status_code == 200
    assert response.json()["id"] == checkout["id"]
    assert response["Access-Control-Allow-Origin"] == "*"
    updated = client.patch(
        f"{root}v1/checkouts/custom/client/{secret}",
        data=json.dumps({"customer_name": "Browser"}),
        content_type="application/json",
    )
    assert updated.json()["customer_name"] == "Browser"
    confirmed = client.post(
        f"{root}v1/checkouts/client/{secret}/confirm",
        data=json.dumps({**BUYER, "confirmation_token_id": TOKEN_SUCCEEDED}),
        content_type="application/json",
    )
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "confirmed"
    assert polar_fake.checkout(checkout["id"])["status"] == "succeeded"


def test_mounted_urls_need_no_csrf_token_and_keep_auth_on_server_routes(polar_fake):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    root = reverse("polar_fake:api-root")
    assert browser.get(f"{root}v1/checkouts/").status_code == 401
    created = browser.post(
        f"{root}v1/checkouts/",
        data=json.dumps({"product_id": PRODUCT_FREE_ID}),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer anything",
    )
    assert created.status_code == 201
    index = browser.get(root)
    assert index.status_code == 200
    assert index.json()["name"] == "Fake Polar"


def test_mounted_urls_answer_cors_preflights(client):
    response = client.options(
        "/polar-fake/v1/checkouts/client/polar_c_x",
        HTTP_ORIGIN="https://shop.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="PATCH",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, accept",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "PATCH" in response["Access-Control-Allow-Methods"]
    assert response["Access-Control-Allow-Headers"] == "content-type, accept"


@pytest.mark.parametrize(("fault", "status"), [("timeout", 504), ("refused", 502), ("reset", 502)])
def test_mounted_urls_turn_transport_faults_into_gateway_errors(client, polar_fake, fault, status):
    polar_fake.inject(fault=fault, hang=0.01)
    response = client.get("/polar-fake/v1/products/", HTTP_AUTHORIZATION="Bearer x")
    assert response.status_code == status
    assert response["Access-Control-Allow-Origin"] == "*"


def test_a_client_can_use_the_mounted_urls_as_its_server(live_server, polar_fake):
    base = live_server.url + reverse("polar_fake:api-root")
    polar = PolarClient("t", server=base, max_retries=0)
    # The polar_fake fixture reroutes every client; use a plain adapter to go over HTTP.
    from requests.adapters import HTTPAdapter

    polar.session.mount("http://", HTTPAdapter())
    checkout = polar.create({"product_id": PRODUCT_ONE_TIME_ID})
    assert polar_fake.checkout(checkout["id"])["status"] == "open"
    assert polar.client_get(checkout["client_secret"])["id"] == checkout["id"]


# -- the official SDK cannot tell the difference ----------------------------------------------


def test_polar_sdk_talks_to_the_standalone_fake(server):
    """polar-sdk 1.x (API 2026-04, strict decoding) runs a paid checkout against the fake."""
    sdk = import_from_311("polar.v2026_04", package="polar-sdk")
    polar = sdk.Polar("polar_oat_any", base_url=server.base_url)
    checkout = polar.checkouts.create(products=[PRODUCT_ONE_TIME_ID])
    assert checkout.status == "open"
    assert polar.checkouts.get(checkout.id).amount == 1900
    public = polar.checkouts.client_get(checkout.client_secret)
    assert public.organization.name == "Fake Polar Demo Shop"
    updated = polar.checkouts.client_update(
        checkout.client_secret, customer_name="Ada", customer_billing_address={"country": "DE"}
    )
    assert updated.tax_amount == 361
    confirmed = polar.checkouts.client_confirm(
        checkout.client_secret,
        customer_email="ada@example.com",
        confirmation_token_id=TOKEN_SUCCEEDED,
    )
    assert confirmed.customer_session_token.startswith("polar_cst_")
    assert polar.checkouts.get(checkout.id).status == "succeeded"
    assert polar.checkouts.list().pagination.total_count == 1
    with pytest.raises(Exception) as caught:
        polar.checkouts.create(products=[])
    assert "422" in str(caught.value)
