"""Figure (e): the admin changelist on 100,000 rows against the same on 1,000 rows.

Two PostgreSQL databases hold the two tables; a logged-in staff user loads the first
changelist page (full middleware stack, template rendered) on each, alternately. The
number of queries must be the same and the time should not grow with the table.
"""

from __future__ import annotations

from typing import Any

from bench import db
from bench.harness import WALL, Figure, ratios, run_rounds, summary

URL = "/admin/polar_checkouts/checkoutsession/"


def _logged_in_client(alias: str) -> Any:
    from django.contrib.auth import get_user_model
    from django.test import Client

    with db.using(alias):
        user_model = get_user_model()
        user = user_model.objects.filter(username="bench").first()
        if user is None:
            user = user_model.objects.create_superuser("bench", "bench@example.com", "bench")
        client = Client()
        client.force_login(user)
    return client


def run(
    *, large: int = 100_000, small: int = 1_000, rounds: int = 10, number: int = 10
) -> list[Figure]:
    """Fill both databases, then time the changelist on each; check the query counts."""
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    db.prepare_databases()
    db.fill_checkouts("default", large)
    db.fill_checkouts("small", small)
    clients = {alias: _logged_in_client(alias) for alias in ("default", "small")}

    def page(alias: str) -> Any:
        with db.using(alias):
            response = clients[alias].get(URL)
        assert response.status_code == 200, response.status_code
        return response

    queries: dict[str, list[str]] = {}
    for alias in clients:
        page(alias)
        with CaptureQueriesContext(connections[alias]) as captured:
            page(alias)
        queries[alias] = [q["sql"] for q in captured.captured_queries]
    times = run_rounds(
        {"large": lambda: page("default"), "small": lambda: page("small")},
        rounds=rounds,
        number=number,
        clock=WALL,
    )
    return [
        Figure(
            f"e. admin changelist {large:,} vs {small:,} rows",
            "large",
            "small",
            ratios(times, "large", "small"),
            "<= 1.5",
            notes={
                "queries": {alias: len(q) for alias, q in queries.items()},
                "same_query_count": len(queries["default"]) == len(queries["small"]),
                "wall_ms_per_page": {n: summary(v, 1e3) for n, v in times.items()},
                "sql_large": queries["default"],
            },
        )
    ]


if __name__ == "__main__":
    import json

    db.setup_django()
    from bench.harness import table

    figures = run()
    print(table(figures))
    print(json.dumps(figures[0].notes, indent=1)[:3000])
