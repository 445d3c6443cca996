"""How the client's requests travel: the transport seam, and the real network's retries.

The seam: ``PolarClient(transport=...)``, ``POLAR_TRANSPORT`` for ``get_client()``, and
the default transport a test double installs. Then the retry policy over real sockets:
timeouts, refusals and resets. ``responses`` cannot show these: a read timeout or a reset
only happens on a real connection, and only real connections go through urllib3's retry
loop.
"""

from __future__ import annotations

import json
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from django.test import override_settings
from requests.adapters import BaseAdapter, HTTPAdapter

from polar_checkouts.client import (
    FAKE_BASE_URL,
    PolarClient,
    PolarRetry,
    default_transport,
    get_client,
    http_transport,
    reset_client_cache,
    set_default_transport,
)
from polar_checkouts.conf import polar_settings
from polar_checkouts.exceptions import PolarConnectionError, PolarTimeoutError, ServerError
from polar_checkouts.testing import (
    PRODUCT_ONE_TIME_ID,
    FakePolar,
    FakePolarAdapter,
    FakeTransport,
    fake_transport,
)

CID = "0b6bd3fa-5d0c-4c57-9a9d-4b0c7c7a3f1e"
BODY = json.dumps({"id": CID, "status": "open", "client_secret": "polar_c_x"}).encode()


# -- the transport seam -----------------------------------------------------------------------


