"""Figure (g): the webhook endpoint under load, against a trivial Django view.

gunicorn serves ``bench.wsgi`` (several sync workers, PostgreSQL) on 127.0.0.1; wrk
sends signed ``checkout.updated`` deliveries for distinct checkouts, every one of them
twice in a row (on different connections, so duplicates race), for a fixed time; then
the same load goes to a trivial POST view. Afterwards every recorded event must have
been processed exactly once (``attempts == 1``) and wrk must report no errors.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib.util import find_spec
from typing import Any
from urllib.parse import quote
from urllib.request import urlopen

from bench import db, payloads
from bench.harness import Figure, summary

#: Must match POLAR_WEBHOOK_SECRET in bench/settings.py.
SECRET = "polar_whs_bench_secret"
WORKERS = 2 * (os.cpu_count() or 1)
THREADS, CONNECTIONS = 2, 8


def unavailable() -> str | None:
    """Why the figure cannot run here, or ``None``."""
    if shutil.which("wrk") is None:
        return "wrk is not installed (Debian package wrk; scripts/bench installs it as root)"
    if find_spec("gunicorn") is None:
        return "gunicorn is not installed"
    if find_spec("polar_checkouts.webhooks") is None:
        return "the webhook endpoint (polar_checkouts.webhooks, issue 6) has not landed yet"
    return None


def deliveries(count: int, start: int) -> list[tuple[str, dict[str, str]]]:
    """``count`` signed ``checkout.updated`` deliveries: (body, headers)."""
    from standardwebhooks.webhooks import Webhook

    signer = Webhook(base64.b64encode(SECRET.encode()).decode())
    now = time.time()
    out = []
    for n in range(start, start + count):
        body = json.dumps(
            {"type": "checkout.updated", "data": payloads.checkout(n + 1, minute=n % 1440)},
            separators=(",", ":"),
        )
        webhook_id = f"msg_bench_{n:08d}"
        stamp = int(now)
        signature = signer.sign(webhook_id, datetime.fromtimestamp(stamp, tz=timezone.utc), body)
        out.append(
            (
                body,
                {
                    "content-type": "application/json",
                    "user-agent": "polar.sh webhooks",
                    "webhook-id": webhook_id,
                    "webhook-timestamp": str(stamp),
                    "webhook-signature": signature,
                },
            )
        )
    return out


def _lua_string(value: str) -> str:
    return "[==[" + value + "]==]"


def lua_script(events: list[tuple[str, dict[str, str]]], path: str, times: int = 2) -> str:
    """A wrk script: thread ``t`` sends its share of ``events``, each one ``times`` times in
    a row (twice: every event is redelivered once)."""
    lines = ["local events = {"]
    for body, headers in events:
        hdrs = ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items())
        lines.append(f"  {{ {_lua_string(body)}, {{ {hdrs} }} }},")
    lines.append("}")
    lines.append(
        f"""
local threads = {{}}
local counter = 0
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  counter = 0
  nthreads = {THREADS}
