"""A minimal HTTP/1.1 keep-alive server answering Polar's checkout routes (and the
subscription list) from memory.

Every answer is serialised once and then served as bytes, so the server costs next to
nothing per request and the benchmarks measure the client. Run it as a subprocess
(``python -m bench.server --port 0``; it prints its port on the first line), or use
:class:`BenchServer`, which does that and stops it again. Loopback only.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import threading
from urllib.parse import parse_qsl

from bench import payloads

_NOT_FOUND = b'{"error":"ResourceNotFound","detail":"Not found"}'


def _response(body: bytes, status: bytes = b"200 OK") -> bytes:
    head = (
        b"HTTP/1.1 " + status + b"\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        b"Connection: keep-alive\r\n\r\n"
    )
    return head + body


class Routes:
    """Pre-serialised answers: one checkout, and list pages over ``total`` checkouts (and
    ``total`` subscriptions)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.checkout = _response(payloads.dumps(payloads.checkout()))
        self.not_found = _response(_NOT_FOUND, b"404 Not Found")
        self._pages: dict[tuple[str, int, int], bytes] = {}
        self._lock = threading.Lock()

    def page(self, page: int, limit: int, kind: str = "checkouts") -> bytes:
        """A list page (of checkouts or subscriptions), serialised on first use and kept."""
        key = (kind, page, limit)
        cached = self._pages.get(key)
        if cached is None:
            build = payloads.subscription_page if kind == "subscriptions" else payloads.list_page
            body = payloads.dumps(build(page, limit, self.total))
            cached = _response(body)
            with self._lock:
                self._pages[key] = cached
        return cached

    def answer(self, method: bytes, target: bytes) -> bytes:
        """The bytes to send for one request."""
        path, _, query = target.partition(b"?")
        if path in (b"/v1/checkouts/", b"/v1/checkouts"):
            if method != b"GET":
                return self.checkout
            params = dict(parse_qsl(query.decode()))
            try:
                page = int(params.get("page", 1))
                limit = min(100, int(params.get("limit", 10)))
            except ValueError:
                return self.not_found
            return self.page(page, limit)
        if path.startswith(b"/v1/checkouts/"):
            return self.checkout
        if path in (b"/v1/subscriptions/", b"/v1/subscriptions") and method == b"GET":
            params = dict(parse_qsl(query.decode()))
            try:
                page = int(params.get("page", 1))
                limit = min(100, int(params.get("limit", 10)))
            except ValueError:
                return self.not_found
            return self.page(page, limit, "subscriptions")
        return self.not_found


def _serve_connection(conn: socket.socket, routes: Routes) -> None:
    buffer = b""
    try:
        while True:
            end = buffer.find(b"\r\n\r\n")
            while end < 0:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buffer += chunk
                end = buffer.find(b"\r\n\r\n")
            head, buffer = buffer[:end], buffer[end + 4 :]
            lines = head.split(b"\r\n")
            method, target, _ = lines[0].split(b" ", 2)
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(buffer) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buffer += chunk
            buffer = buffer[length:]
            conn.sendall(routes.answer(method, target))
    except (ConnectionError, ValueError):
        return
    finally:
        conn.close()


def serve(port: int, total: int, ready: threading.Event | None = None) -> None:
    """Serve forever on 127.0.0.1:``port`` (0 picks one), printing the port first."""
    routes = Routes(total)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_serve_connection, args=(conn, routes), daemon=True).start()


class BenchServer:
    """The server in a subprocess (its CPU never counts against the client's)."""

    def __init__(self, total: int = 1000) -> None:
        self.total = total
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    def __enter__(self) -> BenchServer:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.server", "--port", "0", "--total", str(self.total)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        return self

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)


def main() -> None:
    """Command line: ``python -m bench.server [--port N] [--total N]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--total", type=int, default=1000, help="checkouts behind the list")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        serve(args.port, args.total)


if __name__ == "__main__":
    main()
