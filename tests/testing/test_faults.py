"""Injected faults, through the real PolarClient and its retry policy (no network)."""

from __future__ import annotations

import json

import pytest
import requests
from django.test import override_settings

from polar_checkouts import client as client_module
from polar_checkouts.client import FAKE_BASE_URL, PolarClient, get_client, set_default_transport
from polar_checkouts.exceptions import (
    InvalidResponseError,
    PolarConnectionError,
    PolarTimeoutError,
    RateLimitError,
    ServerError,
)
from polar_checkouts.testing import (
    PRODUCT_ONE_TIME_ID,
    FakePolar,
    FakePolarAdapter,
    fake_adapter,
    get_default_fake,
    set_default_fake,
)


@pytest.fixture
def client(polar_fake):
    return PolarClient("polar_oat_test", max_retries=3)


@pytest.fixture
def checkout(polar_fake):
    return polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)


def test_get_retries_two_503s_then_returns_data(client, polar_fake, checkout):
    polar_fake.inject(503, times=2, route="get")
    assert client.get(checkout["id"])["id"] == checkout["id"]
    assert [c.status for c in polar_fake.calls("get")] == [503, 503, 200]
    assert len(polar_fake.sleeps) == 2
    assert all(0 <= s <= client.retry.backoff_max for s in polar_fake.sleeps)


def test_get_gives_up_after_the_configured_retries(polar_fake, checkout):
    client = PolarClient("t", max_retries=2)
    injection = polar_fake.inject(502, times=10, route="get")
    with pytest.raises(ServerError) as caught:
        client.get(checkout["id"])
    assert caught.value.status_code == 502
    assert injection.served == 3
    assert injection.remaining == 7


def test_create_is_never_retried_on_a_status(client, polar_fake):
    polar_fake.inject(503, times=1, route="create")
    with pytest.raises(ServerError):
        client.create({"product_id": PRODUCT_ONE_TIME_ID})
    assert len(polar_fake.calls("create")) == 1
    assert polar_fake.sleeps == []


def test_429_honours_retry_after(client, polar_fake):
    polar_fake.inject(429, retry_after=2, route="list")
    assert client.list().total_count == 0
    assert polar_fake.sleeps == [2.0]
    (limited, ok) = polar_fake.calls("list")
    assert (limited.status, ok.status) == (429, 200)


def test_long_retry_after_is_handed_to_the_caller(client, polar_fake):
    polar_fake.inject(429, retry_after=120, times=5)
    with pytest.raises(RateLimitError) as caught:
        client.list()
    assert caught.value.retry_after == 120
    assert len(polar_fake.calls("list")) == 1


def test_create_after_a_read_timeout_is_not_retried(client, polar_fake):
    polar_fake.inject(fault="timeout", route="create")
    with pytest.raises(PolarTimeoutError):
        client.create({"product_id": PRODUCT_ONE_TIME_ID})
    # Polar processed it; only the answer was lost. A retry would have made a second one.
    assert len(polar_fake.calls("create")) == 1
    assert len(polar_fake.checkouts()) == 1


def test_get_retries_read_timeouts(client, polar_fake, checkout):
    polar_fake.inject(fault="timeout", times=2, route="get")
    assert client.get(checkout["id"])["status"] == "open"
    assert len(polar_fake.calls("get")) == 3


def test_get_timeouts_exhausting_the_retries_are_a_timeout_error(polar_fake, checkout):
    polar_fake.inject(fault="timeout", times=5, route="get")
    with pytest.raises(PolarTimeoutError):
        PolarClient("t", max_retries=1).get(checkout["id"])


def test_connection_refused_is_retried_even_for_create(client, polar_fake):
    polar_fake.inject(fault="refused", times=2, route="create")
    created = client.create({"product_id": PRODUCT_ONE_TIME_ID})
    assert created["status"] == "open"
    # Refused connections never reach Polar: one create was recorded and processed.
    assert len(polar_fake.calls("create")) == 1
    assert len(polar_fake.checkouts()) == 1
    assert len(polar_fake.sleeps) == 2


