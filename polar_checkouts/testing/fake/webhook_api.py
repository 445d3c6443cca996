"""The fake's webhooks API, and Polar's rule that switches a failing endpoint off.

Routes (Polar 2026-10, ``webhooks:*`` operations; bearer token required):

* ``GET /v1/webhooks/endpoints`` and ``GET``/``PATCH /v1/webhooks/endpoints/{id}``: the
  fake's one endpoint (:attr:`FakePolar.webhook`); PATCH changes ``url`` and ``enabled``;
* ``GET /v1/webhooks/deliveries``: every attempt, newest first, filtered by
  ``endpoint_id``, ``succeeded``, ``start_timestamp``/``end_timestamp``, ``event_type``,
  ``http_code_class`` and ``query``;
* ``POST /v1/webhooks/events/{id}/redeliver``: 202, the event is sent again.

Polar's rules (``server/polar/webhook/tasks.py`` and ``service.on_event_failed``): an event
fails for good after its last attempt; then, when the endpoint's 10 most recent completed
events (delivered or failed; pending ones do not count) all failed, the endpoint is
disabled and its pending events are marked ``skipped``. A disabled endpoint receives
nothing: an event due for it is marked ``skipped`` instead of sent, and so is one asked to
be redelivered. Re-enabling does not resend skipped events; redelivering them does.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote

from .. import catalogue
from ..messages import NOT_FOUND, FakeResponse, HTTPError, json_response
from ..validation import (
    Errors,
    list_params,
    parse_body,
    query_bool,
    query_enum,
    query_uuids,
    uuid_value,
)
from ..webhooks import Attempt, SentWebhook, WebhookEndpoint
from .serialise import page_of
from .state import JsonDict, isoformat

if TYPE_CHECKING:
    from .core import FakePolar

logger = logging.getLogger("polar_checkouts.testing")

#: Polar's ``WEBHOOK_FAILURE_THRESHOLD``: consecutive failed events that disable an endpoint.
FAILURE_THRESHOLD: Final = 10
#: Polar's ``WEBHOOK_MAX_RETRIES``: attempts per event in all (the fake's endpoint defaults
#: to fewer; pass ``max_attempts=POLAR_MAX_ATTEMPTS`` to ``configure_webhooks`` for Polar's).
POLAR_MAX_ATTEMPTS: Final = 10
#: The operations of this module, all bearer-token (server-side) routes.
WEBHOOK_OPERATIONS: Final = (
    "list_webhook_endpoints",
    "get_webhook_endpoint",
    "update_webhook_endpoint",
    "list_webhook_deliveries",
    "redeliver_webhook_event",
)
ENDPOINTS_PATH: Final = "/v1/webhooks/endpoints"
HTTP_CODE_CLASSES: Final = ("2xx", "3xx", "4xx", "5xx")
#: The types the endpoint subscribes to: those the fake sends. (The app's full list,
#: ``polar_checkouts.webhooks.events``, needs Django; the standalone fake runs without.)
SUBSCRIBED_EVENTS: Final = (
    "checkout.created",
    "checkout.updated",
    "checkout.expired",
    "order.created",
    "order.updated",
    "order.paid",
)
#: What a ``WebhookEventType`` looks like; the fake does not list all 41 to check against.
_EVENT_TYPE: Final = re.compile(r"[a-z_]+\.[a-z_]+")

Route = tuple[str | None, Callable[..., FakeResponse]]


# -- the rules ------------------------------------------------------------------------------


def is_due(event: SentWebhook, now: datetime, *, ignore_schedule: bool = False) -> bool:
    """Whether ``event`` waits for an attempt now (pending, not skipped, its time come)."""
    return (
        event.state == "pending"
        and not event.skipped
        and (ignore_schedule or event.next_attempt_at is None or event.next_attempt_at <= now)
    )


def skip(event: SentWebhook) -> None:
    """What Polar's send job does with an event for a disabled endpoint: mark it skipped."""
    event.skipped = True
    if event.state == "sending":
        event.state = "pending"


def note_outcome(fake: FakePolar, endpoint: WebhookEndpoint, event: SentWebhook) -> None:
    """After an attempt: when ``event`` failed for good, disable ``endpoint`` if its last
    :data:`FAILURE_THRESHOLD` completed events all failed, and skip its pending events.
    Called with the fake's lock held."""
    if event.state != "failed" or not endpoint.enabled:
        return
    completed = [e for e in fake.events if e.state in ("delivered", "failed") and e.attempts]
    recent = sorted(completed, key=lambda e: e.timestamp, reverse=True)[:FAILURE_THRESHOLD]
    if len(recent) < FAILURE_THRESHOLD or any(e.state != "failed" for e in recent):
        return
    endpoint.enabled = False
    pending = [e for e in fake.events if e.state in ("pending", "sending") and not e.skipped]
    for other in pending:
        skip(other)
    logger.warning(
        "Fake Polar disabled webhook endpoint %s after %d consecutive failed events "
        "(%d pending events skipped)",
        endpoint.url,
        FAILURE_THRESHOLD,
        len(pending),
    )


