"""Polar's own 429 pauses the route for the whole shop until Retry-After has passed.

Shoppers see a "busy, try again in N seconds" page (503 with Retry-After) or the JSON
equivalent; nothing more is sent to Polar on that route until the pause ends; the pause
is logged once, not per request; the admin's refresh and sync and the sync command obey
it too. The pause lives in the cache: a second process sees it (test at the end).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import responses
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from polar_checkouts import services
from polar_checkouts.client import PolarClient
from polar_checkouts.exceptions import PolarBusyError, RateLimitError
from polar_checkouts.guard import CachePause, route_of
from polar_checkouts.models import CheckoutSession
from polar_checkouts.testing import PRODUCT_ONE_TIME_ID
from tests.admin.helpers import SYNC, logged_in

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
BASE = "https://sandbox-api.polar.sh"
CID = "0b6bd3fa-5d0c-4c57-9a9d-4b0c7c7a3f1e"


def shopper(n: int) -> Client:
    """A different visitor each time: the per-client limits play no part here."""
    return Client(REMOTE_ADDR=f"198.51.100.{n}")


def press_buy(http: Client):
    return http.post(
        "/checkout/create/", {"product_id": PRODUCT_ONE_TIME_ID, "next": "/shop/item/"}
    )


def polar_warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name in ("polar_checkouts", "django.request")
    ]


@pytest.mark.parametrize(
    ("method", "path", "route"),
    [
        ("post", "/v1/checkouts/", "POST /v1/checkouts/"),
        ("GET", f"/v1/checkouts/{CID}", "GET /v1/checkouts/{}"),
        ("GET", "/v1/checkouts/client/polar_c_AbC123", "GET /v1/checkouts/client/{}"),
        ("POST", "/v1/checkouts/client/polar_c_x9/confirm", "POST /v1/checkouts/client/{}/confirm"),
        ("GET", "/v1/products/?page=2", "GET /v1/products/"),
        ("GET", "/v1/checkouts/custom/", "GET /v1/checkouts/custom/"),
    ],
)
def test_route_of_replaces_ids_and_secrets(method, path, route):
    assert route_of(method, path) == route


def test_polars_429_pauses_checkout_creation_for_every_shopper(polar_fake, caplog):
    caplog.set_level(logging.DEBUG)
    polar_fake.inject(429, route="create", retry_after=30)
    first = press_buy(shopper(1))
    assert first.status_code == 503
    assert first["Retry-After"] == "30"
    assert "very busy" in first.content.decode()
    assert len(polar_fake.calls("create")) == 1

    # Other shoppers, while the pause lasts: the same page, and Polar hears nothing.
    for n in range(2, 8):
        response = press_buy(shopper(n))
        assert response.status_code == 503
        assert 1 <= int(response["Retry-After"]) <= 30
        page = response.content.decode()
        assert f"try again in {response['Retry-After']} second" in page
        assert 'href="/shop/item/"' in page
    assert len(polar_fake.calls("create")) == 1
    # One warning for the whole episode (Django's per-response lines included).
    [warning] = polar_warnings(caplog)
    assert "429" in warning
    assert "POST /v1/checkouts/" in warning
    assert "30 s" in warning

    # Other routes are not paused: the checkout page of an existing checkout still works.
    secret = polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)["client_secret"]
    assert shopper(9).get(f"/checkout/{secret}/").status_code == 200


def test_calls_resume_once_retry_after_has_passed(polar_fake):
    polar_fake.inject(429, route="create", retry_after=1)
    assert press_buy(shopper(1)).status_code == 503
    assert press_buy(shopper(2)).status_code == 503
    assert len(polar_fake.calls("create")) == 1
    time.sleep(1.2)
    assert press_buy(shopper(3)).status_code == 303
    assert len(polar_fake.calls("create")) == 2


def test_pages_and_json_calls_while_reads_are_paused(polar_fake, settings):
    settings.POLAR_CLIENT_CALLS = "server"
    secret = polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)["client_secret"]
    polar_fake.inject(429, route="client_get", retry_after=20, times=5)
    page = shopper(1).get(f"/checkout/{secret}/")
    assert page.status_code == 503
    assert page["Retry-After"] == "20"
    assert 'data-polar-state="busy"' in page.content.decode()
    calls = len(polar_fake.calls())
    for url in (f"/checkout/client/{secret}", f"/checkout/{secret}/status/"):
        answer = shopper(2).get(url)
        assert answer.status_code == 429
        assert 1 <= int(answer["Retry-After"]) <= 20
        assert "very busy" in answer.json()["detail"]
        assert answer.json()["error"] == "TooManyRequests"
    assert len(polar_fake.calls()) == calls


def test_admin_refresh_and_sync_respect_the_pause(polar_fake, make_staff, caplog):
    caplog.set_level(logging.WARNING)
    operator = logged_in(make_staff("op", "view_checkoutsession", "sync_checkoutsession"))
    checkout = polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    CheckoutSession.objects.upsert_from_polar(checkout)
    polar_fake.inject(429, route="list", retry_after=40, times=5)

    response = operator.post(reverse(SYNC), follow=True)
    assert "Sync from Polar stopped" in response.content.decode()
    lists = len(polar_fake.calls("list"))
    response = operator.post(reverse(SYNC), follow=True)
    text = response.content.decode()
    assert "slow down" in text
    assert "GET /v1/checkouts/" in text
    assert len(polar_fake.calls("list")) == lists  # not asked again

    # A 429 on reads pauses the refresh too.
    polar_fake.inject(429, route="get", retry_after=40)
    refresh = reverse("admin:polar_checkouts_checkoutsession_refresh", args=[checkout["id"]])
    operator.post(refresh)
    gets = len(polar_fake.calls("get"))
    response = operator.post(refresh, follow=True)
    assert "slow down" in response.content.decode()
    assert len(polar_fake.calls("get")) == gets
    assert len([w for w in polar_warnings(caplog) if "429" in w]) == 2  # one per route

    with pytest.raises(CommandError, match="slow down"):
        call_command("polar_checkouts_sync")
    assert len(polar_fake.calls("list")) == lists


def test_service_layer_raises_polar_busy_without_calling(polar_fake):
    polar_fake.inject(429, route="get", retry_after=15, times=10)  # past the retries
    with pytest.raises(RateLimitError):
        services.refresh_checkout(CID)
    with pytest.raises(PolarBusyError) as caught:
        services.refresh_checkout("1b6bd3fa-5d0c-4c57-9a9d-4b0c7c7a3f1e")
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 15
    assert caught.value.status_code == 429
    assert len(polar_fake.calls("get")) == 4  # the first call and its three retries


@responses.activate
def test_the_client_honours_a_pause_it_is_given():
    responses.post(f"{BASE}/v1/checkouts/", status=429, body=b"", headers={"retry-after": "5"})
    client = PolarClient("polar_oat_token_for_pause_tests", max_retries=0, pause=CachePause())
    with pytest.raises(RateLimitError) as first:
        client.create({"products": [CID]})
    assert first.value.retry_after == 5
    with pytest.raises(PolarBusyError):
        client.create({"products": [CID]})
    assert len(responses.calls) == 1
    # Without a pause (a client built by hand), every call is sent.
    bare = PolarClient("polar_oat_token_for_pause_tests", max_retries=0)
    with pytest.raises(RateLimitError) as again:
        bare.create({"products": [CID]})
    assert not isinstance(again.value, PolarBusyError)
    assert len(responses.calls) == 2


def test_a_429_without_retry_after_pauses_a_minute():
    pause = CachePause()
    pause.rate_limited("POST", "/v1/checkouts/", None)
    assert 58 < pause.remaining("POST /v1/checkouts/") <= 60
    pause.rate_limited("POST", "/v1/checkouts/", 120)  # Polar asks longer: lengthened
    assert 118 < pause.remaining("POST /v1/checkouts/") <= 120
    pause.rate_limited("POST", "/v1/checkouts/", 5)  # shorter: the longer pause stands
    assert pause.remaining("POST /v1/checkouts/") > 100


# -- across processes ---------------------------------------------------------------------

REDIS_URL = os.environ.get("POLAR_TEST_REDIS_URL", "redis://127.0.0.1:6379/2")


@pytest.mark.slow
def test_a_pause_started_by_one_process_stops_another(tmp_path):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"no Redis at {REDIS_URL} (scripts/test starts one): {exc}")
    connection = redis.Redis.from_url(REDIS_URL)
    for key in connection.scan_iter("guard-test:*"):
        connection.delete(key)

    def node(n: int, *args: str) -> dict:
        done = subprocess.run(
            [sys.executable, "-m", "tests.storefront.limits_worker", REDIS_URL, *args],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": f"sqlite:///{tmp_path / f'node{n}.sqlite3'}",
                "POLAR_TEST_CACHE_PREFIX": "guard-test",
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    try:
        # Node 1's Polar answers 429 with Retry-After 60 to its one create...
        first = node(1, "1", "0", "429")
        assert first == {"codes": [503], "creates": 1}
        # ...and node 2, another process with its own Polar, does not even ask.
        second = node(2, "3", "0")
        assert second == {"codes": [503, 503, 503], "creates": 0}
    finally:
        for key in connection.scan_iter("guard-test:*"):
            connection.delete(key)
