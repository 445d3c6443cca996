"""Polar webhooks: verify a delivery, record it once, process it once, answer fast.

* :mod:`.verify`: Standard Webhooks signature checks and parsing of the raw body
  (:func:`verify_signature`, :func:`parse_event`, :class:`WebhookRejected`).
* :mod:`.events`: the event types Polar's spec declares (:data:`EVENT_TYPES`).
* :mod:`.processing`: the webhook log and the handlers per event type (:data:`HANDLERS`);
  :func:`process_event` is the entry point for processing a recorded event (the
  endpoint, the admin's reprocess action and a task queue all call it).
* :mod:`.views`: the endpoint, :func:`webhook_view` (``polar_checkouts:webhook``).

Everything importable from ``polar_checkouts.webhooks`` before it became a package still
is; the log records go to the ``polar_checkouts.webhooks`` logger.
"""

from __future__ import annotations

from ..exceptions import WebhookRejected
from .events import EVENT_TYPES, is_known_event_type
from .processing import (
    CHECKOUT_EVENTS,
    HANDLERS,
    STORED_HEADERS,
    EventHandler,
    checkout_id_for,
    dispatch_event,
    handler_for,
    pass_on,
    process_event,
    receive_delivery,
    record_delivery,
)
from .verify import (
    TIMESTAMP_TOLERANCE,
    WHSEC_PREFIX,
    parse_event,
    verifiers_for,
    verify_signature,
)
from .views import webhook_view

__all__ = [
    "CHECKOUT_EVENTS",
    "EVENT_TYPES",
    "HANDLERS",
    "STORED_HEADERS",
    "TIMESTAMP_TOLERANCE",
    "WHSEC_PREFIX",
    "EventHandler",
    "WebhookRejected",
    "checkout_id_for",
    "dispatch_event",
    "handler_for",
    "is_known_event_type",
    "parse_event",
    "pass_on",
    "process_event",
    "receive_delivery",
    "record_delivery",
    "verifiers_for",
    "verify_signature",
    "webhook_view",
]
