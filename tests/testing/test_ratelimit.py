"""The fake's Polar rate limit: N requests a minute per token, then Polar's 429."""

from __future__ import annotations

import pytest

from polar_checkouts.testing import FakePolar
from polar_checkouts.testing.ratelimit import (
    PRODUCTION_PER_MINUTE,
    SANDBOX_PER_MINUTE,
    FakeRateLimiter,
)
from polar_checkouts.testing.server import FakePolarServer

ALICE = {"authorization": "Bearer polar_oat_alice"}
BOB = {"authorization": "Bearer polar_oat_bob"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_polars_numbers():
    assert (PRODUCTION_PER_MINUTE, SANDBOX_PER_MINUTE) == (500, 100)


def test_limit_per_token_per_minute_with_polars_429():
    clock = Clock()
    limiter = FakeRateLimiter(3, clock=clock)
    assert [limiter.check(ALICE, "list") for _ in range(3)] == [None] * 3
    clock.now += 20
    refused = limiter.check(ALICE, "list")
    assert refused is not None
    assert refused.status == 429
    assert refused.body == b""  # Polar's 429 has an empty body
    assert refused.headers == {"retry-after": "40"}
    assert limiter.check(BOB, "list") is None  # another token has its own allowance
    assert limiter.refused == {ALICE["authorization"]: 1}
    clock.now += 40
    assert limiter.check(ALICE, "list") is None  # a new minute


def test_the_fake_answers_429_past_its_limit_and_counts_the_calls():
    fake = FakePolar(rate_limit=2)
    answers = [fake.handle("GET", "/v1/products/", headers=ALICE).status for _ in range(3)]
    assert answers == [200, 200, 429]
    assert fake.handle("GET", "/v1/products/", headers=BOB).status == 200
    assert [call.status for call in fake.calls()] == [200, 200, 429, 200]
    # Fake-only routes are not Polar's and are not limited.
    assert FakePolar(rate_limit=1).rate_limiter is not None
    assert FakePolar().rate_limiter is None


def test_invalid_limit():
    with pytest.raises(ValueError):
        FakeRateLimiter(0)


def test_the_standalone_server_answers_429_over_sockets():
    import requests

    fake = FakePolar(rate_limit=1)
    with FakePolarServer(fake, port=0) as server:
        url = server.base_url + "/v1/products/"
        codes = [requests.get(url, headers=ALICE, timeout=5).status_code for _ in range(2)]
    assert codes == [200, 429]


def test_the_fake_reports_its_limit_and_refusals():
    fake = FakePolar(rate_limit=1)
    for _ in range(3):
        fake.handle("GET", "/v1/products/", headers=ALICE)
    assert fake.handle("GET", "/_fake/rate-limit").json() == {"per_minute": 1, "refused": 2}
    assert FakePolar().handle("GET", "/_fake/rate-limit").json() == {
        "per_minute": None,
        "refused": 0,
    }
