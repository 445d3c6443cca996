"""The standalone server's HTTP, byte by byte over a real socket.

Each test reuses one keep-alive connection after the request under test, so a body left
unread (it would be parsed as the next request) or a body sent where none belongs (it
would be parsed as the next answer) fails the next exchange.
"""

from __future__ import annotations

import json
import socket

import pytest
from django.urls import reverse

from polar_checkouts.testing import FakePolar
from polar_checkouts.testing.server import FakePolarServer

AUTH = "Authorization: Bearer polar_oat_any\r\n"


@pytest.fixture
def server():
    running = FakePolarServer(FakePolar(), port=0).start()
    yield running
    running.stop()


class Connection:
    """One keep-alive connection; ``send`` writes raw bytes, ``answer`` reads one answer."""

    def __init__(self, server: FakePolarServer) -> None:
        host, port = server.httpd.server_address[:2]
        self.sock = socket.create_connection((str(host), port), timeout=5)
        self.file = self.sock.makefile("rb")

    def send(self, raw: str | bytes) -> None:
        self.sock.sendall(raw.encode() if isinstance(raw, str) else raw)

    def answer(self, *, head: bool = False) -> tuple[int, dict[str, str], bytes]:
        status_line = self.file.readline()
        assert status_line.startswith(b"HTTP/1.1 "), status_line
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        length = 0 if head else int(headers.get("content-length", "0"))
        return status, headers, self.file.read(length)

    def closed_by_server(self) -> bool:
        return self.file.read(1) == b""

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def conn(server):
    connection = Connection(server)
    yield connection
    connection.close()


def get_products(conn: Connection) -> tuple[int, dict[str, str], bytes]:
    conn.send(f"GET /v1/products/ HTTP/1.1\r\nHost: x\r\n{AUTH}\r\n")
    return conn.answer()


def assert_products(answer: tuple[int, dict[str, str], bytes]) -> None:
    status, headers, body = answer
    assert status == 200, body
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["pagination"]["total_count"] == 4


def test_an_options_body_is_read_before_the_next_request(conn):
    # The curl: OPTIONS -d '{"a":1}' --next GET answered 501 ('{"a":1}GET').
    body = '{"a":1}'
    conn.send(
        f"OPTIONS /v1/products/ HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
        f"Content-Type: application/json\r\n\r\n{body}"
    )
    status, headers, _ = conn.answer()
    assert status == 204
    assert headers["access-control-allow-origin"] == "*"
    assert_products(get_products(conn))


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE", "TRACE", "BREW"])
def test_every_methods_body_is_read_before_the_next_request(conn, method):
    body = '{"products":["00000000-0000-4000-8000-000000000000"]}'
    conn.send(
        f"{method} /v1/checkouts/ HTTP/1.1\r\nHost: x\r\n{AUTH}"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    )
    status, headers, _ = conn.answer()
    assert headers["content-type"] == "application/json"
    assert status in (200, 405, 422)
    assert_products(get_products(conn))


def test_a_chunked_body_is_read_whole(server, conn):
    body = json.dumps({"products": [next(iter(server.fake.products))]}).encode()
    half = len(body) // 2
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:half], body[half:]))
    conn.send(
        f"POST /v1/checkouts/ HTTP/1.1\r\nHost: x\r\n{AUTH}"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        + chunks
        + b"0\r\n\r\n"
    )
    status, _, created = conn.answer()
    assert status == 201, created
    assert len(server.fake.checkouts()) == 1
    assert_products(get_products(conn))


def test_head_answers_as_get_without_a_body(conn):
    _, got_headers, got = get_products(conn)
    conn.send(f"HEAD /v1/products/ HTTP/1.1\r\nHost: x\r\n{AUTH}\r\n")
    status, headers, _ = conn.answer(head=True)
    assert status == 200
    assert headers["content-length"] == str(len(got)) == got_headers["content-length"]
    assert headers["content-type"] == "application/json"
    assert headers["polar-version"] == "2026-04"
    # Had the server sent a body, it would be read here as the next status line.
    assert_products(get_products(conn))


@pytest.mark.parametrize("method", ["TRACE", "BREW", "PUT", "DELETE"])
def test_other_methods_are_a_json_405_with_allow(conn, method):
    conn.send(f"{method} /v1/products/ HTTP/1.1\r\nHost: x\r\n{AUTH}\r\n")
    status, headers, body = conn.answer()
    assert status == 405
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"detail": "Method Not Allowed"}
    assert headers["allow"] == "GET, HEAD"
    assert_products(get_products(conn))


def test_405_allow_names_the_checkout_collections_methods(conn):
    conn.send(f"TRACE /v1/checkouts/ HTTP/1.1\r\nHost: x\r\n{AUTH}\r\n")
    status, headers, _ = conn.answer()
    assert (status, headers["allow"]) == (405, "GET, POST, HEAD")


@pytest.mark.parametrize(
    "raw",
    [
        "GET /v1/products/ HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
        "GET /v1/products/ HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "POST /v1/checkouts/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "GET /v1/products/ HTTP/9.9\r\n\r\n",
        "NOT A REQUEST LINE AT ALL\r\n\r\n",
    ],
)
def test_unreadable_requests_are_a_json_400_family_answer_and_a_close(conn, raw):
    conn.send(raw)
    status, headers, body = conn.answer()
    assert 400 <= status < 600
    assert headers["content-type"] == "application/json"
    assert "detail" in json.loads(body)
    assert b"<html" not in body.lower()
    assert conn.closed_by_server()


def test_an_unknown_version_is_a_bare_404_over_the_wire(conn):
    conn.send(
        f"GET /v1/products/ HTTP/1.1\r\nHost: x\r\n{AUTH}Polar-Version: 2031-01\r\n"
        "Origin: https://shop.example.com\r\n\r\n"
    )
    status, headers, body = conn.answer()
    assert status == 404
    assert json.loads(body) == {"detail": "Not Found"}
    assert "polar-version" not in headers
    assert not any(name.startswith("access-control-") for name in headers)
    conn.send(f"GET /v1/products/ HTTP/1.1\r\nHost: x\r\n{AUTH}Polar-Version: 2026-10\r\n\r\n")
    status, headers, _ = conn.answer()
    assert (status, headers["polar-version"]) == (200, "2026-10")
    assert headers["access-control-allow-origin"] == "*"


def test_the_mounted_urls_answer_an_unknown_version_without_cors(client, polar_fake):
    root = reverse("polar_fake:api-root")
    refused = client.get(f"{root}v1/products/", headers={"Polar-Version": "2031-01"})
    assert refused.status_code == 404
    assert refused.json() == {"detail": "Not Found"}
    assert "Access-Control-Allow-Origin" not in refused
    assert "Polar-Version" not in refused
    served = client.get(
        f"{root}v1/products/",
        headers={"Polar-Version": "2026-10", "Authorization": "Bearer x"},
    )
    assert served["Polar-Version"] == "2026-10"
    assert served["Access-Control-Allow-Origin"] == "*"
