"""What the checkout page shows, per currency: summary, pay-what-you-want input, labels.

Amounts are Polar's minor units: USD and EUR have two decimals, JPY none, KWD three.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.test import RequestFactory, override_settings
from django.utils import translation
from django.utils.html import escape

from polar_checkouts.money import format_money
from polar_checkouts.storefront.context import (
    add_interval,
    amount_lines,
    client_calls_config,
    confirm_label,
    custom_amount_context,
    renewal_text,
)
from polar_checkouts.storefront.payment import PaymentProvider
from tests.polar_payloads import checkout_payload
from tests.storefront.stubs import SECRET, page_config

CURRENCIES = [
    # currency, exponent, 1900 minor units, 500 minor units
    ("usd", 2, "$19.00", "$5.00"),
    ("eur", 2, "€19.00", "€5.00"),
    ("jpy", 0, "¥1,900", "¥500"),
    ("kwd", 3, "KWD\u00a01.900", "KWD\u00a00.500"),
]


def fixed_price(currency: str, **extra: Any) -> dict[str, Any]:
    return {
        "amount_type": "fixed",
        "price_amount": 1900,
        "price_currency": currency,
        "type": "one_time",
        **extra,
    }


@pytest.mark.parametrize(("currency", "exponent", "total", "tax"), CURRENCIES)
def test_checkout_page_summary_in_each_currency(client, stub, currency, exponent, total, tax):
    stub.public.update(
        currency=currency,
        amount=1400,
        tax_amount=500,
        total_amount=1900,
        product_price=fixed_price(currency),
    )
    response = client.get(f"/checkout/{SECRET}/")
    html = response.content.decode()
    assert f'data-polar-amount="total">{total}' in html
    assert f'data-polar-amount="tax">{tax}' in html
    assert f"Pay {total}" in html
    assert page_config(response)["money"] == {
        "currency": currency.upper(),
        "exponent": exponent,
        "locale": "en-US",
    }


@pytest.mark.parametrize(
    ("currency", "value", "minimum", "maximum", "step"),
    [
        ("usd", "15.00", "5.00", "100.00", "0.01"),
        ("eur", "15.00", "5.00", "100.00", "0.01"),
        ("jpy", "1500", "500", "10000", "1"),
        ("kwd", "1.500", "0.500", "10.000", "0.001"),
    ],
)
def test_checkout_page_pay_what_you_want_bounds_per_currency(
    client, stub, currency, value, minimum, maximum, step
):
    stub.public.update(
        currency=currency,
        amount=1500,
        product_price={
            "amount_type": "custom",
            "minimum_amount": 500,
            "maximum_amount": 10000,
            "price_currency": currency,
        },
    )
    response = client.get(f"/checkout/{SECRET}/")
    html = response.content.decode()
    field = re.search(r'<input id="polar-amount"[^>]*>', html, re.S)
    assert field, "a pay-what-you-want price has an amount field"
    assert f'step="{step}"' in field.group(0)
    assert f'min="{minimum}"' in field.group(0)
    assert f'max="{maximum}"' in field.group(0)
    assert f'value="{value}"' in field.group(0)
    context = response.context
    assert (context["amount_input"], context["amount_min"], context["amount_max"]) == (
        value,
        minimum,
        maximum,
    )
    assert context["amount_step"] == step
    # The bounds are said in money, next to the field, not in minor units.
    hint = f"From {format_money(500, currency)} to {format_money(10000, currency)}"
    assert context["amount_hint"] == hint
    assert f'<p class="polar-hint" id="polar-amount-hint">{escape(hint)}</p>' in html
    assert 'aria-describedby="polar-amount-hint polar-amount-error"' in field.group(0)


@pytest.mark.parametrize(
    ("price", "hint"),
    [
        ({"minimum_amount": 500}, "At least $5.00"),
        ({"maximum_amount": 100_000}, "At most $1,000.00"),
        ({"minimum_amount": 0, "maximum_amount": 2000}, "At most $20.00"),
        ({}, ""),
    ],
)
def test_pay_what_you_want_hint_names_the_bounds_in_money(price, hint):
    context = custom_amount_context(
        {"currency": "usd", "amount": 1500, "product_price": {"amount_type": "custom", **price}}
    )
    assert context["amount_hint"] == hint


def test_pay_what_you_want_without_bounds():
    context = custom_amount_context(
        {"currency": "jpy", "amount": None, "product_price": {"amount_type": "custom"}}
    )
    assert context == {
        "is_custom_price": True,
        "amount_input": "",
        "amount_min": "",
        "amount_max": "",
        "amount_step": "1",
        "amount_hint": "",
    }


def test_checkout_page_subscription_in_yen(client, stub):
    stub.public.update(
        currency="jpy",
        amount=900,
        total_amount=900,
        product_price=fixed_price("jpy", type="recurring", recurring_interval="month"),
    )
    html = client.get(f"/checkout/{SECRET}/").content.decode()
    assert "¥900 / month" in html
    assert "$9.00" not in html


@pytest.mark.parametrize(("currency", "_exponent", "total", "_tax"), CURRENCIES)
def test_confirm_label_per_currency(currency, _exponent, total, _tax):
    checkout = checkout_payload(currency=currency, total_amount=1900)
    assert confirm_label(checkout) == f"Pay {total}"
    with translation.override("fr"):
        french = confirm_label(checkout)
    assert french.startswith("Payer ")
    assert total not in french  # French writes the amount its own way ("19,00 $US")


def test_confirm_label_without_a_payment():
    free = checkout_payload(is_payment_form_required=False)
    subscription = checkout_payload(product_price=fixed_price("usd", recurring_interval="year"))
    no_total = checkout_payload(total_amount=None)
    assert confirm_label(free) == "Get it for free"
    assert confirm_label(subscription) == "Subscribe"
    assert confirm_label(no_total) == "Pay"


def test_amount_lines_derive_the_discount_and_default_the_currency():
    lines = amount_lines({"amount": 1900, "subtotal_amount": 1710, "total_amount": 1710})
    assert lines == {
        "amount": 1900,
        "discount_amount": 190,
        "tax_amount": None,
        "total_amount": 1710,
        "currency": "usd",
    }
    priced = amount_lines({"product_price": {"price_currency": "JPY"}})
    assert priced["currency"] == "jpy"


class Reachable(PaymentProvider):
    name = "reachable"

    def browser_api_root(self, request):
        return "https://polar.example.net/"


class Unreachable(PaymentProvider):
    name = "unreachable"

    def browser_api_root(self, request):
        return None


def test_client_calls_go_where_the_provider_says():
    request = RequestFactory().get("/")
    assert client_calls_config(request) == {
        "mode": "browser",
        "base": "https://sandbox-api.polar.sh/v1/checkouts/client/",
    }
    assert client_calls_config(request, Reachable()) == {
        "mode": "browser",
        "base": "https://polar.example.net/v1/checkouts/client/",
    }
    # A root the browser cannot reach: the page calls through this app instead.
    assert client_calls_config(request, Unreachable()) == {
        "mode": "server",
        "base": "/checkout/client/",
    }
    with override_settings(POLAR_CLIENT_CALLS="server"):
        assert client_calls_config(request, Reachable())["mode"] == "server"


class TransportWithRoot:
    """A transport factory a browser can reach too (the in-process fake's is one)."""

    def __call__(self, retry):
        raise AssertionError("no Polar call in this test")

    def browser_api_root(self, request):
        return "/in-process-polar/"


def no_browser_transport(retry):
    raise AssertionError("no Polar call in this test")


def test_client_calls_ask_the_transport_after_the_provider():
    request = RequestFactory().get("/")
    with override_settings(POLAR_TRANSPORT=TransportWithRoot()):
        assert client_calls_config(request)["base"] == "/in-process-polar/v1/checkouts/client/"
        assert client_calls_config(request, Unreachable())["mode"] == "server"
    # A transport a browser cannot use: the page calls through this app.
    with override_settings(POLAR_TRANSPORT=no_browser_transport):
        assert client_calls_config(request) == {"mode": "server", "base": "/checkout/client/"}


@pytest.mark.parametrize(
    ("day", "interval", "count", "expected"),
    [
        ("2026-01-31", "month", 1, "2026-02-28"),
        ("2028-01-31", "month", 1, "2028-02-29"),
        ("2026-11-29", "month", 3, "2027-02-28"),
        ("2026-12-15", "month", 1, "2027-01-15"),
        ("2028-02-29", "year", 1, "2029-02-28"),
        ("2026-11-29", "week", 2, "2026-12-13"),
        ("2026-11-29", "day", 1, "2026-11-30"),
    ],
)
def test_add_interval(day, interval, count, expected):
    start = datetime.date.fromisoformat(day)
    assert add_interval(start, interval, count) == datetime.date.fromisoformat(expected)


def test_renewal_text_says_when_and_how_to_cancel():
    monthly = {"product_price": {"type": "recurring", "recurring_interval": "month"}}
    with translation.override("en"):
        text = renewal_text(monthly, today=datetime.date(2026, 11, 29))
    assert text.startswith("Renews automatically every month, next on Dec. 29, 2026,")
    assert "You can cancel at any time" in text
    every_3 = {
        "product_price": {"recurring_interval": "month"},
        "product": {"recurring_interval_count": 3},
    }
    assert "every 3 months, next on Feb. 28, 2027" in renewal_text(
        every_3, today=datetime.date(2026, 11, 29)
    )
    trial = {**monthly, "trial_end": "2026-12-13T10:00:00Z"}
    assert "next on Dec. 13, 2026" in renewal_text(trial, today=datetime.date(2026, 11, 29))
    assert renewal_text({"product_price": {"type": "one_time"}}) == ""
