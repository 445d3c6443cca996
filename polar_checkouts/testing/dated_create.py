"""The checkout create of the dated versions: every field of ``CheckoutProductsCreate``.

Polar's server (``server/polar/checkout/schemas.py``) validates the create body with
pydantic; :func:`parse_fields` does the same for each field the dated specs declare, in
their order (the order of the errors in a 422), with pydantic's error types and messages:
booleans, enums (``currency``, ``trial_interval``), bounded integers (``amount`` >= 0,
``trial_interval_count`` 1..1000, ``seats``/``min_seats``/``max_seats`` 1..10,000), URLs
(``success_url``, ``return_url``), a BCP 47 ``locale`` (checked with langcodes, as Polar
does), UUID4 ids, bounded names, and no NUL character in any string (Polar's base schema).
Then the model's rules: a trial needs both its interval and its count, the seats in order.

``prices``: ad-hoc prices per product, ``{product id: [price-create, ...]}``, each item
one of Polar's ``ProductPrice*Create`` schemas picked by ``amount_type``. The fake checks
them and otherwise ignores them: a checkout still sells its products' catalogue prices.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import langcodes

from .validation import (
    MISSING,
    Errors,
    address_value,
    bool_value,
    custom_field_data_value,
    email_value,
    has_type,
    ip_value,
    metadata_value,
    url_value,
    uuid4_value,
    uuid_value,
)

Loc = tuple[str | int, ...]

SEATS_MIN = 1
SEATS_MAX = 10_000
SEAT_FIELDS = ("seats", "min_seats", "max_seats")
TRIAL_INTERVALS = ("day", "week", "month", "year")
TRIAL_COUNT_MAX = 1000
#: ``CustomerNameInput``: at most 256 characters.
NAME_MAX = 256
INT32_MAX = 2_147_483_647

#: Polar's ``PresentmentCurrency``.
CURRENCIES = (
    "aed",
    "all",
    "amd",
    "aoa",
    "ars",
    "aud",
    "awg",
    "azn",
    "bam",
    "bbd",
    "bdt",
    "bif",
    "bmd",
    "bnd",
    "bob",
    "brl",
    "bsd",
    "bwp",
    "bzd",
    "cad",
    "cdf",
    "chf",
    "clp",
    "cny",
    "cop",
    "crc",
    "cve",
    "czk",
    "djf",
    "dkk",
    "dop",
    "dzd",
    "egp",
    "etb",
    "eur",
    "fjd",
    "fkp",
    "gbp",
    "gel",
    "gip",
    "gmd",
    "gnf",
    "gtq",
    "gyd",
    "hkd",
    "hnl",
    "htg",
    "huf",
    "idr",
    "ils",
    "inr",
    "isk",
    "jmd",
    "jpy",
    "kes",
    "kgs",
    "khr",
    "kmf",
    "krw",
    "kyd",
    "kzt",
    "lak",
    "lkr",
    "lrd",
    "lsl",
    "mad",
    "mdl",
    "mga",
    "mkd",
    "mnt",
    "mop",
    "mur",
    "mvr",
    "mwk",
    "mxn",
    "myr",
    "mzn",
    "nad",
    "ngn",
    "nio",
    "nok",
    "npr",
    "nzd",
    "pab",
    "pen",
    "pgk",
    "php",
    "pkr",
    "pln",
    "pyg",
    "qar",
    "ron",
    "rsd",
    "rwf",
    "sar",
    "sbd",
    "scr",
    "sek",
    "sgd",
    "shp",
    "sos",
    "srd",
    "szl",
    "thb",
    "tjs",
    "top",
    "try",
    "ttd",
    "twd",
    "tzs",
    "uah",
    "ugx",
    "usd",
    "uyu",
    "uzs",
    "vnd",
    "vuv",
    "wst",
    "xaf",
    "xcd",
    "xcg",
    "xof",
    "xpf",
    "yer",
    "zar",
    "zmw",
)
TAX_BEHAVIORS = ("location", "inclusive", "exclusive")
SEAT_TIER_TYPES = ("volume", "graduated")
AMOUNT_TYPES = ("fixed", "custom", "seat_based", "metered_unit")
#: The spec's pattern of a decimal ``unit_amount`` sent as a string (searched, as JSON
#: Schema does).
_DECIMAL = re.compile("^(?!^[-+.]*$)[+-]?0*(?:\\d{0,5}|(?=[\\d.]{1,18}0*$)\\d{0,5}\\.\\d{0,12}0*$)")


def _bound(errors: Errors, loc: Loc, value: int, kind: str, limit: int) -> bool:
    words = {
        "ge": ("greater than or equal to", "greater_than_equal"),
        "le": ("less than or equal to", "less_than_equal"),
        "gt": ("greater than", "greater_than"),
    }
    ok = {"ge": value >= limit, "le": value <= limit, "gt": value > limit}[kind]
    if not ok:
        text, error_type = words[kind]
        errors.add(loc, f"Input should be {text} {limit}", error_type, value, {kind: limit})
    return ok


def int_value(
    errors: Errors, loc: Loc, value: Any, *, ge: int | None = None, le: int | None = None
) -> int | None:
    """An integer (a whole float too, not a boolean) within ``ge``..``le``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        errors.add(
            loc,
            "Input should be a valid integer, got a number with a fractional part",
            "int_from_float",
            value,
        )
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(loc, "Input should be a valid integer", "int_type", value)
        return None
    if ge is not None and not _bound(errors, loc, value, "ge", ge):
        return None
    if le is not None and not _bound(errors, loc, value, "le", le):
        return None
    return value


