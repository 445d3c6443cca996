"""polar_checkouts.conf: settings read lazily, each normalised once in a typed property."""

from __future__ import annotations

import pytest
from django.test import override_settings

from polar_checkouts.conf import DEFAULTS, normalize_timeout, polar_settings


def shop_metadata(request, data):
    return {"cart": "1"}


def test_raw_settings_fall_back_to_their_defaults():
    assert DEFAULTS["MAX_RETRIES"] == polar_settings.MAX_RETRIES
    with override_settings(POLAR_MAX_RETRIES=7):
        assert polar_settings.MAX_RETRIES == 7


def test_an_unknown_setting_is_an_attribute_error():
    with pytest.raises(AttributeError, match="POLAR_NOPE"):
        _ = polar_settings.NOPE


@pytest.mark.parametrize(
    ("value", "normalised"),
    [((5, 30), (5.0, 30.0)), ([1, 2.5], (1.0, 2.5)), (10, 10.0), (0.5, 0.5)],
)
def test_timeout(value, normalised):
    assert normalize_timeout(value) == normalised
    with override_settings(POLAR_TIMEOUT=value):
        assert polar_settings.timeout == normalised


@pytest.mark.parametrize(
    ("value", "secrets"),
    [
        (None, []),
        ("whsec_a", ["whsec_a"]),
        (["new", "", "old"], ["new", "old"]),
        (("a", 3, "b"), ["a", "b"]),
        (42, []),
    ],
)
def test_webhook_secrets(value, secrets):
    with override_settings(POLAR_WEBHOOK_SECRET=value):
        assert polar_settings.webhook_secrets == secrets


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        (None, None),
        ("ABC", frozenset({"abc"})),
        ([" A ", "b"], frozenset({"a", "b"})),
        ([], frozenset()),
    ],
)
def test_allowed_products(value, allowed):
    with override_settings(POLAR_ALLOWED_PRODUCTS=value):
        assert polar_settings.allowed_products == allowed


def test_checkout_metadata_hook_by_callable_or_dotted_path():
    assert polar_settings.checkout_metadata is None
    with override_settings(POLAR_CHECKOUT_METADATA=shop_metadata):
        assert polar_settings.checkout_metadata is shop_metadata
    with override_settings(POLAR_CHECKOUT_METADATA="tests.test_conf.shop_metadata"):
        assert polar_settings.checkout_metadata is shop_metadata


@pytest.mark.parametrize(
    ("value", "mode"), [("server", "server"), ("browser", "browser"), ("other", "browser")]
)
def test_client_calls(value, mode):
    with override_settings(POLAR_CLIENT_CALLS=value):
        assert polar_settings.client_calls == mode


@pytest.mark.parametrize(
    ("value", "normalised"),
    [("2026-10", "2026-10"), ("2026-04", "2026-04"), (None, None), ("", None)],
)
def test_api_version(value, normalised):
    with override_settings(POLAR_API_VERSION=value):
        assert polar_settings.api_version == normalised


def test_api_version_defaults_to_the_newest_polar_serves():
    assert DEFAULTS["API_VERSION"] == "2026-10"
    assert polar_settings.api_version == "2026-10"


@pytest.mark.parametrize(
    ("value", "seconds"), [(10, 10.0), ("2.5", 2.5), (0, 0.0), (None, 0.0), (-3, 0.0)]
)
def test_checkout_fresh_seconds(value, seconds):
    with override_settings(POLAR_CHECKOUT_FRESH_SECONDS=value):
        assert polar_settings.checkout_fresh_seconds == seconds


def test_checkout_fresh_seconds_defaults_to_ten():
    assert polar_settings.checkout_fresh_seconds == 10.0
