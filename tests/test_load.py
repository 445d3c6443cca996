"""A small reliability load run: gunicorn on PostgreSQL, the standalone fake, replays.

The full run is ``scripts/load`` (200 purchases); this one buys 24 to keep the
PostgreSQL pass of ``scripts/test`` quick. See ``bench/load_reliability.py``.
"""

from __future__ import annotations

import json

import pytest

from bench import load_reliability

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    # gunicorn's workers write from other processes: the test must not hold a transaction.
    pytest.mark.django_db(transaction=True),
]


def test_purchases_under_load_with_replayed_webhooks_stay_consistent():
    try:
        report = load_reliability.run(checkouts=24, threads=4, workers=2, max_seconds=50)
    finally:
        load_reliability.drop_counter()
    summary = {k: v for k, v in report.items() if k not in ("gunicorn.log", "fake.log")}
    assert report["ok"], json.dumps(report, indent=2)
    assert summary["checkouts_done"] == 24
    assert summary["server_errors"] == []
    assert summary["cache_mismatches"] == []
    assert summary["signal_problems"] == []
    # The run did exercise what it claims: duplicates and paid checkouts.
    assert summary["webhook_replays"] + summary["final_replays"] > summary["webhook_events_emitted"]
    assert summary["checkout_succeeded_rows"] == summary["final_states"].get("succeeded")
