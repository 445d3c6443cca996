"""What the load runs share: processes, shoppers, webhook replays, figures, the command line.

Used by :mod:`bench.load_reliability` (``scripts/load``), :mod:`bench.load_flood`
(``scripts/load --flood``) and :mod:`bench.load_multinode` (``scripts/load
--multi-node``):

* processes on loopback: :func:`free_port` (``BENCH_PORTS``, e.g. ``8600-8699``, keeps
  them to a range), :func:`start_fake` (the standalone fake Polar), :func:`start_gunicorn`,
  :func:`wait_until_up`, :func:`stop`;
* a shopper buying through the storefront in server mode (:class:`Shopper`), every answer
  counted by :class:`Stats`;
* webhook replays signed under their original ``webhook-id`` (:func:`replay`,
  :func:`replay_while`, :func:`send_concurrently`), the fake's events and checkouts;
* the database (:func:`database_url`, :func:`ensure_database`, :func:`setup_django`);
* the report: :func:`latency_figures`, :func:`latency_table`, :func:`attach_logs`,
  :func:`finish`.
"""

from __future__ import annotations

import base64
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import requests

from polar_checkouts.testing import catalogue

ROOT = Path(__file__).resolve().parent.parent
#: The webhook secret the fake signs with and the served shop checks.
SECRET = "polar_whs_load_run"
#: The token the runner reads the fake's checkouts with.
TOKEN = "polar_oat_load_run"
DETAILS = {
    "customer_email": "buyer@example.com",
    "customer_name": "Load Buyer",
    "customer_billing_address": {"country": "FR"},
}
#: What each purchase does, and how often (weights).
KINDS = {"paid": 6, "declined_then_paid": 2, "fails_after_confirm": 1, "free": 1}
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/pc_rel"


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


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile (0..1) of ``values`` (seconds), in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def latency_figures(latencies: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """Per step: requests, p50, p95, max and mean in milliseconds."""
    return {
        label: {
            "n": len(values),
            "p50": round(percentile(values, 0.5), 1),
            "p95": round(percentile(values, 0.95), 1),
            "max": round(1000 * max(values), 1),
            "mean": round(1000 * statistics.fmean(values), 1),
        }
        for label, values in sorted(latencies.items())
    }


def latency_table(
    figures: dict[str, dict[str, float]], columns: Sequence[str] = ("p50", "p95", "max")
) -> list[str]:
    """The figures of :func:`latency_figures` as a Markdown table (the given columns)."""
    lines = [
        "| step | requests | " + " | ".join(f"{c} ms" for c in columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for label, row in figures.items():
        lines.append(f"| {label} | {row['n']} | " + " | ".join(str(row[c]) for c in columns) + " |")
    return lines


# -- processes ---------------------------------------------------------------------------------

_handed_out: set[int] = set()
_ports_lock = threading.Lock()


def free_port() -> int:
    """A free TCP port on loopback: from ``BENCH_PORTS`` (``"8600-8699"``) when set, one not
    handed out before by this process; else one the system picks."""
    wanted = os.environ.get("BENCH_PORTS", "").strip()
    if not wanted:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    low, _, high = wanted.partition("-")
    with _ports_lock:
        for port in range(int(low), int(high or low) + 1):
            if port in _handed_out:
                continue
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free port left in BENCH_PORTS={wanted}")


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


def stop(process: subprocess.Popen[Any] | None) -> None:
    """Stop a process this run started: SIGTERM, then SIGKILL after 10 s."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def start_fake(
    port: int, webhook_url: str, env: dict[str, str], log: IO[bytes], *options: str
) -> subprocess.Popen[bytes]:
    """The standalone fake Polar on ``127.0.0.1:port``, delivering its webhooks (signed
    with :data:`SECRET`) to ``webhook_url``; ``options``: more of its flags."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "polar_checkouts.testing.server",
            "--host=127.0.0.1",
            f"--port={port}",
            *options,
            f"--webhook-url={webhook_url}",
            f"--webhook-secret={SECRET}",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def start_gunicorn(
    port: int, workers: int, env: dict[str, str], log: IO[bytes], *, graceful_timeout: int = 5
) -> subprocess.Popen[bytes]:
    """gunicorn serving the project of ``env``'s settings on ``127.0.0.1:port``."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            f"--workers={workers}",
            f"--bind=127.0.0.1:{port}",
            "--timeout=30",
            f"--graceful-timeout={graceful_timeout}",
            "django.core.wsgi:get_wsgi_application()",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def served_env(settings_module: str, fake: str, **extra: str) -> dict[str, str]:
    """The environment of the served shop's processes: settings, this process's database,
    the fake's address and the webhook secret."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "POLAR_LOAD_DATABASE_URL": database_url(),
        "POLAR_LOAD_FAKE_URL": fake,
        "POLAR_LOAD_WEBHOOK_SECRET": SECRET,
        "PYTHONPATH": str(ROOT),
        **extra,
    }


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


def shop_from(
    todo: list[str], lock: threading.Lock, done: Counter[str], until: float, shopper: Shopper
) -> None:
    """One shopper thread: buy the next planned purchase until none is left or ``until``
    (a ``time.monotonic()``) has passed; count each in ``done``."""
    while time.monotonic() < until:
        with lock:
            if not todo:
                return
            kind = todo.pop()
        try:
            shopper.buy(kind)
        except (requests.RequestException, ValueError) as exc:
            shopper.stats.fail(f"{kind}: {exc!r}")
        with lock:
            done[kind] += 1


def purchase_plan(checkouts: int, rng: random.Random) -> list[str]:
    """``checkouts`` purchase kinds drawn by :data:`KINDS`' weights, as a stack to pop."""
    plan = rng.choices(list(KINDS), weights=list(KINDS.values()), k=checkouts)
    return list(reversed(plan))


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


def replay_while(
    fake: str,
    stop_event: threading.Event,
    rng: random.Random,
    send: Callable[[dict[str, Any]], None],
    pause: float,
) -> int:
    """Until ``stop_event``: every new event of the fake and a sample of old ones, half of
    them twice, shuffled, each given to ``send``; then ``pause`` seconds. Returns how many
    were sent."""
    seen: set[str] = set()
    sent = 0
    while not stop_event.is_set():
        events = fake_events(fake)
        fresh = [e for e in events if e["id"] not in seen]
        seen.update(e["id"] for e in fresh)
        batch = fresh + rng.sample(events, min(len(events), 5))
        batch += rng.sample(batch, len(batch) // 2)  # duplicates
        rng.shuffle(batch)  # out of order
        for event in batch:
            send(event)
            sent += 1
        stop_event.wait(pause)
    return sent


def send_concurrently(items: list[Any], threads: int, send: Callable[[Any], None]) -> None:
    """``send`` each item, from ``threads`` threads at once (every ``threads``-th item each)."""
    chunks = [items[n::threads] for n in range(threads)]

    def work(chunk: list[Any]) -> None:
        for item in chunk:
            send(item)

    workers = [threading.Thread(target=work, args=(chunk,)) for chunk in chunks]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def fake_checkouts(fake: str, token: str = TOKEN) -> list[dict[str, Any]]:
    """Every checkout through the fake's server API, read with ``token`` (reading also
    settles payments that are due)."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        response = requests.get(
            fake + "/v1/checkouts/",
            params={"page": page, "limit": 100},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        response.raise_for_status()
        data = response.json()
        items += data["items"]
        if page >= data["pagination"]["max_page"]:
            return items
        page += 1


# -- the database ------------------------------------------------------------------------------


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


def setup_django(settings_module: str, url: str | None = None) -> None:
    """The command line's start: Django on ``settings_module`` (unless already chosen),
    the run's database (``url``, else ``POLAR_LOAD_DATABASE_URL``, else ``pc_rel``) made
    if missing, and migrated."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    ensure_database(url or os.environ.get("POLAR_LOAD_DATABASE_URL", DEFAULT_DATABASE_URL))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


# -- the report --------------------------------------------------------------------------------


def attach_logs(report: dict[str, Any], logs: Path, chars: int = 4000) -> None:
    """Put the end of each of the run's logs (``*.log`` in ``logs``) into ``report``."""
    for path in sorted(logs.glob("*.log")):
        report[path.name] = path.read_text(errors="replace")[-chars:]


def finish(report: dict[str, Any], text: str, json_path: str | None) -> int:
    """The command line's end: print ``text`` (the Markdown figures), write the report to
    ``json_path`` if given, print the whole report on a failure; the exit status."""
    print(text)
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=2) + "\n")
    if not report["ok"]:
        print(json.dumps(report, indent=2), file=sys.stderr)
        return 1
    return 0