def enum_value(errors: Errors, loc: Loc, value: Any, allowed: tuple[str, ...]) -> str | None:
    """One of ``allowed`` (pydantic's ``enum`` error otherwise)."""
    if isinstance(value, str) and value in allowed:
        return value
    expected = ", ".join(f"'{v}'" for v in allowed[:-1]) + f" or '{allowed[-1]}'"
    errors.add(loc, f"Input should be {expected}", "enum", value, {"expected": expected})
    return None


def list_value(errors: Errors, loc: Loc, value: Any) -> list[Any] | None:
    """A list of at least one item."""
    if not isinstance(value, list):
        errors.add(loc, "Input should be a valid list", "list_type", value)
        return None
    if not value:
        errors.add(
            loc,
            "List should have at least 1 item after validation, not 0",
            "too_short",
            value,
            {"field_type": "List", "min_length": 1, "actual_length": 0},
        )
        return None
    return value


def _decimal_value(errors: Errors, loc: Loc, value: Any) -> None:
    """``unit_amount``: a number above 0, or a decimal string (the spec's pattern) above 0."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        errors.add(
            loc,
            "Decimal input should be an integer, float, string or Decimal object",
            "decimal_type",
            value,
        )
        return
    number: Any = value
    if isinstance(value, str):
        try:
            number = Decimal(value.strip()) if _DECIMAL.search(value) else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            errors.add(loc, "Input should be a valid decimal", "decimal_parsing", value)
            return
    if not number > 0:
        errors.add(loc, "Input should be greater than 0", "greater_than", value, {"gt": 0})


def _nullable(check: Callable[[Errors, Loc, Any], Any]) -> Callable[[Errors, Loc, Any], Any]:
    return lambda errors, loc, value: None if value is None else check(errors, loc, value)


def _seat_tier(errors: Errors, loc: Loc, value: Any) -> None:
    _object(errors, loc, value, _SEAT_TIER)


def _seat_tiers(errors: Errors, loc: Loc, value: Any) -> None:
    _object(errors, loc, value, _SEAT_TIERS)


def _tiers(errors: Errors, loc: Loc, value: Any) -> None:
    items = list_value(errors, loc, value)
    for index, item in enumerate(items or []):
        _seat_tier(errors, (*loc, index), item)


Field = tuple[bool, Callable[[Errors, Loc, Any], Any]]

_SEAT_TIER: dict[str, Field] = {
    "min_seats": (True, lambda e, at, v: int_value(e, at, v, ge=1)),
    "max_seats": (False, _nullable(lambda e, at, v: int_value(e, at, v, ge=1))),
    "price_per_seat": (True, lambda e, at, v: int_value(e, at, v, ge=0)),
}
_SEAT_TIERS: dict[str, Field] = {
    "seat_tier_type": (False, lambda e, at, v: enum_value(e, at, v, SEAT_TIER_TYPES)),
    "tiers": (True, _tiers),
}
_COMMON: dict[str, Field] = {
    "price_currency": (False, lambda e, at, v: enum_value(e, at, v, CURRENCIES)),
    "tax_behavior": (False, _nullable(lambda e, at, v: enum_value(e, at, v, TAX_BEHAVIORS))),
}
#: The fields of each ``ProductPrice*Create`` after ``amount_type``: (required, check).
PRICE_CREATE: dict[str, dict[str, Field]] = {
    "fixed": {**_COMMON, "price_amount": (True, lambda e, at, v: int_value(e, at, v, ge=0))},
    "custom": {
        **_COMMON,
        "minimum_amount": (False, lambda e, at, v: int_value(e, at, v, ge=0)),
        "maximum_amount": (False, _nullable(lambda e, at, v: int_value(e, at, v, ge=1))),
        "preset_amount": (False, _nullable(lambda e, at, v: int_value(e, at, v, ge=0))),
    },
    "seat_based": {**_COMMON, "seat_tiers": (True, _seat_tiers)},
    "metered_unit": {
        **_COMMON,
        "meter_id": (True, uuid_value),
        "unit_amount": (True, _decimal_value),
        "cap_amount": (
            False,
            _nullable(lambda e, at, v: int_value(e, at, v, ge=0, le=INT32_MAX)),
        ),
    },
}


def _object(errors: Errors, loc: Loc, value: Any, fields: Mapping[str, Field]) -> None:
    """An object of ``fields`` (unknown keys ignored, as Polar's schemas do)."""
    if not has_type(errors, loc, value, "model"):
        return
    for name, (required, check) in fields.items():
        item = value.get(name, MISSING)
        if item is MISSING:
            if required:
                errors.add((*loc, name), "Field required", "missing", value)
            continue
        check(errors, (*loc, name), item)


def price_create(errors: Errors, loc: Loc, value: Any) -> None:
    """One ``ProductPriceCreate``: the union picked by ``amount_type``, pydantic's errors."""
    if not has_type(errors, loc, value, "model"):
        return
    tag = value.get("amount_type", MISSING)
    if tag is MISSING:
        errors.add(
            loc,
            "Unable to extract tag using discriminator 'amount_type'",
            "union_tag_not_found",
            value,
            {"discriminator": "'amount_type'"},
        )
        return
    if not isinstance(tag, str) or tag not in PRICE_CREATE:
        expected = ", ".join(f"'{t}'" for t in AMOUNT_TYPES)
        errors.add(
            loc,
            f"Input tag '{tag}' found using 'amount_type' does not match any of the "
            f"expected tags: {expected}",
            "union_tag_invalid",
            value,
            {"discriminator": "'amount_type'", "tag": str(tag), "expected_tags": expected},
        )
        return
    _object(errors, (*loc, tag), value, PRICE_CREATE[tag])


def prices_value(errors: Errors, value: Any) -> dict[str, Any] | None:
    """``prices``: ``null``, or product ids (UUIDs) to lists of at least one price-create."""
    loc: Loc = ("body", "prices")
    if value is None or not has_type(errors, loc, value, "dict"):
        return None
    before = len(errors)
    result = {}
    for key, items in value.items():
        product_id = uuid_value(errors, (*loc, key, "[key]"), key)
        prices = list_value(errors, (*loc, key), items)
        for index, item in enumerate(prices or []):
            price_create(errors, (*loc, key, index), item)
        if product_id is not None:
            result[product_id] = items
    return result if len(errors) == before else None


def seats_values(errors: Errors, data: Mapping[str, Any]) -> dict[str, int]:
    """``seats``, ``min_seats``, ``max_seats``: each 1..10,000 or null (the sent ones)."""
    values: dict[str, int] = {}
    for name in SEAT_FIELDS:
        value = data.get(name)
        if value is not None:
            number = int_value(errors, ("body", name), value, ge=SEATS_MIN, le=SEATS_MAX)
            if number is not None:
                values[name] = number
    return values


def seats_in_order(errors: Errors, values: Mapping[str, int], data: Mapping[str, Any]) -> None:
    """Polar's model rule, checked once every field is valid: min <= seats <= max."""
    seats, low, high = (values.get(name) for name in SEAT_FIELDS)
    problem = None
    if low is not None and high is not None and low > high:
        problem = "min_seats must be less than or equal to max_seats"
    elif seats is not None and low is not None and seats < low:
        problem = "seats must be greater than or equal to min_seats"
    elif seats is not None and high is not None and seats > high:
        problem = "seats must be less than or equal to max_seats"
    if problem:
        errors.add(("body",), f"Value error, {problem}", "value_error", dict(data))


def unique_products(errors: Errors, products: list[str]) -> None:
    """Polar's ``products`` rule: no id twice."""
    if len(products) != len(set(products)):
        errors.add(
            ("body", "products"),
            "Value error, Product IDs must be unique.",
            "value_error",
            products,
        )


def unset_products(errors: Errors, prices: Mapping[str, Any], products: list[str]) -> None:
    """Polar's service rule: every key of ``prices`` is one of the checkout's products."""
    for product_id in prices:
        if product_id not in products:
            errors.add(
                ("body", "prices", product_id),
                "Product is not set on that checkout.",
                "value_error",
                product_id,
            )


# -- the other fields of CheckoutProductsCreate ---------------------------------------------


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(item) for item in value)
    return False