def test_refused_until_the_retries_run_out(polar_fake):
    polar_fake.inject(fault="refused", times=10)
    with pytest.raises(PolarConnectionError, match="Connection refused"):
        PolarClient("t", max_retries=2).list()
    assert polar_fake.calls() == []


def test_dropped_connection_on_create_is_not_retried(client, polar_fake):
    polar_fake.inject(fault="disconnect", route="create")
    with pytest.raises(PolarConnectionError):
        client.create({"product_id": PRODUCT_ONE_TIME_ID})
    assert len(polar_fake.calls("create")) == 1
    assert polar_fake.checkouts() == []


def test_dropped_connection_on_get_is_retried(client, polar_fake, checkout):
    polar_fake.inject(fault="disconnect", route="get")
    assert client.get(checkout["id"])["id"] == checkout["id"]


def test_reset_mid_body_on_create_is_a_connection_error(client, polar_fake):
    polar_fake.inject(fault="reset", route="create")
    with pytest.raises(PolarConnectionError):
        client.create({"product_id": PRODUCT_ONE_TIME_ID})
    assert len(polar_fake.checkouts()) == 1


def test_reset_mid_body_on_get_is_read_again(polar_fake, checkout):
    polar_fake.inject(fault="reset", route="get")
    assert PolarClient("t", max_retries=1).get(checkout["id"])["id"] == checkout["id"]
    assert len(polar_fake.calls("get")) == 2


def test_adapter_raises_what_requests_raises(polar_fake):
    session = requests.Session()
    session.mount("http://", FakePolarAdapter(polar_fake, max_retries=0))
    url = FAKE_BASE_URL + "/v1/products/"
    polar_fake.inject(fault="refused")
    with pytest.raises(requests.ConnectionError):
        session.get(url, headers={"Authorization": "Bearer t"})
    polar_fake.inject(fault="timeout")
    # max_retries=0 means Retry(0, read=False) in requests: the timeout itself surfaces.
    with pytest.raises(requests.ReadTimeout):
        session.get(url, headers={"Authorization": "Bearer t"})
    polar_fake.inject(fault="timeout", times=2)
    retrying = requests.Session()
    retrying.mount("http://", FakePolarAdapter(polar_fake, max_retries=1))
    with pytest.raises(requests.ConnectionError):  # exhausted read retries, as urllib3 reports
        retrying.get(url, headers={"Authorization": "Bearer t"})
    polar_fake.inject(fault="reset")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        session.get(url, headers={"Authorization": "Bearer t"})
    polar_fake.inject(fault="timeout")
    with pytest.raises(requests.ReadTimeout):
        session.post(
            FAKE_BASE_URL + "/v1/checkouts/", json={}, headers={"Authorization": "Bearer t"}
        )


@pytest.mark.parametrize("fault", ["malformed_json", "html", "missing_keys"])
def test_bodies_that_are_not_polar_objects(client, polar_fake, checkout, fault):
    polar_fake.inject(fault=fault, route="get")
    with pytest.raises(InvalidResponseError):
        client.get(checkout["id"])


def test_html_error_page_keeps_its_status(client, polar_fake):
    polar_fake.inject(502, fault="html", times=10, route="list")
    with pytest.raises(ServerError) as caught:
        PolarClient("t", max_retries=0).list()
    assert caught.value.body.startswith("<!DOCTYPE html>")


def test_faults_only_hit_their_route(client, polar_fake, checkout):
    injection = polar_fake.inject(500, route="client_get")
    assert client.get(checkout["id"])["id"] == checkout["id"]
    assert injection.remaining == 1
    with pytest.raises(ServerError):
        client.client_get(checkout["client_secret"])
    assert injection.remaining == 0
    assert client.client_get(checkout["client_secret"])["id"] == checkout["id"]


