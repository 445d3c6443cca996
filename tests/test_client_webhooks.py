"""The client's webhooks API calls: the exact HTTP exchange (``responses``).

Paths, parameters and bodies as Polar's 2026-10 spec declares them
(``webhooks:list_webhook_endpoints``, ``get``/``update_webhook_endpoint``,
``list_webhook_deliveries``, ``redeliver_webhook_event``).
"""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from polar_checkouts.client import PolarClient
from polar_checkouts.exceptions import InvalidResponseError, NotFoundError

TOKEN = "polar_oat_webhooks_test"
BASE = "https://sandbox-api.polar.sh"
ENDPOINT_ID = "0d6f8b1c-7a2e-4d3b-9c5a-1e2f3a4b5c6d"
EVENT_ID = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"


def endpoint(**overrides):
    return {
        "id": ENDPOINT_ID,
        "created_at": "2026-11-01T12:00:00Z",
        "modified_at": None,
        "url": "https://shop.example.com/polar/webhook/",
        "name": None,
        "format": "raw",
        "secret": "polar_whs_x",
        "organization_id": "1dbfc517-0bbf-4301-9ba8-555ca42b9737",
        "events": ["checkout.updated"],
        "enabled": True,
        **overrides,
    }


def delivery(succeeded=False):
    return {
        "id": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
        "created_at": "2026-11-01T12:00:01Z",
        "modified_at": None,
        "succeeded": succeeded,
        "http_code": 500,
        "response": "boom",
        "webhook_event": {"id": EVENT_ID, "type": "order.paid", "succeeded": False},
    }


def page(items):
    return {"items": items, "pagination": {"total_count": len(items), "max_page": 1}}


@pytest.fixture
def client():
    return PolarClient(TOKEN, server="sandbox", max_retries=0)


def sent(call):
    parts = urlsplit(call.request.url)
    return call.request.method, parts.path, parse_qsl(parts.query)


@responses.activate
def test_list_endpoints(client):
    responses.get(f"{BASE}/v1/webhooks/endpoints", json=page([endpoint()]))
    listing = client.list_webhook_endpoints(organization_id="1dbfc517-0bbf-4301-9ba8-555ca42b9737")
    assert [e["id"] for e in listing] == [ENDPOINT_ID]
    (call,) = responses.calls
    assert sent(call) == (
        "GET",
        "/v1/webhooks/endpoints",
        [
            ("organization_id", "1dbfc517-0bbf-4301-9ba8-555ca42b9737"),
            ("page", "1"),
            ("limit", "10"),
        ],
    )
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.request.headers["Polar-Version"] == "2026-10"


@responses.activate
def test_get_and_update_endpoint(client):
    responses.get(f"{BASE}/v1/webhooks/endpoints/{ENDPOINT_ID}", json=endpoint(enabled=False))
    responses.patch(f"{BASE}/v1/webhooks/endpoints/{ENDPOINT_ID}", json=endpoint())
    assert client.get_webhook_endpoint(ENDPOINT_ID)["enabled"] is False
    assert client.update_webhook_endpoint(ENDPOINT_ID, {"enabled": True})["enabled"] is True
    patch = responses.calls[1].request
    assert (patch.method, json.loads(patch.body or b"")) == ("PATCH", {"enabled": True})


@responses.activate
def test_list_deliveries_sends_every_filter(client):
    responses.get(f"{BASE}/v1/webhooks/deliveries", json=page([delivery()]))
    since = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.timezone.utc)
    [item] = client.list_webhook_deliveries(
        endpoint_id=ENDPOINT_ID,
        succeeded=False,
        start_timestamp=since,
        event_type=["order.paid", "checkout.updated"],
        http_code_class="5xx",
        limit=100,
    )
    assert item["webhook_event"]["id"] == EVENT_ID
    assert sent(responses.calls[0]) == (
        "GET",
        "/v1/webhooks/deliveries",
        [
            ("endpoint_id", ENDPOINT_ID),
            ("succeeded", "false"),
            ("start_timestamp", "2026-11-01T12:00:00+00:00"),
            ("event_type", "order.paid"),
            ("event_type", "checkout.updated"),
            ("http_code_class", "5xx"),
            ("page", "1"),
            ("limit", "100"),
        ],
    )


@responses.activate
def test_a_delivery_without_its_event_is_an_invalid_answer(client):
    broken = delivery()
    del broken["webhook_event"]
    responses.get(f"{BASE}/v1/webhooks/deliveries", json=page([broken]))
    with pytest.raises(InvalidResponseError, match="webhook_event"):
        client.list_webhook_deliveries()


@responses.activate
def test_redeliver_posts_to_the_event(client):
    responses.post(f"{BASE}/v1/webhooks/events/{EVENT_ID}/redeliver", json={}, status=202)
    assert client.redeliver_webhook_event(EVENT_ID) is None
    (call,) = responses.calls
    assert sent(call) == ("POST", f"/v1/webhooks/events/{EVENT_ID}/redeliver", [])
    assert call.request.headers["Content-Length"] == "0"


@responses.activate
def test_redeliver_of_an_unknown_event_is_not_found(client):
    responses.post(
        f"{BASE}/v1/webhooks/events/{EVENT_ID}/redeliver",
        json={"error": "ResourceNotFound", "detail": "Not found"},
        status=404,
    )
    with pytest.raises(NotFoundError):
        client.redeliver_webhook_event(EVENT_ID)


def test_an_id_cannot_escape_its_path_segment(client):
    with pytest.raises(ValueError, match="webhook event id"):
        client.redeliver_webhook_event("..")
