"""Stand-ins for the storefront's tests: a stubbed service layer and page helpers.

The ``stub`` fixture (``tests/conftest.py``) installs :class:`StubServices`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from types import SimpleNamespace
from typing import Any

from django.contrib.messages import get_messages
from django.utils import timezone

from polar_checkouts.exceptions import PolarValidationError
from polar_checkouts.models import CheckoutSession
from tests.polar_payloads import checkout_payload

PRODUCT = "0a8c5e7f-2b3d-4c1e-8f9a-1b2c3d4e5f01"
PRICE = "0a8c5e7f-2b3d-4c1e-8f9a-1b2c3d4e5f02"
PWYW_PRODUCT = "2c0e7a91-4d5f-4e3a-8b1c-3d4e5f6a7b01"
PWYW_PRICE = "2c0e7a91-4d5f-4e3a-8b1c-3d4e5f6a7b02"
OTHER_PRODUCT = "9f9f9f9f-2b3d-4c1e-8f9a-1b2c3d4e5f01"
SECRET = "polar_c_" + "a" * 40

CATALOGUE = [
    {
        "id": PRODUCT,
        "name": "E-book",
        "prices": [
            {
                "id": PRICE,
                "amount_type": "fixed",
                "price_amount": 1900,
                "price_currency": "usd",
                "type": "one_time",
            }
        ],
    },
    {
        "id": PWYW_PRODUCT,
        "name": "Tip jar",
        "prices": [
            {
                "id": PWYW_PRICE,
                "amount_type": "custom",
                "minimum_amount": 500,
                "maximum_amount": 10_000,
                "price_currency": "usd",
                "type": "one_time",
            }
        ],
    },
]


def polar_error(cls: type, status: int, error: str | None = None, detail: Any = None, **kw):
    return cls(f"Polar answered {status}", status_code=status, error=error, detail=detail, **kw)


def validation_error(loc: list[str], msg: str = "Invalid.") -> PolarValidationError:
    return polar_error(
        PolarValidationError,
        422,
        "RequestValidationError",
        [{"loc": loc, "msg": msg, "type": "value_error"}],
    )


class StubServices:
    """Stands in for :mod:`polar_checkouts.services`; records calls, raises on demand."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []
        self.errors: dict[str, list[Exception]] = {}
        self.public = checkout_payload(
            public=True, client_secret=SECRET, created_at=timezone.now() - dt.timedelta(minutes=1)
        )
        self.catalogue = CATALOGUE
        self.server_payload: dict[str, Any] = {}

    def fail(self, name: str, *errors: Exception) -> None:
        self.errors.setdefault(name, []).extend(errors)

    def _call(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append((name, args, kwargs))
        if self.errors.get(name):
            raise self.errors[name].pop(0)

    def named(self, name: str) -> list[tuple[tuple, dict]]:
        return [(args, kwargs) for call, args, kwargs in self.calls if call == name]

    def list_products(self):
        self._call("list_products")
        return self.catalogue

    def create_checkout(self, **kwargs):
        self._call("create_checkout", **kwargs)
        payload = checkout_payload(client_secret=SECRET)
        return SimpleNamespace(client_secret=SECRET, payload=payload, id=payload["id"])

    def client_get(self, secret):
        self._call("client_get", secret)
        return dict(self.public)

    def client_update(self, secret, data):
        self._call("client_update", secret, data)
        return {**self.public, **data}

    def client_confirm(self, secret, data):
        self._call("client_confirm", secret, data)
        return {**self.public, "status": "confirmed", "customer_session_token": "polar_cst_x"}

    def refresh_checkout(self, checkout_id):
        self._call("refresh_checkout", checkout_id)
        return CheckoutSession.objects.upsert_from_polar(self.server_payload).checkout


def page_config(response) -> dict[str, Any]:
    match = re.search(
        r'<script id="polar-checkout-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "the page carries its data as json_script"
    return json.loads(match.group(1))


def assert_private(response) -> None:
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]


def messages_of(response) -> list[str]:
    """The messages (``django.contrib.messages``) the response's request left."""
    return [str(m) for m in get_messages(response.wsgi_request)]
