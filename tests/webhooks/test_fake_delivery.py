"""The in-process fake (``POLAR_SERVER = "fake"``) delivers its webhooks to the site.

With ``POLAR_FAKE_WEBHOOK_URL`` set, the default fake signs each event and POSTs it from a
background thread after the call that caused it, retrying a delivery the site refuses:
the webhook log, the signals and the admin fill up as with Polar, and a failing endpoint
never holds up or breaks the shopper's request.
"""

from __future__ import annotations

import http.server
import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from django.urls import reverse

from polar_checkouts import services
from polar_checkouts.models import CheckoutSession, WebhookEvent, WebhookOutcome
from polar_checkouts.testing import PRODUCT_ONE_TIME_ID, TOKEN_SUCCEEDED, FakePolar
from polar_checkouts.testing.default import get_default_fake, set_default_fake
from polar_checkouts.testing.webhooks import polar_webhook
from tests.webhook_helpers import SECRET

pytestmark = pytest.mark.slow

BUYER = {
    "confirmation_token_id": TOKEN_SUCCEEDED,
    "customer_name": "Ada Lovelace",
    "customer_email": "ada@example.com",
    "customer_billing_address": {"country": "GB"},
}


@pytest.fixture
def site_fake(settings) -> Iterator[Callable[[str | None], FakePolar]]:
    """Make the default fake from settings pointing at ``url``, as the demo does."""
    made: list[FakePolar] = []
    previous = set_default_fake(None)
    settings.POLAR_SERVER = "fake"
    settings.POLAR_WEBHOOK_SECRET = SECRET
    services.clear_catalogue_cache()

    def make(url: str | None) -> FakePolar:
        settings.POLAR_FAKE_WEBHOOK_URL = url
        set_default_fake(None)
        made.append(get_default_fake())
        return made[-1]

    yield make
    for fake in made:
        fake.close()
    set_default_fake(previous)
    services.clear_catalogue_cache()


class Gate:
    """Holds the fake's deliveries while the test thread uses the database.

    The live server shares the test's in-memory SQLite connection, so a delivery processed
    while the test thread writes would interleave their transactions (PostgreSQL would not
    care). The deliveries themselves are untouched: real HTTP, real endpoint.
    """

    def __init__(self, fake: FakePolar) -> None:
        assert fake.webhook is not None
        self.open = threading.Event()
        self.fake = fake
        send = fake.webhook.sender

        def gated(*args):
            self.open.wait(15)
            return send(*args)

        fake.webhook.sender = gated

    def settle(self, count: int, timeout: float = 15.0) -> list:
        """Let deliveries through until ``count`` events exist and every one is done."""
        deadline = time.monotonic() + timeout
        self.open.set()
        while time.monotonic() < deadline:
            events = list(self.fake.events)
            if len(events) >= count and all(e.state in ("delivered", "failed") for e in events):
                self.open.clear()
                # One that slipped through before the gate closed is waited for too.
                if all(e.state in ("delivered", "failed") for e in self.fake.events):
                    return list(self.fake.events)
                self.open.set()
            time.sleep(0.02)
        raise AssertionError([(e.type, e.state, e.attempts) for e in self.fake.events])


@pytest.mark.django_db(transaction=True)
def test_a_purchase_through_the_fake_fills_the_webhook_log(
    live_server, site_fake, signal_log, client
):
    fake = site_fake(live_server.url + reverse("polar_checkouts:webhook"))
    gate = Gate(fake)

    # The shopper's side only: the storefront creates, the buyer's browser confirms.
    created = client.post(reverse("polar_checkouts:create"), {"product_id": PRODUCT_ONE_TIME_ID})
    assert created.status_code == 303
    (first,) = gate.settle(1)
    checkout = CheckoutSession.objects.get()
    services.client_confirm(checkout.client_secret or "", BUYER)
    # Nothing calls Polar again: the fake's clock settles the payment on its own.
    events = gate.settle(8)

    # Polar's order of events for a paid one-time checkout (the fake follows Polar's server
    # since issue 13: the customer and its state, and the order's update before it is paid).
    assert [e.type for e in events] == [
        "checkout.created",
        "customer.created",
        "customer.state_changed",
        "checkout.updated",
        "checkout.updated",
        "order.created",
        "order.updated",
        "order.paid",
    ]
    assert all(e.state == "delivered" for e in events)
    # Each went through the real endpoint and its signature check, and was processed.
    rows = WebhookEvent.objects.order_by("received_at")
    assert [r.webhook_id for r in rows] == [e.id for e in events]
    assert {r.outcome for r in rows} == {WebhookOutcome.PROCESSED}
    assert rows[0].webhook_id == first.id
    for event in events:
        attempt = event.attempts[-1]
        assert polar_webhook(SECRET).verify(event.body, attempt.headers)["type"] == event.type
    # Only the webhooks told this site about the success.
    assert CheckoutSession.objects.get().status == "succeeded"
    assert [c["checkout"].pk for c in signal_log["checkout_succeeded"]] == [checkout.pk]
    assert len(signal_log["order_paid"]) == 1


