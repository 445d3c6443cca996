"""The endpoint's HTTP behaviour: methods, CSRF, body size, secrets, transactions, fuzz."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from polar_checkouts import signals, webhooks
from polar_checkouts.models import CheckoutSession, WebhookEvent, WebhookOutcome
from tests.polar_payloads import checkout_payload
from tests.webhook_helpers import connected, deliver, event_body, post, signed_headers

pytestmark = pytest.mark.django_db

URL_NAME = "polar_checkouts:webhook"


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


def test_overlong_webhook_id_is_rejected(client, assert_rejected):
    body = event_body("checkout.created", checkout_payload())
    headers = signed_headers(body, webhook_id="m" * 300)
    assert_rejected(post(client, body, headers), 400)


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


# -- configuration and transactions -----------------------------------------------------


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


def _boom(sender, **kwargs):
    raise RuntimeError("fulfilment service down")


@pytest.mark.django_db(transaction=True)
def test_atomic_requests_does_not_swallow_a_recorded_failure(client, monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    body = event_body("checkout.created", checkout_payload())

    with connected(signals.webhook_received, _boom):
        response = post(client, body, signed_headers(body, webhook_id="msg_atomic"))

    assert response.status_code == 200  # recorded; processing failed after the answer
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
        # A type Polar declares is processed (200); any other is accepted (202).
        assert response.status_code == (200 if value["type"] in webhooks.EVENT_TYPES else 202)
        assert WebhookEvent.objects.filter(type=value["type"]).exists()
    else:
        assert response.status_code == 400
