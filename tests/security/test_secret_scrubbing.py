"""Secrets scrubbed whatever their source: a server or proxy that echoes them back.

Polar (or a proxy, or a misbehaving gateway) may echo the access token in an error body
(``{"error": "invalid_token", "error_description": "bad <token>"}``), in a header, in an
HTML error page, in a 2xx body the client cannot use, in a validation error's ``input``.
Whatever the echo, the token never appears in the exception's ``str``, ``repr``,
``args``, ``body``, ``detail`` or in any log line; its masked form does, so a reader can
still tell which credential was involved.
"""

from __future__ import annotations

import json
import logging

import pytest
import requests
import responses

from polar_checkouts.client import PolarClient
from polar_checkouts.exceptions import (
    AuthenticationError,
    InvalidResponseError,
    PolarAPIError,
    PolarConnectionError,
    PolarError,
    PolarValidationError,
    ServerError,
)
from polar_checkouts.masking import (
    MaskSecretsFilter,
    mask_secrets_in,
    mask_token,
    register_secret,
)

TOKEN = "polar_oat_EchoedBackByTheServer0123456789abcdef"
MASKED = "polar_oat_…****cdef"
BASE = "https://sandbox-api.polar.sh"
CID = "0b6bd3fa-5d0c-4c57-9a9d-4b0c7c7a3f1e"
SECRET = "cs_not_a_polar_prefixed_secret_1234567"  # no polar_c_ shape: masked by value


def everything_about(exc: BaseException) -> list[str]:
    """Every text an error tracker or log could show of ``exc``."""
    texts = [str(exc), repr(exc), *(repr(a) for a in exc.args)]
    for attr in ("body", "detail", "error"):
        if hasattr(exc, attr):
            texts.append(json.dumps(getattr(exc, attr), default=str))
    return texts


def assert_scrubbed(exc: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    texts = everything_about(exc)
    for text in texts:
        assert TOKEN not in text, text
        assert SECRET not in text, text
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert SECRET not in record.getMessage()


@pytest.fixture
def client():
    with PolarClient(TOKEN, server="sandbox", max_retries=0) as polar:
        yield polar


def test_mask_token_keeps_the_kind_and_the_last_four():
    assert mask_token(TOKEN) == MASKED
    assert mask_token("short_one") == "…****"
    assert mask_token("polar_c_abc") == "polar_c_…****"
    assert mask_token("") == ""


def test_registered_secret_is_masked_in_any_text():
    register_secret(TOKEN)
    assert mask_secrets_in(f"Authorization: Bearer {TOKEN}.") == f"Authorization: Bearer {MASKED}."


@responses.activate
def test_token_echoed_in_an_oauth_style_error_body(client, caplog):
    caplog.set_level(logging.DEBUG)
    responses.get(
        f"{BASE}/v1/checkouts/{CID}",
        status=401,
        json={"error": "invalid_token", "error_description": f"bad {TOKEN}"},
        headers={"WWW-Authenticate": f'Bearer error="invalid_token", token="{TOKEN}"'},
    )
    with pytest.raises(AuthenticationError) as caught:
        client.get(CID)
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"  # sent
    assert_scrubbed(caught.value, caplog)
    assert f"bad {MASKED}" in str(caught.value)
    assert caught.value.detail == f"bad {MASKED}"
    assert MASKED in caught.value.body
    logging.getLogger("polar_checkouts").error("refresh failed: %s", caught.value)
    assert any(MASKED in r.getMessage() for r in caplog.records)
    assert_scrubbed(caught.value, caplog)


@responses.activate
def test_token_echoed_in_a_validation_errors_input(client, caplog):
    responses.post(
        f"{BASE}/v1/checkouts/",
        status=422,
        json={
            "error": "RequestValidationError",
            "detail": [{"loc": ["header", "authorization"], "msg": "bad", "input": TOKEN}],
        },
    )
    with pytest.raises(PolarValidationError) as caught:
        client.create({"products": [CID]})
    assert_scrubbed(caught.value, caplog)
    assert caught.value.errors[0]["input"] == MASKED


@responses.activate
def test_token_echoed_in_a_proxys_html_page(client, caplog):
    responses.get(
        f"{BASE}/v1/checkouts/{CID}",
        status=502,
        body=f"<html><body>upstream refused Authorization: Bearer {TOKEN}</body></html>",
        content_type="text/html",
    )
    with pytest.raises(ServerError) as caught:
        client.get(CID)
    assert_scrubbed(caught.value, caplog)
    assert MASKED in caught.value.body


@responses.activate
def test_token_echoed_in_a_2xx_body_that_is_not_json(client, caplog):
    responses.get(f"{BASE}/v1/checkouts/{CID}", status=200, body=f"debug: token={TOKEN}")
    with pytest.raises(InvalidResponseError) as caught:
        client.get(CID)
    assert_scrubbed(caught.value, caplog)
    assert MASKED in caught.value.body


@responses.activate
def test_token_echoed_in_a_2xx_json_missing_keys(client, caplog):
    responses.get(f"{BASE}/v1/checkouts/{CID}", status=200, json={"echo": TOKEN})
    with pytest.raises(InvalidResponseError) as caught:
        client.get(CID)
    assert_scrubbed(caught.value, caplog)
    assert MASKED in caught.value.body


@responses.activate
def test_client_secret_of_any_shape_echoed_on_a_client_route(client, caplog):
    caplog.set_level(logging.DEBUG)
    responses.get(
        f"{BASE}/v1/checkouts/client/{SECRET}",
        status=404,
        json={"error": "ResourceNotFound", "detail": f"No checkout for {SECRET}"},
    )
    with pytest.raises(PolarAPIError) as caught:
        client.client_get(SECRET)
    assert_scrubbed(caught.value, caplog)
    assert "****" in str(caught.value)


@responses.activate
def test_transport_error_naming_the_token(client, caplog):
    responses.get(
        f"{BASE}/v1/checkouts/client/{SECRET}",
        body=requests.ConnectionError(f"proxy said no to {SECRET} with Bearer {TOKEN}"),
    )
    with pytest.raises(PolarConnectionError) as caught:
        client.client_get(SECRET)
    assert_scrubbed(caught.value, caplog)
    assert MASKED in str(caught.value)


def test_any_polar_error_masks_a_registered_token_in_its_message():
    register_secret(TOKEN)
    exc = PolarError(f"something went wrong with {TOKEN}")
    assert TOKEN not in repr(exc)
    assert MASKED in str(exc)
    api = PolarAPIError("x", status_code=400, detail={"t": [TOKEN]}, body=TOKEN, error=TOKEN)
    assert everything_about(api) == [t.replace(TOKEN, MASKED) for t in everything_about(api)]
    assert TOKEN not in json.dumps(api.detail)


def test_log_filter_masks_a_registered_token_in_arguments():
    register_secret(TOKEN)
    record = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "header %s", (f"Bearer {TOKEN}",), None
    )
    assert MaskSecretsFilter().filter(record)
    assert record.getMessage() == f"header Bearer {MASKED}"


def test_the_apps_own_logger_masks_what_others_pass_it(caplog):
    register_secret(TOKEN)
    caplog.set_level(logging.INFO)
    logging.getLogger("polar_checkouts").info("calling with %s", TOKEN)
    assert [r.getMessage() for r in caplog.records] == [f"calling with {MASKED}"]
