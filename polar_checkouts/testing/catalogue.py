"""The fake Polar's seeded demo organization, catalogue and discount code.

The ids are fixed so tests, the demo shop's settings and browser tests can name them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

#: The demo organization every seeded product belongs to.
ORGANIZATION_ID = "5b8a3c2e-1f4d-4e6a-9c7b-0d2e4f6a8b01"
ORGANIZATION_NAME = "Fake Polar Demo Shop"
ORGANIZATION_SLUG = "fake-polar-demo"

#: A one-time product with a fixed price of $19.00.
PRODUCT_ONE_TIME_ID = "0a8c5e7f-2b3d-4c1e-8f9a-1b2c3d4e5f01"
PRICE_ONE_TIME_ID = "0a8c5e7f-2b3d-4c1e-8f9a-1b2c3d4e5f02"
ONE_TIME_AMOUNT = 1900

#: A monthly subscription at $9.00 a month.
PRODUCT_SUBSCRIPTION_ID = "1b9d6f80-3c4e-4d2f-9a0b-2c3d4e5f6a01"
PRICE_SUBSCRIPTION_ID = "1b9d6f80-3c4e-4d2f-9a0b-2c3d4e5f6a02"
SUBSCRIPTION_AMOUNT = 900

#: A pay-what-you-want price: from $5.00 to $100.00, $15.00 suggested.
PRODUCT_PWYW_ID = "2c0e7a91-4d5f-4e3a-8b1c-3d4e5f6a7b01"
PRICE_PWYW_ID = "2c0e7a91-4d5f-4e3a-8b1c-3d4e5f6a7b02"
PWYW_MINIMUM = 500
PWYW_MAXIMUM = 10_000
PWYW_PRESET = 1500

#: A free product: confirming needs only an e-mail address.
PRODUCT_FREE_ID = "3d1f8b02-5e6a-4f4b-9c2d-4e5f6a7b8c01"
PRICE_FREE_ID = "3d1f8b02-5e6a-4f4b-9c2d-4e5f6a7b8c02"

#: The seeded discount code: 10 % off, once.
DISCOUNT_CODE = "WELCOME10"
DISCOUNT_ID = "4e2a9c13-6f7b-4a5c-8d3e-5f6a7b8c9d01"
DISCOUNT_BASIS_POINTS = 1000

#: Fake Stripe publishable key; the storefront shows a test-payment selector for ``pk_fake_``.
PUBLISHABLE_KEY = "pk_fake_polar_checkouts_demo"

#: Confirmation tokens understood by the fake, like Stripe's test cards.
TOKEN_SUCCEEDED = "ctoken_fake_succeeded"
TOKEN_DECLINED = "ctoken_fake_declined"
TOKEN_REQUIRES_ACTION = "ctoken_fake_requires_action"
TOKEN_FAILED = "ctoken_fake_failed"
TOKENS = (TOKEN_SUCCEEDED, TOKEN_DECLINED, TOKEN_REQUIRES_ACTION, TOKEN_FAILED)

#: When the seeded catalogue was "created".
SEEDED_AT = datetime(2024, 12, 2, 9, 30, tzinfo=timezone.utc)

#: Value-added tax by billing country, in basis points; any other country pays none.
TAX_RATES = {
    "AT": 2000,
    "BE": 2100,
    "DE": 1900,
    "DK": 2500,
    "ES": 2100,
    "FI": 2550,
    "FR": 2000,
    "GB": 2000,
    "IE": 2300,
    "IT": 2200,
    "NL": 2100,
    "NO": 2500,
    "PL": 2300,
    "PT": 2300,
    "SE": 2500,
}
#: Countries whose tax needs a postal code and a state in the address (as Stripe Tax does).
TAX_NEEDS_POSTAL_CODE = ("US", "CA")

SEED_PRODUCTS: tuple[dict[str, Any], ...] = (
    {
        "id": PRODUCT_ONE_TIME_ID,
        "price_id": PRICE_ONE_TIME_ID,
        "name": "Field Guide to Django Payments (PDF)",
        "description": "A one-time purchase: the e-book, yours to keep.",
        "amount_type": "fixed",
        "price_amount": ONE_TIME_AMOUNT,
    },
    {
        "id": PRODUCT_SUBSCRIPTION_ID,
        "price_id": PRICE_SUBSCRIPTION_ID,
        "name": "Pro Membership",
        "description": "Monthly access to every new chapter and the members' forum.",
        "amount_type": "fixed",
        "price_amount": SUBSCRIPTION_AMOUNT,
        "recurring_interval": "month",
    },
    {
        "id": PRODUCT_PWYW_ID,
        "price_id": PRICE_PWYW_ID,
        "name": "Support the Author",
        "description": "Pay what you want, from $5 to $100.",
        "amount_type": "custom",
        "minimum_amount": PWYW_MINIMUM,
        "maximum_amount": PWYW_MAXIMUM,
        "preset_amount": PWYW_PRESET,
    },
    {
        "id": PRODUCT_FREE_ID,
        "price_id": PRICE_FREE_ID,
        "name": "Sample Chapter",
        "description": None,
        "amount_type": "free",
    },
)
