"""Money, in one place: Polar's integer amounts to decimals and to text, per currency.

Polar sends amounts in the currency's minor unit (cents for USD, whole yen for JPY,
fils for KWD). How many decimal places a currency has, its symbol and how a locale
writes it all come from Babel (CLDR data), never from a table written here. The
storefront's script gets the exponent and the locale from :func:`script_context` and
formats with the browser's ``Intl.NumberFormat``; it never assumes two decimals.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision, get_currency_symbol
from django.utils import translation

#: Currencies whose API amounts use more decimal places than CLDR gives them for
#: display: Stripe (and so Polar) count HUF and TWD in hundredths, as ISO 4217 does,
#: while CLDR writes them in whole units. Display still follows CLDR.
_API_EXPONENT_OVERRIDES = {"HUF": 2, "TWD": 2}

#: The locale used when Django has no active language (Babel's spelling).
DEFAULT_LOCALE = "en_US"


def _code(currency: str | None) -> str:
    return (currency or "usd").strip().upper()


@lru_cache(maxsize=256)
def exponent(currency: str | None) -> int:
    """Decimal places of ``currency``'s minor unit: 2 for USD, 0 for JPY, 3 for KWD."""
    code = _code(currency)
    if code in _API_EXPONENT_OVERRIDES:
        return _API_EXPONENT_OVERRIDES[code]
    return int(get_currency_precision(code))


def to_decimal(amount: int, currency: str | None) -> Decimal:
    """``1900, "usd"`` → ``Decimal("19.00")``; ``500, "jpy"`` → ``Decimal("500")``."""
    return Decimal(int(amount)).scaleb(-exponent(currency))


def to_minor(value: Decimal | str | int, currency: str | None) -> int:
    """A major-unit amount (``"19.5"``) as Polar's integer (``1950``) for ``currency``.

    Raises ``ValueError`` for text that is no number, or with more decimal places than
    the currency has (``"1.005"`` in USD).
    """
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"Not an amount: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"Not an amount: {value!r}")
    scaled = number.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value!r} has more decimal places than {_code(currency)} allows")
    return int(scaled)


def current_locale() -> str:
    """The Babel locale of the active Django language (``en_US`` when none or unknown)."""
    return _babel_locale(translation.get_language() or "")


@lru_cache(maxsize=64)
def _babel_locale(language: str) -> str:
    if not language:
        return DEFAULT_LOCALE
    try:
        return str(Locale.parse(translation.to_locale(language)))
    except (UnknownLocaleError, ValueError):
        return DEFAULT_LOCALE


def format_money(amount: Any, currency: str | None, locale: str | None = None) -> str:
    """An amount as a shopper reads it: ``1900, "usd"`` → ``"$19.00"``; ``""`` for none.

    Locale-aware (``"19,00 $US"`` in French) and currency-aware (``"¥500"``,
    ``"KWD\u00a01.500"``).
    """
    if amount is None or isinstance(amount, bool):
        return ""
    return _shopper_text(int(amount), _code(currency), locale or current_locale())


# Babel re-parses the locale and the pattern on every call (about 0.2 ms); a shop shows the
# same few prices over and over, so each (amount, currency, locale) is formatted once.
@lru_cache(maxsize=4096)
def _shopper_text(amount: int, code: str, locale: str) -> str:
    text = format_currency(to_decimal(amount, code), code, locale=locale)
    return _space_letters_from_digits(text, get_currency_symbol(code, locale=locale))


def _space_letters_from_digits(text: str, symbol: str) -> str:
    # CLDR's currencySpacing rule, which Babel does not apply and browsers' Intl does: a
    # currency sign that ends (or starts) with a letter is kept apart from the digits by a
    # no-break space ("KWD 1.500", as "$19.00" stays), so the server's text and the
    # script's match.
    if symbol and symbol[-1].isalpha():
        text = re.sub(re.escape(symbol) + r"(?=\d)", symbol + "\u00a0", text, count=1)
    if symbol and symbol[0].isalpha():
        text = re.sub(r"(?<=\d)" + re.escape(symbol), "\u00a0" + symbol, text, count=1)
    return text


def format_amount(amount: Any, currency: str | None, locale: str | None = None) -> str:
    """An amount with its ISO code, for staff comparing currencies: ``"19.00 USD"``.

    ``""`` for no amount; a bare number when the currency is unknown.
    """
    if amount is None or isinstance(amount, bool):
        return ""
    if not currency:
        return str(amount)
    return _staff_text(int(amount), _code(currency), locale or current_locale())


@lru_cache(maxsize=4096)
def _staff_text(amount: int, code: str, locale: str) -> str:
    return format_currency(
        to_decimal(amount, code), code, format="0.00 ¤¤", currency_digits=True, locale=locale
    )


def input_value(amount: Any, currency: str | None) -> str:
    """An amount for ``<input type="number">`` (always a dot): ``1500, "usd"`` → ``"15.00"``."""
    if amount is None or isinstance(amount, bool):
        return ""
    try:
        return f"{to_decimal(int(amount), currency):f}"
    except (TypeError, ValueError):
        return ""


def input_step(currency: str | None) -> str:
    """The ``step`` of an amount input: ``"0.01"`` for USD, ``"1"`` for JPY."""
    places = exponent(currency)
    return f"{Decimal(1).scaleb(-places):f}"


def script_context(currency: str | None, locale: str | None = None) -> dict[str, Any]:
    """What the page's script needs to format amounts of ``currency`` itself."""
    return {
        "currency": _code(currency),
        "exponent": exponent(currency),
        "locale": (locale or current_locale()).replace("_", "-"),
    }
