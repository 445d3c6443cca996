"""Figure (g, redone for the inbox): webhook throughput against the floor of a durable receipt.

For each task backend (``database``: django-tasks-db; ``rq``: django-tasks-rq on Redis),
gunicorn serves ``bench.wsgi`` with ``POLAR_TASK_BACKEND`` set to it, and wrk alternates
two loads on that same server: signed ``checkout.updated`` deliveries to the webhook
endpoint (each sent twice in a row on different connections, as in figure g; once each
with the ``unique`` argument, a variant showing Polar's usual traffic), and the
floor, a view that inserts the body as one row and commits (``/insert-one/``). The ratio
is the endpoint's requests/s over the floor's; wrk's p50/p99 latency is reported at that
load. Then two worker processes of the backend process what was enqueued, and their rate
(events processed per second, from the first to the last ``processed_at``) is reported.

The old figure g (processing inline in the request) stays in :mod:`bench.webhook_load`;
its recorded run is the "before" of BENCHMARKS.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

from bench import db
from bench.harness import Figure, summary
from bench.webhook_load import (
    WORKERS,
    _database_url,
    _free_port,
    _reset,
    _wait_for,
    _wrk,
    deliveries,
    lua_script,
)

#: The RQ queue the benchmark uses (tests/settings.py's, on Redis db 1 by default).
RQ_QUEUE = "polar_checkouts_tests"
#: What a worker process of each backend is.
WORKER_COMMANDS = {
    "database": ["db_worker", "--backend", "database", "--batch", "--no-startup-delay"],
    # SimpleWorker runs jobs in the worker process: RQ's default forks a work horse per
    # job, which on two loaded cores costs more than the job itself (measured: 1.7
    # events/s with forking against the rate reported with SimpleWorker).
    "rq": [
        "rqworker",
        "--burst",
        "--worker-class",
        "rq.worker.SimpleWorker",
        "--job-class",
        "django_tasks_rq.Job",
        RQ_QUEUE,
    ],
}
FLOOR_TABLE = "bench_floor_row"


def unavailable(backend: str) -> str | None:
    """Why the figure cannot run for ``backend`` here, or ``None``."""
    from importlib.util import find_spec

    from bench import webhook_load

    reason = webhook_load.unavailable()
    if reason:
        return reason
    module = {"database": "django_tasks_db", "rq": "django_tasks_rq"}[backend]
    if find_spec(module) is None:
        return f"{module} is not installed (extra tasks-{'db' if backend == 'database' else 'rq'})"
    if backend == "rq":
        import django_rq

        try:
            django_rq.get_queue(RQ_QUEUE).connection.ping()
        except Exception as exc:
            return f"Redis is not reachable: {exc!r}"
    return None


def create_floor_table() -> None:
    """The floor view's table (no model: the bench has no app of its own)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} "
            "(id bigserial PRIMARY KEY, body text NOT NULL)"
        )
        cursor.execute(f"TRUNCATE {FLOOR_TABLE}")


def _reset_queue(backend: str) -> None:
    from polar_checkouts.models import WebhookWakeUp

    # A claim whose task is emptied out below would stand for 30 s: start each round with
    # no task queued, as a shop's quiet hour would.
    WebhookWakeUp.objects.update(queued_at=None)
    if backend == "rq":
        import django_rq

        django_rq.get_queue(RQ_QUEUE).empty()
    else:
        from django_tasks_db.models import DBTaskResult

        DBTaskResult.objects.all().delete()


def _env(backend: str) -> dict[str, str]:
    from django.db import connection

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "PYTHONPATH": os.getcwd(),
        "BENCH_DATABASE_URL": _database_url(connection.settings_dict),
        "POLAR_TEST_TASK_BACKEND": backend,
        "POLAR_TEST_TASK_QUEUE": RQ_QUEUE if backend == "rq" else "",
    }


def _pending() -> int:
    from polar_checkouts.models import WebhookEvent

    return WebhookEvent.objects.filter(processed_at__isnull=True).count()


def drain(backend: str, workers: int = 2, timeout: float = 300.0) -> dict[str, Any]:
    """Run ``workers`` worker processes of ``backend`` until nothing is pending; their rate."""
    from django.db.models import Count, Max, Min

    from polar_checkouts.models import WebhookEvent

    command = [sys.executable, "-m", "django", *WORKER_COMMANDS[backend]]
    deadline = time.monotonic() + timeout
    runs = 0
    # A batch/burst worker stops when its queue is empty; tasks enqueued late (a request
    # wrk cut short) may need another pass.
    while _pending() and time.monotonic() < deadline and runs < 5:
        procs = [
            subprocess.Popen(command, env=_env(backend), stdout=subprocess.DEVNULL)
            for _ in range(workers)
        ]
        for proc in procs:
            proc.wait(max(1.0, deadline - time.monotonic()))
        runs += 1
    stats = WebhookEvent.objects.aggregate(
        events=Count("pk"),
        first=Min("processed_at"),
        last=Max("processed_at"),
        max_attempts=Max("attempts"),
    )
    span = (stats["last"] - stats["first"]).total_seconds() if stats["first"] else 0.0
    return {
        "events": stats["events"],
        "not_processed": _pending(),
        "max_attempts": stats["max_attempts"],
        "seconds": round(span, 3),
        "events_per_s": round(stats["events"] / span, 1) if span else None,
        "worker_passes": runs,
    }


