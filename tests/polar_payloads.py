"""Polar checkout payloads for the cache, service, sync and admin tests."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

BASE_TIME = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.timezone.utc)
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
