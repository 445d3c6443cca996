"""Verification of a delivery: Standard Webhooks signatures, timestamps, secrets, parsing.

Most cases go through the endpoint, as Polar (or an attacker) would; the functions of
``polar_checkouts.webhooks.verify`` are also called directly at the end.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os

import pytest
from standardwebhooks.webhooks import Webhook

from polar_checkouts.exceptions import PolarError, WebhookRejected
from polar_checkouts.models import WebhookEvent
from polar_checkouts.webhooks import verify
from tests.polar_payloads import checkout_payload
from tests.webhook_helpers import SECRET, event_body, post, signed_headers

pytestmark = pytest.mark.django_db


# -- rejected deliveries ------------------------------------------------------------------


def test_bad_signature_is_rejected_and_logged_once(client, assert_rejected):
    body = event_body("checkout.updated", checkout_payload())
    headers = signed_headers(body, secret="polar_whs_someone_elses_secret")
    assert_rejected(post(client, body, headers), 401, reason_part="signature mismatch")


def test_tampered_body_is_rejected(client, assert_rejected):
    body = event_body("checkout.updated", checkout_payload(status="confirmed"))
    headers = signed_headers(body)
    tampered = body.replace(b'"confirmed"', b'"succeeded"')
    assert_rejected(post(client, tampered, headers), 401)


@pytest.mark.parametrize("minutes", [-6, 6, -60 * 24])
def test_timestamp_outside_five_minutes_is_rejected(client, assert_rejected, minutes):
    body = event_body("checkout.updated", checkout_payload())
    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)
    headers = signed_headers(body, when=when)
    assert_rejected(post(client, body, headers), 401, reason_part="tolerance")


@pytest.mark.parametrize("minutes", [-4, 4])
def test_timestamp_within_five_minutes_is_accepted(client, minutes):
    body = event_body("checkout.created", checkout_payload())
    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)
    assert post(client, body, signed_headers(body, when=when)).status_code == 200


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_signature_header_is_rejected(client, assert_rejected, missing):
    body = event_body("checkout.updated", checkout_payload())
    headers = signed_headers(body)
    del headers[missing]
    assert_rejected(post(client, body, headers), 401, reason_part="missing")


@pytest.mark.parametrize(
    "signature",
    ["", "v1", "v1,", "v1,not base64!!", "v2,AAAA", "garbage", "v1,AAAA"],
)
def test_malformed_or_wrong_signature_header_is_rejected(client, assert_rejected, signature):
    body = event_body("checkout.updated", checkout_payload())
    headers = {**signed_headers(body), "webhook-signature": signature}
    assert_rejected(post(client, body, headers), 401)


def test_unreadable_timestamp_is_rejected(client, assert_rejected):
    body = event_body("checkout.updated", checkout_payload())
    headers = {**signed_headers(body), "webhook-timestamp": "yesterday"}
    assert_rejected(post(client, body, headers), 401, reason_part="timestamp")


def test_one_valid_signature_among_several_is_enough(client):
    body = event_body("checkout.created", checkout_payload())
    headers = signed_headers(body)
    headers["webhook-signature"] = f"v1,bm90IGl0 garbage {headers['webhook-signature']}"
    assert post(client, body, headers).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'"text"',
        b'{"data": {}}',
        b'{"type": 7}',
        b'{"type": ""}',
        # Valid JSON no database text column can hold (PostgreSQL rejects both).
        b'{"type": "checkout.updated", "data": {"customer_name": "a\\u0000b"}}',
        b'{"type": "x", "data": {"\\u0000": 1}}',
        b'{"type": "x", "data": ["\\ud800"]}',
        # Python's JSON reader takes these; standard JSON (and jsonb) does not.
        b'{"type": "x", "data": {"amount": NaN}}',
        b'{"type": "x", "data": {"amount": -Infinity}}',
    ],
)
def test_signed_but_not_an_event_object_is_rejected_with_400(client, assert_rejected, body):
    assert_rejected(post(client, body, signed_headers(body)), 400)


@pytest.mark.parametrize(
    "text",
    [
        '{"type": "x", "data": {"customer_name": "a\\u0000b"}}',  # NUL, escaped
        '{"type": "x", "data": ["\\uDfFf"]}',  # a lone low surrogate, mixed case
    ],
)
def test_unstorable_text_in_a_utf16_body_is_rejected_too(client, assert_rejected, text):
    # json.loads reads UTF-16 too: the bytes scan for risky escapes must not wave it through.
    body = text.encode("utf-16-le")
    assert_rejected(post(client, body, signed_headers(body)), 400)


@pytest.mark.parametrize(
    ("escaped", "stored"),
    [
        ("\\ud83d\\ude00 smile", "\U0001f600 smile"),  # a surrogate pair (ensure_ascii)
        ("C:\\\\u0000", "C:\\u0000"),  # an escaped backslash, then the text u0000
        ("caf\\u00e9", "caf\u00e9"),  # an ordinary escape
    ],
)
def test_escapes_that_decode_to_storable_text_are_accepted(client, escaped, stored):
    data = json.dumps(checkout_payload())
    body = f'{{"type": "checkout.updated", "data": {data}, "note": "{escaped}"}}'.encode()
    headers = signed_headers(body)
    assert post(client, body, headers).status_code == 200
    event = WebhookEvent.objects.get(webhook_id=headers["webhook-id"])
    assert event.payload["note"] == stored


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b""), ("utf-32-le", b"")],
    ids=["utf-8", "utf-8 with a byte order mark", "utf-16", "utf-32"],
)
def test_the_recorded_payload_is_the_event_whatever_json_encoding_was_sent(
    client, encoding, prefix
):
    # A UTF-8 body is stored as sent; one the JSON reader decoded otherwise (a byte order
    # mark, UTF-16 or UTF-32) is stored as its parsed event, never as the raw text.
    payload = checkout_payload()
    text = json.dumps({"type": "checkout.updated", "data": payload, "note": "caf\u00e9"})
    body = prefix + text.encode(encoding)
    headers = signed_headers(body)
    assert post(client, body, headers).status_code == 200
    event = WebhookEvent.objects.get(webhook_id=headers["webhook-id"])
    assert event.payload == json.loads(text)
    event.refresh_from_db()
    assert event.payload == json.loads(text)


def test_signed_non_utf8_body_is_rejected(client, assert_rejected):
    body = b'{"type": "checkout.updated", "x": "\xff"}'
    headers = signed_headers(body.decode("latin-1").encode())  # a signature over other bytes
    assert_rejected(post(client, body, headers), 400)


# -- secrets ------------------------------------------------------------------------------


def _whsec() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


@pytest.mark.parametrize(
    "secret",
    [
        "polar_whs_abcDEF123456789",  # what Polar generated before 2026-06
        "my shop's own secret ✓",  # user-chosen, non-ASCII included
        _whsec(),  # signed with the UTF-8 bytes of the whole string (Polar's rule)
    ],
)
def test_secret_formats_signed_with_the_utf8_bytes(client, settings, secret):
    settings.POLAR_WEBHOOK_SECRET = secret
    body = event_body("checkout.created", checkout_payload())
    assert post(client, body, signed_headers(body, secret=secret)).status_code == 200


def test_whsec_secret_signed_with_its_base64_key(client, settings):
    secret = _whsec()
    settings.POLAR_WEBHOOK_SECRET = secret
    body = event_body("checkout.created", checkout_payload())
    # The Standard Webhooks way: the key is the base64-decoded part after "whsec_".
    headers = signed_headers(body, signer=Webhook(secret))
    assert post(client, body, headers).status_code == 200


def test_whsec_secret_that_is_not_base64_still_works_with_utf8_bytes(client, settings):
    secret = "whsec_not*base64*at*all"
    settings.POLAR_WEBHOOK_SECRET = secret
    body = event_body("checkout.created", checkout_payload())
    assert post(client, body, signed_headers(body, secret=secret)).status_code == 200


def test_a_non_whsec_secret_is_not_base64_decoded(client, settings, assert_rejected):
    # "polar_whs_…" is valid-looking base64 text; decoding it would give another key.
    secret = "cG9sYXJfd2hzX3Rlc3Q="
    settings.POLAR_WEBHOOK_SECRET = secret
    body = event_body("checkout.created", checkout_payload())
    assert_rejected(post(client, body, signed_headers(body, signer=Webhook(secret))), 401)


def test_several_secrets_while_rotating(client, settings):
    settings.POLAR_WEBHOOK_SECRET = ["polar_whs_new", "polar_whs_old"]
    for secret in ("polar_whs_old", "polar_whs_new"):
        body = event_body("checkout.created", checkout_payload())
        assert post(client, body, signed_headers(body, secret=secret)).status_code == 200


# -- the functions, called directly -------------------------------------------------------


def test_verify_signature_accepts_polars_headers_in_any_case():
    body = event_body("checkout.created", checkout_payload())
    # The library checks the timestamp against the real clock as well: sign it now.
    when = dt.datetime.now(dt.timezone.utc)
    headers = {name.upper(): value for name, value in signed_headers(body, when=when).items()}
    verify.verify_signature(body, headers, [SECRET], now=when)  # raises when refused
    # Any of several secrets (rotation) is enough.
    verify.verify_signature(body, headers, ["polar_whs_other", SECRET], now=when)


@pytest.mark.parametrize(
    ("secrets", "minutes", "status", "reason"),
    [
        (["polar_whs_wrong"], 0, 401, "signature mismatch"),
        ([], 0, 401, "signature mismatch"),
        ([SECRET], 6, 401, "tolerance"),
        ([SECRET], -6, 401, "tolerance"),
    ],
)
def test_verify_signature_rejects_with_a_status_and_a_reason(secrets, minutes, status, reason):
    body = event_body("checkout.created", checkout_payload())
    when = dt.datetime.now(dt.timezone.utc)
    headers = signed_headers(body, when=when)
    with pytest.raises(WebhookRejected) as rejected:
        verify.verify_signature(body, headers, secrets, now=when + dt.timedelta(minutes=minutes))
    assert rejected.value.status == status
    assert reason in rejected.value.reason


def test_parse_event_returns_the_event_or_rejects_with_400():
    assert verify.parse_event(b'{"type": "order.paid", "data": {}}') == {
        "type": "order.paid",
        "data": {},
    }
    with pytest.raises(WebhookRejected) as rejected:
        verify.parse_event(b'{"type": "' + b"x" * 256 + b'"}')
    assert (rejected.value.status, rejected.value.reason) == (400, "missing or invalid event type")


def test_clean_signature_header_keeps_only_well_formed_v1_entries():
    header = "v1,AAAA v2,BBBB garbage v1, v1,not!base64 v1,bm90IGl0"
    assert verify.clean_signature_header(header) == "v1,AAAA v1,bm90IGl0"
    assert verify.clean_signature_header("") == ""


def test_verifiers_for_each_secret_format():
    assert len(verify.verifiers_for("polar_whs_abc")) == 1
    assert len(verify.verifiers_for(_whsec())) == 2  # raw bytes, and the base64 key
    assert len(verify.verifiers_for("whsec_not*base64")) == 1


def test_webhook_rejected_is_a_polar_error_with_a_status():
    error = WebhookRejected("why, for the log")
    assert isinstance(error, PolarError)
    assert (error.reason, error.status) == ("why, for the log", 400)