def test_products_route_name_matches_both_product_calls(client, polar_fake):
    polar_fake.inject(500, route="products", times=2)
    with pytest.raises(ServerError):
        PolarClient("t", max_retries=0).list_products()
    with pytest.raises(ServerError):
        PolarClient("t", max_retries=0).get_product(PRODUCT_ONE_TIME_ID)
    polar_fake.clear_faults()


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"fault": "explode"},
        {"status": 200, "route": "delete"},
        {"status": 99},
        {"status": 500, "times": 0},
    ],
)
def test_inject_rejects_nonsense(kwargs):
    with pytest.raises(ValueError):
        FakePolar().inject(**kwargs)


def test_faults_can_be_armed_over_http(polar_fake, checkout):
    response = polar_fake.handle(
        "POST", "/_fake/faults", "", {}, json.dumps({"status": 503, "times": 2}).encode()
    )
    assert response.status == 201
    bad = polar_fake.handle("POST", "/_fake/faults", "", {}, b'{"fault": "nope"}')
    assert bad.status == 422
    with pytest.raises(ServerError):
        PolarClient("t", max_retries=1).get(checkout["id"])


# -- the three ways of reaching the fake share one instance --------------------------------


def test_polar_fake_captures_get_client_whatever_the_server(polar_fake, settings):
    settings.POLAR_SERVER = "production"
    client = get_client()
    assert isinstance(client.session.get_adapter(client.base_url), FakePolarAdapter)
    assert get_default_fake() is polar_fake
    created = client.create({"product_id": PRODUCT_ONE_TIME_ID})
    assert polar_fake.checkout(created["id"])["id"] == created["id"]


def test_polar_server_fake_uses_the_default_fake():
    fresh = FakePolar()
    previous = set_default_fake(fresh)
    try:
        with override_settings(POLAR_SERVER="fake"):
            client_module.reset_client_cache()
            client = get_client()
            assert client.base_url == FAKE_BASE_URL
            # Through the seam: POLAR_TRANSPORT's default for "fake", no patched client.
            assert isinstance(client.session.get_adapter(client.base_url), FakePolarAdapter)
            created = client.create({"product_id": PRODUCT_ONE_TIME_ID})
        assert fresh.checkout(created["id"])["status"] == "open"
        assert get_default_fake() is fresh
    finally:
        set_default_fake(previous)


def test_default_fake_is_created_once():
    previous = set_default_fake(None)
    try:
        first = get_default_fake()
        assert get_default_fake() is first
        assert fake_adapter(max_retries=0).fake is first
    finally:
        set_default_fake(previous)


def test_the_fixture_comes_from_the_installed_pytest_plugin(request):
    plugin = request.config.pluginmanager.get_plugin("polar_checkouts")
    assert plugin is not None
    assert plugin.__name__ == "polar_checkouts.testing.pytest_plugin"


def test_without_the_fixture_clients_use_the_real_transport():
    # Earlier tests used polar_fake; nothing of it may leak into this one.
    client = PolarClient("t", server="sandbox")
    adapter = client.session.get_adapter(client.base_url)
    assert not isinstance(adapter, FakePolarAdapter)
    assert set_default_transport(None) is None  # the fixture put the network back


def test_latency_is_waited_once_per_polar_call_and_never_on_fake_only_routes(
    client, polar_fake, checkout
):
    waited: list[float] = []
    polar_fake.sleep = waited.append
    polar_fake.latency = 0.15
    client.get(checkout["id"])
    client.client_get(checkout["client_secret"])
    polar_fake.inject(503, times=1, route="get")
    client.get(checkout["id"])  # a retried call is two round trips
    assert waited == [0.15] * 4
    polar_fake.handle("POST", "/_fake/reset")
    assert waited == [0.15] * 4
    polar_fake.latency = 0
    polar_fake.handle("GET", "/v1/products/")
    assert len(waited) == 4


def test_latency_really_delays_the_answer():
    """The default wait is a real sleep (the benchmark's 150 ms of network)."""
    import time

    fake = FakePolar(latency=0.05)
    started = time.perf_counter()
    assert fake.handle("GET", "/v1/products/").operation == "list_products"
    assert time.perf_counter() - started >= 0.05
    assert fake.sleep is time.sleep
