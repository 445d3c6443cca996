"""The "Buy" button's form: which product, and a chosen amount within the price's bounds.

Amounts are posted in the currency's minor unit; the bounds messages say them as a
shopper reads them, per currency.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.http import QueryDict
from django.test import override_settings

from polar_checkouts.storefront.forms import MAX_PRODUCTS, CheckoutButtonForm, find_price
from tests.storefront.stubs import CATALOGUE, PRICE, PRODUCT, PWYW_PRICE, PWYW_PRODUCT

PWYW_MINIMUM, PWYW_MAXIMUM = 500, 10_000


def catalogue_in(currency: str) -> list[dict[str, Any]]:
    products: list[dict[str, Any]] = CATALOGUE
    return [
        {
            **product,
            "prices": [{**price, "price_currency": currency} for price in product["prices"]],
        }
        for product in products
    ]


def form_errors(data: Any, currency: str = "usd") -> list[str]:
    calls: list[str] = []

    def catalogue():
        calls.append("list_products")
        return catalogue_in(currency)

    form = CheckoutButtonForm(data, catalogue=catalogue)
    form.is_valid()
    assert len(calls) <= 1, "the catalogue is fetched at most once"
    return [str(message) for messages in form.errors.values() for message in messages]


@pytest.mark.parametrize(
    ("currency", "low", "high"),
    [
        ("usd", "$5.00", "$100.00"),
        ("eur", "€5.00", "€100.00"),
        ("jpy", "¥500", "¥10,000"),
        ("kwd", "KWD\u00a00.500", "KWD\u00a010.000"),
    ],
)
def test_amount_bounds_are_said_in_the_prices_currency(currency, low, high):
    too_low = {"price_id": PWYW_PRICE, "amount": str(PWYW_MINIMUM - 1)}
    too_high = {"product_id": PWYW_PRODUCT, "amount": str(PWYW_MAXIMUM + 1)}
    assert form_errors(too_low, currency) == [f"Please enter at least {low}."]
    assert form_errors(too_high, currency) == [f"Please enter at most {high}."]
    assert form_errors({"price_id": PWYW_PRICE, "amount": str(PWYW_MINIMUM)}, currency) == []


def test_a_plain_product_button_needs_no_catalogue():
    form = CheckoutButtonForm({"product_id": PRODUCT}, catalogue=None)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["mode"] == "embedded"


def test_allowed_products_come_from_the_adapter():
    with override_settings(POLAR_ALLOWED_PRODUCTS=[PRODUCT]):
        assert form_errors({"price_id": PRICE}) == []
        assert form_errors({"product_id": PWYW_PRODUCT}) == ["This product is not available."]
        assert form_errors({"price_id": str(uuid.uuid4())}) == ["This product is not available."]


def test_several_products_are_repeated_product_ids():
    form = CheckoutButtonForm(
        QueryDict(f"product_id={PWYW_PRODUCT}&product_id={PRODUCT.upper()}&product_id={PRODUCT}"),
        catalogue=None,
    )
    assert form.is_valid(), form.errors
    # Unique, lower-case, in the order given: the first is the one Polar selects.
    assert form.cleaned_data["products"] == [PWYW_PRODUCT, PRODUCT]
    assert form.cleaned_data["product_id"] == uuid.UUID(PWYW_PRODUCT)


def test_one_bad_id_among_several_products_is_refused():
    form = CheckoutButtonForm(QueryDict(f"product_id={PRODUCT}&product_id=nope"), catalogue=None)
    assert not form.is_valid()
    assert form.errors["product_id"] == ["This product is not available."]
    many = "&".join(f"product_id={uuid.uuid4()}" for _ in range(MAX_PRODUCTS + 1))
    assert CheckoutButtonForm(QueryDict(many), catalogue=None).errors["product_id"] == [
        "Too many products."
    ]


def test_every_product_offered_must_be_allowed():
    with override_settings(POLAR_ALLOWED_PRODUCTS=[PRODUCT]):
        both = QueryDict(f"product_id={PRODUCT}&product_id={PWYW_PRODUCT}")
        assert form_errors(both) == ["This product is not available."]
    with override_settings(POLAR_ALLOWED_PRODUCTS=[PRODUCT, PWYW_PRODUCT]):
        assert form_errors(both) == []


def test_find_price():
    product, _ = find_price(CATALOGUE, price_id=PWYW_PRICE)
    _, price = find_price(CATALOGUE, product_id=PRODUCT)
    assert product is not None
    assert product["id"] == PWYW_PRODUCT
    assert price is not None
    assert price["id"] == PRICE
    assert find_price(CATALOGUE, product_id=str(uuid.uuid4())) == (None, None)
