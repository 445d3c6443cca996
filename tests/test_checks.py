"""System checks and lazily read settings."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from polar_checkouts.checks import check_settings
from polar_checkouts.conf import DEFAULTS, polar_settings


def ids(messages):
    return sorted(m.id for m in messages)


def test_defaults_are_safe(settings):
    del settings.POLAR_SERVER
    del settings.POLAR_ACCESS_TOKEN
    assert polar_settings.SERVER == "sandbox"
    assert polar_settings.CHECKOUT_PATH == "/v1/checkouts/"
    assert polar_settings.API_VERSION == "2026-10"
    assert polar_settings.ACCESS_TOKEN is None
    assert set(DEFAULTS) >= {"TIMEOUT", "MAX_RETRIES", "ORGANIZATION_ID"}


def test_settings_are_read_on_each_access(settings):
    settings.POLAR_SERVER = "production"
    assert polar_settings.SERVER == "production"
    settings.POLAR_SERVER = "http://127.0.0.1:8765"
    assert polar_settings.SERVER == "http://127.0.0.1:8765"


def test_unknown_setting_names_fail_loudly():
    with pytest.raises(AttributeError, match="POLAR_NOPE"):
        polar_settings.NOPE  # noqa: B018


def test_configured_project_passes(settings):
    assert check_settings() == []


@pytest.mark.parametrize("server", ["prod", "", 42, "api.polar.sh"])
def test_invalid_server_is_an_error(settings, server):
    settings.POLAR_SERVER = server
    assert ids(check_settings()) == ["polar_checkouts.E001"]


def test_invalid_checkout_path_is_an_error(settings):
    settings.POLAR_CHECKOUT_PATH = "v1/checkouts"
    assert ids(check_settings()) == ["polar_checkouts.E002"]


@pytest.mark.parametrize(
    "version", ["2026-1", "2026/10", "latest", "2026-10 ", 202610, ["2026-10"]]
)
def test_malformed_api_version_is_an_error(settings, version):
    settings.POLAR_API_VERSION = version
    [message] = check_settings()
    assert message.id == "polar_checkouts.E006"
    assert "POLAR_API_VERSION" in message.msg
    assert "2026-10" in (message.hint or "")


@pytest.mark.parametrize("version", ["2026-10", "2026-04", "2027-01", None, ""])
def test_a_well_formed_or_absent_api_version_passes(settings, version):
    # A well-formed version Polar does not serve is only known at the first call.
    settings.POLAR_API_VERSION = version
    assert check_settings() == []


@pytest.mark.parametrize(
    "transport", ["polar_checkouts.nowhere.transport", "polar_checkouts.client.SERVERS"]
)
def test_unusable_transport_is_an_error(settings, transport):
    settings.POLAR_TRANSPORT = transport
    assert ids(check_settings()) == ["polar_checkouts.E005"]


def test_transport_by_dotted_path_passes(settings):
    settings.POLAR_TRANSPORT = "polar_checkouts.client.http_transport"
    assert check_settings() == []


def test_missing_token_is_a_warning_except_with_the_fake(settings):
    settings.POLAR_ACCESS_TOKEN = ""
    assert ids(check_settings()) == ["polar_checkouts.W001"]
    settings.POLAR_SERVER = "fake"
    assert check_settings() == []


def test_manage_py_check_reports_the_error(settings):
    settings.POLAR_SERVER = "stagingg"
    with pytest.raises(SystemCheckError, match="POLAR_SERVER is invalid"):
        call_command("check")


@pytest.mark.parametrize(
    ("server", "slug", "expected"),
    [
        ("sandbox", None, ["polar_checkouts.I001"]),
        ("production", None, ["polar_checkouts.I001"]),
        ("production", "acme", []),
        ("fake", None, []),  # no dashboard to link to
    ],
)
def test_the_dashboard_link_hint_is_a_check_not_an_admin_message(settings, server, slug, expected):
    from polar_checkouts.checks import check_dashboard_links

    settings.POLAR_SERVER = server
    settings.POLAR_ORGANIZATION_SLUG = slug
    assert [message.id for message in check_dashboard_links()] == expected