def _text(errors: Errors, loc: Loc, value: Any) -> str | None:
    """A plain string, kept as sent."""
    return value if has_type(errors, loc, value, "string") else None


def _stripped(errors: Errors, loc: Loc, value: Any) -> str | None:
    """A string stripped, blank to ``None`` (Polar's ``EmptyStrToNoneValidator``)."""
    if not has_type(errors, loc, value, "string"):
        return None
    return value.strip() or None


def _customer_name(errors: Errors, loc: Loc, value: Any) -> str | None:
    """``CustomerNameInput``: at most 256 characters (before stripping), blank to ``None``."""
    if not has_type(errors, loc, value, "string"):
        return None
    if len(value) > NAME_MAX:
        errors.add(
            loc,
            f"String should have at most {NAME_MAX} characters",
            "string_too_long",
            value,
            {"max_length": NAME_MAX},
        )
        return None
    return value.strip() or None


def locale_value(errors: Errors, loc: Loc, value: Any) -> str | None:
    """Polar's ``Locale``: a valid BCP 47 tag with a real language, standardised."""
    if not has_type(errors, loc, value, "string"):
        return None
    valid = langcodes.tag_is_valid(value)
    if valid:
        language = langcodes.Language.get(value).language
        # Polar refuses tags without a real language subtag (``und``, ``x-...``) too.
        valid = language is not None and len(language) <= 3
    if not valid:
        errors.add(loc, "Value error, Invalid IETF BCP 47 language tag", "value_error", value)
        return None
    return str(langcodes.standardize_tag(value))


