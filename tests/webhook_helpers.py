"""Deliver Polar webhooks to the endpoint in tests, signed exactly as Polar signs them."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.dispatch import Signal
from django.test import TestCase
from django.urls import reverse
from standardwebhooks.webhooks import Webhook

from polar_checkouts import signals

SECRET = "polar_whs_test_secret"  # tests/settings.py POLAR_WEBHOOK_SECRET


def polar_signer(secret: str) -> Webhook:
    """Polar's key: the UTF-8 bytes of the secret string (API.md §10)."""
    return Webhook(base64.b64encode(secret.encode()).decode())


def signed_headers(
    body: bytes,
    *,
    secret: str = SECRET,
    webhook_id: str | None = None,
    when: dt.datetime | None = None,
    signer: Webhook | None = None,
) -> dict[str, str]:
    """The headers Polar sends with ``body``."""
    when = when or dt.datetime.now(dt.timezone.utc)
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    signer = signer or polar_signer(secret)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signer.sign(webhook_id, when, body.decode()),
        "content-type": "application/json",
        "user-agent": "polar.sh webhooks",
    }


def event_body(event_type: str, data: Any) -> bytes:
    """A webhook body as Polar serialises it (with the top-level timestamp of 2025-09+)."""
    now = dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    return json.dumps({"type": event_type, "timestamp": now, "data": data}).encode()


def post(client: Any, body: bytes, headers: dict[str, str]) -> Any:
    """POST ``body`` to ``polar_checkouts:webhook`` with ``headers`` through a test client.

    The endpoint hands processing to a task once its record commits. A test wrapped in a
    transaction (``django_db`` without ``transaction=True``) never commits, so the hand-over
    callbacks run here, right after the request, as they would on commit in production.
    """
    extra = {k: v for k, v in headers.items() if k != "content-type"}
    content_type = headers.get("content-type", "application/json")
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            reverse("polar_checkouts:webhook"), data=body, content_type=content_type, headers=extra
        )


def deliver(
    client: Any,
    event_type: str,
    data: Any,
    *,
    webhook_id: str | None = None,
    secret: str = SECRET,
) -> Any:
    """Sign and POST one event; returns the response."""
    body = event_body(event_type, data)
    return post(client, body, signed_headers(body, secret=secret, webhook_id=webhook_id))


def order_payload(checkout_id: str | None, **overrides: Any) -> dict[str, Any]:
    """A current-era ``Order`` (with ``status``/``paid``); drop them for a seed-era one."""
    order = {
        "id": str(uuid.uuid4()),
        "created_at": "2026-11-01T12:00:05Z",
        "modified_at": None,
        "status": "paid",
        "paid": True,
        "amount": 1900,
        "tax_amount": 0,
        "currency": "usd",
        "billing_reason": "purchase",
        "customer_id": str(uuid.uuid4()),
        "product_id": "1f0e0b6c-7a53-4d3a-9c57-5a1e3c0d9a01",
        "checkout_id": checkout_id,
        "subscription_id": None,
        "metadata": {"order_ref": "A-1"},
    }
    order.update(overrides)
    return order


class SignalLog:
    """Records every send of the app's signals: ``log["checkout_succeeded"]`` → kwargs list."""

    NAMES = (
        "checkout_updated",
        "checkout_succeeded",
        "order_paid",
        "order_refunded",
        "subscription_activated",
        "subscription_updated",
        "subscription_canceled",
        "subscription_revoked",
        "webhook_received",
    )

    def __init__(self) -> None:
        self.calls: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._receivers: list[tuple[Signal, Any]] = []

    def __getitem__(self, name: str) -> list[dict[str, Any]]:
        return self.calls[name]

    def connect(self) -> None:
        for name in self.NAMES:
            signal: Signal = getattr(signals, name)

            def receiver(sender: Any, _name: str = name, **kwargs: Any) -> None:
                kwargs.pop("signal", None)
                self.calls[_name].append({"sender": sender, **kwargs})

            signal.connect(receiver, weak=False, dispatch_uid=f"test-log-{name}-{id(self)}")
            self._receivers.append((signal, receiver))

    def disconnect(self) -> None:
        for name in self.NAMES:
            getattr(signals, name).disconnect(dispatch_uid=f"test-log-{name}-{id(self)}")


@contextmanager
def connected(signal: Signal, receiver: Any) -> Iterator[None]:
    """Connect ``receiver`` to ``signal`` for the ``with`` block only."""
    signal.connect(receiver, weak=False, dispatch_uid="test-temporary")
    try:
        yield
    finally:
        signal.disconnect(dispatch_uid="test-temporary")
