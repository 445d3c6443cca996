"""Every event type Polar's 2026-10 spec declares, delivered as Polar sends it; and the
types it does not declare yet.

Parametrised over the spec file's ``webhooks`` section (``tests/data``), so a type added
there is delivered here without touching this file, and fails until the app knows it.
"""

from __future__ import annotations

import json

import pytest

from polar_checkouts.models import CheckoutSession, WebhookEvent, WebhookOutcome
from polar_checkouts.webhooks import (
    EVENT_TYPES,
    HANDLERS,
    handler_for,
    is_known_event_type,
    pass_on,
    process_event,
)
from tests.webhook_helpers import deliver, post, signed_headers
from tests.webhooks.spec_events import (
    SPEC,
    SPEC_EVENT_TYPES,
    SPEC_PATH,
    minimal_payload,
    payload_schema_name,
    schema_errors,
)

#: Types Polar may add one day (new families and new members of known ones).
UNKNOWN_TYPES = ["payout.created", "order.disputed", "subscription.frozen", "x"]


def spec_delivery(client, event_type: str, webhook_id: str):
    """POST the type's minimal spec payload as Polar signs it; ``(response, payload)``."""
    payload = minimal_payload(event_type)
    body = json.dumps(payload).encode()
    return post(client, body, signed_headers(body, webhook_id=webhook_id)), payload


# -- the spec and the app agree ---------------------------------------------------------------


def test_the_app_knows_exactly_the_types_of_the_newest_spec():
    assert len(SPEC_EVENT_TYPES) == 41
    assert EVENT_TYPES == SPEC_EVENT_TYPES
    assert (SPEC_EVENT_TYPES[0], SPEC_EVENT_TYPES[-1]) == (
        "checkout.created",
        "benefit_grant.revoked",
    )


def test_webhook_payloads_are_the_same_in_the_previous_api_version():
    # Polar does not version webhook payloads: the 2026-04 spec declares the same ones.
    previous = json.loads((SPEC_PATH.parent / "polar-openapi-2026-04.json").read_text())
    assert list(previous["webhooks"]) == list(SPEC_EVENT_TYPES)
    for event_type in SPEC_EVENT_TYPES:
        name = payload_schema_name(event_type)
        assert previous["components"]["schemas"][name] == SPEC["components"]["schemas"][name]


@pytest.mark.parametrize("event_type", SPEC_EVENT_TYPES)
def test_minimal_payload_is_valid_against_the_spec(event_type):
    payload = minimal_payload(event_type)
    assert payload["type"] == event_type
    assert isinstance(payload["data"], dict)
    assert schema_errors(event_type, payload) == []


def test_the_schema_check_is_not_vacuous():
    payload = minimal_payload("order.paid")
    assert schema_errors("order.created", payload)  # the type is a const
    broken = {**payload, "data": {k: v for k, v in payload["data"].items() if k != "id"}}
    assert any("'id' is a required property" in e for e in schema_errors("order.paid", broken))
    wrong_id = {**payload, "data": {**payload["data"], "id": "not-a-uuid"}}
    assert schema_errors("order.paid", wrong_id)


def test_handlers_cover_known_types_only():
    assert set(HANDLERS) <= set(EVENT_TYPES)
    for event_type in EVENT_TYPES:
        assert handler_for(event_type) is HANDLERS.get(event_type, pass_on)
        assert is_known_event_type(event_type)
    for event_type in UNKNOWN_TYPES:
        assert handler_for(event_type) is None
        assert not is_known_event_type(event_type)


