"""Polar's OpenAPI schemas, as a checker of the fake Polar's responses and webhooks.

:class:`SpecChecker` validates a response (or a webhook payload) with
``openapi-schema-validator`` against the trimmed specs in ``tests/data`` (provenance in
``tests/data/README.txt``). The autouse fixture ``spec_checked`` (``conftest.py`` of this
folder) hooks it into every :class:`FakePolar` of a test through
``FakePolar.global_observers`` and fails the test if any response broke the schema, so no
response of the tests in ``tests/testing/`` escapes validation.
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from jsonschema import FormatChecker
from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from polar_checkouts.testing import (
    FakeResponse,
    RecordedRequest,
    SentWebhook,
)
from polar_checkouts.testing.faults import BODY_FAULTS

DATA = Path(__file__).resolve().parent.parent / "data"
SEED = "polar-openapi-2024-12-seed-era.json"
LAST_CUSTOM = "polar-openapi-2025-02-last-custom.json"
ERRORS = "polar-openapi-2026-04-errors.json"
DATED_2026_04 = "polar-openapi-2026-04.json"
DATED_2026_10 = "polar-openapi-2026-10.json"
#: Orders, subscriptions, customers and customer sessions (2026-10; 2026-04 serves the same).
CUSTOMERS_2026_10 = "polar-openapi-2026-10-customers.json"
#: Both full specs of the seed era; every seed-era success response must satisfy each.
FULL_SPECS = (SEED, LAST_CUSTOM)
#: The spec each ``Polar-Version`` is checked against. Polar publishes none for 2027-01;
#: polar-sdk 1.0.2's v2027_01 module differs from v2026_10 only in license keys and
#: seat-based prices, which the fake never serves, so 2026-10's schemas describe it.
VERSION_SPECS = {
    "2026-04": DATED_2026_04,
    "2026-10": DATED_2026_10,
    "2027-01": DATED_2026_10,
}
#: What Polar answers without ``Polar-Version`` (written here, not read from the fake).
POLAR_DEFAULT_VERSION = "2026-04"

#: The fake's operation names and the spec path and method that declare them.
OPERATIONS = {
    "list": ("/v1/checkouts/custom/", "get"),
    "create": ("/v1/checkouts/custom/", "post"),
    "get": ("/v1/checkouts/custom/{id}", "get"),
    "update": ("/v1/checkouts/custom/{id}", "patch"),
    "client_get": ("/v1/checkouts/custom/client/{client_secret}", "get"),
    "client_update": ("/v1/checkouts/custom/client/{client_secret}", "patch"),
    "client_confirm": ("/v1/checkouts/custom/client/{client_secret}/confirm", "post"),
    "list_products": ("/v1/products/", "get"),
    "get_product": ("/v1/products/{id}", "get"),
}
#: The same operations in the dated specs (which hide ``/custom/``).
DATED_OPERATIONS = {
    name: (path.replace("/custom/", "/"), method) for name, (path, method) in OPERATIONS.items()
}
#: What comes after a checkout: dated only, checked against CUSTOMERS_2026_10.
CUSTOMER_OPERATIONS = {
    "list_orders": ("/v1/orders/", "get"),
    "get_order": ("/v1/orders/{id}", "get"),
    "list_subscriptions": ("/v1/subscriptions/", "get"),
    "get_subscription": ("/v1/subscriptions/{id}", "get"),
    "list_customers": ("/v1/customers/", "get"),
    "get_customer": ("/v1/customers/{id}", "get"),
    "get_customer_external": ("/v1/customers/external/{external_id}", "get"),
    "create_customer_session": ("/v1/customer-sessions/", "post"),
}
#: Polar error names, the status each comes with, and the spec whose schema describes it.
ERROR_NAMES = {
    "ResourceNotFound": (404, SEED),
    "Unauthorized": (401, SEED),
    "NotOpenCheckout": (403, ERRORS),
    "ExpiredCheckoutError": (410, ERRORS),
    "PaymentError": (400, ERRORS),
}
#: Statuses only an injected fault produces; Polar's specs declare no body for them.
GENERIC_ERROR = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
}

FORMATS = FormatChecker()
_VALIDATORS: dict[tuple[str, str], Any] = {}


@FORMATS.checks("uuid4", raises=ValueError)
def _is_uuid4(value: object) -> bool:
    return not isinstance(value, str) or uuid.UUID(value).version == 4


@FORMATS.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None


@FORMATS.checks("ipvanyaddress", raises=ValueError)
def _is_ip(value: object) -> bool:
    return not isinstance(value, str) or bool(ipaddress.ip_address(value))


def _load(name: str) -> dict[str, Any]:
    return _split_legacy_prices(json.loads((DATA / name).read_text()))


_LEGACY = "#/components/schemas/LegacyRecurringProductPrice"
_PRICE = "#/components/schemas/ProductPrice"


def _split_legacy_prices(schema: Any) -> Any:
    """Polar's dated specs say ``oneOf: [LegacyRecurringProductPrice, ProductPrice]``, but
    neither forbids extra keys, so every legacy price (``type``, ``recurring_interval``,
    ``legacy: true``, as Polar still serves for products made before intervals moved to the
    product) also matches ``ProductPrice`` and no legacy price can pass ``oneOf``: a gap
    in Polar's spec. Polar's server tells them apart by ``legacy``; so does this checker:
    a price with ``legacy`` must be a valid legacy price, any other a valid ``ProductPrice``.
    """
    if isinstance(schema, dict):
        if schema.get("oneOf") == [{"$ref": _LEGACY}, {"$ref": _PRICE}]:
            rest = {k: v for k, v in schema.items() if k != "oneOf"}
            return {
                **rest,
                "if": {"required": ["legacy"]},
                "then": {"$ref": _LEGACY},
                "else": {"$ref": _PRICE},
            }
        return {k: _split_legacy_prices(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_split_legacy_prices(v) for v in schema]
    return schema


class SpecChecker:
    """Validates fake responses and webhook payloads; collects violations."""

    _specs: dict[str, dict[str, Any]] = {}
    _registry: Registry | None = None

    def __init__(self) -> None:
        if not SpecChecker._specs:
            names = (SEED, LAST_CUSTOM, ERRORS, DATED_2026_04, DATED_2026_10, CUSTOMERS_2026_10)
            SpecChecker._specs = {name: _load(name) for name in names}
            registry: Registry = Registry()
            for name, spec in SpecChecker._specs.items():
                resource = Resource.from_contents(spec, default_specification=DRAFT202012)
                registry = registry.with_resource(f"urn:polar:{name}", resource)
            SpecChecker._registry = registry
        self.validated = 0
        self.events_validated = 0
        self.violations: list[str] = []

    def errors(self, spec: str, schema: dict[str, Any], instance: Any) -> list[str]:
        """Schema problems of ``instance``; ``schema`` may ``$ref`` into ``spec``."""
        key = (spec, json.dumps(schema, sort_keys=True))
        validator = _VALIDATORS.get(key)
        if validator is None:
            wrapped = _rebase({"$id": f"urn:polar:check:{spec}", **schema}, f"urn:polar:{spec}")
            validator = OAS31Validator(wrapped, registry=self._registry, format_checker=FORMATS)
            _VALIDATORS[key] = validator
        return [
            f"{spec}: {'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
            for e in validator.iter_errors(instance)
        ]

    def component(self, spec: str, name: str, instance: Any) -> list[str]:
        """Validate against ``#/components/schemas/<name>`` of ``spec``."""
        return self.errors(spec, {"$ref": f"#/components/schemas/{name}"}, instance)

    def check_response(self, record: RecordedRequest, response: FakeResponse) -> None:
        """Observer for ``FakePolar``: validate one answer of a Polar route."""
        # Deliberately mangled bodies, and faults where no HTTP answer exists at all
        # (refused or dropped connections), have nothing to validate.
        operation = record.operation
        if operation is None or response.fault in BODY_FAULTS:
            return
        if operation not in OPERATIONS and operation not in CUSTOMER_OPERATIONS:
            return
        if response.status == 0:
            return
        version = requested_version(record)
        # HEAD has no body to validate (the tests of the server check it is a GET's).
        head = record.method == "HEAD"
        problems = [] if head else self.problems(operation, response, version)
        if response.fault is None and response.status != 429:
            answered = response.headers.get("Polar-Version")
            if answered != (version or POLAR_DEFAULT_VERSION):
                problems.append(f"Polar-Version answered {answered!r} for {version!r}")
        self.validated += 1
        for problem in problems:
            self.violations.append(f"{record.method} {record.path} -> {response.status}: {problem}")

    def problems(
        self, operation: str, response: FakeResponse, version: str | None = None
    ) -> list[str]:
        """Every way ``response`` to ``operation`` differs from the specs of ``version``.

        ``version`` ``None`` is the seed era (both of its specs); otherwise a
        ``Polar-Version`` and its spec (:data:`VERSION_SPECS`).
        """
        status = response.status
        if status == 429:
            return [] if response.body == b"" else ["429 must have an empty body"]
        if not response.headers.get("content-type", "").startswith("application/json"):
            return [f"content-type is {response.headers.get('content-type')!r}"]
        try:
            body = json.loads(response.body)
        except ValueError:
            return ["body is not JSON"]
        if status >= 500:
            return self.errors(SEED, GENERIC_ERROR, body)
        problems: list[str] = []
        dated = version is not None
        if operation in CUSTOMER_OPERATIONS:
            path, method = CUSTOMER_OPERATIONS[operation]
            specs: tuple[str, ...] = (CUSTOMERS_2026_10,)
        else:
            path, method = (DATED_OPERATIONS if dated else OPERATIONS)[operation]
            specs = (VERSION_SPECS[version],) if version is not None else FULL_SPECS
        declared = 0
        for spec in specs:
            responses = self._specs[spec]["paths"][path][method]["responses"]
            schema = responses.get(str(status), {}).get("content", {}).get("application/json")
            if schema is None or (
                not dated and status == 403 and body.get("error") == "NotOpenCheckout"
            ):
                continue
            declared += 1
            problems += self.errors(spec, schema["schema"], body)
        if 400 <= status < 500 and status != 422:
            name = body.get("error") if isinstance(body, dict) else None
            if name not in ERROR_NAMES:
                problems.append(f"unknown error name {name!r}")
            else:
                expected, spec = ERROR_NAMES[name]
                if expected != status:
                    problems.append(f"{name} comes with {expected}, not {status}")
                # A dated version's own schema of the error, else the one that has it.
                problems += self.component(specs[0] if dated else spec, name, body)
                declared += 1
        # Polar's exact 422 shape: {"error": ..., "detail": [{loc, msg, type, input}, ...]}.
        if status == 422 and (not isinstance(body.get("error"), str) or not body.get("detail")):
            problems.append("422 without error name or detail list")
        if not declared:
            problems.append(f"status {status} is declared by no spec for {operation}")
        return problems

    def check_event(self, event: SentWebhook) -> None:
        """Validate a webhook payload against the webhook schema of its ``api_version``
        (which covers its ``data``).

        Polar does not version payloads; the fake sends today's shapes, which the seed
        era's ``Checkout`` no longer describes (a free checkout's ``amount`` is 0 now).
        """
        payload = event.payload()
        problems: list[str] = []
        keys = {"type", "timestamp", "api_version", "data"}
        if set(payload) != keys or payload["type"] != event.type:
            problems.append(f"payload keys {sorted(payload)}")
        spec = VERSION_SPECS.get(str(payload.get("api_version")))
        if spec is None:
            problems.append(f"api_version {payload.get('api_version')!r}")
        elif event.type in self._specs[spec]["webhooks"]:
            content = self._specs[spec]["webhooks"][event.type]["post"]["requestBody"]["content"]
            problems += self.errors(spec, content["application/json"]["schema"], payload)
        else:
            problems.append(f"{spec} declares no webhook {event.type}")
        self.events_validated += 1
        self.violations += [f"webhook {event.type}: {p}" for p in problems]


def requested_version(record: RecordedRequest) -> str | None:
    """The version ``record`` asked for, as Polar reads it (``None``: the seed era).

    Written out here rather than taken from the fake, so a fake that resolved the
    header wrongly would be checked against the wrong spec and caught.
    """
    raw = record.headers.get("polar-version", "").strip(" \t")
    if raw:
        year, _, month = raw.partition("-")
        return f"{int(year)}-{int(month):02d}"
    return None if record.path.startswith("/v1/checkouts/custom/") else POLAR_DEFAULT_VERSION


def _rebase(schema: Any, base: str) -> Any:
    """Point local ``#/components/...`` refs at the spec document they come from."""
    if isinstance(schema, dict):
        return {
            k: (f"{base}{v}" if k == "$ref" and v.startswith("#") else _rebase(v, base))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(v, base) for v in schema]
    return schema
