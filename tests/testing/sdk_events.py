"""Decoding the fake Polar's webhooks with polar-sdk, and the one payload it cannot decode.

polar-sdk 1.0.2 types ``CustomerStateSubscription.status`` with the license key's
``Status`` literal (``"granted"``/``"disabled"``: two schemas titled "Status" met in its
generator) instead of ``"active"``/``"trialing"``, as Polar's schema and the 2026-10 spec
say. So no ``customer.state_changed`` that lists an active subscription, the fake's or
Polar's own, decodes with it. :func:`decode` checks such an event as far as the SDK allows:
the SDK refuses it, and the same payload with only those statuses swapped for its literal
decodes (everything else in it is what the SDK expects). The payloads themselves are
checked against the spec elsewhere (``spec_checker``). When the SDK is fixed, the first
assertion fails: then drop the workaround.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
from polar.webhooks import PolarWebhookError

from polar_checkouts.testing.webhooks import sign


def _lists_active_subscriptions(payload: dict[str, Any]) -> bool:
    data = payload.get("data") or {}
    return payload.get("type") == "customer.state_changed" and bool(
        data.get("active_subscriptions")
    )


def decode(sdk: ModuleType, body: bytes, headers: dict[str, str], secret: str) -> Any:
    """``sdk.validate_event``, with the SDK's known defect above worked around."""
    payload = json.loads(body)
    if not _lists_active_subscriptions(payload):
        return sdk.validate_event(body, headers, secret)
    with pytest.raises(PolarWebhookError) as refused:
        sdk.validate_event(body, headers, secret)
    # Refused when loading the payload, not when checking the signature or the type.
    assert type(refused.value) is PolarWebhookError
    data = payload["data"]
    swapped = {
        **payload,
        "data": {
            **data,
            "active_subscriptions": [
                {**s, "status": "granted"} for s in data["active_subscriptions"]
            ],
        },
    }
    raw = json.dumps(swapped).encode()
    webhook_id = {key.lower(): value for key, value in headers.items()}["webhook-id"]
    return sdk.validate_event(raw, sign(secret, webhook_id, raw), secret)
