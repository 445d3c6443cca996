"""The client's retry policy over real sockets: timeouts, refusals and resets.

``responses`` cannot show these: a read timeout or a reset only happens on a real
connection, and only real connections go through urllib3's retry loop.
"""

from __future__ import annotations

import json
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from polar_checkouts.client import PolarClient, PolarRetry
from polar_checkouts.exceptions import PolarConnectionError, PolarTimeoutError, ServerError

CID = "0b6bd3fa-5d0c-4c57-9a9d-4b0c7c7a3f1e"
BODY = json.dumps({"id": CID, "status": "open", "client_secret": "polar_c_x"}).encode()


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
