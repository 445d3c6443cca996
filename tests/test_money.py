"""polar_checkouts.money: Polar's minor-unit integers to decimals and text, per currency."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from polar_checkouts import money

NBSP = "\u00a0"
NNBSP = "\u202f"


@pytest.mark.parametrize(
    ("currency", "places"),
    [("usd", 2), ("EUR", 2), ("jpy", 0), ("krw", 0), ("kwd", 3), ("bhd", 3), ("huf", 2)],
)
def test_exponent_comes_from_currency_data(currency, places):
    assert money.exponent(currency) == places


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1900, "usd", "$19.00"),
        (5, "eur", "€0.05"),
        (123456, "usd", "$1,234.56"),
        (500, "jpy", "¥500"),
        (15000, "krw", "₩15,000"),
        (1500, "kwd", f"KWD{NBSP}1.500"),
        (1900, "cad", "CA$19.00"),
        (0, "usd", "$0.00"),
        (-1900, "usd", "-$19.00"),
    ],
)
def test_format_money_in_english(amount, currency, text):
    with translation.override("en-us"):
        assert money.format_money(amount, currency) == text


def test_format_money_follows_the_active_language():
    with translation.override("fr"):
        text = money.format_money(1900, "eur")
    assert text.replace(NNBSP, " ").replace(NBSP, " ") == "19,00 €"


def test_format_money_of_nothing_is_empty():
    assert money.format_money(None, "usd") == ""
    assert money.format_money(True, "usd") == ""


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1900, "usd", "19.00 USD"),
        (5, "eur", "0.05 EUR"),
        (500, "jpy", "500 JPY"),
        (15000, "KRW", "15000 KRW"),
        (1500, "KWD", "1.500 KWD"),
        (1500, "kwd", "1.500 KWD"),
        (123456, "usd", "1234.56 USD"),
        (0, "usd", "0.00 USD"),
        (None, "usd", ""),
        (700, None, "700"),
    ],
)
def test_format_amount_for_staff(amount, currency, text):
    with translation.override("en-us"):
        assert money.format_amount(amount, currency) == text


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        ("19.5", "usd", 1950),
        ("19", "usd", 1900),
        (Decimal("0.01"), "usd", 1),
        ("500", "jpy", 500),
        ("1.5", "kwd", 1500),
        ("1.005", "kwd", 1005),
        (7, "eur", 700),
    ],
)
def test_to_minor(value, currency, minor):
    assert money.to_minor(value, currency) == minor
    assert money.to_decimal(minor, currency) == Decimal(str(value))


@pytest.mark.parametrize(
    ("value", "currency"),
    [("1.005", "usd"), ("1.5", "jpy"), ("abc", "usd"), ("NaN", "usd"), ("Infinity", "eur")],
)
def test_to_minor_refuses_what_is_no_amount_of_that_currency(value, currency):
    with pytest.raises(ValueError, match=r"."):
        money.to_minor(value, currency)


@pytest.mark.parametrize(
    ("amount", "currency", "value", "step"),
    [
        (1500, "usd", "15.00", "0.01"),
        (1500, "jpy", "1500", "1"),
        (1500, "kwd", "1.500", "0.001"),
        (None, "usd", "", "0.01"),
        ("x", "usd", "", "0.01"),
    ],
)
def test_values_for_number_inputs(amount, currency, value, step):
    assert money.input_value(amount, currency) == value
    assert money.input_step(currency) == step


def test_script_context_gives_the_exponent_and_a_browser_locale():
    with translation.override("fr"):
        assert money.script_context("kwd") == {"currency": "KWD", "exponent": 3, "locale": "fr"}
    with translation.override("en-gb"):
        assert money.script_context("jpy") == {
            "currency": "JPY",
            "exponent": 0,
            "locale": "en-GB",
        }


def test_an_unknown_language_falls_back_to_english():
    with translation.override("xx-unknown"):
        assert money.current_locale() == "en_US"
