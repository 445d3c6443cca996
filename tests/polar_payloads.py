"""Polar checkout payloads for the cache, service, sync and admin tests."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

BASE_TIME = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.timezone.utc)
#: A timeline for "newer data wins": T0 is BASE_TIME, each later one a minute on.
T0 = BASE_TIME
T1 = BASE_TIME + dt.timedelta(minutes=1)
T2 = BASE_TIME + dt.timedelta(minutes=2)
PRODUCT_ID = "1f0e0b6c-7a53-4d3a-9c57-5a1e3c0d9a01"
PRICE_ID = "2a4c6e80-1b3d-4f5a-8c7e-9d0b1a2c3e02"


def iso(when: dt.datetime | None) -> str | None:
    """Polar's datetime format."""
    return None if when is None else when.isoformat().replace("+00:00", "Z")


def checkout_payload(
    checkout_id: str | None = None,
    *,
    status: str = "open",
    created_at: dt.datetime = BASE_TIME,
    modified_at: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
    public: bool = False,
    **overrides: Any,
) -> dict[str, Any]:
    """A seed-era ``Checkout`` payload (``public=True``: a ``CheckoutPublic`` one)."""
    checkout_id = checkout_id or str(uuid.uuid4())
    payload: dict[str, Any] = {
        "id": checkout_id,
        "created_at": iso(created_at),
        "modified_at": iso(modified_at),
        "payment_processor": "stripe",
        "status": status,
        "client_secret": f"polar_c_{checkout_id.replace('-', '')}",
        "url": f"https://sandbox.polar.sh/checkout/polar_c_{checkout_id.replace('-', '')}",
        "expires_at": iso(expires_at or created_at + dt.timedelta(minutes=30)),
        "success_url": "https://shop.example.com/thanks?checkout_id=" + checkout_id,
        "embed_origin": None,
        "amount": 1900,
        "tax_amount": 0,
        "currency": "usd",
        "subtotal_amount": 1900,
        "total_amount": 1900,
        "product_id": PRODUCT_ID,
        "product_price_id": PRICE_ID,
        "discount_id": None,
        "allow_discount_codes": True,
        "is_discount_applicable": True,
        "is_free_product_price": False,
        "is_payment_required": True,
        "is_payment_setup_required": False,
        "is_payment_form_required": True,
        "customer_id": None,
        "customer_name": "Ada Lovelace",
        "customer_email": "ada@example.com",
        "customer_ip_address": None,
        "customer_billing_address": None,
        "customer_tax_id": None,
        "payment_processor_metadata": {"publishable_key": "pk_test_123"},
        "metadata": {"order_ref": "A-1"},
        "product": {"id": PRODUCT_ID, "name": "Pro licence", "prices": []},
        "product_price": {"id": PRICE_ID, "amount_type": "fixed", "price_amount": 1900},
        "discount": None,
        "subscription_id": None,
        "attached_custom_fields": [],
        "custom_field_data": {},
    }
    if public:
        del payload["metadata"], payload["subscription_id"]
        payload["organization"] = {"id": str(uuid.uuid4()), "slug": "acme", "name": "Acme"}
    payload.update(overrides)
    return payload


def checkout_payloads(
    n: int, *, start: dt.datetime = BASE_TIME, **kwargs: Any
) -> list[dict[str, Any]]:
    """``n`` checkout payloads created a minute apart, oldest first (a sync's worth)."""
    return [
        checkout_payload(created_at=start + dt.timedelta(minutes=i), **kwargs) for i in range(n)
    ]


API = "https://sandbox-api.polar.sh"
CHECKOUTS_URL = API + "/v1/checkouts/"


class PolarListStub:
    """Serves ``GET /v1/checkouts/`` from ``checkouts`` through ``responses``.

    Like Polar: newest first, ``page``/``limit`` paging and ``pagination.max_page``. It
    ignores ``status`` like a seed-era server unless ``honour_status`` is set, records
    every request's query, and answers ``fail_status`` from page ``fail_on_page`` on.
    """

    def __init__(self, checkouts: list[dict[str, Any]] | None = None) -> None:
        self.checkouts: list[dict[str, Any]] = list(checkouts or [])
        self.queries: list[dict[str, list[str]]] = []
        self.fail_on_page: int | None = None
        self.fail_status = 500
        self.honour_status = False

    def register(self, rsps: Any) -> PolarListStub:
        """Route the list endpoint of a ``responses.RequestsMock`` to this stub."""
        import re

        rsps.add_callback("GET", re.compile(re.escape(CHECKOUTS_URL) + r"(\?.*)?$"), self)
        return self

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        import json
        import math
        from urllib.parse import parse_qs, urlsplit

        query = parse_qs(urlsplit(request.url).query)
        self.queries.append(query)
        page = int(query.get("page", ["1"])[0])
        limit = min(int(query.get("limit", ["10"])[0]), 100)
        if self.fail_on_page is not None and page >= self.fail_on_page:
            body = {"error": "InternalServerError", "detail": "Boom"}
            return self.fail_status, {}, json.dumps(body)
        items = sorted(self.checkouts, key=lambda c: c["created_at"], reverse=True)
        if self.honour_status and "status" in query:
            items = [c for c in items if c["status"] in query["status"]]
        window = items[(page - 1) * limit : page * limit]
        pagination = {"total_count": len(items), "max_page": max(math.ceil(len(items) / limit), 1)}
        return 200, {}, json.dumps({"items": window, "pagination": pagination})

    def pages_requested(self) -> list[int]:
        """The ``page`` of every request so far."""
        return [int(q.get("page", ["1"])[0]) for q in self.queries]