def redeliver(fake: FakePolar, event: SentWebhook) -> None:
    """Polar's redelivery: the event is sent again (even one delivered already), with
    retries while it has attempts left; on a disabled endpoint it is skipped instead."""
    endpoint = fake.webhook
    if endpoint is None or not endpoint.enabled:
        event.skipped = True
        return
    event.skipped = False
    event.state = "pending"
    event.next_attempt_at = None


# -- JSON -------------------------------------------------------------------------------------


def endpoint_json(endpoint: WebhookEndpoint) -> JsonDict:
    """A ``WebhookEndpoint``."""
    return {
        "created_at": isoformat(endpoint.created_at),
        "modified_at": None,
        "id": endpoint.id,
        "url": endpoint.url,
        "name": None,
        "format": "raw",
        "secret": endpoint.secret,
        "organization_id": catalogue.ORGANIZATION_ID,
        "events": list(SUBSCRIBED_EVENTS),
        "enabled": endpoint.enabled,
    }


def _succeeded(event: SentWebhook) -> bool | None:
    return {"delivered": True, "failed": False}.get(event.state)


def event_json(event: SentWebhook) -> JsonDict:
    """A ``WebhookEvent`` (Polar's record of an event it sends, not the app's model)."""
    last = event.attempts[-1] if event.attempts else None
    return {
        "created_at": isoformat(event.timestamp),
        "modified_at": isoformat(last.at) if last else None,
        "id": event.id,
        "last_http_code": last.status if last else None,
        "succeeded": _succeeded(event),
        "skipped": event.skipped,
        "payload": event.body.decode(),
        "type": event.type,
        "is_archived": False,
    }


def delivery_json(event: SentWebhook, attempt: Attempt) -> JsonDict:
    """A ``WebhookDelivery``: one attempt of ``event``."""
    return {
        "created_at": isoformat(attempt.at),
        "modified_at": None,
        "id": attempt.id,
        "succeeded": attempt.ok,
        "http_code": attempt.status,
        "response": attempt.error,
        "webhook_event": event_json(event),
    }


# -- routes -----------------------------------------------------------------------------------


def route(fake: FakePolar, method: str, path: str) -> Route | None:
    """The operation and handler of a ``/v1/webhooks/…`` path (``None``: not one of these)."""
    wanted = "GET" if method == "HEAD" else method

    def only(allowed: dict[str, Route]) -> Route:
        if wanted in allowed:
            return allowed[wanted]
        methods = [*allowed, "HEAD"] if "GET" in allowed else list(allowed)
        return None, lambda *a: json_response(
            405, {"detail": "Method Not Allowed"}, {"allow": ", ".join(methods)}
        )

    if path == ENDPOINTS_PATH:
        return only({"GET": ("list_webhook_endpoints", lambda h, q, b: list_endpoints(fake, q))})
    if path.startswith(ENDPOINTS_PATH + "/") and path.count("/") == 4:
        endpoint_id = unquote(path.rsplit("/", 1)[1])
        return only(
            {
                "GET": ("get_webhook_endpoint", lambda *a: get_endpoint(fake, endpoint_id)),
                "PATCH": (
                    "update_webhook_endpoint",
                    lambda h, q, b: update_endpoint(fake, endpoint_id, b),
                ),
            }
        )
    if path == "/v1/webhooks/deliveries":
        return only({"GET": ("list_webhook_deliveries", lambda h, q, b: list_deliveries(fake, q))})
    parts = path.split("/")
    if (
        len(parts) == 6
        and parts[:4] == ["", "v1", "webhooks", "events"]
        and parts[5] == "redeliver"
    ):
        event_id = unquote(parts[4])
        return only(
            {"POST": ("redeliver_webhook_event", lambda *a: redeliver_event(fake, event_id))}
        )
    return None


def _endpoint(fake: FakePolar, endpoint_id: str) -> WebhookEndpoint:
    errors = Errors()
    value = uuid_value(errors, ("path", "id"), endpoint_id)
    errors.raise_if_any()
    endpoint = fake.webhook
    if endpoint is None or endpoint.id != value:
        raise HTTPError(404, NOT_FOUND)
    return endpoint