def run_backend(
    backend: str, *, duration: int, rounds: int, events: int, settle: float, unique: bool = False
) -> Figure:
    """One backend: ``rounds`` of webhook vs floor on one gunicorn, then the workers.

    ``unique``: each delivery is sent once (Polar's usual traffic) instead of twice."""
    port = _free_port()
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "bench.wsgi",
            "--workers",
            str(WORKERS),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--preload",
        ],
        env=_env(backend),
    )
    results: dict[str, list[dict[str, Any]]] = {"webhook": [], "floor": []}
    drains: list[dict[str, Any]] = []
    try:
        _wait_for(port)
        for r in range(rounds):
            for name in ("webhook", "floor") if r % 2 == 0 else ("floor", "webhook"):
                if name == "webhook":
                    _reset()
                    _reset_queue(backend)
                    script = lua_script(
                        deliveries(events, r * events),
                        "/checkout/webhook/",
                        times=1 if unique else 2,
                    )
                else:
                    script = lua_script(deliveries(200, 0), "/insert-one/")
                result = _wrk(port, script, duration)
                results[name].append(result)
                if name == "webhook":
                    time.sleep(settle)
                    drains.append(drain(backend))
    finally:
        gunicorn.terminate()
        gunicorn.wait(30)
    errors = sum(
        res[k]
        for v in results.values()
        for res in v
        for k in ("connect", "read", "write", "status", "timeout")
    )
    webhook_rates = [r["rate"] for r in results["webhook"]]
    floor_rates = [r["rate"] for r in results["floor"]]
    return Figure(
        f"g. webhook inbox ({backend} backend{', unique deliveries' if unique else ''})"
        " vs insert-one-row floor (throughput)",
        "webhook delivery (verify, record, enqueue)",
        "a view inserting one row and committing",
        [w / f if f else 0.0 for w, f in zip(webhook_rates, floor_rates, strict=True)],
        target=">= 0.5",
        notes={
            "deliveries_per_s": summary(webhook_rates, 1),
            "floor_per_s": summary(floor_rates, 1),
            "webhook_p50_ms": summary([r["p50_us"] / 1000 for r in results["webhook"]], 1),
            "webhook_p99_ms": summary([r["p99_us"] / 1000 for r in results["webhook"]], 1),
            "floor_p50_ms": summary([r["p50_us"] / 1000 for r in results["floor"]], 1),
            "floor_p99_ms": summary([r["p99_us"] / 1000 for r in results["floor"]], 1),
            "worker_events_per_s": [d["events_per_s"] for d in drains],
            "drains": drains,
            "errors": errors,
            "processed_twice": any((d["max_attempts"] or 0) > 1 for d in drains),
            "not_processed": sum(d["not_processed"] for d in drains),
            "wrk": results,
            "gunicorn_workers": WORKERS,
            "worker_processes": 2,
            "sends_per_event": 1 if unique else 2,
        },
    )


def run(
    *,
    duration: int = 10,
    rounds: int = 3,
    events: int = 6000,
    settle: float = 2.0,
    prepare: bool = True,
    backends: tuple[str, ...] = ("database", "rq"),
    unique: bool = False,
) -> list[Figure]:
    """The redone figure g for each available backend (others are skipped, with why).

    Every delivery is sent twice (the figure's traffic since the first figure g); with
    ``unique``, once each instead (Polar's usual traffic: it resends only when it did not
    get an answer), a variant reported next to it, not instead of it."""
    if prepare:
        db.prepare_databases(("default",))
    create_floor_table()
    figures = []
    for backend in backends:
        reason = unavailable(backend)
        if reason:
            print(f"g ({backend}): pending: {reason}", file=sys.stderr)
            continue
        figures.append(
            run_backend(
                backend,
                duration=duration,
                rounds=rounds,
                events=events,
                settle=settle,
                unique=unique,
            )
        )
    return figures


if __name__ == "__main__":
    import json

    db.setup_django()
    from bench.harness import table

    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    # A third argument "unique": each delivery sent once instead of twice.
    unique = len(sys.argv) > 3 and sys.argv[3] == "unique"
    figures = run(duration=seconds, rounds=rounds, unique=unique)
    print(table(figures))
    for figure in figures:
        notes = {k: v for k, v in figure.notes.items() if k != "wrk"}
        print(figure.name, json.dumps(notes, indent=1, default=str))
