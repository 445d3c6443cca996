"""The reliability load run: many purchases at once while webhooks arrive out of order.

    python -m bench.load_reliability [--checkouts 200] [--threads 4] [--workers 3]
                                     [--max-seconds 60] [--json PATH]

(or ``scripts/load``). It starts, on loopback only:

* the standalone fake Polar (``python -m polar_checkouts.testing.server``), delivering
  its signed webhooks to the app as it goes;
* gunicorn with several workers serving the test project (``bench.load_settings``) on
  PostgreSQL (``POLAR_LOAD_DATABASE_URL``, default database ``pc_rel``).

Shopper threads then buy through the storefront in server mode (button, checkout page,
update, confirm: paid, declined-then-paid, failing after confirmation, free), polling
the status endpoint as the page does, while a replayer re-sends every webhook the fake
has emitted, re-signed under its original ``webhook-id``, shuffled and duplicated; at
the end every event is replayed twice more, concurrently. The run is bounded by a count
and a time limit.

Afterwards it checks that every checkout in the cache matches the fake's final state
(read through the fake's server API), that ``checkout_succeeded`` fired exactly once
per paid checkout (a receiver writes one row per signal), that the fake's own deliveries
were each accepted on the first attempt, and that no request was answered with a 5xx.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from django.apps import AppConfig

from bench.runner import (  # noqa: F401 - re-exported: this module's names before bench.runner
    DETAILS,
    KINDS,
    ROOT,
    SECRET,
    TOKEN,
    Shopper,
    Stats,
    attach_logs,
    database_url,
    ensure_database,
    fake_checkouts,
    fake_events,
    finish,
    free_port,
    latency_figures,
    latency_table,
    percentile,
    purchase_plan,
    replay,
    replay_while,
    send_concurrently,
    served_env,
    setup_django,
    shop_from,
    signer,
    start_fake,
    start_gunicorn,
    stop,
    wait_until_up,
)

#: One row per ``checkout_succeeded`` signal sent by any gunicorn worker.
COUNTER_TABLE = "polar_load_succeeded"


# -- the counter app, installed in the served project only -------------------------------


class SucceededCounterConfig(AppConfig):
    """Counts ``checkout_succeeded`` signals in a table of its own (no model, no migration)."""

    name = "bench"
    label = "polar_load_counter"
    verbose_name = "Load-run signal counter"

    def ready(self) -> None:
        """Connect the counting receiver."""
        from polar_checkouts.signals import checkout_succeeded

        checkout_succeeded.connect(record_success, dispatch_uid="polar-load-counter")


def record_success(sender: Any, checkout: Any, **kwargs: Any) -> None:
    """Write one row per signal, in the transaction that stored the success."""
    from django.db import connections

    with connections[checkout._state.db or "default"].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {COUNTER_TABLE} (checkout_id, pid) VALUES (%s, %s)",
            [str(checkout.pk), os.getpid()],
        )


# -- webhook replays -------------------------------------------------------------------------


def replayer(app: str, fake: str, stats: Stats, stop_event: threading.Event, seed: int) -> None:
    """While shoppers buy: replay new events and a sample of old ones, shuffled, doubled."""
    webhook = signer()
    replay_while(
        fake, stop_event, random.Random(seed), lambda e: replay(app, e, stats, webhook), 0.2
    )


def replay_everything(app: str, fake: str, stats: Stats, threads: int, seed: int) -> int:
    """Every event twice more, shuffled, from several threads at once; returns the count."""
    rng = random.Random(seed)
    events = fake_events(fake) * 2
    rng.shuffle(events)
    webhook = signer()
    send_concurrently(events, threads, lambda event: replay(app, event, stats, webhook))
    return len(events)


# -- verification ----------------------------------------------------------------------------


def wait_for_deliveries(fake: str, deadline: float) -> list[dict[str, Any]]:
    """Wait until the fake has no webhook left to deliver; return its events."""
    while True:
        events = fake_events(fake)
        settled = all(event["state"] in ("delivered", "failed") for event in events)
        if settled or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def compare(
    fake: str, deadline: float
) -> tuple[list[dict[str, Any]], list[str], list[dict[str, Any]]]:
    """Settle, then compare cache and fake until they agree or time runs out."""
    from polar_checkouts.models import CheckoutSession
    from polar_checkouts.payload import parse_polar_datetime

    while True:
        fake_checkouts(fake)  # settles payments that are due; their events go out
        events = wait_for_deliveries(fake, deadline)
        checkouts = fake_checkouts(fake)
        rows = {str(row.pk): row for row in CheckoutSession.objects.all()}
        mismatches = []
        for item in checkouts:
            row = rows.get(item["id"])
            if row is None:
                mismatches.append(f"{item['id']}: not in the cache")
            elif row.status != item["status"] or row.modified_at != parse_polar_datetime(
                item["modified_at"]
            ):
                mismatches.append(
                    f"{item['id']}: cache {row.status}@{row.modified_at}, "
                    f"Polar {item['status']}@{item['modified_at']}"
                )
        extra = set(rows) - {item["id"] for item in checkouts}
        mismatches += [f"{checkout_id}: cached but unknown to Polar" for checkout_id in extra]
        if not mismatches or time.monotonic() > deadline:
            return checkouts, mismatches, events
        time.sleep(0.5)


def succeeded_signals() -> Counter[str]:
    """How many times ``checkout_succeeded`` fired, per checkout."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT checkout_id FROM {COUNTER_TABLE}")
        return Counter(str(row[0]) for row in cursor.fetchall())


