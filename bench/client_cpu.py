"""Figures (a) and (c): the client's CPU per call against requests and raw http.client.

All contenders talk to the same pre-serialised keep-alive server (a subprocess, so its
CPU is not counted) over one persistent connection each; the clock is this thread's CPU
time, so the figure is the client's own cost: building the request, HTTP, JSON, checks.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import Any

import requests

from bench import payloads
from bench.harness import CPU, Figure, ratios, run_rounds, summary
from bench.server import BenchServer
from polar_checkouts.client import PolarClient

TOKEN = "polar_oat_bench_token"


def contenders_get(base_url: str, port: int) -> dict[str, Callable[[], Any]]:
    """One ``GET /v1/checkouts/{id}`` with decoded JSON, three ways."""
    client = PolarClient(TOKEN, server=base_url)
    session = requests.Session()
    url = f"{base_url}/v1/checkouts/{payloads.CHECKOUT_ID}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    conn = http.client.HTTPConnection("127.0.0.1", port)
    path = f"/v1/checkouts/{payloads.CHECKOUT_ID}"
    raw_headers = {**auth, "Accept": "application/json"}

    def raw() -> Any:
        conn.request("GET", path, headers=raw_headers)
        return json.loads(conn.getresponse().read())

    return {
        "polar_checkouts": lambda: client.get(payloads.CHECKOUT_ID),
        "requests": lambda: session.get(url, headers=auth).json(),
        "http.client": raw,
    }


def contenders_list(base_url: str, port: int) -> dict[str, Callable[[], Any]]:
    """One 100-item list page, fetched and decoded, by the client and by http.client."""
    client = PolarClient(TOKEN, server=base_url)
    conn = http.client.HTTPConnection("127.0.0.1", port)
    path = "/v1/checkouts/?page=1&limit=100"
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}

    def raw() -> Any:
        conn.request("GET", path, headers=headers)
        return json.loads(conn.getresponse().read())

    return {
        "polar_checkouts": lambda: client.list(limit=100).items,
        "http.client": raw,
    }


def run(*, rounds: int = 15, number: int = 400, list_number: int = 40) -> list[Figure]:
    """Measure figures (a) and (c) against a fresh bench server."""
    with BenchServer(total=1000) as server:
        get = contenders_get(server.base_url, server.port)
        assert get["polar_checkouts"]() == get["http.client"]() == get["requests"]()
        times = run_rounds(get, rounds=rounds, number=number, clock=CPU)
        lst = contenders_list(server.base_url, server.port)
        assert lst["polar_checkouts"]() == lst["http.client"]()["items"]
        list_times = run_rounds(lst, rounds=rounds, number=list_number, clock=CPU)
    notes = {name: summary(values) for name, values in times.items()}
    list_notes = {name: summary(values) for name, values in list_times.items()}
    return [
        Figure(
            "a. client CPU per get",
            "polar_checkouts",
            "requests",
            ratios(times, "polar_checkouts", "requests"),
            "<= 0.8",
            notes={"cpu_us_per_call": notes},
        ),
        Figure(
            "a. client CPU per get (floor)",
            "polar_checkouts",
            "http.client",
            ratios(times, "polar_checkouts", "http.client"),
            notes={"cpu_us_per_call": notes},
        ),
        Figure(
            "c. parse a 100-item list page",
            "polar_checkouts",
            "http.client+json",
            ratios(list_times, "polar_checkouts", "http.client"),
            "<= 1.3",
            notes={"cpu_us_per_call": list_notes},
        ),
    ]


if __name__ == "__main__":
    from bench.harness import table

    print(table(run()))