class RecordingAdapter(BaseAdapter):
    """A transport that answers every request with one checkout and keeps what it was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(
        self,
        request,
        stream=False,
        timeout=None,
        verify=True,
        cert=None,
        proxies=None,
    ):
        self.sent.append(request)
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "application/json"
        response._content = BODY
        response.request = request
        response.url = request.url
        return response

    def close(self) -> None:
        pass


#: Factories named by POLAR_TRANSPORT in the tests below, with the retries they received.
FACTORY_CALLS: list[object] = []
RECORDER = RecordingAdapter()


def recording_transport(retry):
    """A ``POLAR_TRANSPORT`` factory, named by its dotted path in a test below."""
    FACTORY_CALLS.append(retry)
    return RECORDER


def test_a_client_sends_through_the_adapter_it_is_given():
    adapter = RecordingAdapter()
    client = PolarClient("polar_oat_x", server="production", transport=adapter)
    assert client.get(CID)["id"] == CID
    (sent,) = adapter.sent
    assert sent.url == f"https://api.polar.sh/v1/checkouts/{CID}"
    assert sent.headers["Authorization"] == "Bearer polar_oat_x"
    assert client.session.get_adapter(client.base_url) is adapter


def test_a_transport_factory_receives_the_clients_retry_policy():
    received = []
    adapter = RecordingAdapter()

    def factory(retry):
        received.append(retry)
        return adapter

    client = PolarClient("t", max_retries=2, transport=factory)
    assert received == [client.retry]
    assert isinstance(client.retry, PolarRetry)
    assert client.retry.total == 2
    client.client_get("polar_c_secret")
    assert adapter.sent[0].headers.get("Authorization") is None


def test_without_a_transport_the_client_uses_the_network():
    client = PolarClient("t")
    adapter = client.session.get_adapter(client.base_url)
    assert type(adapter) is HTTPAdapter
    assert adapter.max_retries is client.retry
    assert type(http_transport(client.retry)) is HTTPAdapter


def test_the_default_transport_serves_clients_built_without_one_and_is_restored():
    adapter = RecordingAdapter()
    with default_transport(adapter):
        assert PolarClient("t").session.get_adapter(FAKE_BASE_URL) is adapter
        own = RecordingAdapter()
        # A client given its own transport keeps it.
        assert PolarClient("t", transport=own).session.get_adapter(FAKE_BASE_URL) is own
    assert type(PolarClient("t").session.get_adapter(FAKE_BASE_URL)) is HTTPAdapter
    assert set_default_transport(None) is None


def test_polar_transport_dotted_path_is_honoured_by_get_client():
    FACTORY_CALLS.clear()
    RECORDER.sent.clear()
    with override_settings(
        POLAR_TRANSPORT="tests.test_transport.recording_transport", POLAR_MAX_RETRIES=1
    ):
        assert polar_settings.transport_factory is recording_transport
        client = get_client()
        assert get_client() is client  # built once while the settings stay the same
        assert client.get(CID)["id"] == CID
    assert [client.retry] == FACTORY_CALLS
    assert [r.url for r in RECORDER.sent] == [f"https://sandbox-api.polar.sh/v1/checkouts/{CID}"]
    # Other settings, another client: the network again.
    assert get_client() is not client
    assert type(get_client().session.get_adapter(client.base_url)) is HTTPAdapter


def test_polar_transport_may_be_a_callable():
    FACTORY_CALLS.clear()
    with override_settings(POLAR_TRANSPORT=recording_transport):
        assert get_client().session.get_adapter(FAKE_BASE_URL) is RECORDER
    assert len(FACTORY_CALLS) == 1


def test_transport_factory_defaults():
    assert polar_settings.transport_factory is None  # tests/settings.py: sandbox
    with override_settings(POLAR_SERVER="fake"):
        assert polar_settings.transport_factory is fake_transport
    with override_settings(POLAR_SERVER="fake", POLAR_TRANSPORT=recording_transport):
        assert polar_settings.transport_factory is recording_transport


def test_server_fake_without_a_transport_fails_at_once():
    with pytest.raises(ValueError, match="no network address"):
        PolarClient("t", server="fake")
    client = PolarClient("t", server="fake", transport=fake_transport)
    assert isinstance(client.session.get_adapter(client.base_url), FakePolarAdapter)


def test_reset_client_cache_builds_a_new_client():
    first = get_client()
    assert get_client() is first
    reset_client_cache()
    assert get_client() is not first


def test_a_client_in_the_default_transport_of_another_test_is_not_reused():
    outside = get_client()
    fake = FakePolar()
    try:
        with default_transport(FakeTransport(fake)):
            inside = get_client()
            assert inside is not outside
            inside.create({"product_id": PRODUCT_ONE_TIME_ID})
        assert len(fake.checkouts()) == 1
        assert get_client() is not inside
    finally:
        fake.close()


def test_fake_transport_tells_the_storefront_where_a_browser_reaches_it(rf):
    request = rf.get("/")
    assert fake_transport.browser_api_root(request) == "/polar-fake/"  # tests/urls.py
    # A fake of its own is not the one the mounted urls serve.
    assert FakeTransport(FakePolar()).browser_api_root(request) is None
    with override_settings(ROOT_URLCONF="polar_checkouts.urls"):
        assert fake_transport.browser_api_root(request) is None


def test_the_client_does_not_import_the_fake_nor_django():
    # Nothing above testing/ imports it; and a process that only talks to Polar does not
    # pay for loading Django (BENCHMARKS.md, figure b).
    code = (
        "import sys, polar_checkouts.client;"
        "print(sorted({m.split('.')[0] + '.' + m.split('.')[1] for m in sys.modules"
        " if m.startswith(('polar_checkouts.testing', 'django.'))}))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"


# -- the network's retry policy over real sockets ------------------------------------------------


class ScriptedServer(socketserver.ThreadingTCPServer):
    """Answers each request with the next action of a script: 'ok', 'hang', 'reset', '503'."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, script: list[str]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = list(script)
        self.requests: list[str] = []
        self.lock = threading.Lock()
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(socketserver.StreamRequestHandler):
    server: ScriptedServer

    def handle(self) -> None:
        while True:
            request_line = self.rfile.readline()
            if not request_line:
                return
            length = 0
            while (line := self.rfile.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            self.rfile.read(length)
            with self.server.lock:
                self.server.requests.append(request_line.decode().split(" ")[0])
                action = self.server.script.pop(0) if self.server.script else "ok"
            if action == "hang":
                self.server.release.wait(5)
                return
            if action == "reset":
                # Half a response, then an RST instead of the rest.
                self.wfile.write(b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{"id":')
                self.wfile.flush()
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                return
            status = b"503 Service Unavailable" if action == "503" else b"200 OK"
            body = b"" if action == "503" else BODY
            self.wfile.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
                b"Retry-After: 1\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            self.wfile.flush()


@pytest.fixture
def serve() -> Iterator:
    servers: list[ScriptedServer] = []

    def start(*script: str) -> ScriptedServer:
        server = ScriptedServer(list(script))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def no_backoff(monkeypatch):
    """Record the waits urllib3 asks for instead of sleeping them."""
    waits: list[float] = []
    monkeypatch.setattr("urllib3.util.retry.time.sleep", waits.append)
    return waits


def _client(url: str, **kwargs) -> PolarClient:
    kwargs.setdefault("timeout", (1, 0.3))
    kwargs.setdefault("max_retries", 2)
    return PolarClient("polar_oat_tok", server=url, **kwargs)


def test_get_is_retried_after_read_timeouts_then_succeeds(serve, no_backoff):
    server = serve("hang", "hang", "ok")
    assert _client(server.url).get(CID)["id"] == CID
    assert server.requests == ["GET", "GET", "GET"]


def test_get_gives_up_with_a_timeout_error(serve, no_backoff):
    server = serve("hang", "hang", "hang")
    with pytest.raises(PolarTimeoutError, match="did not answer in time"):
        _client(server.url).get(CID)
    assert server.requests == ["GET", "GET", "GET"]


def test_create_is_not_repeated_after_a_read_timeout(serve, no_backoff):
    server = serve("hang", "ok")
    with pytest.raises(PolarTimeoutError):
        _client(server.url).create({"product_id": CID})
    time.sleep(0.2)
    assert server.requests == ["POST"]


def test_confirm_is_not_repeated_after_a_reset_mid_response(serve, no_backoff):
    server = serve("reset", "ok")
    with pytest.raises(PolarConnectionError):
        _client(server.url).client_confirm("polar_c_x", {})
    time.sleep(0.2)
    assert server.requests == ["POST"]


def test_get_is_retried_after_a_reset_mid_response(serve, no_backoff):
    server = serve("reset", "ok")
    assert _client(server.url).get(CID)["id"] == CID
    assert server.requests == ["GET", "GET"]


def test_retry_after_is_slept_before_retrying(serve, no_backoff):
    server = serve("503", "ok")
    assert _client(server.url).get(CID)["id"] == CID
    assert server.requests == ["GET", "GET"]
    assert no_backoff == [1.0]


def test_post_is_retried_when_the_connection_was_refused(monkeypatch, no_backoff):
    # Nothing listens on the port: the request certainly never reached a server, so
    # even a POST is safe to try again.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    errors: list[str] = []
    original = PolarRetry.increment

    def spy(self, *args, **kwargs):
        errors.append(type(kwargs.get("error")).__name__)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(PolarRetry, "increment", spy)
    with pytest.raises(PolarConnectionError, match="Could not reach Polar"):
        _client(f"http://127.0.0.1:{port}").create({"product_id": CID})
    assert errors == ["NewConnectionError"] * 3  # two retries, then the third gives up


def test_server_errors_after_retries_keep_their_class(serve, no_backoff):
    server = serve("503", "503", "503")
    with pytest.raises(ServerError):
        _client(server.url).get(CID)
    assert server.requests == ["GET"] * 3
