"""A small flood: one client presses Buy 150 times in 15 s while 4 shoppers buy.

The full run is ``scripts/load --flood`` (1,000 presses in 60 s, 20 shoppers); see
``bench/load_flood.py``. Needs PostgreSQL (gunicorn's workers share the database) and
Redis (they share the per-client counters).
"""

from __future__ import annotations

import json
import os

import pytest

from bench import load_flood

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    # gunicorn's workers write from other processes: the test must not hold a transaction.
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def redis_url():
    redis = pytest.importorskip("redis")
    url = os.environ.get("POLAR_FLOOD_REDIS_URL", "redis://127.0.0.1:6379/2")
    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"no Redis at {url} (scripts/test starts one): {exc}")
    return url


def test_a_flooding_client_cannot_spend_the_shops_polar_quota(redis_url):
    from bench.load_reliability import drop_counter

    try:
        report = load_flood.run(attempts=150, seconds=15, shoppers=4, workers=2, polar_limit=100)
    finally:
        drop_counter()
    summary = {k: v for k, v in report.items() if k not in ("gunicorn.log", "fake.log")}
    assert report["ok"], json.dumps(report, indent=2)
    assert summary["shopper_purchases_succeeded"] == 4
    assert summary["attempts"] == 150
    # The flood was mostly refused by the shop, and what got through is within the limit.
    assert summary["flood_answers"][429] >= 150 - 10 * summary["windows_touched"]
    assert summary["flood_creates_in_polar"] <= 10 * summary["windows_touched"]
    assert summary["polar_429s"] == 0  # Polar's sandbox limit (100/min) never reached
    assert summary["server_errors"] == []
