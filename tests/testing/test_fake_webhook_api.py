"""The fake's webhooks API and Polar's "disabled after 10 consecutive failed events" rule.

Polar's rules (server/polar/webhook/tasks.py, service.on_event_failed, repository
get_recent_by_endpoint/get_pending_by_endpoint): an event fails for good after its last
attempt; when the endpoint's 10 most recent completed events all failed it is disabled and
its pending events skipped; a disabled endpoint's events are skipped, redeliveries too.
"""

from __future__ import annotations

import json

import pytest

from polar_checkouts.testing import PRODUCT_ONE_TIME_ID, FakePolar
from polar_checkouts.testing.fake.webhook_api import FAILURE_THRESHOLD, POLAR_MAX_ATTEMPTS

URL = "https://shop.example.com/polar/webhook/"
AUTH = {"authorization": "Bearer polar_oat_test"}


class Receiver:
    """A sender standing in for the shop: answers ``status`` (an int or a callable)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[str] = []

    def __call__(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        self.received.append(headers["webhook-id"])
        return self.status


def fake_with(receiver: Receiver) -> FakePolar:
    fake = FakePolar()
    fake.configure_webhooks(
        URL, "whsec", delivery="manual", sender=receiver, max_attempts=POLAR_MAX_ATTEMPTS
    )
    return fake


def emit(fake: FakePolar, count: int) -> None:
    for _ in range(count):
        fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)


def exhaust(fake: FakePolar) -> None:
    """Every pending event attempted until it is done (Polar's 10 attempts)."""
    for _ in range(POLAR_MAX_ATTEMPTS):
        fake.deliver_webhooks(ignore_schedule=True)


def call(fake: FakePolar, method: str, path: str, query: str = "", body: object = None):
    raw = json.dumps(body).encode() if body is not None else b""
    headers = {**AUTH, "content-type": "application/json"} if body is not None else AUTH
    response = fake.handle(method, path, query, headers, raw)
    return response.status, json.loads(response.body or b"null")


def test_ten_consecutive_failed_events_disable_the_endpoint_and_skip_pending_ones():
    receiver = Receiver(500)
    fake = fake_with(receiver)
    emit(fake, FAILURE_THRESHOLD - 1)
    exhaust(fake)
    assert fake.webhook is not None
    assert fake.webhook.enabled  # 9 failed events: not yet
    assert {e.state for e in fake.events} == {"failed"}
    assert all(len(e.attempts) == POLAR_MAX_ATTEMPTS for e in fake.events)

    emit(fake, 2)  # the 10th fails for good first; the 11th is pending then
    fake.deliver_webhooks(ignore_schedule=True)  # the 11th's first attempt
    tenth, eleventh = fake.events[-2:]
    for _ in range(POLAR_MAX_ATTEMPTS - 1):
        fake.deliver_webhooks(ignore_schedule=True)
    assert tenth.state == "failed"
    assert not fake.webhook.enabled
    # Pending when the endpoint was disabled: skipped, never failed, not attempted again.
    assert (eleventh.state, eleventh.skipped) == ("pending", True)
    attempts = len(eleventh.attempts)
    assert attempts < POLAR_MAX_ATTEMPTS

    # A disabled endpoint receives nothing: new events are skipped when due.
    emit(fake, 1)
    sent_before = len(receiver.received)
    assert fake.deliver_webhooks(ignore_schedule=True) == []
    assert len(receiver.received) == sent_before
    assert fake.events[-1].skipped
    assert not fake.events[-1].attempts
    assert len(eleventh.attempts) == attempts


def test_a_success_among_the_last_ten_keeps_the_endpoint_enabled():
    receiver = Receiver(500)
    fake = fake_with(receiver)
    emit(fake, 1)
    receiver.status = 200
    fake.deliver_webhooks()
    receiver.status = 500
    emit(fake, FAILURE_THRESHOLD - 1)
    exhaust(fake)
    assert fake.webhook is not None
    assert fake.webhook.enabled  # 9 failed after a delivered one
    emit(fake, 1)
    exhaust(fake)
    assert not fake.webhook.enabled  # now the last 10 completed all failed


def test_pending_events_do_not_count_towards_the_streak():
    fake = fake_with(Receiver(500))
    emit(fake, FAILURE_THRESHOLD + 5)
    for _ in range(POLAR_MAX_ATTEMPTS - 1):
        fake.deliver_webhooks(ignore_schedule=True)
    assert fake.webhook is not None
    assert fake.webhook.enabled  # all failing, none failed for good yet
    assert {e.state for e in fake.events} == {"pending"}


def test_the_api_lists_the_endpoint_deliveries_and_redelivers():
    receiver = Receiver(500)
    fake = fake_with(receiver)
    emit(fake, FAILURE_THRESHOLD)
    exhaust(fake)
    endpoint = fake.webhook
    assert endpoint is not None
    assert not endpoint.enabled

    status, page = call(fake, "GET", "/v1/webhooks/endpoints")
    assert status == 200
    [listed] = page["items"]
    assert (listed["id"], listed["url"], listed["enabled"]) == (endpoint.id, URL, False)
    assert listed["secret"] == "whsec"

    query = f"endpoint_id={endpoint.id}&succeeded=false&limit=100"
    status, page = call(fake, "GET", "/v1/webhooks/deliveries", query)
    assert status == 200
    assert page["pagination"]["total_count"] == FAILURE_THRESHOLD * POLAR_MAX_ATTEMPTS
    first = page["items"][0]
    assert (first["succeeded"], first["http_code"]) == (False, 500)
    assert first["webhook_event"]["succeeded"] is False
    assert first["webhook_event"]["type"] == "checkout.created"
    assert json.loads(first["webhook_event"]["payload"])["type"] == "checkout.created"
    times = [item["created_at"] for item in page["items"]]
    assert times == sorted(times, reverse=True)  # newest first
    status, page = call(fake, "GET", "/v1/webhooks/deliveries", "succeeded=true")
    assert (status, page["items"]) == (200, [])

    # Redelivering to a disabled endpoint: accepted, and skipped.
    event = fake.events[0]
    status, _ = call(fake, "POST", f"/v1/webhooks/events/{event.id}/redeliver")
    assert status == 202
    fake.deliver_webhooks(ignore_schedule=True)
    assert (event.state, event.skipped) == ("failed", True)

    # Re-enabled, then redelivered: sent once more (Polar: no retries past 10 deliveries).
    status, updated = call(
        fake, "PATCH", f"/v1/webhooks/endpoints/{endpoint.id}", body={"enabled": True}
    )
    assert (status, updated["enabled"]) == (200, True)
    receiver.status = 200
    status, _ = call(fake, "POST", f"/v1/webhooks/events/{event.id}/redeliver")
    assert status == 202
    [sent] = fake.deliver_webhooks()
    assert sent is event
    assert event.state == "delivered"
    assert receiver.received[-1] == event.id  # same webhook-id as every earlier attempt


@pytest.mark.parametrize(
    ("method", "path", "query", "status"),
    [
        ("GET", "/v1/webhooks/deliveries", "succeeded=maybe", 422),
        ("GET", "/v1/webhooks/deliveries", "endpoint_id=nope", 422),
        ("GET", "/v1/webhooks/deliveries", "http_code_class=6xx", 422),
        ("GET", "/v1/webhooks/deliveries", "start_timestamp=yesterday", 422),
        ("POST", "/v1/webhooks/events/not-a-uuid/redeliver", "", 422),
        ("POST", "/v1/webhooks/events/8b3c1b1e-2d7f-4c4e-9a0b-1c2d3e4f5a6b/redeliver", "", 404),
        ("GET", "/v1/webhooks/endpoints/8b3c1b1e-2d7f-4c4e-9a0b-1c2d3e4f5a6b", "", 404),
        ("DELETE", "/v1/webhooks/deliveries", "", 405),
    ],
)
def test_bad_requests_get_polars_errors(method, path, query, status):
    fake = fake_with(Receiver())
    assert call(fake, method, path, query)[0] == status


def test_the_webhooks_api_needs_a_bearer_token():
    fake = fake_with(Receiver())
    response = fake.handle("GET", "/v1/webhooks/endpoints", "", {}, b"")
    assert response.status == 401
