"""The JSON shapes of the fake's answers: Polar's Product, Checkout, Organization, Discount."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from .. import catalogue, versions
from . import trials
from .pricing import totals
from .state import CheckoutState, JsonDict, isoformat

if TYPE_CHECKING:
    from .core import FakePolar

T = TypeVar("T")

#: The largest page Polar serves; a bigger ``limit`` is clamped.
MAX_LIMIT = 100


#: The currency a free price is in on the dated versions (the fake's catalogue currency).
FREE_PRICE_CURRENCY = "usd"


def price_json(fake: FakePolar, price_id: str) -> JsonDict:
    """Polar's ``ProductPrice``, in the shape of the version being answered."""
    price = dict(fake.prices[price_id])
    if price["amount_type"] == "free" and versions.is_dated(versions.active()):
        # The dated versions have no ``free`` price: it is a ``fixed`` price of 0
        # (Polar's server, product/schemas.py, _coerce_legacy_free_price).
        price["amount_type"] = "fixed"
        price["price_currency"] = FREE_PRICE_CURRENCY
        price["price_amount"] = 0
    return price


def product_json(fake: FakePolar, product_id: str) -> JsonDict:
    """Polar's ``Product`` with its prices."""
    product = dict(fake.products[product_id])
    price_ids = product.pop("price_ids")
    product["prices"] = [price_json(fake, i) for i in price_ids]
    product["benefits"] = []
    product["medias"] = []
    product["attached_custom_fields"] = []
    # polar-sdk 1.x requires it; the fake deletes nothing, and a product with checkouts
    # is not deletable on Polar either.
    product["is_deletable"] = False
    return product


def checkout_json(fake: FakePolar, checkout: CheckoutState, *, public: bool = False) -> JsonDict:
    """Polar's ``Checkout``, or ``CheckoutPublic`` (no metadata) for client routes."""
    amounts = totals(fake, checkout)
    trial = trials.active_trial(fake, checkout)
    product = product_json(fake, checkout.product_id)
    discount = fake.discounts.get(checkout.discount_id or "")
    data: JsonDict = {
        "id": checkout.id,
        "created_at": isoformat(checkout.created_at),
        "modified_at": isoformat(checkout.modified_at) if checkout.modified_at else None,
        "payment_processor": "stripe",
        "status": checkout.status,
        "client_secret": checkout.client_secret,
        "url": f"{fake.frontend_url}/checkout/{checkout.client_secret}",
        "expires_at": isoformat(checkout.expires_at),
        "success_url": checkout.success_url
        or f"{fake.frontend_url}/checkout/{checkout.client_secret}/confirmation",
        "embed_origin": checkout.embed_origin,
        "amount": amounts["amount"],
        "discount_amount": amounts["discount_amount"],
        "net_amount": amounts["net_amount"],
        "tax_amount": amounts["tax_amount"],
        "currency": checkout.currency,
        "subtotal_amount": amounts["subtotal_amount"],
        "total_amount": amounts["total_amount"],
        "organization_id": product["organization_id"],
        "product_id": checkout.product_id,
        "product_price_id": checkout.price_id,
        "discount_id": checkout.discount_id,
        "allow_discount_codes": checkout.allow_discount_codes,
        "is_discount_applicable": amounts["is_discount_applicable"],
        "is_free_product_price": amounts["is_free_product_price"],
        "is_payment_required": amounts["is_payment_required"],
        "is_payment_setup_required": amounts["is_payment_setup_required"],
        "is_payment_form_required": amounts["is_payment_form_required"],
        "customer_id": checkout.customer_id,
        "customer_name": checkout.customer_name,
        "customer_email": checkout.customer_email,
        "customer_ip_address": checkout.customer_ip_address,
        "customer_billing_address": copy.copy(checkout.customer_billing_address),
        "customer_tax_id": checkout.customer_tax_id,
        "payment_processor_metadata": dict(checkout.payment_processor_metadata),
        "metadata": dict(checkout.metadata),
        "customer_metadata": dict(checkout.customer_metadata),
        "external_customer_id": checkout.external_customer_id,
        "customer_billing_name": None,
        "is_business_customer": False,
        "require_billing_address": False,
        "billing_address_fields": {
            "country": "required",
            "state": "optional",
            "city": "optional",
            "postal_code": "optional",
            "line1": "optional",
            "line2": "optional",
        },
        "return_url": None,
        "tax_behavior": None,
        "payment_method_type": None,
        "allow_trial": trials.allow_trial(fake, checkout),
        "active_trial_interval": trial[0] if trial else None,
        "active_trial_interval_count": trial[1] if trial else None,
        "trial_end": isoformat(checkout.trial_end) if checkout.trial_end else None,
        "trial_interval": None,
        "trial_interval_count": None,
        "units": None,
        "min_units": None,
        "max_units": None,
        "products": [product_json(fake, i) for i in checkout.product_ids or [product["id"]]],
        "prices": {
            i: product_json(fake, i)["prices"] for i in checkout.product_ids or [product["id"]]
        },
        "product": product,
        "product_price": price_json(fake, checkout.price_id),
        "discount": dict(discount) if discount else None,
        "subscription_id": checkout.subscription_id,
        "attached_custom_fields": [],
        "custom_field_data": dict(checkout.custom_field_data),
    }
    data.update(checkout.echo)
    if versions.is_dated(versions.active()) and data["amount"] is None:
        # A free checkout on the dated versions: amounts are 0, never null, and it has a
        # currency (the specs of 2026-04 and 2026-10 require integers and a string).
        for key in ("amount", "subtotal_amount", "net_amount", "total_amount"):
            data[key] = 0
        data["currency"] = data["currency"] or FREE_PRICE_CURRENCY
    if public:
        # The shop's own customer id is not shown to the buyer (CheckoutPublic lacks it).
        data["external_customer_id"] = None
        for key in ("metadata", "customer_metadata", "subscription_id"):
            del data[key]
        data["organization"] = organization_json()
    return data


