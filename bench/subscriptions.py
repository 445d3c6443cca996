"""Figures (h) and (i): subscriptions.

(h) ``services.sync_subscriptions`` of 10,000 subscriptions into PostgreSQL against the
naive way (the same pages from the same client, then one ``update_or_create`` per row),
as figure (d) measures the checkouts' sync: a first import into an empty table, then a
re-sync where nothing changed; wall time.

(i) ``access.has_active_subscription(user, product)`` on a table of 100,000
subscriptions (1,000 users) against the same check on 1,000 subscriptions: seconds per
call, and the queries each call runs (one). The index ``(user, product_id, status)``
keeps it flat.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench import db
from bench.harness import WALL, Figure, run_rounds, summary
from bench.server import BenchServer

TOKEN = "polar_oat_bench_token"


def truncate(alias: str = "default") -> None:
    """Empty the subscription and customer tables of ``alias``."""
    from django.db import connections

    from polar_checkouts.models import Customer, Subscription

    with connections[alias].cursor() as cursor:
        for model in (Subscription, Customer):
            cursor.execute(f'TRUNCATE "{model._meta.db_table}" CASCADE')


def app_sync() -> None:
    """The app's way: the service the command calls."""
    from polar_checkouts.services import sync_subscriptions

    sync_subscriptions()


def naive_sync() -> None:
    """The naive way: every row of every page through ``update_or_create``."""
    from django.utils import timezone

    from polar_checkouts.client import get_client
    from polar_checkouts.models import Subscription
    from polar_checkouts.payload.subscriptions import subscription_fields

    for item in get_client().iter_subscriptions():
        Subscription.objects.update_or_create(
            id=item["id"], defaults={**subscription_fields(item), "synced_at": timezone.now()}
        )


def run_sync(*, total: int = 10_000, rounds: int = 3, prepare: bool = True) -> list[Figure]:
    """Figure (h): both ways, first import and re-sync, ``rounds`` times, alternating."""
    from django.test.utils import override_settings

    from polar_checkouts.client import get_client
    from polar_checkouts.models import Subscription

    if prepare:
        db.prepare_databases(("default",))
    contenders: dict[str, Callable[[], None]] = {"app": app_sync, "naive": naive_sync}
    times: dict[str, list[float]] = {f"{n}-{k}": [] for n in contenders for k in ("new", "re")}
    with (
        BenchServer(total=total) as server,
        override_settings(POLAR_SERVER=server.base_url, POLAR_ACCESS_TOKEN=TOKEN),
    ):
        for _ in get_client().iter_subscriptions():  # the server serialises every page once
            pass
        for r in range(rounds):
            names = list(contenders) if r % 2 == 0 else list(contenders)[::-1]
            for name in names:
                truncate()
                for kind in ("new", "re"):
                    start = time.perf_counter()
                    contenders[name]()
                    times[f"{name}-{kind}"].append(time.perf_counter() - start)
                    assert Subscription.objects.count() == total
    figures = []
    for kind, label in (("new", "first import"), ("re", "re-sync, nothing changed")):
        speedups = [
            n / a for n, a in zip(times[f"naive-{kind}"], times[f"app-{kind}"], strict=True)
        ]
        figures.append(
            Figure(
                f"h. sync {total:,} subscriptions, {label} (speed-up)",
                "naive update_or_create",
                "services.sync_subscriptions",
                speedups,
                ">= 5",
                notes={"wall_s": {n: summary(v, 1) for n, v in times.items() if n.endswith(kind)}},
            )
        )
    return figures


def fill(alias: str, count: int, users: int) -> Any:
    """``count`` subscriptions over ``users`` users in ``alias``; returns a member with an
    active subscription to the membership (the user the check asks about)."""
    from django.contrib.auth import get_user_model
    from django.db import connections

    from bench import payloads
    from polar_checkouts.models import Subscription

    user_model = get_user_model()
    with db.using(alias):
        truncate(alias)
        user_model.objects.all().delete()
        user_model.objects.bulk_create(
            [user_model(username=f"member{i}") for i in range(users)], batch_size=1000
        )
        first = user_model.objects.order_by("pk").first()
        assert first is not None
        Subscription.objects.upsert_many([payloads.subscription(1)])
        Subscription.objects.filter(pk=payloads.subscription_id(1)).update(user=first)
    table = Subscription._meta.db_table
    columns = [str(f.column) for f in Subscription._meta.concrete_fields]
    statuses = (
        "(ARRAY['active','active','active','canceled','past_due','trialing','unpaid','incomplete'])"
    )
    replace = {
        "id": "gen_random_uuid()",
        "user_id": f"{first.pk} + (g %% {users})",
        "status": f"{statuses}[1 + (g %% 8)]",
        # A tenth of the rows are another product.
        "product_id": "CASE WHEN g %% 10 = 0 THEN gen_random_uuid() ELSE product_id END",
    }
    select = ", ".join(replace.get(c, f'"{c}"') for c in columns)
    names = ", ".join(f'"{c}"' for c in columns)
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" ({names}) SELECT {select} '
            f'FROM "{table}" CROSS JOIN generate_series(1, %s) AS g',
            [count - 1],
        )
        cursor.execute(f'VACUUM ANALYZE "{table}"')
    return first


def run_access(
    *,
    large: int = 100_000,
    small: int = 1_000,
    users: int = 1_000,
    rounds: int = 10,
    number: int = 200,
    prepare: bool = True,
) -> list[Figure]:
    """Figure (i): one access check on ``large`` rows vs on ``small`` rows."""
    from bench.payloads import MEMBERSHIP_ID
    from polar_checkouts.access import has_active_subscription

    if prepare:
        db.prepare_databases(("default", "small"))
    members = {
        "default": fill("default", large, users),
        "small": fill("small", small, min(users, small)),
    }
    queries: dict[str, int] = {}
    for alias, member in members.items():
        with db.using(alias), db.count_queries(alias) as captured:
            assert has_active_subscription(member, MEMBERSHIP_ID)
        queries[alias] = len(captured)

    def check(alias: str) -> Callable[[], object]:
        member = members[alias]

        def call() -> object:
            with db.using(alias):
                return has_active_subscription(member, MEMBERSHIP_ID)

        return call

    times = run_rounds(
        {"large": check("default"), "small": check("small")},
        rounds=rounds,
        number=number,
        clock=WALL,
    )
    ratios = [lg / sm for lg, sm in zip(times["large"], times["small"], strict=True)]
    return [
        Figure(
            f"i. has_active_subscription on {large:,} vs {small:,} subscriptions (time ratio)",
            f"{small:,} rows",
            f"{large:,} rows",
            ratios,
            "<= 1.5",
            notes={
                "queries_per_check": queries,
                "ms_per_check": {k: summary(v, 1000) for k, v in times.items()},
            },
        )
    ]


if __name__ == "__main__":
    import json
    import sys

    db.setup_django()
    from bench.harness import table

    quick = "--quick" in sys.argv
    figures = run_sync(total=2_000 if quick else 10_000, rounds=1 if quick else 3)
    figures += run_access(large=20_000 if quick else 100_000, rounds=3 if quick else 10)
    print(table(figures))
    for f in figures:
        print(f.name, json.dumps(f.notes, indent=1))
