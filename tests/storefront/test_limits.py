"""Per-client limits: one visitor cannot burn the shop's Polar quota.

Each test drives the real views against the fake Polar and counts what reached the fake:
a request over its client's limit is answered 429 with ``Retry-After`` (a page for pages,
Polar's JSON shape for the page script's calls) and sends nothing to Polar.
"""

from __future__ import annotations

import json
import logging
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.test import Client, RequestFactory, override_settings
from django_ratelimit.core import get_usage

from polar_checkouts.adapter import DefaultAdapter
from polar_checkouts.conf import DEFAULT_RATE_LIMITS, polar_settings
from polar_checkouts.storefront.limits import GROUP_PREFIX, check_limit, client_key, rate_limited
from polar_checkouts.testing import PRODUCT_ONE_TIME_ID

pytestmark = pytest.mark.django_db

BUY = {"product_id": PRODUCT_ONE_TIME_ID}


def press_buy(http: Client, **extra):
    return http.post("/checkout/create/", BUY, HTTP_REFERER="http://testserver/shop/", **extra)


@pytest.fixture
def http():
    return Client(REMOTE_ADDR="203.0.113.7")


def wait_for_a_fresh_window(scope: str, remote_addr: str, needed: float = 10.0) -> None:
    """Counters live in fixed windows; a test that must stay inside one starts early in it."""
    request = RequestFactory().post("/", REMOTE_ADDR=remote_addr)
    rate = polar_settings.rate_limits[scope]
    usage = get_usage(request, group=GROUP_PREFIX + scope, key=client_key, rate=rate)
    if usage["time_left"] < needed:
        time.sleep(usage["time_left"] + 1)


def test_checkout_creation_allows_ten_a_minute_by_default(http, polar_fake, caplog):
    caplog.set_level(logging.INFO, logger="polar_checkouts")
    assert DEFAULT_RATE_LIMITS["create"] == "10/m"
    wait_for_a_fresh_window("create", "203.0.113.7")
    answers = [press_buy(http) for _ in range(10)]
    assert [r.status_code for r in answers] == [303] * 10
    assert len(polar_fake.calls("create")) == 10
    calls_before = len(polar_fake.calls())

    over = press_buy(http)
    assert over.status_code == 429
    assert 1 <= int(over["Retry-After"]) <= 60
    assert "no-store" in over["Cache-Control"]
    page = over.content.decode()
    assert "Too many attempts" in page
    assert f"try again in {int(over['Retry-After'])} second" in page
    assert "Nothing was charged" in page
    assert 'href="http://testserver/shop/"' in page  # "Try again" returns to the shop page
    # Nothing reached Polar: not the create, not even the catalogue read of the form.
    assert len(polar_fake.calls()) == calls_before
    # The limit is logged once for the client, not once per refused request.
    for _ in range(5):
        assert press_buy(http).status_code == 429
    over_logs = [r for r in caplog.records if "over its create limit" in r.getMessage()]
    assert len(over_logs) == 1
    # Nor does Django's request logger write a line per refused request.
    assert not [r for r in caplog.records if r.name == "django.request"]
    assert len(polar_fake.calls()) == calls_before


def test_one_setting_changes_the_creation_limit(http, polar_fake, settings):
    settings.POLAR_RATE_LIMITS = {"create": "3/h"}
    assert polar_settings.rate_limits["checkout"] == DEFAULT_RATE_LIMITS["checkout"]
    assert [press_buy(http).status_code for _ in range(4)] == [303, 303, 303, 429]
    assert len(polar_fake.calls("create")) == 3


def test_none_lifts_a_limit(http, polar_fake, settings):
    settings.POLAR_RATE_LIMITS = {"create": None}
    assert all(press_buy(http).status_code == 303 for _ in range(12))
    settings.POLAR_RATE_LIMITS = None
    assert polar_settings.rate_limits == dict.fromkeys(DEFAULT_RATE_LIMITS)


def test_clients_are_counted_apart(polar_fake, settings):
    settings.POLAR_RATE_LIMITS = {"create": "2/h"}
    first, second = Client(REMOTE_ADDR="203.0.113.7"), Client(REMOTE_ADDR="198.51.100.1")
    assert [press_buy(first).status_code for _ in range(3)] == [303, 303, 429]
    assert [press_buy(second).status_code for _ in range(3)] == [303, 303, 429]


