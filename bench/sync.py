"""Figure (d): ``manage.py polar_checkouts_sync`` of 10,000 checkouts into PostgreSQL.

Compared with the naive way: the same pages from the same client, then one
``update_or_create`` per row. Both run twice per round: into an empty table (the first
import) and again over the full table (a routine re-sync, where nothing changed). Wall
time; the share spent waiting on HTTP is measured by timing the client's requests.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from bench import db
from bench.harness import Figure, summary
from bench.server import BenchServer

TOKEN = "polar_oat_bench_token"


class HttpTimer:
    """Wraps a client's ``_request`` to add up the wall time spent in HTTP calls."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.seconds = 0.0
        self.calls = 0
        self._original = client._request

    def __enter__(self) -> HttpTimer:
        original = self._original

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
                self.calls += 1

        self.client._request = timed
        return self

    def __exit__(self, *exc: object) -> None:
        del self.client._request  # back to the class's method


def sync_command() -> None:
    """The app's way: the management command."""
    from django.core.management import call_command

    call_command("polar_checkouts_sync", verbosity=0)


def naive_sync() -> None:
    """The naive way: every row of every page through ``update_or_create``."""
    from django.utils import timezone

    from polar_checkouts.client import Page, get_client
    from polar_checkouts.models import CheckoutSession
    from polar_checkouts.payload import fields_from_payload
    from polar_checkouts.types import Checkout

    client = get_client()
    page: Page[Checkout] | None = client.list(page=1, limit=100)
    while page is not None:
        for item in page.items:
            CheckoutSession.objects.update_or_create(
                id=item["id"], defaults={**fields_from_payload(item), "synced_at": timezone.now()}
            )
        page = page.next()


def run(*, total: int = 10_000, rounds: int = 3, prepare: bool = True) -> list[Figure]:
    """Time both ways, first import and re-sync, ``rounds`` times each, alternating."""
    from django.test.utils import override_settings

    from polar_checkouts.client import get_client
    from polar_checkouts.models import CheckoutSession

    if prepare:
        db.prepare_databases(("default",))
    contenders: dict[str, Callable[[], None]] = {"command": sync_command, "naive": naive_sync}
    times: dict[str, list[float]] = {f"{n}-{k}": [] for n in contenders for k in ("new", "re")}
    http_share: dict[str, list[float]] = {k: [] for k in times}
    with (
        BenchServer(total=total) as server,
        override_settings(POLAR_SERVER=server.base_url, POLAR_ACCESS_TOKEN=TOKEN),
    ):
        client = get_client()
        for _ in client.iter_checkouts():  # let the server serialise every page once
            pass
        for r in range(rounds):
            names = list(contenders) if r % 2 == 0 else list(contenders)[::-1]
            for name in names:
                db.truncate_checkouts()
                for kind in ("new", "re"):
                    with HttpTimer(get_client()) as timer:
                        start = time.perf_counter()
                        contenders[name]()
                        elapsed = time.perf_counter() - start
                    assert CheckoutSession.objects.count() == total
                    times[f"{name}-{kind}"].append(elapsed)
                    http_share[f"{name}-{kind}"].append(timer.seconds / elapsed)
    figures = []
    for kind, label in (("new", "first import"), ("re", "re-sync, nothing changed")):
        speedups = [
            n / c for n, c in zip(times[f"naive-{kind}"], times[f"command-{kind}"], strict=True)
        ]
        figures.append(
            Figure(
                f"d. sync {total:,} checkouts, {label} (speed-up)",
                "naive update_or_create",
                "polar_checkouts_sync",
                speedups,
                ">= 5",
                notes={
                    "wall_s": {n: summary(v, 1) for n, v in times.items() if n.endswith(kind)},
                    "http_share_of_wall_median": {
                        n: round(statistics.median(v), 3)
                        for n, v in http_share.items()
                        if n.endswith(kind)
                    },
                },
            )
        )
    return figures


if __name__ == "__main__":
    import json
    import sys

    db.setup_django()
    from bench.harness import table

    figures = run(total=int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
    print(table(figures))
    for f in figures:
        print(json.dumps(f.notes, indent=1))
