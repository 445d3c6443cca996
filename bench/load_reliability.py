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
import base64
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests
from django.apps import AppConfig

from polar_checkouts.testing import catalogue

ROOT = Path(__file__).resolve().parent.parent
#: One row per ``checkout_succeeded`` signal sent by any gunicorn worker.
COUNTER_TABLE = "polar_load_succeeded"
SECRET = "polar_whs_load_run"
TOKEN = "polar_oat_load_run"
DETAILS = {
    "customer_email": "buyer@example.com",
    "customer_name": "Load Buyer",
    "customer_billing_address": {"country": "FR"},
}
#: What each purchase does, and how often (weights).
KINDS = {"paid": 6, "declined_then_paid": 2, "fails_after_confirm": 1, "free": 1}


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


# -- measuring -------------------------------------------------------------------------------


@dataclass
class Stats:
    """Every answer the run got: statuses and latencies by step, and every 5xx."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    server_errors: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def call(self, label: str, send: Callable[[], requests.Response]) -> requests.Response:
        """Send one request, recording its status and how long it took."""
        start = time.perf_counter()
        response = send()
        elapsed = time.perf_counter() - start
        with self.lock:
            self.statuses[f"{label} {response.status_code}"] += 1
            self.latencies[label].append(elapsed)
            if response.status_code >= 500:
                self.server_errors.append(f"{label}: {response.status_code} {response.text[:200]}")
        return response

    def fail(self, message: str) -> None:
        """A purchase that did not go as the storefront promises."""
        with self.lock:
            self.failures.append(message)

    @property
    def requests(self) -> int:
        """Requests sent."""
        return sum(len(values) for values in self.latencies.values())


# -- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, deadline: float, process: subprocess.Popen[bytes]) -> None:
    """Poll ``url`` until it answers (any status), the process dies, or time runs out."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up in time")


def stop(process: subprocess.Popen[bytes] | None) -> None:
    """Stop a process this run started: SIGTERM, then SIGKILL after 10 s."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


# -- one shopper -------------------------------------------------------------------------------


class Shopper:
    """A browser-like session buying through the storefront in server mode."""

    def __init__(self, app: str, stats: Stats) -> None:
        self.app = app
        self.stats = stats
        self.http = requests.Session()
        self.token = ""

    def _csrf(self) -> str:
        if not self.token:
            self.stats.call("shop page", lambda: self.http.get(self.app + "/shop/", timeout=30))
            self.token = self.http.cookies.get("csrftoken") or ""
        return self.token

    def _json(self, label: str, method: str, path: str, body: Any) -> requests.Response:
        return self.stats.call(
            label,
            lambda: self.http.request(
                method,
                self.app + path,
                data=json.dumps(body),
                headers={"Content-Type": "application/json", "X-CSRFToken": self._csrf()},
                timeout=30,
            ),
        )

    def buy(self, kind: str) -> None:
        """One purchase of ``kind`` from the button to the receipt."""
        product = catalogue.PRODUCT_FREE_ID if kind == "free" else catalogue.PRODUCT_ONE_TIME_ID
        token = self._csrf()
        created = self.stats.call(
            "create",
            lambda: self.http.post(
                self.app + "/checkout/create/",
                data={"product_id": product, "csrfmiddlewaretoken": token},
                allow_redirects=False,
                timeout=30,
            ),
        )
        location = created.headers.get("Location", "")
        if created.status_code != 303 or not location.startswith("/checkout/polar_c_"):
            self.stats.fail(f"create answered {created.status_code} -> {location!r}")
            return
        secret = location.strip("/").rsplit("/", 1)[-1]
        self.stats.call("checkout page", lambda: self.http.get(self.app + location, timeout=30))
        client = f"/checkout/client/{secret}"
        updated = self._json("update", "PATCH", client, DETAILS)
        if updated.status_code != 200:
            self.stats.fail(f"update answered {updated.status_code}: {updated.text[:200]}")
            return
        plans: dict[str, list[str | None]] = {
            "paid": [catalogue.TOKEN_SUCCEEDED],
            "declined_then_paid": [catalogue.TOKEN_DECLINED, catalogue.TOKEN_SUCCEEDED],
            "fails_after_confirm": [catalogue.TOKEN_FAILED],
            "free": [None],
        }
        tokens = plans[kind]
        for confirmation in tokens:
            body = {"confirmation_token_id": confirmation} if confirmation else {}
            answer = self._json("confirm", "POST", client + "/confirm", body)
            expected = 400 if confirmation == catalogue.TOKEN_DECLINED else 200
            if answer.status_code != expected:
                self.stats.fail(
                    f"{kind}: confirm answered {answer.status_code}: {answer.text[:200]}"
                )
                return
        final = {"succeeded", "failed"}
        for _ in range(50):
            status = self.stats.call(
                "status",
                lambda: self.http.get(self.app + f"/checkout/{secret}/status/", timeout=30),
            )
            if status.status_code == 200 and status.json().get("status") in final:
                break
            time.sleep(0.05)
        checkout_id = status.json().get("id") if status.status_code == 200 else None
        if checkout_id:
            self.stats.call(
                "success page",
                lambda: self.http.get(
                    self.app + f"/checkout/success/?checkout_id={checkout_id}", timeout=30
                ),
            )


# -- webhook replays -------------------------------------------------------------------------


def signer() -> Any:
    """Polar's key for SECRET: the UTF-8 bytes of the secret (API.md §10)."""
    from standardwebhooks.webhooks import Webhook

    return Webhook(base64.b64encode(SECRET.encode()).decode())


