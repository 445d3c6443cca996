"""Polar webhooks: verify a delivery, record it once, process it once, answer fast.

* :mod:`.verify`: Standard Webhooks signature checks and parsing of the raw body
  (:func:`verify_signature`, :func:`parse_event`, :class:`WebhookRejected`).
* :mod:`.events`: the event types Polar's spec declares (:data:`EVENT_TYPES`).
* :mod:`.processing`: the webhook log and the handlers per event type (:data:`HANDLERS`);
  :func:`process_event` is the entry point for processing a recorded event (the task,
  the retry command and the admin's reprocess action all call it).
* :mod:`.tasks`: :func:`process_webhook_event`, the task of Django's task framework that
  processes one event, and how it is enqueued (``POLAR_TASK_BACKEND``, ``POLAR_TASK_QUEUE``).
* :mod:`.inbox`: :func:`receive_delivery`, record once and enqueue after commit.
* :mod:`.views`: the endpoint, :func:`webhook_view` (``polar_checkouts:webhook``).

Everything importable from ``polar_checkouts.webhooks`` before it became a package still
is; the log records go to the ``polar_checkouts.webhooks`` logger.
"""

from __future__ import annotations

from ..exceptions import WebhookRejected
from .events import EVENT_TYPES, is_known_event_type
from .inbox import receive_delivery
from .processing import (
    CHECKOUT_EVENTS,
    HANDLERS,
    STORED_HEADERS,
    EventHandler,
    checkout_id_for,
    dispatch_event,
    due_condition,
    handler_for,
    pass_on,
    process_due_event,
    process_event,
    process_waiting_events,
    record_delivery,
)
from .tasks import enqueue_processing, process_webhook_event
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
    "due_condition",
    "enqueue_processing",
    "handler_for",
    "is_known_event_type",
    "parse_event",
    "pass_on",
    "process_due_event",
    "process_event",
    "process_waiting_events",
    "process_webhook_event",
    "receive_delivery",
    "record_delivery",
    "verifiers_for",
    "verify_signature",
    "webhook_view",
]
