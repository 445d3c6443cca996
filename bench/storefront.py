"""Figure (f): the storefront's checkout page against a trivial Django view.

Both go through the same Django stack in this process (middleware, URL resolver,
test client); the checkout page asks the bench server for the checkout (one Polar call
over a keep-alive connection), caches it and renders the template. Wall time, and the
Polar calls and database queries of one render.
"""

from __future__ import annotations

from typing import Any

from bench import db, payloads
from bench.harness import WALL, Figure, ratios, run_rounds, summary
from bench.server import BenchServer
from bench.sync import TOKEN, HttpTimer


def _secret() -> str:
    return str(payloads.checkout()["client_secret"])


def run(*, rounds: int = 10, number: int = 50, prepare: bool = True) -> list[Figure]:
    """Time the checkout page and the trivial view alternately; count calls and queries."""
    from django.test import Client
    from django.test.utils import override_settings

    from polar_checkouts.client import get_client

    if prepare:
        db.prepare_databases(("default",))
    db.truncate_checkouts()
    browser = Client()
    page_url = f"/checkout/{_secret()}/"

    def page() -> Any:
        response = browser.get(page_url)
        assert response.status_code == 200, response.status_code
        return response

    def trivial() -> Any:
        response = browser.get("/trivial/")
        assert response.status_code == 200, response.status_code
        return response

    with (
        BenchServer(total=100) as server,
        override_settings(POLAR_SERVER=server.base_url, POLAR_ACCESS_TOKEN=TOKEN),
    ):
        page()  # the first render stores the checkout; later ones find it cached
        with HttpTimer(get_client()) as calls, db.count_queries() as queries:
            page()
        times = run_rounds(
            {"checkout page": page, "trivial view": trivial},
            rounds=rounds,
            number=number,
            clock=WALL,
        )
    return [
        Figure(
            "f. storefront checkout page",
            "checkout page",
            "trivial view",
            ratios(times, "checkout page", "trivial view"),
            notes={
                "polar_calls_per_render": calls.calls,
                "db_queries_per_render": len(queries),
                "sql": [q["sql"][:200] for q in queries],
                "wall_us_per_request": {n: summary(v) for n, v in times.items()},
            },
        )
    ]


if __name__ == "__main__":
    import json

    db.setup_django()
    from bench.harness import table

    figures = run()
    print(table(figures))
    print(json.dumps(figures[0].notes, indent=1))