class _Endpoint(http.server.BaseHTTPRequestHandler):
    server: EndpointServer

    def do_POST(self) -> None:
        server = self.server
        self.rfile.read(int(self.headers["content-length"]))
        server.received.append(self.headers["webhook-id"])
        server.release.wait(10)
        status = server.statuses.pop(0) if server.statuses else 200
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class EndpointServer(http.server.ThreadingHTTPServer):
    """A webhook endpoint that holds each delivery until ``release`` is set, then answers
    the next of ``statuses`` (200 once they are used up)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Endpoint)
        self.received: list[str] = []
        self.statuses: list[int] = []
        self.release = threading.Event()


@pytest.fixture
def endpoint() -> Iterator[EndpointServer]:
    server = EndpointServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.django_db
def test_a_slow_and_failing_endpoint_never_holds_up_the_shopper(site_fake, endpoint, client):
    fake = site_fake(f"http://127.0.0.1:{endpoint.server_address[1]}/hook")
    endpoint.statuses = [500, 503]

    created = client.post(reverse("polar_checkouts:create"), {"product_id": PRODUCT_ONE_TIME_ID})

    # The shopper has the checkout page's address while the delivery is still held open.
    assert created.status_code == 303
    wait_for(lambda: endpoint.received)
    assert not endpoint.release.is_set()
    (event,) = fake.events
    assert event.attempts == []  # the attempt is still in flight
    endpoint.release.set()

    # 500, then 503, then 200: retried 1 s, then 2 s later on the fake's clock.
    wait_for(lambda: len(event.attempts) == 1)
    fake.advance_time(1)
    wait_for(lambda: len(event.attempts) == 2)
    fake.advance_time(2)
    wait_for(lambda: event.state == "delivered")
    assert [a.status for a in event.attempts] == [500, 503, 200]
    assert endpoint.received == [event.id] * 3
    assert (event.attempts[1].at - event.attempts[0].at).total_seconds() >= 1


@pytest.mark.django_db
def test_an_unreachable_endpoint_is_given_up_after_five_attempts(site_fake, client, caplog):
    with socket_closed_port() as port:
        fake = site_fake(f"http://127.0.0.1:{port}/hook")
        caplog.set_level(logging.WARNING, logger="polar_checkouts.testing")
        created = client.post(
            reverse("polar_checkouts:create"), {"product_id": PRODUCT_ONE_TIME_ID}
        )
        assert created.status_code == 303
        (event,) = fake.events
        for tried in range(1, 5):
            wait_for(lambda tried=tried: len(event.attempts) == tried)
            fake.advance_time(2**tried)  # the wait Polar's backoff asks for
        wait_for(lambda: event.state == "failed")
    assert len(event.attempts) == 5
    assert all(a.status is None and "Connection" in (a.error or "") for a in event.attempts)
    assert "gave up delivering checkout.created" in caplog.text
    # The shop still works with Polar: its own calls never depended on the deliveries.
    assert services.refresh_checkout(CheckoutSession.objects.get().pk).status == "open"


class socket_closed_port:
    """A loopback port nothing listens on (bound, then closed)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        return None


def test_the_worker_survives_a_broken_round(monkeypatch, caplog):
    fake = FakePolar()
    received: list[str] = []

    def sender(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        received.append(headers["webhook-id"])
        return 200

    fake.configure_webhooks(
        "http://site.invalid/hook", SECRET, delivery="background", sender=sender
    )
    deliver = fake.deliver_webhooks
    broken = [True]

    def once_broken(**kwargs):
        if broken.pop() if broken else False:
            raise RuntimeError("a bug in one round")
        return deliver(**kwargs)

    monkeypatch.setattr(fake, "deliver_webhooks", once_broken)
    try:
        with caplog.at_level(logging.ERROR, logger="polar_checkouts.testing"):
            fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
            wait_for(lambda: received)
        assert "a webhook delivery round failed" in caplog.text
        assert received == [fake.events[0].id]
    finally:
        fake.close()


@pytest.mark.parametrize("url", [None, "", "  "])
def test_no_url_no_deliveries(site_fake, url):
    fake = site_fake(url)
    assert fake.webhook is None


def test_a_url_without_a_secret_delivers_nothing_and_says_why(site_fake, settings, caplog):
    settings.POLAR_WEBHOOK_SECRET = None
    with caplog.at_level(logging.WARNING, logger="polar_checkouts.testing"):
        fake = site_fake("http://127.0.0.1:1/hook")
    assert fake.webhook is None
    assert "POLAR_WEBHOOK_SECRET is not" in caplog.text


def test_the_first_of_rotating_secrets_signs(site_fake, settings):
    settings.POLAR_WEBHOOK_SECRET = ["polar_whs_new", "polar_whs_old"]
    fake = site_fake("http://127.0.0.1:1/hook")
    assert fake.webhook is not None
    assert (fake.webhook.secret, fake.webhook_delivery) == ("polar_whs_new", "background")
