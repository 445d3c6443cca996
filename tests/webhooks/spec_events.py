"""Webhook payloads built from Polar's 2026-10 spec, and a validator for them.

:data:`SPEC_EVENT_TYPES` is the spec's ``webhooks`` section, so a type Polar adds to the
spec (and to ``tests/data``) is covered by every test parametrised over it.
:func:`minimal_payload` builds the smallest payload the type's schema allows: only the
required properties, a schema example where the spec gives one that fits, ``null`` where
allowed, the first alternative of a ``oneOf`` that validates. :func:`schema_errors`
validates any payload against the type's schema with ``jsonschema`` (Polar's own formats
registered), so the builder cannot drift from the spec unnoticed.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

# Polar's own formats (uuid4, ipvanyaddress) and a strict date-time, as the fake is checked.
from tests.testing.spec_checker import FORMATS

SPEC_PATH = Path(__file__).resolve().parent.parent / "data" / "polar-openapi-2026-10.json"
SPEC: dict[str, Any] = json.loads(SPEC_PATH.read_text())
_SPEC_URI = "urn:polar:openapi-2026-10"
#: Every webhook event type of the spec, in its order.
SPEC_EVENT_TYPES: tuple[str, ...] = tuple(SPEC["webhooks"])

_REGISTRY: Registry = Registry().with_resource(
    _SPEC_URI, Resource.from_contents(SPEC, default_specification=DRAFT202012)
)


def payload_schema_name(event_type: str) -> str:
    """The component schema the spec names for ``event_type``'s request body."""
    body = SPEC["webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"]
    ref: str = body["schema"]["$ref"]
    return ref.rsplit("/", 1)[-1]


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    # Local "#/components/..." references resolve inside the spec document.
    return Draft202012Validator(
        {"$id": f"{_SPEC_URI}:check", **_rebase(schema)},
        registry=_REGISTRY,
        format_checker=FORMATS,
    )


def _rebase(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            key: (
                f"{_SPEC_URI}{value}"
                if key == "$ref" and isinstance(value, str) and value.startswith("#")
                else _rebase(value)
            )
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(item) for item in schema]
    return schema


@cache
def _payload_validator(event_type: str) -> Draft202012Validator:
    return _validator({"$ref": f"#/components/schemas/{payload_schema_name(event_type)}"})


def schema_errors(event_type: str, payload: Any) -> list[str]:
    """How ``payload`` breaks the spec's schema for ``event_type`` (empty when valid)."""
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message[:200]}"
        for error in _payload_validator(event_type).iter_errors(payload)
    ]


def _valid(schema: dict[str, Any], instance: Any) -> bool:
    return _validator(schema).is_valid(instance)


class _Builder:
    """Smallest instances of spec schemas; ids are distinct, fixed uuid4s."""

    def __init__(self) -> None:
        self._ids: Iterator[int] = itertools.count(1)

    def build(self, schema: dict[str, Any]) -> Any:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            return self.build(SPEC["components"]["schemas"][name])
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        for example in schema.get("examples", []):
            if _valid(schema, example):
                return example
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self._first_valid(schema, schema[key])
        kind = schema.get("type")
        if isinstance(kind, list):  # not used by Polar's spec today, but allowed
            kind = kind[0]
        return getattr(self, f"_{kind or 'object'}")(schema)

    def _first_valid(self, schema: dict[str, Any], options: list[dict[str, Any]]) -> Any:
        # ``null`` first (the smallest), then the alternatives in the spec's order.
        ordered = sorted(options, key=lambda option: option.get("type") != "null")
        for option in ordered:
            candidate = self.build(option)
            if _valid(schema, candidate):
                return candidate
        raise AssertionError(f"no alternative of {schema.get('title', schema)} builds")

    def _object(self, schema: dict[str, Any]) -> dict[str, Any]:
        properties = schema.get("properties", {})
        return {name: self.build(properties.get(name, {})) for name in schema.get("required", [])}

    def _array(self, schema: dict[str, Any]) -> list[Any]:
        items = [self.build(item) for item in schema.get("prefixItems", [])]
        while len(items) < schema.get("minItems", 0):
            items.append(self.build(schema.get("items", {})))
        return items

    def _string(self, schema: dict[str, Any]) -> str:
        by_format = {
            "uuid4": lambda: str(uuid.UUID(int=next(self._ids), version=4)),
            "uuid": lambda: str(uuid.UUID(int=next(self._ids), version=4)),
            "date-time": lambda: "2026-11-01T12:00:00Z",
            "email": lambda: "buyer@example.com",
            "uri": lambda: "https://shop.example.com/",
            "ipvanyaddress": lambda: "192.0.2.1",
        }
        if schema.get("format") in by_format:
            return by_format[schema["format"]]()
        if "pattern" in schema:
            return "0"
        return "x" * max(schema.get("minLength", 0), 1)

    def _integer(self, schema: dict[str, Any]) -> int:
        if "exclusiveMinimum" in schema:
            return int(schema["exclusiveMinimum"]) + 1
        return int(schema.get("minimum", 0))

    def _number(self, schema: dict[str, Any]) -> float:
        return float(self._integer(schema))

    def _boolean(self, schema: dict[str, Any]) -> bool:
        return False

    def _null(self, schema: dict[str, Any]) -> None:
        return None


def minimal_payload(event_type: str) -> dict[str, Any]:
    """The smallest payload of ``event_type`` the 2026-10 spec allows (fixed ids)."""
    payload = _Builder().build({"$ref": f"#/components/schemas/{payload_schema_name(event_type)}"})
    assert isinstance(payload, dict)
    return payload