def organization_json() -> JsonDict:
    """The seeded organization as ``CheckoutPublic.organization``."""
    return {
        "created_at": isoformat(catalogue.SEEDED_AT),
        "modified_at": None,
        "id": catalogue.ORGANIZATION_ID,
        "name": catalogue.ORGANIZATION_NAME,
        "slug": catalogue.ORGANIZATION_SLUG,
        "avatar_url": None,
        "bio": None,
        "company": None,
        "blog": None,
        "location": None,
        "email": None,
        "twitter_username": None,
        "pledge_minimum_amount": 2000,
        "pledge_badge_show_amount": True,
        "default_upfront_split_to_contributors": None,
        "profile_settings": None,
        "feature_settings": None,
        # The slimmer CheckoutOrganization of today's Polar has these two at the top.
        "proration_behavior": "prorate",
        "allow_customer_updates": True,
        "subscription_settings": {
            "allow_multiple_subscriptions": False,
            "allow_customer_updates": True,
            "proration_behavior": "prorate",
        },
    }


def discount_json(fake: FakePolar, discount: JsonDict) -> JsonDict:
    """The full ``Discount`` object (orders carry it; checkouts a slimmer one)."""
    return {
        **discount,
        "created_at": isoformat(catalogue.SEEDED_AT),
        "modified_at": None,
        "metadata": {},
        "starts_at": None,
        "ends_at": None,
        "max_redemptions": None,
        "max_redemptions_per_customer": None,
        "products": [],
        "redemptions_count": sum(
            1 for o in fake.orders.values() if o["discount_id"] == discount["id"]
        ),
        "organization_id": catalogue.ORGANIZATION_ID,
    }


def page_of(items: list[JsonDict], page: int, limit: int) -> JsonDict:
    """One page of ``items`` in Polar's ``ListResource`` shape (``limit`` capped at 100)."""
    limit = min(limit, MAX_LIMIT)
    start = (page - 1) * limit
    return {
        "items": items[start : start + limit],
        "pagination": {"total_count": len(items), "max_page": math.ceil(len(items) / limit)},
    }


def sort_items(items: list[T], sorting: list[str], value: Callable[[T, str], Any]) -> None:
    """Sort ``items`` in place by Polar's sort keys (``name`` or ``-name``, first key first)."""
    # Python's sort is stable: apply the keys from last to first.
    for key in reversed(sorting):
        items.sort(key=partial(_key, value, key.lstrip("-")), reverse=key.startswith("-"))


def _key(value: Callable[[T, str], Any], name: str, item: T) -> Any:
    return value(item, name)
