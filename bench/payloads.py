"""Deterministic Polar payloads for the benchmarks: one checkout and list pages of them.

The checkout has the keys of current Polar (so polar-sdk 1.x can decode it) plus the
seed-era keys our client reads; it weighs about as much as a real answer (~4 KB).

Not ``tests.polar_payloads.checkout_payload`` on purpose: the tests' builder makes one
small seed-era checkout with a random id for a rule to be checked on, while this one
makes the ``n``-th of thousands with a stable id (the bench server, its clients and a
re-run must name the same rows) at a real answer's size and shape, which is what the
figures measure.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

ORGANIZATION_ID = "0b7c1a3e-5b8f-4d0a-9c61-3f2a1e0d9b10"
PRODUCT_ID = "3f1c2d4e-6a7b-4c8d-9e0f-1a2b3c4d5e6f"
PRICE_ID = "7a8b9c0d-1e2f-4a3b-8c5d-6e7f8091a2b3"
CHECKOUT_ID = "5e0f6a2b-9c1d-4e3f-8a7b-0c1d2e3f4a5b"
_NS = uuid.UUID("6f1d0c2e-3b4a-4c5d-8e9f-a0b1c2d3e4f5")


def checkout_id(n: int) -> str:
    """The stable id of the ``n``-th generated checkout."""
    return str(uuid.uuid5(_NS, f"checkout-{n}"))


def _price() -> dict[str, Any]:
    return {
        "created_at": "2026-01-05T10:00:00Z",
        "modified_at": None,
        "id": PRICE_ID,
        "source": "catalog",
        "amount_type": "fixed",
        "price_currency": "usd",
        "tax_behavior": None,
        "is_archived": False,
        "product_id": PRODUCT_ID,
        "price_amount": 1900,
        "type": "one_time",
        "recurring_interval": None,
    }


def _product() -> dict[str, Any]:
    return {
        "id": PRODUCT_ID,
        "created_at": "2026-01-05T10:00:00Z",
        "modified_at": "2026-02-11T08:30:00Z",
        "trial_interval": None,
        "trial_interval_count": None,
        "name": "Field Guide to Django Payments (e-book)",
        "description": "A practical guide: checkout sessions, webhooks and reconciliation.",
        "visibility": "public",
        "recurring_interval": None,
        "recurring_interval_count": None,
        "meter_interval": None,
        "meter_interval_count": None,
        "is_recurring": False,
        "is_archived": False,
        "organization_id": ORGANIZATION_ID,
        "prices": [_price()],
        "benefits": [],
        "medias": [],
    }


def checkout(n: int = 0, *, status: str = "open", minute: int = 0) -> dict[str, Any]:
    """The ``n``-th checkout (``n=0`` is :data:`CHECKOUT_ID`), modified ``minute`` minutes in."""
    cid = CHECKOUT_ID if n == 0 else checkout_id(n)
    secret = f"polar_c_{uuid.uuid5(_NS, f'secret-{n}').hex}"
    modified = f"2026-03-0{1 + minute // 1440 % 9}T{minute // 60 % 24:02d}:{minute % 60:02d}:00Z"
    return {
        "id": cid,
        "created_at": "2026-03-01T00:00:00Z",
        "modified_at": modified,
        "custom_field_data": {},
        "payment_processor": "stripe",
        "status": status,
        "client_secret": secret,
        "url": f"https://sandbox.polar.sh/checkout/{secret}",
        "expires_at": "2030-03-01T01:00:00Z",
        "success_url": "https://shop.example.com/checkout/done?checkout_id={CHECKOUT_ID}",
        "return_url": None,
        "embed_origin": None,
        "amount": 1900,
        "seats": None,
        "min_seats": None,
        "max_seats": None,
        "units": None,
        "min_units": None,
        "max_units": None,
        "discount_amount": 0,
        "net_amount": 1900,
        "subtotal_amount": 1900,
        "tax_amount": None,
        "tax_behavior": None,
        "total_amount": 1900,
        "currency": "usd",
        "allow_trial": None,
        "active_trial_interval": None,
        "active_trial_interval_count": None,
        "trial_end": None,
        "organization_id": ORGANIZATION_ID,
        "product_id": PRODUCT_ID,
        "product_price_id": PRICE_ID,
        "discount_id": None,
        "allow_discount_codes": True,
        "require_billing_address": False,
        "is_discount_applicable": True,
        "is_free_product_price": False,
        "is_payment_required": True,
        "is_payment_setup_required": False,
        "is_payment_form_required": True,
        "customer_id": None,
        "is_business_customer": False,
        "customer_name": f"Buyer {n}",
        "customer_email": f"buyer{n}@example.com",
        "customer_ip_address": "203.0.113.7",
        "customer_billing_name": None,
        "customer_billing_address": None,
        "customer_tax_id": None,
        "locale": "en",
        "payment_method_type": None,
        "payment_processor_metadata": {"publishable_key": "pk_test_bench_0000000000000000"},
        "billing_address_fields": {
            "country": "required",
            "state": "disabled",
            "city": "disabled",
            "postal_code": "disabled",
            "line1": "disabled",
            "line2": "disabled",
        },
        "trial_interval": None,
        "trial_interval_count": None,
        "metadata": {"order_ref": f"bench-{n}", "source": "bench"},
        "external_customer_id": None,
        "products": [_product()],
        "product": _product(),
        "product_price": _price(),
        "prices": {PRODUCT_ID: [_price()]},
        "discount": None,
        "subscription_id": None,
        "attached_custom_fields": [],
        "customer_metadata": {},
    }


def list_page(page: int, limit: int, total: int, *, minute: int = 0) -> dict[str, Any]:
    """Page ``page`` of ``total`` generated checkouts, ``limit`` per page, Polar's list shape."""
    start = (page - 1) * limit
    items = [checkout(n + 1, minute=minute) for n in range(start, min(start + limit, total))]
    return {"items": items, "pagination": {"total_count": total, "max_page": -(-total // limit)}}


def dumps(data: Any) -> bytes:
    """Compact JSON bytes, as Polar sends them."""
    return json.dumps(data, separators=(",", ":")).encode()


# -- subscriptions (figures h and i) ---------------------------------------------------------

MEMBERSHIP_ID = "9d2e3f40-5a6b-4c7d-8e9f-0a1b2c3d4e5f"


def subscription_id(n: int) -> str:
    """The stable id of the ``n``-th generated subscription."""
    return str(uuid.uuid5(_NS, f"subscription-{n}"))


def _customer(n: int) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid5(_NS, f"customer-{n}")),
        "created_at": "2026-03-01T09:00:00Z",
        "modified_at": None,
        "metadata": {},
        "external_id": f"bench-{n}",  # names no user here: one adapter lookup per page
        "email": f"member{n}@example.com",
        "email_verified": True,
        "type": "individual",
        "name": f"Member {n}",
        "billing_name": None,
        "billing_address": {"country": "FR"},
        "tax_id": None,
        "organization_id": ORGANIZATION_ID,
        "deleted_at": None,
        "first_user_event_at": None,
        "avatar_url": None,
    }


def subscription(n: int, *, status: str = "active", minute: int = 0) -> dict[str, Any]:
    """The ``n``-th generated monthly subscription, Polar's 2026-10 shape (~3 KB)."""
    product = {
        **_product(),
        "id": MEMBERSHIP_ID,
        "name": "Monthly membership",
        "recurring_interval": "month",
        "recurring_interval_count": 1,
        "is_recurring": True,
    }
    return {
        "created_at": "2026-03-01T09:00:00Z",
        "modified_at": f"2026-03-01T09:{minute % 60:02d}:00Z",
        "id": subscription_id(n),
        "amount": 900,
        "currency": "usd",
        "recurring_interval": "month",
        "recurring_interval_count": 1,
        "status": status,
        "current_period_start": "2026-11-01T09:00:00Z",
        "current_period_end": "2026-12-01T09:00:00Z",
        "current_meter_period_start": None,
        "current_meter_period_end": None,
        "trial_start": None,
        "trial_end": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "started_at": "2026-03-01T09:00:00Z",
        "ends_at": None,
        "ended_at": None,
        "past_due_at": None,
        "pause_at_period_end": False,
        "paused_at": None,
        "resumes_at": None,
        "customer_id": str(uuid.uuid5(_NS, f"customer-{n}")),
        "product_id": MEMBERSHIP_ID,
        "discount_id": None,
        "checkout_id": None,
        "seats": None,
        "customer_cancellation_reason": None,
        "customer_cancellation_comment": None,
        "metadata": {},
        "custom_field_data": {},
        "customer": _customer(n),
        "product": product,
        "discount": None,
        "prices": [{**_price(), "type": "recurring", "recurring_interval": "month"}],
        "meters": [],
        "pending_update": None,
    }


def subscription_page(page: int, limit: int, total: int) -> dict[str, Any]:
    """Page ``page`` of ``total`` generated subscriptions, Polar's list shape."""
    start = (page - 1) * limit
    items = [subscription(n + 1) for n in range(start, min(start + limit, total))]
    return {"items": items, "pagination": {"total_count": total, "max_page": -(-total // limit)}}
