"""Request checks of the fake Polar, producing Polar's 422 bodies.

Polar validates with pydantic and answers ``{"error": ..., "detail": [{loc, msg, type,
input, ctx?}, ...]}``. The helpers here parse one value each and append such entries to
an :class:`Errors` list instead of raising, so every problem of a request is reported
together, as Polar does.
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

from ..types import CheckoutConfirm, CheckoutUpdatePublic

#: Marker for "the key was not sent", distinct from an explicit ``null``.
MISSING: Any = object()

AMOUNT_MIN = 50
AMOUNT_MAX = 99_999_999
METADATA_MAX_KEYS = 50
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500
URL_MAX = 2083

_EMAIL = re.compile(r"^[^@\s]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}$")
_COUNTRY = re.compile(r"^\w{2}$")


class RequestInvalid(Exception):
    """Raised to answer 422 with ``errors`` (a list of pydantic-style error dicts)."""

    def __init__(self, errors: list[dict[str, Any]], error: str = "RequestValidationError"):
        super().__init__(errors)
        self.errors = errors
        self.error = error


class Errors(list[dict[str, Any]]):
    """A list of validation problems; :meth:`add` builds one entry."""

    def add(
        self,
        loc: tuple[str | int, ...],
        msg: str,
        type: str,
        input: Any = None,
        ctx: dict[str, Any] | None = None,
    ) -> None:
        """Append one ``{loc, msg, type, input, ctx?}`` entry."""
        entry: dict[str, Any] = {"loc": list(loc), "msg": msg, "type": type, "input": input}
        if ctx:
            entry["ctx"] = ctx
        self.append(entry)

    def raise_if_any(self, error: str = "RequestValidationError") -> None:
        """Raise :class:`RequestInvalid` when at least one problem was recorded."""
        if self:
            raise RequestInvalid(list(self), error)


def is_uuid(value: Any) -> bool:
    """True for a canonical UUID string."""
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def uuid_value(errors: Errors, loc: tuple[str | int, ...], value: Any) -> str | None:
    """A UUID field: its lowercase canonical form, or ``None`` after recording an error."""
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
        errors.add(loc, "Input should be a valid UUID", "uuid_parsing", value)
        return None
    errors.add(loc, "UUID input should be a string, bytes or UUID object", "uuid_type", value)
    return None


def uuid4_value(errors: Errors, loc: tuple[str | int, ...], value: Any) -> str | None:
    """A ``UUID4`` field (the dated versions' ids): a UUID, and of version 4."""
    parsed = uuid_value(errors, loc, value)
    if parsed is not None and uuid.UUID(parsed).version != 4:
        errors.add(loc, "UUID version 4 expected", "uuid_version", value, {"expected_version": 4})
        return None
    return parsed


#: Pydantic's type errors: the Python type a value must have, its message and error type.
_TYPE_ERRORS: dict[str, tuple[type, str, str]] = {
    "string": (str, "Input should be a valid string", "string_type"),
    "dict": (dict, "Input should be a valid dictionary", "dict_type"),
    "model": (
        dict,
        "Input should be a valid dictionary or object to extract fields from",
        "model_attributes_type",
    ),
}


def has_type(errors: Errors, loc: tuple[str | int, ...], value: Any, kind: str) -> bool:
    """True when ``value`` is a ``kind`` (``"string"``, ``"dict"``, ``"model"``); otherwise
    records pydantic's error for it and returns False."""
    expected, message, error_type = _TYPE_ERRORS[kind]
    if isinstance(value, expected):
        return True
    errors.add(loc, message, error_type, value)
    return False


def string_value(errors: Errors, loc: tuple[str | int, ...], value: Any) -> str | None:
    """A string field; blank strings become ``None`` as Polar does for names and tax ids."""
    if not has_type(errors, loc, value, "string"):
        return None
    value = value.strip()
    return value or None


def bool_value(errors: Errors, loc: tuple[str | int, ...], value: Any) -> bool | None:
    """A boolean field."""
    if isinstance(value, bool):
        return value
    errors.add(loc, "Input should be a valid boolean", "bool_type", value)
    return None


def email_value(errors: Errors, loc: tuple[str | int, ...], value: Any) -> str | None:
    """An e-mail address: a local part, an ``@`` and a dotted domain."""
    if not has_type(errors, loc, value, "string"):
        return None
    if "@" not in value:
        reason = "An email address must have an @-sign."
    elif not _EMAIL.match(value):
        reason = "The part after the @-sign is not valid."
    else:
        return value.strip()
    errors.add(loc, f"value is not a valid email address: {reason}", "value_error", value)
    return None


def amount_value(errors: Errors, loc: tuple[str | int, ...], value: Any) -> int | None:
    """An amount in cents within the schema's bounds (50 to 99,999,999)."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            errors.add(loc, "Input should be a valid integer", "int_type", value)
            return None
    if value < AMOUNT_MIN:
        errors.add(
            loc,
            f"Input should be greater than or equal to {AMOUNT_MIN}",
            "greater_than_equal",
            value,
            {"ge": AMOUNT_MIN},
        )
        return None
    if value > AMOUNT_MAX:
        errors.add(
            loc,
            f"Input should be less than or equal to {AMOUNT_MAX}",
            "less_than_equal",
            value,
            {"le": AMOUNT_MAX},
        )
        return None
    return int(value)


def url_value(errors: Errors, loc: tuple[str | int, ...], value: Any) -> str | None:
    """An absolute http(s) URL of at most 2083 characters."""
    if not isinstance(value, str):
        errors.add(loc, "URL input should be a string or URL", "url_type", value)
        return None
    if len(value) > URL_MAX:
        errors.add(
            loc,
            f"URL should have at most {URL_MAX} characters",
            "url_too_long",
            value,
            {"max_length": URL_MAX},
        )
        return None
    if not value:
        errors.add(loc, "Input should be a valid URL, input is empty", "url_parsing", value)
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors.add(
            loc,
            "Input should be a valid URL, relative URL without a base",
            "url_parsing",
            value,
        )
        return None
    return value


def ip_value(errors: Errors, loc: tuple[str | int, ...], value: Any) -> str | None:
    """An IPv4 or IPv6 address."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        errors.add(loc, "value is not a valid IPv4 or IPv6 address", "ip_any_address", value)
        return None


def _string_length(errors: Errors, loc: tuple[str | int, ...], text: str, max_length: int) -> None:
    """Pydantic's check of a 1..``max_length`` character string, with its exact messages."""
    if len(text) < 1:
        errors.add(
            loc,
            "String should have at least 1 character",
            "string_too_short",
            text,
            {"min_length": 1},
        )
    elif len(text) > max_length:
        errors.add(
            loc,
            f"String should have at most {max_length} characters",
            "string_too_long",
            text,
            {"max_length": max_length},
        )


def metadata_value(
    errors: Errors, loc: tuple[str | int, ...], value: Any, *, floats: bool = False
) -> dict[str, str | int | float | bool] | None:
    """Polar's ``Metadata``: at most 50 keys of 1-40 characters; values str (1-500), int,
    bool, and (``floats=True``, the dated versions) float."""
    if not has_type(errors, loc, value, "dict"):
        return None
    before = len(errors)
    if len(value) > METADATA_MAX_KEYS:
        errors.add(
            loc,
            f"Dictionary should have at most {METADATA_MAX_KEYS} items after validation, "
            f"not {len(value)}",
            "too_long",
            value,
            {
                "field_type": "Dictionary",
                "max_length": METADATA_MAX_KEYS,
                "actual_length": len(value),
            },
        )
    for key, item in value.items():
        _string_length(errors, (*loc, key, "[key]"), key, METADATA_KEY_MAX)
        if isinstance(item, bool | int) or (floats and isinstance(item, float)):
            continue
        if has_type(errors, (*loc, key, "str"), item, "string"):
            _string_length(errors, (*loc, key, "str"), item, METADATA_VALUE_MAX)
    return dict(value) if len(errors) == before else None


def custom_field_data_value(
    errors: Errors, loc: tuple[str | int, ...], value: Any
) -> dict[str, Any] | None:
    """Custom field values: an object of strings, numbers, booleans or nulls."""
    if not has_type(errors, loc, value, "dict"):
        return None
    for key, item in value.items():
        if (
            item is not None
            and not isinstance(item, int | bool)
            and not has_type(errors, (*loc, key), item, "string")
        ):
            return None
    return dict(value)


def address_value(
    errors: Errors, loc: tuple[str | int, ...], value: Any
) -> dict[str, str | None] | None:
    """Polar's ``Address``: ``country`` (two letters) required; other parts optional."""
    if not has_type(errors, loc, value, "model"):
        return None
    before = len(errors)
    address: dict[str, str | None] = {}
    country = value.get("country", MISSING)
    if country is MISSING:
        errors.add((*loc, "country"), "Field required", "missing", value)
    elif has_type(errors, (*loc, "country"), country, "string") and not _COUNTRY.match(country):
        errors.add(
            (*loc, "country"),
            "String should match pattern '^\\w{2}$'",
            "string_pattern_mismatch",
            country,
            {"pattern": "^\\w{2}$"},
        )
    for part in ("line1", "line2", "postal_code", "city", "state"):
        item = value.get(part)
        if item is None:
            address[part] = None
        elif has_type(errors, (*loc, part), item, "string"):
            address[part] = item.strip() or None
    if len(errors) != before:
        return None
    address["country"] = str(country).upper()
    return {
        key: address[key] for key in ("line1", "line2", "postal_code", "city", "state", "country")
    }


def query_ints(
    errors: Errors, query: Mapping[str, list[str]], name: str, default: int
) -> int | None:
    """An integer query parameter that must be greater than 0."""
    values = query.get(name)
    if not values:
        return default
    raw = values[-1]
    try:
        number = int(raw)
    except ValueError:
        errors.add(
            ("query", name),
            "Input should be a valid integer, unable to parse string as an integer",
            "int_parsing",
            raw,
        )
        return None
    if number <= 0:
        errors.add(
            ("query", name), "Input should be greater than 0", "greater_than", raw, {"gt": 0}
        )
        return None
    return number


def query_bool(errors: Errors, query: Mapping[str, list[str]], name: str) -> bool | None:
    """An optional boolean query parameter (``true``/``false``, ``1``/``0``...)."""
    values = query.get(name)
    if not values:
        return None
    raw = values[-1].lower()
    if raw in ("true", "1", "yes", "on", "t", "y"):
        return True
    if raw in ("false", "0", "no", "off", "f", "n"):
        return False
    errors.add(
        ("query", name),
        "Input should be a valid boolean, unable to interpret input",
        "bool_parsing",
        values[-1],
    )
    return None


def query_uuids(errors: Errors, query: Mapping[str, list[str]], name: str) -> list[str]:
    """A repeatable UUID query parameter."""
    result = []
    for index, raw in enumerate(query.get(name, [])):
        value = uuid_value(errors, ("query", name, index), raw)
        if value is not None:
            result.append(value)
    return result


def query_enum(
    errors: Errors,
    query: Mapping[str, list[str]],
    name: str,
    allowed: tuple[str, ...],
    *,
    indexed: bool = False,
) -> list[str]:
    """A repeatable enumerated query parameter; unknown values give 422 ``enum``.

    ``indexed=True`` for a parameter Polar declares as ``list[Enum]``: each error is
    located at the value's index (``["query", name, 0]``), as pydantic reports it.
    """
    result = []
    expected = ", ".join(f"'{v}'" for v in allowed[:-1]) + f" or '{allowed[-1]}'"
    for index, raw in enumerate(query.get(name, [])):
        if raw in allowed:
            result.append(raw)
            continue
        errors.add(
            ("query", name, index) if indexed else ("query", name),
            f"Input should be {expected}",
            "enum",
            raw,
            {"expected": expected},
        )
    return result


@dataclass
class ListParams:
    """The parameters every list route shares: sort keys, page, page size, search text."""

    sorting: list[str]
    page: int
    limit: int
    query: str


def list_params(
    errors: Errors, query: Mapping[str, list[str]], sorts: tuple[str, ...], default_sort: str
) -> ListParams:
    """``sorting``, ``page``, ``limit`` and ``query`` of a list route (errors recorded)."""
    sorting = query_enum(errors, query, "sorting", sorts) or [default_sort]
    page = query_ints(errors, query, "page", 1)
    limit = query_ints(errors, query, "limit", 10)
    text = (query.get("query") or [""])[-1].lower()
    return ListParams(sorting, page or 1, limit or 10, text)


# -- request bodies ------------------------------------------------------------------------

_PARSERS: dict[str, Callable[[Errors, tuple[str | int, ...], Any], Any]] = {
    "metadata": metadata_value,
    "customer_metadata": metadata_value,
    "custom_field_data": custom_field_data_value,
    "discount_id": uuid_value,
    "allow_discount_codes": bool_value,
    "amount": amount_value,
    "customer_id": uuid_value,
    "customer_name": string_value,
    "customer_email": email_value,
    "customer_ip_address": ip_value,
    "customer_billing_address": address_value,
    "customer_tax_id": string_value,
    "subscription_id": uuid_value,
    "success_url": url_value,
    "embed_origin": string_value,
    "product_price_id": uuid_value,
    "discount_code": string_value,
    "confirmation_token_id": string_value,
}
CREATE_FIELDS = (
    "metadata",
    "customer_metadata",
    "custom_field_data",
    "discount_id",
    "allow_discount_codes",
    "amount",
    "customer_id",
    "customer_name",
    "customer_email",
    "customer_ip_address",
    "customer_billing_address",
    "customer_tax_id",
    "subscription_id",
    "success_url",
    "embed_origin",
)
NON_NULLABLE_ON_CREATE = (
    "metadata",
    "customer_metadata",
    "custom_field_data",
    "allow_discount_codes",
)
# What a buyer may send is Polar's API, declared once, in polar_checkouts.types (the
# order of these names is the order of the errors in a 422).
CLIENT_UPDATE_FIELDS = tuple(CheckoutUpdatePublic.__annotations__)
CONFIRM_FIELDS = tuple(CheckoutConfirm.__annotations__)
#: The server-side update: the buyer's fields (not the discount code), then the shop's.
UPDATE_FIELDS = (
    *(name for name in CLIENT_UPDATE_FIELDS if name != "discount_code"),
    "metadata",
    "customer_metadata",
    "discount_id",
    "allow_discount_codes",
    "customer_ip_address",
    "success_url",
    "embed_origin",
)


def parse_fields(
    errors: Errors,
    data: Mapping[str, Any],
    names: tuple[str, ...],
    *,
    non_nullable: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Parse the ``names`` present in ``data``; unknown keys are ignored, as Polar does."""
    fields: dict[str, Any] = {}
    for name in names:
        if name not in data:
            continue
        value = data[name]
        if value is None and name not in non_nullable:
            fields[name] = None
            continue
        before = len(errors)
        parsed = _PARSERS[name](errors, ("body", name), value)
        if len(errors) == before:
            fields[name] = parsed
    return fields


def parse_body(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or Polar's 422 for anything else."""
    errors = Errors()
    try:
        data = json.loads(body or b"null")
    except ValueError as exc:
        errors.add(
            ("body", getattr(exc, "pos", 0)),
            "JSON decode error",
            "json_invalid",
            {},
            {"error": getattr(exc, "msg", str(exc))},
        )
        data = MISSING
    if data is None:
        errors.add(("body",), "Field required", "missing", None)
    elif data is not MISSING:
        has_type(errors, ("body",), data, "model")
    errors.raise_if_any()
    return cast("dict[str, Any]", data)