def prepare_database() -> None:
    """A clean cache and an empty signal counter in the run's database."""
    from django.db import connection

    from polar_checkouts.models import CheckoutSession, WebhookEvent

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {COUNTER_TABLE} ("
            "id bigserial PRIMARY KEY, checkout_id uuid NOT NULL, pid integer NOT NULL, "
            "at timestamptz NOT NULL DEFAULT now())"
        )
        cursor.execute(f"TRUNCATE {COUNTER_TABLE}")
    CheckoutSession.objects.all().delete()
    WebhookEvent.objects.all().delete()


def drop_counter() -> None:
    """Remove the counter table (the pytest run leaves its database as it found it)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {COUNTER_TABLE}")


# -- the run -----------------------------------------------------------------------------------


def run(
    *,
    checkouts: int = 200,
    threads: int = 4,
    workers: int = 3,
    max_seconds: float = 60.0,
    seed: int = 8,
) -> dict[str, Any]:
    """Run the load and verify; returns the figures and every problem found (``ok``)."""
    started = time.monotonic()
    deadline = started + max_seconds
    prepare_database()
    app_port, fake_port = free_port(), free_port()
    app, fake = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{fake_port}"
    logs = tempfile.TemporaryDirectory(prefix="polar-load-")
    env = served_env("bench.load_settings", fake)
    fake_process = app_process = None
    stats = Stats()
    try:
        fake_log = open(Path(logs.name) / "fake.log", "wb")  # noqa: SIM115
        fake_process = start_fake(fake_port, f"{app}/checkout/webhook/", env, fake_log)
        app_log = open(Path(logs.name) / "gunicorn.log", "wb")  # noqa: SIM115
        app_process = start_gunicorn(app_port, workers, env, app_log)
        wait_until_up(fake + "/", started + 30, fake_process)
        wait_until_up(app + "/checkout/success/", started + 30, app_process)
        ready = time.monotonic()

        todo = purchase_plan(checkouts, random.Random(seed))
        lock = threading.Lock()
        done: Counter[str] = Counter()
        # Each shopper stops 10 s before the deadline: time to settle and verify.
        shoppers = [
            threading.Thread(
                target=shop_from, args=(todo, lock, done, deadline - 10, Shopper(app, stats))
            )
            for _ in range(threads)
        ]

        stop_replays = threading.Event()
        replay_thread = threading.Thread(
            target=replayer, args=(app, fake, stats, stop_replays, seed), daemon=True
        )
        replay_thread.start()
        for shopper in shoppers:
            shopper.start()
        for shopper in shoppers:
            shopper.join()
        stop_replays.set()
        replay_thread.join(timeout=30)
        shopping = time.monotonic() - ready
        final_replays = replay_everything(app, fake, stats, threads, seed)

        polar, mismatches, events = compare(fake, max(deadline, time.monotonic() + 5))
        signals = succeeded_signals()
        paid = {item["id"] for item in polar if item["status"] == "succeeded"}
        signal_problems = [
            f"{checkout_id}: checkout_succeeded fired {signals[checkout_id]} times"
            for checkout_id in paid | set(signals)
            if signals[checkout_id] != 1 or checkout_id not in paid
        ]
        delivery_problems = [
            f"{event['type']} {event['id']}: {event['state']} after {event['attempts']} attempts"
            for event in events
            if event["state"] != "delivered" or event["attempts"] != 1
        ]
    finally:
        stop(app_process)
        stop(fake_process)
    elapsed = time.monotonic() - started

    statuses = Counter(item["status"] for item in polar)
    report: dict[str, Any] = {
        "checkouts_planned": checkouts,
        "checkouts_done": sum(done.values()),
        "purchases": dict(done),
        "threads": threads,
        "gunicorn_workers": workers,
        "final_states": dict(statuses),
        "requests": stats.requests,
        "shopping_seconds": round(shopping, 2),
        "requests_per_second": round(stats.requests / shopping, 1) if shopping else 0,
        "webhook_events_emitted": len(events),
        "webhook_replays": len(stats.latencies["webhook replay"]) - final_replays,
        "final_replays": final_replays,
        "latency_ms": latency_figures(stats.latencies),
        "statuses": dict(sorted(stats.statuses.items())),
        "server_errors": stats.server_errors,
        "purchase_failures": stats.failures,
        "cache_mismatches": mismatches,
        "signal_problems": signal_problems,
        "delivery_problems": delivery_problems,
        "checkout_succeeded_rows": sum(signals.values()),
        "elapsed_seconds": round(elapsed, 2),
    }
    report["ok"] = (
        not (
            stats.server_errors
            or stats.failures
            or mismatches
            or signal_problems
            or delivery_problems
        )
        and report["checkouts_done"] == checkouts
    )
    if not report["ok"]:
        attach_logs(report, Path(logs.name))
    logs.cleanup()
    return report


def markdown(report: dict[str, Any]) -> str:
    """The figures as RELIABILITY.md shows them."""
    lines = [
        f"- {report['checkouts_done']} of {report['checkouts_planned']} purchases "
        f"({', '.join(f'{k}: {v}' for k, v in sorted(report['purchases'].items()))}) by "
        f"{report['threads']} threads against {report['gunicorn_workers']} gunicorn workers, "
        f"{report['requests']} requests in {report['shopping_seconds']} s "
        f"({report['requests_per_second']} requests/s)",
        f"- final states in Polar: {report['final_states']}",
        f"- webhooks: {report['webhook_events_emitted']} events delivered by the fake, "
        f"{report['webhook_replays']} replays (shuffled, duplicated) during the run and "
        f"{report['final_replays']} concurrent replays after it",
        f"- checkout_succeeded rows: {report['checkout_succeeded_rows']}; "
        f"5xx answers: {len(report['server_errors'])}; cache mismatches: "
        f"{len(report['cache_mismatches'])}; signal problems: {len(report['signal_problems'])}; "
        f"deliveries not accepted first time: {len(report['delivery_problems'])}",
        "",
        *latency_table(report["latency_ms"]),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: set up Django on ``bench.load_settings``, migrate, run, report."""
    parser = argparse.ArgumentParser(prog="python -m bench.load_reliability", description=__doc__)
    parser.add_argument("--checkouts", type=int, default=200)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--json", help="also write the report to this file")
    args = parser.parse_args(argv)

    setup_django("bench.load_settings")
    report = run(
        checkouts=args.checkouts,
        threads=args.threads,
        workers=args.workers,
        max_seconds=args.max_seconds,
        seed=args.seed,
    )
    return finish(report, markdown(report), args.json)


if __name__ == "__main__":
    raise SystemExit(main())
