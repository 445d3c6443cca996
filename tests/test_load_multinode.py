"""A smaller multi-node load run (``scripts/load --multi-node`` is the full one).

Two gunicorn nodes behind a round-robin balancer, two RQ workers on Redis, the standalone
fake delivering duplicated and shuffled webhooks to both nodes while shoppers buy; a
worker killed with SIGKILL mid-task, a node stopped and restarted, PostgreSQL cut at a
proxy for 3 s; and the command line's ``--pg-restart``, where PostgreSQL (a cluster of the
run's own) is really restarted. See ``bench/load_multinode.py``. Needs PostgreSQL, Redis and
django-tasks-rq: skipped without the last two on a developer's machine, failed in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    # Other processes write: the test must not hold a transaction.
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def redis_ready():
    try:
        import django_tasks_rq  # noqa: F401
        import redis

        from bench.load_multinode import REDIS_URL

        redis.Redis.from_url(REDIS_URL).ping()
    except Exception as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the multi-node run needs Redis and django-tasks-rq: {exc!r}")
        pytest.skip(f"the multi-node run needs Redis and django-tasks-rq: {exc!r}")


def test_two_nodes_two_workers_and_their_faults_lose_nothing_and_do_nothing_twice(redis_ready):
    from bench import load_multinode

    try:
        report = load_multinode.run(checkouts=12, threads=3, max_seconds=200)
    finally:
        load_multinode.drop_tables()
    summary = {k: v for k, v in report.items() if not k.endswith(".log")}
    assert report["ok"], json.dumps(report, indent=2)
    assert summary["checkouts_done"] == 12
    # The faults happened as announced.
    faults = " | ".join(summary["faults"])
    assert "while running job" in faults
    assert "web node 1 back" in faults
    assert "PostgreSQL cut at the proxy" in faults
    # Nothing lost, nothing twice.
    assert summary["events_not_processed"] == []
    assert summary["events_recorded_once"] == summary["webhook_events_emitted"]
    assert summary["signal_problems"] == []
    assert summary["cache_mismatches"] == []
    assert summary["server_errors"] == []
    assert summary["checkout_succeeded_rows"] == summary["final_states"].get("succeeded")
    assert summary["order_paid_rows"] == summary["checkout_succeeded_rows"]
    # Duplicates did arrive at both nodes.
    assert summary["webhook_replays"] > summary["webhook_events_emitted"]


def test_a_real_postgresql_restart_on_the_runs_own_cluster(redis_ready, tmp_path):
    """``--pg-restart``: the shop's database on a throw-away PostgreSQL cluster the run
    makes (initdb into a temporary directory; the machine's server is not touched), and
    that cluster really restarted mid-run. The command line, as ``scripts/load`` runs it."""
    from bench.private_postgres import server_bin

    try:
        server_bin()
    except RuntimeError as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    report_path = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    command = ["--checkouts", "12", "--threads", "3", "--max-seconds", "200", "--pg-restart"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.load_multinode", *command, "--json", str(report_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert report_path.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(report_path.read_text())
    summary = {k: v for k, v in report.items() if not k.endswith(".log")}
    assert report["ok"], json.dumps(report, indent=2)[-6000:]
    assert done.returncode == 0, done.stderr[-3000:]
    faults = " | ".join(summary["faults"])
    assert "PostgreSQL restarted for real" in faults
    assert "cut at the proxy" not in faults
    assert "while running job" in faults
    assert "web node 1 back" in faults
    assert summary["checkouts_done"] == 12
    assert summary["events_not_processed"] == []
    assert summary["events_recorded_once"] == summary["webhook_events_emitted"]
    assert summary["signal_problems"] == summary["cache_mismatches"] == []
    assert summary["server_errors"] == []
    assert summary["checkout_succeeded_rows"] == summary["final_states"].get("succeeded")
    assert summary["order_paid_rows"] == summary["checkout_succeeded_rows"]