def test_a_forged_forwarded_for_does_not_make_a_new_client(polar_fake, settings):
    """Without trusted proxies, X-Forwarded-For is the visitor's own writing: ignored."""
    settings.POLAR_RATE_LIMITS = {"create": "2/h"}
    http = Client(REMOTE_ADDR="203.0.113.7")
    codes = [press_buy(http, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code for n in range(1, 5)]
    assert codes == [303, 303, 429, 429]
    assert len(polar_fake.calls("create")) == 2


def test_behind_a_trusted_proxy_each_forwarded_client_counts_alone(polar_fake, settings):
    settings.POLAR_RATE_LIMITS = {"create": "2/h"}
    settings.POLAR_TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxy = Client(REMOTE_ADDR="10.1.2.3")
    # The visitor's own (forged) entry is on the left; the proxy appends what it saw.
    alice = [
        press_buy(proxy, HTTP_X_FORWARDED_FOR=f"6.6.6.{n}, 203.0.113.7").status_code
        for n in range(3)
    ]
    bob = [press_buy(proxy, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code for _ in range(3)]
    assert alice == [303, 303, 429]
    assert bob == [303, 303, 429]
    # Polar was told the buyer's address, not the proxy's.
    ips = {call.json().get("customer_ip_address") for call in polar_fake.calls("create")}
    assert ips == {"203.0.113.7", "198.51.100.1"}


def test_signed_in_users_are_counted_by_user(polar_fake, settings):
    settings.POLAR_RATE_LIMITS = {"create": "2/h"}
    users = [get_user_model().objects.create_user(name, password="pw") for name in "ab"]
    same_ip = [Client(REMOTE_ADDR="203.0.113.7") for _ in users]
    for http, user in zip(same_ip, users, strict=True):
        http.force_login(user)
    # Two people behind one address (an office) each get their own allowance...
    assert [press_buy(same_ip[0]).status_code for _ in range(3)] == [303, 303, 429]
    assert [press_buy(same_ip[1]).status_code for _ in range(2)] == [303, 303]
    # ...and a user who changes address is still the same client.
    roaming = Client(REMOTE_ADDR="198.51.100.99")
    roaming.force_login(users[1])
    assert press_buy(roaming).status_code == 429


def test_checkout_page_over_its_limit_is_a_page(polar_fake, settings, http):
    settings.POLAR_RATE_LIMITS = {"checkout": "2/h"}
    secret = polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)["client_secret"]
    url = f"/checkout/{secret}/"
    assert [http.get(url).status_code for _ in range(2)] == [200, 200]
    reads = len(polar_fake.calls())
    over = http.get(url)
    assert over.status_code == 429
    assert int(over["Retry-After"]) >= 1
    assert "Too many attempts" in over.content.decode()
    assert over["Referrer-Policy"] == "same-origin"  # still a private page
    assert len(polar_fake.calls()) == reads


@pytest.mark.parametrize("scope", ["status", "client"])
def test_the_scripts_json_calls_get_json(polar_fake, settings, http, scope):
    settings.POLAR_RATE_LIMITS = {scope: "1/h"}
    settings.POLAR_CLIENT_CALLS = "server"
    secret = polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)["client_secret"]
    url = f"/checkout/{secret}/status/" if scope == "status" else f"/checkout/client/{secret}"
    assert http.get(url).status_code == 200
    calls = len(polar_fake.calls())
    over = http.get(url)
    assert over.status_code == 429
    assert over["Content-Type"] == "application/json"
    body = over.json()
    assert body["error"] == "TooManyRequests"
    assert f"wait {over['Retry-After']} seconds" in body["detail"]
    assert len(polar_fake.calls()) == calls
    if scope == "client":
        # Updates and confirms share the allowance: nothing reaches Polar either.
        patch = http.patch(url, json.dumps({"customer_name": "A"}), "application/json")
        confirm = http.post(url + "/confirm", "{}", "application/json")
        assert (patch.status_code, confirm.status_code) == (429, 429)
        assert len(polar_fake.calls()) == calls


def test_success_page_over_its_limit(polar_fake, settings, http):
    settings.POLAR_RATE_LIMITS = {"success": "1/h"}
    url = "/checkout/success/?checkout_id=0b6bd3fa-5d0c-4c57-9a9d-4b0c7c7a3f1e"
    assert http.get(url).status_code == 404
    calls = len(polar_fake.calls())
    assert http.get(url).status_code == 429
    assert len(polar_fake.calls()) == calls


def test_refused_methods_are_not_counted(polar_fake, settings, http):
    settings.POLAR_RATE_LIMITS = {"create": "1/h"}
    # GET is no longer refused (it goes back to the shop, issue 15), but only POST counts.
    assert http.put("/checkout/create/").status_code == 405
    assert http.get("/checkout/create/").status_code == 302
    assert press_buy(http).status_code == 303


class BrokenCacheBackend(BaseCache):
    """A cache whose server is unreachable: every operation raises."""

    def __init__(self, location, params):
        super().__init__(params)

    def add(self, *args, **kwargs):
        raise ConnectionError("cache down")

    get = set = incr = delete = clear = add