def fake_events(fake: str) -> list[dict[str, Any]]:
    """Every event the fake emitted: id, type, delivery state, attempts, payload."""
    response = requests.get(fake + "/_fake/events", timeout=30)
    response.raise_for_status()
    return list(response.json())


def replay(app: str, event: dict[str, Any], stats: Stats, webhook: Any) -> None:
    """Send ``event`` again under its own ``webhook-id``, signed now (as Polar's retries are)."""
    body = json.dumps(event["payload"])
    now = datetime.now(timezone.utc)
    headers = {
        "webhook-id": event["id"],
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": webhook.sign(event["id"], now, body),
        "content-type": "application/json",
    }
    stats.call(
        "webhook replay",
        lambda: requests.post(
            app + "/checkout/webhook/", data=body.encode(), headers=headers, timeout=30
        ),
    )


def replayer(app: str, fake: str, stats: Stats, stop_event: threading.Event, seed: int) -> None:
    """While shoppers buy: replay new events and a sample of old ones, shuffled, doubled."""
    rng = random.Random(seed)
    webhook = signer()
    seen: set[str] = set()
    while not stop_event.is_set():
        events = fake_events(fake)
        fresh = [e for e in events if e["id"] not in seen]
        seen.update(e["id"] for e in fresh)
        batch = fresh + rng.sample(events, min(len(events), 5))
        batch += rng.sample(batch, len(batch) // 2)  # duplicates
        rng.shuffle(batch)  # out of order
        for event in batch:
            replay(app, event, stats, webhook)
        stop_event.wait(0.2)


def replay_everything(app: str, fake: str, stats: Stats, threads: int, seed: int) -> int:
    """Every event twice more, shuffled, from several threads at once; returns the count."""
    rng = random.Random(seed)
    events = fake_events(fake) * 2
    rng.shuffle(events)
    webhook = signer()
    chunks = [events[n::threads] for n in range(threads)]

    def send(chunk: list[dict[str, Any]]) -> None:
        for event in chunk:
            replay(app, event, stats, webhook)

    workers = [threading.Thread(target=send, args=(chunk,)) for chunk in chunks]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return len(events)


# -- verification ----------------------------------------------------------------------------


def fake_checkouts(fake: str) -> list[dict[str, Any]]:
    """Every checkout through the fake's server API (which also settles due payments)."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        response = requests.get(
            fake + "/v1/checkouts/",
            params={"page": page, "limit": 100},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        )
        response.raise_for_status()
        data = response.json()
        items += data["items"]
        if page >= data["pagination"]["max_page"]:
            return items
        page += 1


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


def database_url() -> str:
    """The URL of the database this process uses (gunicorn must use the same one)."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        raise RuntimeError("The load run needs PostgreSQL (several processes write at once).")
    auth = db.get("USER") or "postgres"
    if db.get("PASSWORD"):
        auth += ":" + str(db["PASSWORD"])
    return (
        f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    )


# -- the run -----------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile (0..1) of ``values``, in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]


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
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.load_settings",
        "POLAR_LOAD_DATABASE_URL": database_url(),
        "POLAR_LOAD_FAKE_URL": fake,
        "POLAR_LOAD_WEBHOOK_SECRET": SECRET,
        "PYTHONPATH": str(ROOT),
    }
    fake_process = app_process = None
    stats = Stats()
    try:
        fake_log = open(Path(logs.name) / "fake.log", "wb")  # noqa: SIM115
        fake_process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "polar_checkouts.testing.server",
                "--host=127.0.0.1",
                f"--port={fake_port}",
                f"--webhook-url={app}/checkout/webhook/",
                f"--webhook-secret={SECRET}",
            ],
            cwd=ROOT,
            env=env,
            stdout=fake_log,
            stderr=subprocess.STDOUT,
        )
        app_log = open(Path(logs.name) / "gunicorn.log", "wb")  # noqa: SIM115
        app_process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                f"--workers={workers}",
                f"--bind=127.0.0.1:{app_port}",
                "--timeout=30",
                "--graceful-timeout=5",
                "django.core.wsgi:get_wsgi_application()",
            ],
            cwd=ROOT,
            env=env,
            stdout=app_log,
            stderr=subprocess.STDOUT,
        )
        wait_until_up(fake + "/", started + 30, fake_process)
        wait_until_up(app + "/checkout/success/", started + 30, app_process)
        ready = time.monotonic()

        rng = random.Random(seed)
        plan = rng.choices(list(KINDS), weights=list(KINDS.values()), k=checkouts)
        queue = list(reversed(plan))
        queue_lock = threading.Lock()
        done: Counter[str] = Counter()

        def shop() -> None:
            shopper = Shopper(app, stats)
            while time.monotonic() < deadline - 10:  # keep time to settle and verify
                with queue_lock:
                    if not queue:
                        return
                    kind = queue.pop()
                try:
                    shopper.buy(kind)
                except (requests.RequestException, ValueError) as exc:
                    stats.fail(f"{kind}: {exc!r}")
                with queue_lock:
                    done[kind] += 1

        stop_replays = threading.Event()
        replay_thread = threading.Thread(
            target=replayer, args=(app, fake, stats, stop_replays, seed), daemon=True
        )
        shoppers = [threading.Thread(target=shop) for _ in range(threads)]
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
        "latency_ms": {
            label: {
                "n": len(values),
                "p50": round(percentile(values, 0.5), 1),
                "p95": round(percentile(values, 0.95), 1),
                "max": round(1000 * max(values), 1),
                "mean": round(1000 * statistics.fmean(values), 1),
            }
            for label, values in sorted(stats.latencies.items())
        },
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
        for name in ("gunicorn.log", "fake.log"):
            path = Path(logs.name) / name
            report[name] = path.read_text(errors="replace")[-4000:] if path.exists() else ""
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
        "| step | requests | p50 ms | p95 ms | max ms |",
        "|---|---|---|---|---|",
    ]
    for label, figures in report["latency_ms"].items():
        lines.append(
            f"| {label} | {figures['n']} | {figures['p50']} | {figures['p95']} | {figures['max']} |"
        )
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

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.load_settings")
    ensure_database(
        os.environ.get("POLAR_LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pc_rel")
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    report = run(
        checkouts=args.checkouts,
        threads=args.threads,
        workers=args.workers,
        max_seconds=args.max_seconds,
        seed=args.seed,
    )
    print(markdown(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if not report["ok"]:
        print(json.dumps(report, indent=2), file=sys.stderr)
        return 1
    return 0


def ensure_database(url: str) -> None:
    """Create the run's PostgreSQL database when it does not exist yet."""
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    raise SystemExit(main())
