"""The fake Polar as a standalone HTTP server (standard library only).

    python -m polar_checkouts.testing.server --host 127.0.0.1 --port 8765 \\
        [--webhook-url URL --webhook-secret SECRET]

It serves the same API as the in-process fake at its base URL, with CORS, and acts out
transport faults on real sockets: ``timeout`` hangs without answering, ``disconnect``
closes the connection unanswered, ``refused`` resets it unanswered (a listening socket
cannot refuse one connection), and ``reset`` sends half the body, then resets.
"""

from __future__ import annotations

import argparse
import signal
import socket
import struct
import sys
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .fake import FakePolar, FakeResponse
from .messages import json_bytes
from .views import CORS_HEADERS, DEFAULT_ALLOWED_HEADERS

#: Longest chunk-size or trailer line read from a chunked body.
MAX_LINE = 65537


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "FakePolar/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def __getattr__(self, name: str) -> Any:
        # BaseHTTPRequestHandler answers a method without a ``do_`` handler with an HTML
        # 501; every method goes to the fake instead (405 with ``Allow`` where Polar
        # would), after its body has been read.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """JSON instead of Python's HTML error page (malformed request lines, headers)."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":
            # An unparsable request line leaves HTTP/0.9, which would answer a bare body.
            self.request_version = self.protocol_version
        body = json_bytes({"detail": message or self.responses.get(code, ("Error",))[0]})
        self.send_response(code, message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def _cors(self) -> None:
        for name, value in CORS_HEADERS.items():
            self.send_header(name, value)

    def _read_body(self) -> bytes | None:
        """The whole request body (``Content-Length`` or chunked); ``None`` if unreadable.

        Read for every method, OPTIONS and HEAD included: an unread body would be parsed
        as the next request on a keep-alive connection.
        """
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline(MAX_LINE)
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    return None
                if size == 0:
                    # Trailers, up to the blank line that ends the message.
                    while self.rfile.readline(MAX_LINE) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(MAX_LINE)
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        try:
            length = int(raw)
        except ValueError:
            return None
        if length < 0:
            return None
        return self.rfile.read(length) if length else b""

    def _preflight(self) -> None:
        self.send_response(204)
        requested = self.headers.get("Access-Control-Request-Headers")
        self.send_header("Access-Control-Allow-Headers", requested or DEFAULT_ALLOWED_HEADERS)
        self._cors()
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            # The framing is unknown, so the connection cannot be reused.
            self.send_error(400, "Invalid HTTP request body")
            return
        if self.command == "OPTIONS":
            self._preflight()
            return
        path, _, query = self.path.partition("?")
        answer = self.server.fake.handle(self.command, path, query, dict(self.headers), body)
        fault = answer.transport_fault
        if fault == "timeout":
            # Hang past the client's read timeout, then drop the connection unanswered.
            self.server.hang(answer.hang)
            self._abort(reset=False)
        elif fault == "disconnect":
            self._abort(reset=False)
        elif fault == "refused":
            self._abort(reset=True)
        else:
            self._send(answer, cut=fault == "reset")

    def _send(self, answer: FakeResponse, *, cut: bool) -> None:
        self.send_response(answer.status)
        headers = {name.lower(): value for name, value in answer.headers.items()}
        # A HEAD answer carries the GET's length (FakePolar.handle sets it), no body.
        length = headers.pop("content-length", str(len(answer.body)))
        for name, value in headers.items():
            self.send_header(name, value)
        if answer.cors:
            self._cors()
        self.send_header("Content-Length", length)
        self.end_headers()
        if cut:
            self.wfile.write(answer.body[: len(answer.body) // 2])
            self.wfile.flush()
            self._abort(reset=True)
            return
        self.wfile.write(answer.body)

    def _abort(self, *, reset: bool) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            if reset:
                # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakePolar
    verbose: bool
    stopping: threading.Event

    def hang(self, seconds: float) -> None:
        self.stopping.wait(seconds)


class FakePolarServer:
    """A running standalone fake. ``port=0`` picks a free port; see :attr:`base_url`."""

    def __init__(
        self,
        fake: FakePolar | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        verbose: bool = False,
    ) -> None:
        self.fake = fake or FakePolar()
        self.httpd = _Server((host, port), _Handler)
        self.httpd.fake = self.fake
        self.httpd.verbose = verbose
        self.httpd.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        if self.fake.frontend_url.startswith("http://fake-polar.invalid"):
            self.fake.frontend_url = self.base_url

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the listening socket (the actual port after ``port=0``)."""
        host, port = self.httpd.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    def start(self) -> FakePolarServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # so stop() returns promptly
            name="fake-polar-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` (or Ctrl-C)."""
        self.httpd.serve_forever()

    def stop(self) -> None:
        """Stop serving, wake hanging handlers, close the socket and the webhook worker."""
        self.httpd.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.fake.close()

    def __enter__(self) -> FakePolarServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: serve a seeded fake until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m polar_checkouts.testing.server",
        description="Serve a fake Polar checkout API for tests and offline development.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default: loopback)")
    parser.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one")
    parser.add_argument("--webhook-url", help="deliver webhook events to this URL")
    parser.add_argument("--webhook-secret", help="secret to sign webhook events with")
    parser.add_argument(
        "--success-delay",
        type=float,
        default=0.0,
        help="seconds a confirmed payment takes to succeed (default 0)",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=None,
        metavar="N",
        help="answer 429 past N requests a minute per access token, as Polar does "
        "(500 in production, 100 in the sandbox; default: no limit)",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="seconds every Polar call waits before its answer, like a network (default 0)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    if bool(args.webhook_url) != bool(args.webhook_secret):
        parser.error("--webhook-url and --webhook-secret go together")

    fake = FakePolar(
        success_delay=args.success_delay,
        rate_limit=args.rate_limit,
        latency=max(args.latency, 0.0),
    )
    if args.webhook_url:
        fake.configure_webhooks(args.webhook_url, args.webhook_secret, delivery="background")
    server = FakePolarServer(fake, host=args.host, port=args.port, verbose=args.verbose)
    out = sys.stdout
    out.write(f"Fake Polar listening on {server.base_url}\n")
    out.write(f"  POLAR_SERVER = {server.base_url!r}  (any access token works)\n")
    for product in fake.products.values():
        out.write(f"  product {product['id']}  {product['name']}\n")
    if args.webhook_url:
        out.write(f"  webhooks -> {args.webhook_url}\n")
    if args.rate_limit:
        out.write(f"  rate limit: {args.rate_limit} requests a minute per token\n")
    out.flush()
    # Stop cleanly on SIGTERM too (process managers, test harnesses).
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    raise SystemExit(main())