Check = Callable[[Errors, Loc, Any], Any]

#: ``CheckoutProductsCreate``'s fields other than ``products`` and ``prices``, in the
#: dated specs' order: name → (nullable, check). A non-nullable field sent as ``null``
#: gets its check's type error, as pydantic reports it.
FIELDS: dict[str, tuple[bool, Check]] = {
    "trial_interval": (True, lambda e, at, v: enum_value(e, at, v, TRIAL_INTERVALS)),
    "trial_interval_count": (
        True,
        lambda e, at, v: int_value(e, at, v, ge=1, le=TRIAL_COUNT_MAX),
    ),
    "metadata": (False, lambda e, at, v: metadata_value(e, at, v, floats=True)),
    "custom_field_data": (False, custom_field_data_value),
    "discount_id": (True, uuid4_value),
    "allow_discount_codes": (False, bool_value),
    "require_billing_address": (False, bool_value),
    "amount": (True, lambda e, at, v: int_value(e, at, v, ge=0)),
    "seats": (True, lambda e, at, v: int_value(e, at, v, ge=SEATS_MIN, le=SEATS_MAX)),
    "min_seats": (True, lambda e, at, v: int_value(e, at, v, ge=SEATS_MIN, le=SEATS_MAX)),
    "max_seats": (True, lambda e, at, v: int_value(e, at, v, ge=SEATS_MIN, le=SEATS_MAX)),
    "allow_trial": (False, bool_value),
    "customer_id": (True, uuid4_value),
    "is_business_customer": (False, bool_value),
    "external_customer_id": (True, _text),
    "customer_name": (True, _customer_name),
    "customer_email": (True, email_value),
    "customer_ip_address": (True, ip_value),
    "customer_billing_name": (True, _stripped),
    "customer_billing_address": (True, address_value),
    "customer_tax_id": (True, _stripped),
    # The spec lets customer_metadata hold floats too, but Polar's Checkout answers it as
    # dict[str, str | int | bool]: its server could not answer such a checkout. The fake
    # refuses a float there up front rather than answer outside the spec.
    "customer_metadata": (False, metadata_value),
    "subscription_id": (True, uuid4_value),
    "success_url": (True, url_value),
    "return_url": (True, url_value),
    "embed_origin": (True, _text),
    "locale": (True, locale_value),
    "currency": (True, lambda e, at, v: enum_value(e, at, v, CURRENCIES)),
}
#: The fields a dated create sends that the checkout shows back unchanged.
ECHOED = (
    "external_customer_id",
    "customer_billing_name",
    "is_business_customer",
    "require_billing_address",
    "allow_trial",
    "trial_interval",
    "trial_interval_count",
    "return_url",
    "locale",
)
#: Another name Polar reads ``external_customer_id`` from (its ``validation_alias``).
ALIASES = {"external_customer_id": ("external_customer_id", "customer_external_id")}


