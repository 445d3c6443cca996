"""Database helpers for the benchmarks: create and migrate, switch aliases, bulk fill."""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator
from typing import Any

_alias: contextvars.ContextVar[str] = contextvars.ContextVar("bench_db_alias", default="default")


class SwitchRouter:
    """Sends every query to the alias chosen with :func:`using`."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        """The current alias."""
        return _alias.get()

    def db_for_write(self, model: Any, **hints: Any) -> str:
        """The current alias."""
        return _alias.get()

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        """Relations stay within one database anyway."""
        return True


@contextlib.contextmanager
def using(alias: str) -> Iterator[None]:
    """Run the block's queries on database ``alias``."""
    token = _alias.set(alias)
    try:
        yield
    finally:
        _alias.reset(token)


def setup_django() -> None:
    """Configure Django with :mod:`bench.settings` (unless already configured)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()


def prepare_databases(aliases: tuple[str, ...] = ("default", "small")) -> None:
    """Create the benchmark databases when missing and apply the migrations."""
    import psycopg
    from django.core.management import call_command
    from django.db import connections

    for alias in aliases:
        conf = connections[alias].settings_dict
        dsn = {
            "host": conf["HOST"] or "127.0.0.1",
            "port": conf["PORT"] or 5432,
            "user": conf["USER"],
            "dbname": "postgres",
        }
        if conf["PASSWORD"]:
            dsn["password"] = conf["PASSWORD"]
        with psycopg.connect(**dsn, autocommit=True) as admin_conn:
            exists = admin_conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [conf["NAME"]]
            ).fetchone()
            if not exists:
                admin_conn.execute(f'CREATE DATABASE "{conf["NAME"]}"')
        with using(alias):
            call_command("migrate", database=alias, verbosity=0, interactive=False)


def truncate_checkouts(alias: str = "default") -> None:
    """Empty the checkout cache table of ``alias``."""
    from django.db import connections

    from polar_checkouts.models import CheckoutSession

    table = CheckoutSession._meta.db_table
    with connections[alias].cursor() as cursor:
        cursor.execute(f'TRUNCATE "{table}" CASCADE')


def fill_checkouts(alias: str, count: int) -> None:
    """Make the table of ``alias`` hold exactly ``count`` realistic checkouts, quickly.

    The first 100 rows go through the app's own bulk upsert; the rest are copies made
    by PostgreSQL itself (new ids, secrets and dates), then the table is analysed.
    """
    from django.db import connections

    from bench import payloads
    from polar_checkouts.models import CheckoutSession

    truncate_checkouts(alias)
    seed = min(count, 100)
    statuses = ["open", "expired", "succeeded", "confirmed", "failed"]
    with using(alias):
        CheckoutSession.objects.upsert_many(
            payloads.checkout(n + 1, status=statuses[n % 5], minute=n) for n in range(seed)
        )
    if count > seed:
        table = CheckoutSession._meta.db_table
        columns = [str(f.column) for f in CheckoutSession._meta.concrete_fields]
        replace = {
            "id": "gen_random_uuid()",
            "client_secret": "'polar_c_' || md5(random()::text || g::text)",
            "created_at": "created_at - (g || ' minutes')::interval",
            "modified_at": "modified_at - (g || ' minutes')::interval",
        }
        select = ", ".join(replace.get(c, f'"{c}"') for c in columns)
        names = ", ".join(f'"{c}"' for c in columns)
        with connections[alias].cursor() as cursor:
            cursor.execute(
                f'INSERT INTO "{table}" ({names}) SELECT {select} '
                f'FROM "{table}" CROSS JOIN generate_series(1, %s) AS g '
                f"LIMIT %s",
                [-(-count // seed), count - seed],
            )
    with connections[alias].cursor() as cursor:
        cursor.execute(f'VACUUM ANALYZE "{CheckoutSession._meta.db_table}"')


@contextlib.contextmanager
def count_queries(alias: str = "default") -> Iterator[list[dict[str, Any]]]:
    """Capture the queries run on ``alias`` in the block, requests included.

    Django empties the query log when a request starts; like ``assertNumQueries``, this
    holds that off so queries made by test-client requests are kept.
    """
    from django.core.signals import request_started
    from django.db import connections, reset_queries
    from django.test.utils import CaptureQueriesContext

    captured: list[dict[str, Any]] = []
    request_started.disconnect(reset_queries)
    try:
        with CaptureQueriesContext(connections[alias]) as context:
            yield captured
        captured.extend(context.captured_queries)
    finally:
        request_started.connect(reset_queries)
