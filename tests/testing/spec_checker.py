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
#: Both full specs; every success response must satisfy each of them.
FULL_SPECS = (SEED, LAST_CUSTOM)

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
    return json.loads((DATA / name).read_text())


class SpecChecker:
    """Validates fake responses and webhook payloads; collects violations."""

    _specs: dict[str, dict[str, Any]] = {}
    _registry: Registry | None = None

    def __init__(self) -> None:
        if not SpecChecker._specs:
            SpecChecker._specs = {name: _load(name) for name in (SEED, LAST_CUSTOM, ERRORS)}
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
        if record.operation not in OPERATIONS or response.fault in BODY_FAULTS:
            return
        if response.status == 0:
            return
        problems = self.problems(record.operation, response)
        self.validated += 1
        for problem in problems:
            self.violations.append(f"{record.method} {record.path} -> {response.status}: {problem}")

    def problems(self, operation: str, response: FakeResponse) -> list[str]:
        """Every way ``response`` to ``operation`` differs from Polar's specs."""
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
        path, method = OPERATIONS[operation]
        declared = 0
        for spec in FULL_SPECS:
            responses = self._specs[spec]["paths"][path][method]["responses"]
            schema = responses.get(str(status), {}).get("content", {}).get("application/json")
            if schema is None or (status == 403 and body.get("error") == "NotOpenCheckout"):
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
                problems += self.component(spec, name, body)
                declared += 1
        # Polar's exact 422 shape: {"error": ..., "detail": [{loc, msg, type, input}, ...]}.
        if status == 422 and (not isinstance(body.get("error"), str) or not body.get("detail")):
            problems.append("422 without error name or detail list")
        if not declared:
            problems.append(f"status {status} is declared by no spec for {operation}")
        return problems

    def check_event(self, event: SentWebhook) -> None:
        """Validate a webhook payload: the seed spec's webhook schema, or its data object."""
        payload = event.payload()
        problems: list[str] = []
        if set(payload) != {"type", "timestamp", "data"} or payload["type"] != event.type:
            problems.append(f"payload keys {sorted(payload)}")
        webhooks = self._specs[SEED]["webhooks"]
        if event.type in webhooks:
            schema = webhooks[event.type]["post"]["requestBody"]["content"]["application/json"]
            problems += self.errors(SEED, schema["schema"], payload)
        data_schema = "Order" if event.type.startswith("order.") else "Checkout"
        for spec in FULL_SPECS:
            problems += self.component(spec, data_schema, payload["data"])
        self.events_validated += 1
        self.violations += [f"webhook {event.type}: {p}" for p in problems]


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