# -- every declared type: accepted, recorded, passed on ------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("event_type", SPEC_EVENT_TYPES)
def test_every_spec_event_type_is_accepted_recorded_and_passed_on(client, signal_log, event_type):
    response, payload = spec_delivery(client, event_type, webhook_id="msg_spec")

    assert response.status_code == 200
    assert response.content == b"OK\n"
    event = WebhookEvent.objects.get(webhook_id="msg_spec")
    assert event.type == event_type
    assert event.payload == payload
    assert (event.outcome, event.attempts, event.error) == (WebhookOutcome.PROCESSED, 1, "")
    assert event.processed_at is not None
    assert event.object_id == payload["data"]["id"]
    assert [c["event"].pk for c in signal_log["webhook_received"]] == [event.pk]
    assert signal_log["webhook_received"][0]["event"].data == payload["data"]

    # What the app does itself on top of passing the event on.
    cached = CheckoutSession.objects.filter(pk=payload["data"]["id"]).exists()
    assert cached == event_type.startswith("checkout.")
    # order_paid follows the order's state (sent once, whichever order.* event shows it
    # paid first); the spec's smallest order is a "draft", which is not paid.
    paid = [str(c["order"].pk) for c in signal_log["order_paid"]]
    is_paid_order = event_type.startswith("order.") and payload["data"]["status"] in (
        "paid",
        "partially_refunded",
        "refunded",
    )
    assert paid == ([payload["data"]["id"]] if is_paid_order else [])

    # Polar's retry of the same event: answered alike, not processed again.
    again, _ = spec_delivery(client, event_type, webhook_id="msg_spec")
    assert again.status_code == 200
    event.refresh_from_db()
    assert event.attempts == 1
    assert len(signal_log["webhook_received"]) == 1


# -- a type nobody knows yet ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("event_type", UNKNOWN_TYPES)
def test_signed_unknown_type_is_recorded_and_answered_202(client, signal_log, event_type):
    data = {"id": "obj_1", "checkout_id": None, "anything": ["Polar", "adds"]}

    response = deliver(client, event_type, data, webhook_id="msg_new_type")

    assert response.status_code == 202
    assert response.content == b"Accepted.\n"
    event = WebhookEvent.objects.get(webhook_id="msg_new_type")
    assert (event.type, event.data, event.object_id) == (event_type, data, "obj_1")
    assert event.outcome == WebhookOutcome.IGNORED
    assert (event.attempts, event.error) == (1, "")
    assert event.processed_at is not None
    assert [c["event"].pk for c in signal_log["webhook_received"]] == [event.pk]
    assert signal_log["order_paid"] == []
    assert not CheckoutSession.objects.exists()

    again = deliver(client, event_type, data, webhook_id="msg_new_type")
    assert again.status_code == 202
    assert WebhookEvent.objects.get(webhook_id="msg_new_type").attempts == 1
    assert len(signal_log["webhook_received"]) == 1


@pytest.mark.django_db
def test_unknown_type_without_data_is_recorded_too(client):
    body = json.dumps({"type": "payout.paid", "timestamp": "2026-11-01T12:00:00Z"}).encode()
    assert post(client, body, signed_headers(body, webhook_id="msg_bare")).status_code == 202
    event = WebhookEvent.objects.get(webhook_id="msg_bare")
    assert (event.outcome, event.object_id, event.checkout_id) == (WebhookOutcome.IGNORED, "", None)


@pytest.mark.django_db
def test_unsigned_unknown_type_is_rejected_with_401(client, assert_rejected):
    body = json.dumps({"type": "payout.created", "data": {"id": "p1"}}).encode()
    assert_rejected(post(client, body, {"content-type": "application/json"}), 401)


@pytest.mark.django_db
def test_wrongly_signed_spec_type_is_rejected_with_401(client, assert_rejected):
    body = json.dumps(minimal_payload("benefit_grant.created")).encode()
    headers = signed_headers(body, secret="polar_whs_not_ours")
    assert_rejected(post(client, body, headers), 401, reason_part="signature mismatch")


@pytest.mark.django_db
def test_process_event_ignores_an_unknown_type_once():
    event = WebhookEvent.objects.create(
        webhook_id="msg_direct_unknown",
        type="payout.created",
        payload={"type": "payout.created", "data": {"id": "p1"}},
    )
    first = process_event(event.pk)
    again = process_event(event)
    assert (first.outcome, first.attempts) == (WebhookOutcome.IGNORED, 1)
    assert (again.outcome, again.attempts) == (WebhookOutcome.IGNORED, 1)
