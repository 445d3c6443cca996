"""The per-client limit holds across processes: its counters live in a shared cache.

Two separate Python processes, each a whole shop (its own database and its own fake
Polar), share one Redis cache as two nodes of a shop would. One client presses Buy in
both at once: together they let exactly the limit through, and their two Polars received
exactly that many creates. With a per-process counter each would have let the limit
through, twice as many.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("POLAR_TEST_REDIS_URL", "redis://127.0.0.1:6379/2")

pytestmark = pytest.mark.slow


@pytest.fixture
def redis_cache():
    redis = pytest.importorskip("redis")
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except redis.ConnectionError as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"no Redis at {REDIS_URL} (scripts/test starts one): {exc}")
    for key in connection.scan_iter("limits-test:*"):
        connection.delete(key)
    yield REDIS_URL
    for key in connection.scan_iter("limits-test:*"):
        connection.delete(key)


def test_two_processes_share_one_clients_allowance(redis_cache, tmp_path):
    start_at = time.time() + 8  # both migrated and waiting by then
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.storefront.limits_worker",
                redis_cache,
                "10",
                str(start_at),
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": f"sqlite:///{tmp_path / f'node{n}.sqlite3'}",
                "PYTHONDONTWRITEBYTECODE": "1",
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err[-3000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))
    codes = [code for report in reports for code in report["codes"]]
    assert len(codes) == 20
    assert codes.count(303) == 10, reports
    assert codes.count(429) == 10, reports
    assert sum(report["creates"] for report in reports) == 10
    assert set(codes) == {303, 429}
