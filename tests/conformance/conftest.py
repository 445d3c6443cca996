"""The standalone fake Polar (``python -m polar_checkouts.testing.server``) for conformance.

Each fixture starts the real command-line server in a subprocess on a free loopback port,
so the tools nobody here wrote (Schemathesis, polar-sdk) talk to it exactly as a shop's
test suite or a developer's terminal would: over real sockets, with keep-alive.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from bench.runner import stop

DATA = Path(__file__).resolve().parents[1] / "data"
SEED_ERA_SPEC = DATA / "polar-openapi-2024-12-seed-era.json"
SPEC_2026_04 = DATA / "polar-openapi-2026-04.json"
SPEC_2026_10 = DATA / "polar-openapi-2026-10.json"
KNOWN_GAPS = DATA / "conformance-known-gaps.json"
TOKEN = "polar_oat_conformance"


@contextmanager
def standalone_fake(*extra_args: str) -> Iterator[str]:
    """Run the command-line fake on a free port; yield its base URL; stop it (SIGTERM)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "polar_checkouts.testing.server", "--port", "0", *extra_args],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        first = process.stdout.readline()
        assert first.startswith("Fake Polar listening on http://127.0.0.1:"), first
        # Drain the rest of the banner in the background so the pipe never fills.
        threading.Thread(target=process.stdout.read, daemon=True).start()
        yield first.split()[-1]
    finally:
        stop(process)


@pytest.fixture(scope="module")
def fake_url() -> Iterator[str]:
    """One standalone fake for a test module (reset between tests that need a clean slate)."""
    with standalone_fake() as url:
        yield url


def reset(url: str) -> None:
    """Forget every checkout and event of the standalone fake (``POST /_fake/reset``)."""
    requests.post(f"{url}/_fake/reset", timeout=5).raise_for_status()


def inject(url: str, **fields: Any) -> None:
    """Arm a fault in the standalone fake (``POST /_fake/faults``)."""
    requests.post(f"{url}/_fake/faults", json=fields, timeout=5).raise_for_status()


def advance(url: str, seconds: float) -> None:
    """Move the standalone fake's clock (``POST /_fake/advance-time``)."""
    requests.post(f"{url}/_fake/advance-time", json={"seconds": seconds}, timeout=5)


def complete_action(url: str, client_secret: str) -> None:
    """Finish a "3-D Secure" action the way the buyer's browser would."""
    requests.post(f"{url}/_fake/actions/{client_secret}/complete", timeout=5).raise_for_status()


def events(url: str) -> list[dict[str, Any]]:
    """The standalone fake's emitted events (``GET /_fake/events``)."""
    answer = requests.get(f"{url}/_fake/events", timeout=5)
    answer.raise_for_status()
    return list(answer.json())


class WebhookCollector(ThreadingHTTPServer):
    """A loopback HTTP endpoint that records every webhook delivery (body, headers)."""

    daemon_threads = True

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with collector.lock:
                    collector.received.append((body, dict(self.headers)))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        """Where the fake should deliver."""
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


@pytest.fixture
def webhook_collector() -> Iterator[WebhookCollector]:
    """A running :class:`WebhookCollector`."""
    collector = WebhookCollector()
    thread = threading.Thread(target=collector.serve_forever, daemon=True)
    thread.start()
    yield collector
    collector.shutdown()
    collector.server_close()


def load_json(path: Path) -> Any:
    """A JSON file of tests/data."""
    return json.loads(path.read_text(encoding="utf-8"))
