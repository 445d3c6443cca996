"""Webhook events of the fake Polar, signed and retried as Polar does.

Polar signs with Standard Webhooks, using the UTF-8 bytes of the secret string as the
HMAC key: the secret is base64-encoded before it is handed to the library, which decodes
it again. ``webhook-id`` is the event id and stays the same on every retry.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from standardwebhooks.webhooks import Webhook

logger = logging.getLogger("polar_checkouts.testing")

#: ``sender(url, body, headers, timeout) -> status``; an exception counts as a failed attempt.
Sender = Callable[[str, bytes, dict[str, str], float], int]


def polar_webhook(secret: str) -> Webhook:
    """A Standard Webhooks signer/verifier keyed exactly as Polar keys it."""
    return Webhook(base64.b64encode(secret.encode()).decode())


def sign(secret: str, webhook_id: str, body: bytes, when: datetime | None = None) -> dict[str, str]:
    """The ``webhook-*`` headers Polar sends with ``body``."""
    when = when or datetime.now(timezone.utc)
    signature = polar_webhook(secret).sign(webhook_id, when, body.decode())
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": "polar.sh webhooks",
    }


def http_sender(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST the event with ``requests``; redirects are not followed (they count as failures)."""
    response = requests.post(
        url, data=body, headers=headers, timeout=timeout, allow_redirects=False
    )
    return response.status_code


@dataclass
class Attempt:
    """One delivery attempt: the status received, or the error raised."""

    at: datetime
    status: int | None
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: The delivery's id in Polar's webhooks API (``GET /v1/webhooks/deliveries``).
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return self.status is not None and 200 <= self.status < 300


@dataclass
class SentWebhook:
    """A webhook event the fake emitted and sends (not the app's ``models.WebhookEvent``,
    which records a delivery received). ``id`` is the ``webhook-id`` of every attempt."""

    id: str
    type: str
    timestamp: datetime
    data: dict[str, Any]
    body: bytes = b""
    attempts: list[Attempt] = field(default_factory=list)
    next_attempt_at: datetime | None = None
    state: str = "pending"  # "pending", "delivered", "failed" or "not_sent" (no endpoint)
    #: Polar's ``skipped``: not sent because the endpoint was disabled (until redelivered).
    skipped: bool = False

    def payload(self) -> dict[str, Any]:
        """The decoded JSON body: ``{"type", "timestamp", "api_version", "data"}``."""
        return json.loads(self.body)


@dataclass
class WebhookEndpoint:
    """Where and how the fake delivers its events."""

    url: str
    secret: str
    max_attempts: int = 5
    backoff: float = 1.0
    timeout: float = 10.0
    sender: Sender = http_sender
    #: Polar's endpoint id and ``enabled`` flag (see :mod:`.fake.webhook_api`: disabled
    #: after 10 consecutive failed events, as Polar does).
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    enabled: bool = True
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def delay_after(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failed attempt (exponential)."""
        return float(self.backoff * (2 ** (failures - 1)))

    def attempt(self, event: SentWebhook, now: datetime) -> Attempt:
        """Send ``event`` once and record the outcome on it."""
        headers = sign(self.secret, event.id, event.body)
        try:
            status = int(self.sender(self.url, event.body, dict(headers), self.timeout))
            attempt = Attempt(at=now, status=status, headers=headers)
        except Exception as exc:
            attempt = Attempt(at=now, status=None, error=repr(exc), headers=headers)
        event.attempts.append(attempt)
        if attempt.ok:
            event.state = "delivered"
            event.next_attempt_at = None
        elif len(event.attempts) >= self.max_attempts:
            event.state = "failed"
            event.next_attempt_at = None
            logger.warning("Fake Polar gave up delivering %s %s", event.type, event.id)
        else:
            event.next_attempt_at = now + timedelta(seconds=self.delay_after(len(event.attempts)))
        return attempt