@override_settings(
    CACHES={
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "broken": {"BACKEND": "tests.storefront.test_limits.BrokenCacheBackend"},
    },
    RATELIMIT_USE_CACHE="broken",
)
def test_a_failing_cache_lets_shoppers_through_with_one_warning(polar_fake, http, caplog):
    caplog.set_level(logging.WARNING, logger="polar_checkouts")
    assert [press_buy(http).status_code for _ in range(12)] == [303] * 12
    warnings = [r for r in caplog.records if "Rate limits not enforced" in r.getMessage()]
    assert len(warnings) == 1  # said once, and not a 500


def test_unknown_scope_is_refused_at_import_time():
    with pytest.raises(ValueError, match="Unknown rate-limit scope"):
        rate_limited("checkuot")


def test_client_key_prefers_the_user_and_masks_ipv6_to_a_64(settings):
    factory = RequestFactory()
    request = factory.get("/", REMOTE_ADDR="2001:db8:1:2:aaaa::1")
    assert client_key("g", request) == "ip:2001:db8:1:2::/64"
    other = factory.get("/", REMOTE_ADDR="2001:db8:1:2:bbbb::9")
    assert client_key("g", other) == client_key("g", request)
    request = factory.get("/", REMOTE_ADDR="203.0.113.7")
    assert client_key("g", request) == "ip:203.0.113.7"


def test_check_limit_counts_in_the_configured_cache(settings):
    settings.POLAR_RATE_LIMITS = {"portal": "2/h"}
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.7")
    assert check_limit(request, "portal") is None
    assert check_limit(request, "portal") is None
    limited = check_limit(request, "portal")
    assert limited is not None
    assert (limited.scope, limited.rate) == ("portal", "2/h")
    assert 1 <= limited.retry_after <= 3600
    caches["default"].clear()
    assert check_limit(request, "portal") is None  # the state lives in the cache


# -- the adapter's client_ip behind proxies ----------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        ([], "203.0.113.9", "1.2.3.4", "203.0.113.9"),  # no proxy trusted: header ignored
        (["10.0.0.1"], "203.0.113.9", "1.2.3.4", "203.0.113.9"),  # not from the proxy
        (["10.0.0.1"], "10.0.0.1", "1.2.3.4", "1.2.3.4"),
        (["10.0.0.1"], "10.0.0.1", "6.6.6.6, 1.2.3.4", "1.2.3.4"),  # left part is forged
        (["10.0.0.0/8"], "10.0.0.1", "1.2.3.4, 10.9.9.9", "1.2.3.4"),  # two proxies
        (["10.0.0.0/8"], "10.0.0.1", "10.2.2.2, 10.9.9.9", "10.2.2.2"),  # all trusted
        (["10.0.0.1"], "10.0.0.1", "", "10.0.0.1"),  # nothing forwarded
        (["10.0.0.1"], "10.0.0.1", "1.2.3.4, garbage", None),  # a proxy wrote garbage
        (["10.0.0.1"], "10.0.0.1", " 2001:db8::5 ", "2001:db8::5"),
        (["::1"], "::1", "203.0.113.4", "203.0.113.4"),
        (["10.0.0.1"], "::ffff:10.0.0.1", "1.2.3.4", "1.2.3.4"),  # IPv4-mapped remote
    ],
)
def test_client_ip_trusts_forwarded_for_only_from_trusted_proxies(
    settings, proxies, remote, forwarded, expected
):
    settings.POLAR_TRUSTED_PROXIES = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert DefaultAdapter().client_ip(request) == expected


# -- system checks ------------------------------------------------------------------------


def check_ids(settings):
    from polar_checkouts.storefront.limits import check_limits

    return [message.id for message in check_limits()]


def test_usable_limit_settings_pass_the_checks(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache"}}
    settings.POLAR_RATE_LIMITS = {"create": "20/m", "status": None}
    settings.POLAR_TRUSTED_PROXIES = ["10.0.0.1", "fd00::/8"]
    assert check_ids(settings) == []


@pytest.mark.parametrize(
    "limits", [{"creat": "10/m"}, {"create": "ten a minute"}, {"create": "10/week"}, "10/m"]
)
def test_unusable_limits_are_an_error(settings, limits):
    settings.POLAR_RATE_LIMITS = limits
    assert "polar_checkouts.E201" in check_ids(settings)


def test_unusable_trusted_proxies_are_an_error(settings):
    settings.POLAR_TRUSTED_PROXIES = ["10.0.0.1", "proxy.internal"]
    assert "polar_checkouts.E202" in check_ids(settings)


def test_a_per_process_cache_is_a_warning_outside_debug(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.DEBUG = False
    assert check_ids(settings) == ["polar_checkouts.W201"]
    settings.POLAR_RATE_LIMITS = None
    assert check_ids(settings) == []