def list_endpoints(fake: FakePolar, params: dict[str, list[str]]) -> FakeResponse:
    """``GET /v1/webhooks/endpoints``: the fake's endpoint, if one is configured."""
    errors = Errors()
    organization_ids = query_uuids(errors, params, "organization_id")
    listing = list_params(errors, {k: v for k, v in params.items() if k != "sorting"}, ("",), "")
    errors.raise_if_any()
    endpoints = [fake.webhook] if fake.webhook is not None else []
    if organization_ids and catalogue.ORGANIZATION_ID not in organization_ids:
        endpoints = []
    items = [endpoint_json(e) for e in endpoints]
    return json_response(200, page_of(items, listing.page, listing.limit))


def get_endpoint(fake: FakePolar, endpoint_id: str) -> FakeResponse:
    """``GET /v1/webhooks/endpoints/{id}``."""
    return json_response(200, endpoint_json(_endpoint(fake, endpoint_id)))


def update_endpoint(fake: FakePolar, endpoint_id: str, body: bytes) -> FakeResponse:
    """``PATCH /v1/webhooks/endpoints/{id}``: ``url`` and ``enabled`` (re-enabling sends
    new events again; skipped ones wait for a redelivery, as on Polar)."""
    endpoint = _endpoint(fake, endpoint_id)
    data = parse_body(body)
    errors = Errors()
    enabled = data.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        errors.add(("body", "enabled"), "Input should be a valid boolean", "bool_type", enabled)
    url = data.get("url")
    if url is not None and (
        not isinstance(url, str) or not url.startswith(("http://", "https://"))
    ):
        errors.add(("body", "url"), "Input should be a valid URL", "url_parsing", url)
    errors.raise_if_any()
    if enabled is not None:
        endpoint.enabled = enabled
    if url is not None:
        endpoint.url = url
    return json_response(200, endpoint_json(endpoint))


def _timestamp(errors: Errors, params: dict[str, list[str]], name: str) -> datetime | None:
    values = params.get(name)
    if not values:
        return None
    try:
        value = datetime.fromisoformat(values[-1].replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        errors.add(
            ("query", name), "Input should be a valid datetime", "datetime_parsing", values[-1]
        )
        return None
    return value


def list_deliveries(fake: FakePolar, params: dict[str, list[str]]) -> FakeResponse:
    """``GET /v1/webhooks/deliveries``: every attempt, newest first, filtered."""
    errors = Errors()
    endpoint_ids = query_uuids(errors, params, "endpoint_id")
    succeeded = query_bool(errors, params, "succeeded")
    start = _timestamp(errors, params, "start_timestamp")
    end = _timestamp(errors, params, "end_timestamp")
    event_types = params.get("event_type", [])
    for index, value in enumerate(event_types):
        if not _EVENT_TYPE.fullmatch(value):
            errors.add(
                ("query", "event_type", index),
                "Input should be a webhook event type",
                "enum",
                value,
            )
    code_class = query_enum(errors, params, "http_code_class", HTTP_CODE_CLASSES)
    listing = list_params(errors, {k: v for k, v in params.items() if k != "sorting"}, ("",), "")
    errors.raise_if_any()
    endpoint = fake.webhook
    if endpoint is None or (endpoint_ids and endpoint.id not in endpoint_ids):
        return json_response(200, page_of([], listing.page, listing.limit))
    rows = [(event, attempt) for event in fake.events for attempt in event.attempts]
    rows.sort(key=lambda row: row[1].at, reverse=True)

    def keep(event: SentWebhook, attempt: Attempt) -> bool:
        if succeeded is not None and attempt.ok != succeeded:
            return False
        if start is not None and not attempt.at > start:
            return False
        if end is not None and not attempt.at < end:
            return False
        if event_types and event.type not in event_types:
            return False
        if code_class:
            hundreds = int(code_class[-1][0])
            if attempt.status is None or attempt.status // 100 != hundreds:
                return False
        text = listing.query
        return not text or any(
            text in str(value).lower() for value in (attempt.id, event.id, attempt.status)
        )

    items = [delivery_json(e, a) for e, a in rows if keep(e, a)]
    return json_response(200, page_of(items, listing.page, listing.limit))


def redeliver_event(fake: FakePolar, event_id: str) -> FakeResponse:
    """``POST /v1/webhooks/events/{id}/redeliver``: 202 and the event is sent again."""
    errors = Errors()
    value = uuid_value(errors, ("path", "id"), event_id)
    errors.raise_if_any()
    event = next((e for e in fake.events if e.id == value and e.state != "not_sent"), None)
    if event is None:
        raise HTTPError(404, NOT_FOUND)
    redeliver(fake, event)
    return json_response(202, {})
