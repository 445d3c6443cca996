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
    *,
    large: int = 100_000,
    small: int = 1_000,
    rounds: int = 10,
    number: int = 10,
    aliases: tuple[str, str] = ("default", "small"),
    prepare: bool = True,
) -> list[Figure]:
    """Fill both databases, then time the changelist on each; check the query counts.

    ``aliases`` are the large and the small database (the same one in the smoke test).
    """
    large_alias, small_alias = aliases
    if prepare:
        db.prepare_databases()
    db.fill_checkouts(large_alias, large)
    db.fill_checkouts(small_alias, small)
    clients = {"large": _logged_in_client(large_alias), "small": _logged_in_client(small_alias)}
    alias_of = {"large": large_alias, "small": small_alias}

    def page(which: str) -> Any:
        with db.using(alias_of[which]):
            response = clients[which].get(URL)
        assert response.status_code == 200, response.status_code
        return response

    queries: dict[str, list[str]] = {}
    for which in clients:
        page(which)
        with db.count_queries(alias_of[which]) as captured:
            page(which)
        queries[which] = [q["sql"] for q in captured]
    times = run_rounds(
        {"large": lambda: page("large"), "small": lambda: page("small")},
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
                "queries": {which: len(q) for which, q in queries.items()},
                "same_query_count": len(queries["large"]) == len(queries["small"]),
                "wall_ms_per_page": {n: summary(v, 1e3) for n, v in times.items()},
                "sql_large": [q[:160] for q in queries["large"]],
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