end
function request()
  local k = math.floor(counter / {times})
  counter = counter + 1
  local e = events[((tid + nthreads * k) % #events) + 1]
  return wrk.format("POST", "{path}", e[2], e[1])
end
function done(summary, latency, requests)
  io.write(string.format(
    "WRKJSON {{\\"requests\\": %d, \\"duration_us\\": %d, \\"connect\\": %d, "
    .. "\\"read\\": %d, \\"write\\": %d, \\"status\\": %d, \\"timeout\\": %d, "
    .. "\\"p50_us\\": %d, \\"p99_us\\": %d}}\\n",
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""
    )
    return "\n".join(lines)


def _free_port() -> int:
    """A free loopback port; in ``BENCH_PORTS`` (``"8500-8549"``) when set (the figures
    start one gunicorn at a time)."""
    from bench.runner import free_port

    return free_port()


def _wait_for(port: int, timeout: float = 30.0) -> None:
    """Wait until gunicorn answers HTTP, not just until its port is open.

    The master binds the port before its workers can answer; timing from then on counted
    their start-up (a second or two on two cores) as request latency, and the 2-second
    smoke run saw only a few of its deliveries. With ``--preload`` the workers fork with
    Django loaded; a few answered requests show they are serving.
    """
    deadline = time.monotonic() + timeout
    answered = 0
    while time.monotonic() < deadline and answered < 4 * WORKERS:
        try:
            with urlopen(f"http://127.0.0.1:{port}/trivial/", timeout=5) as response:
                answered += response.status == 200
        except OSError:
            time.sleep(0.2)
    if answered < 4 * WORKERS:
        raise RuntimeError("gunicorn did not start")


def _wrk(port: int, script: str, duration: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    try:
        out = subprocess.run(
            [
                "wrk",
                f"-t{THREADS}",
                f"-c{CONNECTIONS}",
                f"-d{duration}s",
                "--timeout",
                "10s",
                "-s",
                fh.name,
                f"http://127.0.0.1:{port}/",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=duration + 60,
        ).stdout
    finally:
        os.unlink(fh.name)
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    result: dict[str, Any] = json.loads(line[len("WRKJSON ") :])
    result["rate"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def _database_url(conf: dict[str, Any]) -> str:
    """A ``postgres://`` URL for Django's connection settings ``conf``."""
    auth = quote(conf["USER"] or "", safe="")
    if conf["PASSWORD"]:
        auth += ":" + quote(conf["PASSWORD"], safe="")
    host = conf["HOST"] or "127.0.0.1"
    return f"postgres://{auth}@{host}:{conf['PORT'] or 5432}/{conf['NAME']}"


def _reset() -> None:
    from django.db import connection

    from polar_checkouts.models import CheckoutSession, WebhookEvent

    with connection.cursor() as cursor:
        for model in (WebhookEvent, CheckoutSession):
            cursor.execute(f'TRUNCATE "{model._meta.db_table}" CASCADE')


def _check() -> dict[str, Any]:
    from django.db.models import Count, Max, Q

    from polar_checkouts.models import CheckoutSession, WebhookEvent

    stats = WebhookEvent.objects.aggregate(
        events=Count("pk"),
        max_attempts=Max("attempts"),
        not_processed=Count("pk", filter=Q(processed_at__isnull=True)),
    )
    stats["checkouts"] = CheckoutSession.objects.count()
    return stats


def run(
    *,
    duration: int = 10,
    rounds: int = 3,
    events: int = 6000,
    settle: float = 2.0,
    prepare: bool = True,
) -> list[Figure]:
    """Alternate ``rounds`` webhook and trivial-view runs of ``duration`` seconds each.

    gunicorn uses this process's default database (passed on as ``BENCH_DATABASE_URL``);
    ``settle`` seconds after each webhook run let requests cut off by wrk's stop finish.
    """
    from django.db import connection

    if prepare:
        db.prepare_databases(("default",))
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "PYTHONPATH": os.getcwd(),
        "BENCH_DATABASE_URL": _database_url(connection.settings_dict),
    }
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
            # Load Django once in the master, before forking: every worker can answer
            # from the first request, so no worker's start-up is timed as latency.
            "--preload",
        ],
        env=env,
    )
    rates: dict[str, list[float]] = {"webhook": [], "trivial": []}
    results: dict[str, list[dict[str, Any]]] = {"webhook": [], "trivial": []}
    checks: list[dict[str, Any]] = []
    try:
        _wait_for(port)
        for r in range(rounds):
            for name in ("webhook", "trivial") if r % 2 == 0 else ("trivial", "webhook"):
                if name == "webhook":
                    _reset()
                    script = lua_script(deliveries(events, r * events), "/checkout/webhook/")
                else:
                    script = lua_script(deliveries(200, 0), "/trivial-post/")
                result = _wrk(port, script, duration)
                results[name].append(result)
                rates[name].append(result["rate"])
                if name == "webhook":
                    time.sleep(settle)
                    check = _check()
                    check["requests"] = result["requests"]
                    check["distinct_per_s"] = check["events"] / (result["duration_us"] / 1e6)
                    checks.append(check)
    finally:
        gunicorn.terminate()
        gunicorn.wait(30)
    errors = sum(
        res[k]
        for v in results.values()
        for res in v
        for k in ("connect", "read", "write", "status", "timeout")
    )
    twice = any(c["max_attempts"] and c["max_attempts"] > 1 for c in checks)
    unprocessed = sum(c["not_processed"] for c in checks)
    return [
        Figure(
            "g. webhook endpoint under load (time per request)",
            "webhook delivery",
            "trivial POST view",
            # No delivery completed in a round (a stuck server) shows as an infinite ratio.
            [
                t / w if w else float("inf")
                for w, t in zip(rates["webhook"], rates["trivial"], strict=True)
            ],
            notes={
                "deliveries_per_s": summary(rates["webhook"], 1),
                "distinct_events_per_s": summary([c["distinct_per_s"] for c in checks], 1),
                "trivial_per_s": summary(rates["trivial"], 1),
                "errors": errors,
                "processed_twice": twice,
                "not_processed": unprocessed,
                "checks": checks,
                "wrk": results,
                "gunicorn_workers": WORKERS,
                "wrk_threads_connections": [THREADS, CONNECTIONS],
            },
        )
    ]


if __name__ == "__main__":
    db.setup_django()
    from bench.harness import table

    figures = run(duration=int(sys.argv[1]) if len(sys.argv) > 1 else 10, rounds=1)
    print(table(figures))
    print(json.dumps({k: v for k, v in figures[0].notes.items() if k != "wrk"}, indent=1))
