"""The webhook endpoint: verification, recording, exactly-once processing, failures."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook

from polar_checkouts import signals, webhooks
from polar_checkouts.models import CheckoutSession, WebhookEvent, WebhookOutcome
from tests.polar_payloads import BASE_TIME, checkout_payload
from tests.webhook_helpers import (
    SECRET,
    SignalLog,
    connected,
    deliver,
    event_body,
    order_payload,
    post,
    signed_headers,
)

pytestmark = pytest.mark.django_db

URL_NAME = "polar_checkouts:webhook"


def later(minutes: int) -> dt.datetime:
    return BASE_TIME + dt.timedelta(minutes=minutes)


# -- a valid delivery -------------------------------------------------------------------


def test_valid_checkout_event_is_verified_recorded_processed_and_cached(client, signal_log):
    payload = checkout_payload(status="confirmed", modified_at=later(1))
    body = event_body("checkout.updated", payload)
    headers = signed_headers(body, webhook_id="msg_valid_1")

    response = post(client, body, {**headers, "x-forwarded-for": "10.0.0.1"})

    assert response.status_code == 200
    event = WebhookEvent.objects.get(webhook_id="msg_valid_1")
    assert event.type == "checkout.updated"
    assert event.payload == json.loads(body)
    assert event.outcome == WebhookOutcome.PROCESSED
    assert event.processed_at is not None
    assert event.attempts == 1
    assert event.error == ""
    assert str(event.checkout_id) == payload["id"]
    assert event.object_id == payload["id"]
    # Only Polar's webhook headers are kept, nothing else of the request.
    assert set(event.headers) == {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
        "user-agent",
    }
    assert event.headers["user-agent"] == "polar.sh webhooks"
    checkout = CheckoutSession.objects.get(pk=payload["id"])
    assert checkout.status == "confirmed"
    assert [c["checkout"].pk for c in signal_log["checkout_updated"]] == [checkout.pk]
    assert signal_log["checkout_updated"][0]["previous_status"] is None
    assert [c["event"].pk for c in signal_log["webhook_received"]] == [event.pk]
    assert signal_log["webhook_received"][0]["sender"] is WebhookEvent


def test_endpoint_is_csrf_exempt():
    client = Client(enforce_csrf_checks=True)
    response = deliver(client, "checkout.created", checkout_payload())
    assert response.status_code == 200


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_methods_answer_405(client, method):
    response = getattr(client, method)(reverse(URL_NAME))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert not WebhookEvent.objects.exists()


def test_checkout_expired_event_updates_the_cache(client):
    payload = checkout_payload(status="open")
    assert deliver(client, "checkout.created", payload).status_code == 200
    expired = {**payload, "status": "expired", "modified_at": "2026-11-01T12:30:00Z"}
    assert deliver(client, "checkout.expired", expired).status_code == 200
    assert CheckoutSession.objects.get(pk=payload["id"]).status == "expired"


def test_events_out_of_order_keep_the_newest_state(client):
    checkout_id = str(uuid.uuid4())
    newer = checkout_payload(checkout_id, status="succeeded", modified_at=later(5))
    older = checkout_payload(checkout_id, status="confirmed", modified_at=later(2))
    assert deliver(client, "checkout.updated", newer).status_code == 200
    assert deliver(client, "checkout.updated", older).status_code == 200
    assert CheckoutSession.objects.get(pk=checkout_id).status == "succeeded"
    assert WebhookEvent.objects.filter(outcome=WebhookOutcome.PROCESSED).count() == 2


# -- duplicates ---------------------------------------------------------------------------


def test_duplicate_delivery_answers_200_without_processing_again(client, signal_log):
    payload = checkout_payload(status="succeeded", modified_at=later(3))
    body = event_body("checkout.updated", payload)
    headers = signed_headers(body, webhook_id="msg_dup")

    first = post(client, body, headers)
    # Polar's retry: same webhook-id and body, a fresh timestamp and signature.
    second = post(client, body, signed_headers(body, webhook_id="msg_dup"))

    assert first.status_code == second.status_code == 200
    event = WebhookEvent.objects.get(webhook_id="msg_dup")
    assert event.attempts == 1
    assert len(signal_log["webhook_received"]) == 1
    assert len(signal_log["checkout_updated"]) == 1
    assert len(signal_log["checkout_succeeded"]) == 1


def test_duplicate_of_an_ignored_event_is_not_processed_again(client, signal_log):
    body = event_body("benefit.created", {"id": "b1"})
    for _ in range(2):
        assert post(client, body, signed_headers(body, webhook_id="msg_ign")).status_code == 200
    assert WebhookEvent.objects.get(webhook_id="msg_ign").attempts == 1
    assert len(signal_log["webhook_received"]) == 1


def test_a_recorded_but_unprocessed_event_is_processed_on_redelivery(client):
    # The worker died between recording and processing: the row stays "pending".
    payload = checkout_payload(status="open")
    body = event_body("checkout.created", payload)
    WebhookEvent.objects.create(
        webhook_id="msg_pending", type="checkout.created", payload=json.loads(body)
    )
    response = post(client, body, signed_headers(body, webhook_id="msg_pending"))
    assert response.status_code == 200
    event = WebhookEvent.objects.get(webhook_id="msg_pending")
    assert event.outcome == WebhookOutcome.PROCESSED
    assert event.attempts == 1
    assert CheckoutSession.objects.filter(pk=payload["id"]).exists()


# -- rejected deliveries ------------------------------------------------------------------


def _assert_rejected(response, status, caplog, *, reason_part: str | None = None):
    assert response.status_code == status
    assert response.content == b"Webhook rejected.\n"
    assert not WebhookEvent.objects.exists()
    assert not CheckoutSession.objects.exists()
    warnings = [r for r in caplog.records if r.name == "polar_checkouts.webhooks"]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    line = warnings[0].getMessage()
    assert SECRET not in line
    assert "Ada Lovelace" not in line  # no payload in the log
    if reason_part:
        assert reason_part in line


def test_bad_signature_is_rejected_and_logged_once(client, caplog):
    body = event_body("checkout.updated", checkout_payload())
    headers = signed_headers(body, secret="polar_whs_someone_elses_secret")
    _assert_rejected(post(client, body, headers), 401, caplog, reason_part="signature mismatch")


def test_tampered_body_is_rejected(client, caplog):
    body = event_body("checkout.updated", checkout_payload(status="confirmed"))
    headers = signed_headers(body)
    tampered = body.replace(b'"confirmed"', b'"succeeded"')
    _assert_rejected(post(client, tampered, headers), 401, caplog)


@pytest.mark.parametrize("minutes", [-6, 6, -60 * 24])
def test_timestamp_outside_five_minutes_is_rejected(client, caplog, minutes):
    body = event_body("checkout.updated", checkout_payload())
    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)
    headers = signed_headers(body, when=when)
    _assert_rejected(post(client, body, headers), 401, caplog, reason_part="tolerance")


@pytest.mark.parametrize("minutes", [-4, 4])
def test_timestamp_within_five_minutes_is_accepted(client, minutes):
    body = event_body("checkout.created", checkout_payload())
    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)
    assert post(client, body, signed_headers(body, when=when)).status_code == 200


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_signature_header_is_rejected(client, caplog, missing):
    body = event_body("checkout.updated", checkout_payload())
    headers = signed_headers(body)
    del headers[missing]
    _assert_rejected(post(client, body, headers), 401, caplog, reason_part="missing")


@pytest.mark.parametrize(
    "signature",
    ["", "v1", "v1,", "v1,not base64!!", "v2,AAAA", "garbage", "v1,AAAA"],
)
def test_malformed_or_wrong_signature_header_is_rejected(client, caplog, signature):
    body = event_body("checkout.updated", checkout_payload())
    headers = {**signed_headers(body), "webhook-signature": signature}
    _assert_rejected(post(client, body, headers), 401, caplog)


def test_unreadable_timestamp_is_rejected(client, caplog):
    body = event_body("checkout.updated", checkout_payload())
    headers = {**signed_headers(body), "webhook-timestamp": "yesterday"}
    _assert_rejected(post(client, body, headers), 401, caplog, reason_part="timestamp")


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
    ],
)
def test_signed_but_not_an_event_object_is_rejected_with_400(client, caplog, body):
    _assert_rejected(post(client, body, signed_headers(body)), 400, caplog)


def test_signed_non_utf8_body_is_rejected(client, caplog):
    body = b'{"type": "checkout.updated", "x": "\xff"}'
    headers = signed_headers(body.decode("latin-1").encode())  # a signature over other bytes
    _assert_rejected(post(client, body, headers), 400, caplog)


def test_overlong_webhook_id_is_rejected(client, caplog):
    body = event_body("checkout.created", checkout_payload())
    headers = signed_headers(body, webhook_id="m" * 300)
    _assert_rejected(post(client, body, headers), 400, caplog)


def test_rejections_leak_no_detail(client):
    body = event_body("checkout.updated", checkout_payload())
    stale = signed_headers(body, when=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
    wrong = signed_headers(body, secret="polar_whs_wrong")
    bodies = {post(client, body, h).content for h in (stale, wrong)}
    assert bodies == {b"Webhook rejected.\n"}


# -- body size -------------------------------------------------------------------------


def test_body_over_the_limit_answers_413_without_storing(client, settings, caplog):
    settings.POLAR_WEBHOOK_MAX_BODY = 2048
    payload = checkout_payload(customer_name="x" * 4000)
    body = event_body("checkout.updated", payload)
    response = post(client, body, signed_headers(body))
    assert response.status_code == 413
    assert not WebhookEvent.objects.exists()
    assert [r.levelno for r in caplog.records if r.name == "polar_checkouts.webhooks"] == [
        logging.WARNING
    ]


def test_body_at_the_limit_is_accepted(client, settings):
    body = event_body("checkout.created", checkout_payload())
    settings.POLAR_WEBHOOK_MAX_BODY = len(body)
    assert post(client, body, signed_headers(body)).status_code == 200


def test_body_above_djangos_own_limit_answers_413(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = event_body("checkout.created", checkout_payload())
    assert len(body) > 1000
    assert post(client, body, signed_headers(body)).status_code == 413


def test_default_limit_is_one_mebibyte(client):
    body = json.dumps({"type": "x", "pad": "x" * (1024 * 1024)}).encode()
    assert post(client, body, signed_headers(body)).status_code == 413


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


def test_a_non_whsec_secret_is_not_base64_decoded(client, settings, caplog):
    # "polar_whs_…" is valid-looking base64 text; decoding it would give another key.
    secret = "cG9sYXJfd2hzX3Rlc3Q="
    settings.POLAR_WEBHOOK_SECRET = secret
    body = event_body("checkout.created", checkout_payload())
    _assert_rejected(post(client, body, signed_headers(body, signer=Webhook(secret))), 401, caplog)


def test_several_secrets_while_rotating(client, settings):
    settings.POLAR_WEBHOOK_SECRET = ["polar_whs_new", "polar_whs_old"]
    for secret in ("polar_whs_old", "polar_whs_new"):
        body = event_body("checkout.created", checkout_payload())
        assert post(client, body, signed_headers(body, secret=secret)).status_code == 200


@pytest.mark.parametrize("value", [None, "", [], 12345])
def test_missing_secret_answers_503_and_logs(client, settings, caplog, value):
    settings.POLAR_WEBHOOK_SECRET = value
    body = event_body("checkout.created", checkout_payload())
    response = post(client, body, signed_headers(body))
    assert response.status_code == 503
    assert not WebhookEvent.objects.exists()
    errors = [r for r in caplog.records if r.name == "polar_checkouts.webhooks"]
    assert [r.levelno for r in errors] == [logging.ERROR]
    assert "POLAR_WEBHOOK_SECRET" in errors[0].getMessage()


# -- event types --------------------------------------------------------------------------


def test_unknown_event_type_is_recorded_as_ignored(client, signal_log):
    response = deliver(client, "benefit_grant.created", {"id": "g1"}, webhook_id="msg_unknown")
    assert response.status_code == 200
    event = WebhookEvent.objects.get(webhook_id="msg_unknown")
    assert event.outcome == WebhookOutcome.IGNORED
    assert event.processed_at is not None
    assert event.checkout_id is None
    assert [c["event"].pk for c in signal_log["webhook_received"]] == [event.pk]


def test_order_paid_sends_order_paid_with_the_cached_checkout(client, signal_log):
    payload = checkout_payload(status="succeeded")
    deliver(client, "checkout.updated", payload)
    order = order_payload(payload["id"])

    response = deliver(client, "order.paid", order, webhook_id="msg_order")

    assert response.status_code == 200
    event = WebhookEvent.objects.get(webhook_id="msg_order")
    assert event.outcome == WebhookOutcome.PROCESSED
    assert str(event.checkout_id) == payload["id"]
    assert event.object_id == order["id"]
    (call,) = signal_log["order_paid"]
    assert call["sender"] is WebhookEvent
    assert call["order"] == order
    assert call["checkout"] == CheckoutSession.objects.get(pk=payload["id"])
    assert call["event"].pk == event.pk


def test_order_paid_for_an_uncached_checkout_passes_none(client, signal_log):
    order = order_payload(str(uuid.uuid4()))
    assert deliver(client, "order.paid", order).status_code == 200
    (call,) = signal_log["order_paid"]
    assert call["checkout"] is None
    assert str(WebhookEvent.objects.get().checkout_id) == order["checkout_id"]


def test_order_without_checkout_is_linked_to_none(client, signal_log):
    order = order_payload(None, billing_reason="subscription_cycle")
    assert deliver(client, "order.paid", order).status_code == 200
    assert signal_log["order_paid"][0]["checkout"] is None
    assert WebhookEvent.objects.get().checkout_id is None


def test_seed_era_order_created_means_paid(client, signal_log):
    order = order_payload(str(uuid.uuid4()))
    del order["status"], order["paid"]
    assert deliver(client, "order.created", order).status_code == 200
    assert [c["order"]["id"] for c in signal_log["order_paid"]] == [order["id"]]


def test_current_order_created_is_not_order_paid(client, signal_log):
    order = order_payload(str(uuid.uuid4()), status="pending", paid=False)
    assert deliver(client, "order.created", order).status_code == 200
    assert signal_log["order_paid"] == []
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.PROCESSED
    assert len(signal_log["webhook_received"]) == 1


@pytest.mark.parametrize("event_type", ["subscription.created", "subscription.active"])
def test_subscription_events_are_recorded_linked_and_passed_on(client, signal_log, event_type):
    checkout_id = str(uuid.uuid4())
    subscription = {"id": str(uuid.uuid4()), "status": "active", "checkout_id": checkout_id}
    assert deliver(client, event_type, subscription).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookOutcome.PROCESSED
    assert str(event.checkout_id) == checkout_id
    assert signal_log["webhook_received"][0]["event"].data == subscription
    assert signal_log["order_paid"] == []


# -- failures and retries -------------------------------------------------------------------


def _boom(sender, **kwargs):
    raise RuntimeError("fulfilment service down")


def test_handler_failure_answers_500_keeps_the_error_and_a_retry_processes_it(client, caplog):
    payload = checkout_payload(status="succeeded", modified_at=later(4))
    body = event_body("checkout.updated", payload)

    with connected(signals.checkout_succeeded, _boom):
        first = post(client, body, signed_headers(body, webhook_id="msg_fail"))

    assert first.status_code == 500
    assert b"fulfilment" not in first.content
    event = WebhookEvent.objects.get(webhook_id="msg_fail")
    assert event.outcome == WebhookOutcome.FAILED
    assert "RuntimeError: fulfilment service down" in event.error
    assert event.processed_at is None
    assert event.attempts == 1
    # The handler's writes were rolled back with it: not cached, success not claimed.
    assert not CheckoutSession.objects.filter(pk=payload["id"]).exists()
    assert any(r.levelno == logging.ERROR for r in caplog.records)

    log = SignalLog()
    log.connect()
    try:
        retry = post(client, body, signed_headers(body, webhook_id="msg_fail"))
    finally:
        log.disconnect()

    assert retry.status_code == 200
    event.refresh_from_db()
    assert event.outcome == WebhookOutcome.PROCESSED
    assert event.error == ""
    assert event.attempts == 2
    assert event.processed_at is not None
    assert CheckoutSession.objects.get(pk=payload["id"]).status == "succeeded"
    assert len(log["checkout_succeeded"]) == 1


def test_checkout_event_without_a_checkout_fails_visibly(client):
    response = deliver(client, "checkout.updated", {"status": "open"}, webhook_id="msg_bad")
    assert response.status_code == 500
    event = WebhookEvent.objects.get(webhook_id="msg_bad")
    assert event.outcome == WebhookOutcome.FAILED
    assert "id" in event.error


def test_error_text_masks_client_secrets(client):
    def leak(sender, **kwargs):
        raise RuntimeError("bad checkout polar_c_abcdefSECRET123")

    with connected(signals.webhook_received, leak):
        deliver(client, "benefit.created", {"id": "b"}, webhook_id="msg_leak")
    error = WebhookEvent.objects.get(webhook_id="msg_leak").error
    assert "abcdefSECRET123" not in error
    assert "polar_c_…****" in error


@pytest.mark.django_db(transaction=True)
def test_atomic_requests_does_not_swallow_a_recorded_failure(client, monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    body = event_body("checkout.created", checkout_payload())

    with connected(signals.webhook_received, _boom):
        response = post(client, body, signed_headers(body, webhook_id="msg_atomic"))

    assert response.status_code == 500
    event = WebhookEvent.objects.get(webhook_id="msg_atomic")
    assert event.outcome == WebhookOutcome.FAILED
    assert "fulfilment service down" in event.error
    assert not CheckoutSession.objects.exists()

    assert post(client, body, signed_headers(body, webhook_id="msg_atomic")).status_code == 200
    event.refresh_from_db()
    assert (event.outcome, event.attempts) == (WebhookOutcome.PROCESSED, 2)


def test_view_opts_out_of_atomic_requests():
    assert "default" in getattr(webhooks.webhook_view, "_non_atomic_requests", set())


# -- whatever arrives: never a 500, nothing stored unless signed --------------------------

header_text = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=0, max_size=60
)
fuzz = hypothesis_settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Any text a database can store (NUL and lone surrogates are rejected, tested above).
db_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | db_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(db_text, children, max_size=3)
    ),
    max_leaves=8,
)


@fuzz
@given(
    body=st.binary(max_size=300),
    webhook_id=header_text,
    timestamp=st.one_of(header_text, st.integers().map(str)),
    signature=header_text,
)
def test_unsigned_input_is_rejected_and_never_stored(
    client, body, webhook_id, timestamp, signature
):
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": signature,
    }
    assert post(client, body, headers).status_code in (400, 401)
    assert not WebhookEvent.objects.exists()


@fuzz
@given(value=json_values | st.fixed_dictionaries({"type": db_text, "data": json_values}))
def test_signed_json_of_any_shape_is_recorded_or_rejected_never_a_500(client, value):
    body = json.dumps(value).encode()
    response = post(client, body, signed_headers(body))
    is_event = isinstance(value, dict) and isinstance(value.get("type"), str) and value["type"]
    if is_event:
        assert response.status_code == 200
        assert WebhookEvent.objects.filter(type=value["type"]).exists()
    else:
        assert response.status_code == 400