def parse_fields(errors: Errors, data: Mapping[str, Any]) -> dict[str, Any]:
    """The sent fields of :data:`FIELDS`, parsed in the spec's order (errors recorded).

    A string anywhere in a valid field that holds a NUL character is refused as Polar's
    base schema does. The result has the fields that passed, by their canonical names.
    """
    fields: dict[str, Any] = {}
    for name, (nullable, check) in FIELDS.items():
        key = next((k for k in ALIASES.get(name, (name,)) if k in data), None)
        if key is None:
            continue
        value = data[key]
        if value is None and nullable:
            fields[name] = None
            continue
        before = len(errors)
        parsed = check(errors, ("body", key), value)
        if len(errors) != before:
            continue
        if _contains_nul(parsed):
            errors.add(
                ("body", key),
                "Value error, This value contains invalid characters",
                "value_error",
                parsed,
            )
            continue
        fields[name] = parsed
    return fields


def trial_complete(errors: Errors, fields: Mapping[str, Any], data: Mapping[str, Any]) -> None:
    """Polar's model rule, checked once every field is valid (and before the seats'): a
    trial's interval and count come together, or neither."""
    interval, count = fields.get("trial_interval"), fields.get("trial_interval_count")
    if (interval is None) != (count is None):
        errors.add(
            ("body",),
            "Both trial_interval and trial_interval_count must be set together.",
            "missing",
            dict(data),
        )


def currency_available(
    errors: Errors, currency: str | None, offered: list[str], first: str | None
) -> None:
    """Polar's service rule: the requested ``currency`` is one the first product sells in
    (``offered``, the currencies of its prices)."""
    if currency is not None and first is not None and currency not in offered:
        errors.add(
            ("body", "products", 0),
            "Product is not available in the specified currency.",
            "value_error",
            first,
        )
