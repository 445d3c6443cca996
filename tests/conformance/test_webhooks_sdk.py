"""Every signed webhook the standalone fake delivers passes polar-sdk 1.0.2's own verifier.

The fake runs as the command-line server with ``--webhook-url``/``--webhook-secret``; a
loopback collector records each delivery's raw body and headers; the newest SDK's
``validate_event`` (signature, timestamp tolerance, then strict decoding into its typed
payload) must accept every one (webhook payloads are not versioned: the normal suite decodes
with the 2026-10 module, the long run with every module the SDK ships). The purchases below
make the fake send every event type its source emits; a new type added to the fake without
a scenario here fails the test.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import time
from pathlib import Path

import pytest
import requests

from tests.newer_python import import_from_311

polar = import_from_311("polar", package="polar-sdk")

from polar.webhooks import PolarWebhookVerificationError  # noqa: E402

import polar_checkouts.testing  # noqa: E402
from polar_checkouts.testing import (  # noqa: E402
    PRODUCT_FREE_ID,
    PRODUCT_ONE_TIME_ID,
    PRODUCT_PWYW_ID,
    PRODUCT_SUBSCRIPTION_ID,
    TOKEN_SUCCEEDED,
)
from tests.conformance.conftest import TOKEN, advance, standalone_fake  # noqa: E402
from tests.testing.sdk_events import decode  # noqa: E402

pytestmark = pytest.mark.slow

SECRET = "polar_whs_conformance_secret"
VERSION_MODULES = sorted(
    m.name for m in pkgutil.iter_modules(polar.__path__) if re.fullmatch(r"v\d{4}_\d{2}", m.name)
)
#: Building a module's webhook decoder (adaptix, 42 payload types) takes ~7 s of CPU: the
#: normal suite decodes with the version this app pins by default; the long run
#: (POLAR_CONFORMANCE_LONG=1) with every module.
DECODING_MODULES = (
    VERSION_MODULES if os.environ.get("POLAR_CONFORMANCE_LONG") == "1" else ["v2026_10"]
)
FAKE_SOURCE = Path(polar_checkouts.testing.__file__).parent


def emitted_types() -> set[str]:
    """The event types the fake's source emits (``emit("checkout.created", ...)``)."""
    found: set[str] = set()
    for path in FAKE_SOURCE.rglob("*.py"):
        found.update(re.findall(r"""emit\(\s*["']([a-z_]+\.[a-z_.]+)["']""", path.read_text()))
    return found


def buy(url: str, product_id: str, **extra: object) -> None:
    """Create, fill in and pay a checkout through the fake's HTTP API (today's paths)."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Polar-Version": "2026-10"}
    body = {"products": [product_id], **extra}
    created = requests.post(f"{url}/v1/checkouts/", json=body, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    secret = created.json()["client_secret"]
    confirmed = requests.post(
        f"{url}/v1/checkouts/client/{secret}/confirm",
        json={
            "customer_email": "ada@example.com",
            "customer_name": "Ada",
            "customer_billing_address": {"country": "NL"},
            "confirmation_token_id": TOKEN_SUCCEEDED,
        },
        headers={"Polar-Version": "2026-10"},
        timeout=10,
    )
    assert confirmed.status_code == 200, confirmed.text


def after_the_checkout(url: str) -> None:
    """A renewal, a failed one recovered, a cancellation undone, one that ends at the
    period's end, and refunds: through the fake's control routes."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Polar-Version": "2026-10"}
    listing = requests.get(f"{url}/v1/subscriptions/", headers=headers, timeout=10)
    (subscription,) = listing.json()["items"]
    control = f"{url}/_fake/subscriptions/{subscription['id']}"
    steps = ["renew", "fail-renewals", "renew", "recover", "cancel", "uncancel", "cancel", "renew"]
    for step in steps:
        requests.post(f"{control}/{step}", json={}, timeout=10).raise_for_status()
    orders = requests.get(f"{url}/v1/orders/", headers=headers, timeout=10).json()["items"]
    paid = next(o for o in orders if o["billing_reason"] == "purchase" and o["net_amount"])
    refund = f"{url}/_fake/orders/{paid['id']}/refund"
    requests.post(refund, json={"amount": 100}, timeout=10).raise_for_status()
    requests.post(refund, json={}, timeout=10).raise_for_status()


def test_every_delivery_passes_the_sdk_verifier(webhook_collector):
    with standalone_fake("--webhook-url", webhook_collector.url, "--webhook-secret", SECRET) as url:
        buy(url, PRODUCT_ONE_TIME_ID)
        buy(url, PRODUCT_SUBSCRIPTION_ID)
        buy(url, PRODUCT_PWYW_ID, amount=2500)
        buy(url, PRODUCT_FREE_ID)
        # One left open until it expires: checkout.expired.
        requests.post(
            f"{url}/v1/checkouts/",
            json={"products": [PRODUCT_ONE_TIME_ID]},
            headers={"Authorization": f"Bearer {TOKEN}", "Polar-Version": "2026-10"},
            timeout=10,
        ).raise_for_status()
        advance(url, 2 * 24 * 3600)
        after_the_checkout(url)
        requests.get(
            f"{url}/v1/checkouts/", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        ).raise_for_status()
        sent = requests.get(f"{url}/_fake/events", timeout=10).json()
        deadline = time.monotonic() + 20
        while len(webhook_collector.received) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.05)
    deliveries = list(webhook_collector.received)
    assert len(deliveries) == len(sent) > 0

    types = set()
    for name in DECODING_MODULES:
        webhooks = importlib.import_module(f"polar.{name}.webhooks")
        for body, headers in deliveries:
            # decode: validate_event, but for the SDK's known CustomerState defect
            # (tests/testing/sdk_events.py).
            event = decode(webhooks, body, headers, SECRET)
            assert event.type == _json_type(body)
            types.add(event.type)
    assert emitted_types() <= types, f"never delivered: {emitted_types() - types}"
    assert {"checkout.created", "checkout.updated", "order.paid"} <= types

    # The verifier is real: a tampered body or another secret is refused.
    body, headers = deliveries[0]
    webhooks = importlib.import_module(f"polar.{DECODING_MODULES[-1]}.webhooks")
    with pytest.raises(PolarWebhookVerificationError):
        webhooks.validate_event(body.replace(b'"', b"'", 1), headers, SECRET)
    with pytest.raises(PolarWebhookVerificationError):
        webhooks.validate_event(body, headers, "polar_whs_another")


def _json_type(body: bytes) -> str:
    import json

    return str(json.loads(body)["type"])
