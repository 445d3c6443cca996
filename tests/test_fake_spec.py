"""Every response of the fake Polar is checked against Polar's OpenAPI schemas.

:class:`SpecChecker` validates a response (or a webhook payload) with
``openapi-schema-validator`` against the trimmed specs in ``tests/data`` (provenance in
``tests/data/README.txt``). The autouse fixture :func:`spec_checked` hooks it into every
:class:`FakePolar` of a test through ``FakePolar.global_observers`` and fails the test if
any response broke the schema; the other ``test_fake_*`` modules import that fixture, so
no response in them escapes validation.
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import FormatChecker
from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from polar_checkouts.testing import (
    PRODUCT_FREE_ID,
    PRODUCT_ONE_TIME_ID,
    PRODUCT_SUBSCRIPTION_ID,
    TOKEN_SUCCEEDED,
    FakePolar,
    FakeResponse,
    RecordedRequest,
    WebhookEvent,
)
from polar_checkouts.testing.faults import BODY_FAULTS

DATA = Path(__file__).resolve().parent / "data"
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

    def check_event(self, event: WebhookEvent) -> None:
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


@pytest.fixture(autouse=True)
def spec_checked(monkeypatch):
    """Validate every response and webhook payload of any FakePolar; fail on a violation."""
    checker = SpecChecker()
    monkeypatch.setattr(FakePolar, "global_observers", [checker.check_response])
    emit = FakePolar._emit

    def checked_emit(self, type, data):
        # Every webhook payload too, whether or not the test configured an endpoint.
        emit(self, type, data)
        checker.check_event(self.events[-1])

    monkeypatch.setattr(FakePolar, "_emit", checked_emit)
    yield checker
    assert not checker.violations, "\n".join(checker.violations[:20])


# -- tests of the checker itself -------------------------------------------------------------

AUTH = {"Authorization": "Bearer polar_oat_x"}


def _call(fake, method, path, body=None, auth=True):
    data = json.dumps(body).encode() if body is not None else b""
    return fake.handle(method, path, "", AUTH if auth else {}, data)


def test_every_route_and_error_is_validated(spec_checked):
    fake = FakePolar()
    created = _call(fake, "POST", "/v1/checkouts/", {"product_id": PRODUCT_ONE_TIME_ID}).json()
    secret, checkout_id = created["client_secret"], created["id"]
    _call(fake, "GET", "/v1/checkouts/")
    _call(fake, "GET", f"/v1/checkouts/custom/{checkout_id}")
    _call(fake, "PATCH", f"/v1/checkouts/{checkout_id}", {"metadata": {"order": 7}})
    _call(fake, "GET", f"/v1/checkouts/client/{secret}", auth=False)
    _call(
        fake,
        "PATCH",
        f"/v1/checkouts/custom/client/{secret}",
        {"discount_code": "WELCOME10", "customer_billing_address": {"country": "DE"}},
        auth=False,
    )
    _call(
        fake,
        "POST",
        f"/v1/checkouts/client/{secret}/confirm",
        {
            "customer_email": "ada@example.com",
            "customer_name": "Ada",
            "confirmation_token_id": TOKEN_SUCCEEDED,
        },
        auth=False,
    )
    _call(fake, "GET", f"/v1/checkouts/{checkout_id}")
    _call(fake, "GET", "/v1/products/")
    _call(fake, "GET", f"/v1/products/{PRODUCT_SUBSCRIPTION_ID}")
    # Errors: 401, 403, 404, 410, 422 and an injected 503 and 429.
    _call(fake, "GET", "/v1/checkouts/", auth=False)
    _call(fake, "PATCH", f"/v1/checkouts/{checkout_id}", {"customer_name": "x"})
    _call(fake, "GET", f"/v1/checkouts/{uuid.uuid4()}")
    _call(fake, "GET", "/v1/checkouts/not-a-uuid")
    fake.inject(503)
    _call(fake, "GET", "/v1/products/")
    fake.inject(429, retry_after=1)
    _call(fake, "GET", "/v1/products/")
    assert spec_checked.validated == 16
    # created, updated by update, client_update, confirm and success, order.created/paid.
    assert spec_checked.events_validated == 7
    assert spec_checked.violations == []


def test_checker_catches_a_response_missing_a_key(spec_checked):
    fake = FakePolar()
    good = _call(fake, "POST", "/v1/checkouts/", {"product_id": PRODUCT_FREE_ID})
    broken = json.loads(good.body)
    del broken["is_payment_required"]
    bad = FakeResponse(201, good.headers, json.dumps(broken).encode(), "create")
    problems = spec_checked.problems("create", bad)
    assert any("is_payment_required" in p for p in problems)
    assert any(SEED in p for p in problems)
    assert any(LAST_CUSTOM in p for p in problems)


def test_checker_catches_a_wrong_type_and_an_undeclared_error(spec_checked):
    checker = SpecChecker()
    wrong = FakeResponse(
        200, {"content-type": "application/json"}, b'{"items": [], "pagination": {}}', "list"
    )
    assert any("total_count" in p for p in checker.problems("list", wrong))
    teapot = FakeResponse(
        418, {"content-type": "application/json"}, b'{"error":"Teapot","detail":"x"}', "get"
    )
    assert any("unknown error name" in p for p in checker.problems("get", teapot))
    not_open_as_404 = FakeResponse(
        404,
        {"content-type": "application/json"},
        b'{"error":"NotOpenCheckout","detail":"x"}',
        "update",
    )
    assert any("comes with 403" in p for p in checker.problems("update", not_open_as_404))


def test_formats_are_checked(spec_checked):
    checker = SpecChecker()
    assert checker.errors(SEED, {"type": "string", "format": "uuid4"}, str(uuid.uuid1()))
    assert checker.errors(SEED, {"type": "string", "format": "date-time"}, "yesterday")
    assert not checker.errors(
        SEED, {"type": "string", "format": "date-time"}, "2025-01-02T03:04:05.123456Z"
    )


def test_the_data_files_keep_every_reference_resolvable():
    for name in (SEED, LAST_CUSTOM, ERRORS):
        text = (DATA / name).read_text()
        schemas = json.loads(text)["components"]["schemas"]
        for ref in set(__import__("re").findall(r'"#/components/schemas/([^"]+)"', text)):
            assert ref in schemas, (name, ref)
