"""Every request the client sends, validated against the spec of the API version it pins.

The client's requests are recorded with ``responses`` (no fake involved) and each one is
matched to its operation in Polar's own OpenAPI document (``tests/data``, provenance in
``tests/data/README.txt``): the path's shape and parameters, every query parameter (a
declared name, a value its schema accepts) and the JSON body (the operation's request
schema, with every object closed: a key the spec does not document is a failure), plus
the ``Polar-Version`` header and the bearer token the operation's ``security`` asks for.

One deliberate difference from the spec: ``client_confirm`` declares ``security``
(``oidc``/``pat``), but the client sends **no** ``Authorization`` header on any
client-secret route. The client secret is the credential there; the seed-era server
refused organization tokens on confirm, and a server token has no business in a buyer's
call (see ``/work/shared/polar/API.md`` §1). The test asserts the header is absent.

Run for the pinned version (``PINNED_API_VERSION``, 2026-10), for 2026-04 (identical
schemas today, its own spec file) and for the seed era (``/v1/checkouts/custom/`` without
a version, against the seed-era spec).
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from jsonschema import FormatChecker
from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from polar_checkouts import services
from polar_checkouts.client import (
    PINNED_API_VERSION,
    SEED_CHECKOUT_PATH,
    PolarClient,
    get_client,
)
from tests.polar_payloads import checkout_payload
from tests.test_services import TODAYS_CREATE_FIELDS

DATA = Path(__file__).resolve().parent / "data"
BASE = "https://sandbox-api.polar.sh"
TOKEN = "polar_oat_spec_check"
SECRET = "polar_c_" + "s" * 40
ORG = "1dbfc517-0bbf-4301-9ba8-555ca42b9737"
PRODUCT = "6d2a8e4b-1f3c-4b5d-8e7f-9a0b1c2d3e4f"
OTHER_PRODUCT = "7e3b9f5c-2a4d-4c6e-9f80-ab1c2d3e4f50"
DISCOUNT = "9b0c2f4e-4a0e-4d55-9c77-2f9f0a6c1e01"
CUSTOMER = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"
ADDRESS = {"country": "FR", "line1": "1 rue de la Paix", "postal_code": "75002", "city": "Paris"}

#: Operations of the specs the client does not offer, with the reason.
NOT_OFFERED = {
    "products:create": "the app sells a catalogue; it does not edit it",
    "products:update": "the app sells a catalogue; it does not edit it",
}
#: The one deliberate difference: no bearer token on client-secret routes.
CLIENT_SECRET_OPERATIONS = {
    "checkouts:client_get",
    "checkouts:client_update",
    "checkouts:client_confirm",
    "checkouts:custom:client_get",
    "checkouts:custom:client_update",
    "checkouts:custom:client_confirm",
}

FORMATS = FormatChecker()


@FORMATS.checks("uuid4", raises=ValueError)
def _is_uuid4(value: object) -> bool:
    return not isinstance(value, str) or uuid.UUID(value).version == 4


@FORMATS.checks("ipvanyaddress", raises=ValueError)
def _is_ip(value: object) -> bool:
    return not isinstance(value, str) or bool(ipaddress.ip_address(value))


@FORMATS.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None


def closed(schema: Any) -> Any:
    """``schema`` with every object that lists its properties closed to other keys."""
    if isinstance(schema, dict):
        result = {key: closed(value) for key, value in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            result["additionalProperties"] = False
        return result
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    return schema


class Spec:
    """One Polar spec: its operations by method and path pattern, and schema validation."""

    def __init__(self, filename: str) -> None:
        document = json.loads((DATA / filename).read_text())
        self.version = document["info"]["version"]
        self.document = closed(document)
        self.registry = Registry().with_resource(
            "urn:polar:spec",
            Resource.from_contents(self.document, default_specification=DRAFT202012),
        )
        self.operations: list[tuple[str, re.Pattern[str], str, dict[str, Any]]] = []
        for path, methods in self.document["paths"].items():
            pattern = re.compile(
                "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$"
            )
            for method, operation in methods.items():
                if isinstance(operation, dict) and "operationId" in operation:
                    self.operations.append((method.upper(), pattern, path, operation))

    def errors(self, schema: dict[str, Any], instance: Any) -> list[str]:
        validator = OAS31Validator(
            {"$id": "urn:polar:check", **_rebase(schema)},
            registry=self.registry,
            format_checker=FORMATS,
        )
        return [
            f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}"
            for e in validator.iter_errors(instance)
        ]

    def find(self, method: str, path: str) -> tuple[dict[str, Any], dict[str, str]]:
        for op_method, pattern, _, operation in self.operations:
            match = pattern.match(path)
            if op_method == method and match:
                return operation, match.groupdict()
        raise AssertionError(f"{method} {path} is no operation of the {self.version} spec")

    def problems(self, request: Any) -> tuple[str, list[str]]:
        """The operation a recorded request was for, and every way it breaks the spec."""
        url = urlsplit(request.url)
        operation, path_values = self.find(request.method, url.path)
        problems: list[str] = []
        parameters = {(p["in"], p["name"]): p for p in operation.get("parameters", [])}
        for name, value in path_values.items():
            declared = parameters.get(("path", name))
            if declared is None:
                problems.append(f"path parameter {name} is not declared")
            else:
                problems += [f"path {name}: {e}" for e in self.errors(declared["schema"], value)]
        for name, values in parse_qs(url.query, keep_blank_values=True).items():
            declared = parameters.get(("query", name))
            if declared is None:
                problems.append(f"query parameter {name} is not declared")
                continue
            candidates = _query_candidates(values)
            if not any(not self.errors(declared["schema"], c) for c in candidates):
                problems.append(
                    f"query {name}={values}: {self.errors(declared['schema'], candidates[0])}"
                )
        schema = (
            operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        ).get("schema")
        if request.body:
            if schema is None:
                problems.append("a body was sent to an operation that takes none")
            else:
                body = json.loads(request.body)
                problems += [f"body {e}" for e in self.errors(schema, body)]
            if request.headers.get("Content-Type") != "application/json":
                problems.append("a JSON body without Content-Type: application/json")
        elif operation.get("requestBody", {}).get("required"):
            problems.append("no body for an operation that requires one")
        return operation["operationId"], problems


def _rebase(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            k: (f"urn:polar:spec{v}" if k == "$ref" and v.startswith("#") else _rebase(v))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(item) for item in schema]
    return schema


def _query_candidates(values: list[str]) -> list[Any]:
    """What a query parameter's text may stand for: itself, a number, a boolean, a list."""
    scalars: list[list[Any]] = []
    for value in values:
        options: list[Any] = [value]
        if re.fullmatch(r"-?\d+", value):
            options.append(int(value))
        if value in ("true", "false"):
            options.append(value == "true")
        scalars.append(options)
    candidates: list[Any] = []
    if len(values) == 1:
        candidates += scalars[0]
    for index in range(max(len(o) for o in scalars)):
        candidates.append([o[min(index, len(o) - 1)] for o in scalars])
    return candidates


def _answer(request: Any) -> tuple[int, dict[str, str], str]:
    """A plausible Polar answer to any of the client's calls (the request is what matters)."""
    path = urlsplit(request.url).path
    headers = {"Polar-Version": request.headers.get("Polar-Version", "2026-04")}
    product = {"id": PRODUCT, "prices": []}
    if path.startswith("/v1/products/"):
        body: Any = (
            {"items": [product], "pagination": {"total_count": 1, "max_page": 1}}
            if path == "/v1/products/"
            else product
        )
    elif path.endswith("/checkouts/") or path.endswith("/custom/"):
        payload = checkout_payload(client_secret=f"polar_c_{uuid.uuid4().hex}")
        body = (
            payload
            if request.method == "POST"
            else {"items": [payload], "pagination": {"total_count": 1, "max_page": 1}}
        )
    else:
        body = checkout_payload(client_secret=f"polar_c_{uuid.uuid4().hex}")
    status = 201 if request.method == "POST" and "/client/" not in path else 200
    return status, headers, json.dumps(body)


#: What a shop's create gives besides the products, in every era.
SHOP_FIELDS: dict[str, Any] = {
    "amount": 2500,
    "customer_email": "ada@example.com",
    "customer_name": "Ada Lovelace",
    "success_url": "https://shop.example.com/checkout/success/?checkout_id={CHECKOUT_ID}",
    "metadata": {"cart": "C-42", "items": 3, "gift": True},
    "ip_address": "203.0.113.9",
}


def _todays_create() -> dict[str, Any]:
    """``services.create_checkout`` with every create field the app names (dated versions)."""
    return {
        **SHOP_FIELDS,
        **TODAYS_CREATE_FIELDS,
        "products": [PRODUCT, OTHER_PRODUCT],
        "prices": {
            OTHER_PRODUCT: [
                {"amount_type": "custom", "price_currency": "eur", "minimum_amount": 0},
            ],
            PRODUCT: [{"amount_type": "fixed", "price_currency": "eur", "price_amount": 1900}],
        },
        "customer_id": CUSTOMER,
        "extra": {"customer_billing_address": ADDRESS, "embed_origin": "https://shop.example"},
    }


def _seed_create() -> dict[str, Any]:
    """The create fields the seed era knows (one product; no trials, locale, currency…)."""
    return {
        **SHOP_FIELDS,
        "product_id": PRODUCT,
        "customer_id": CUSTOMER,
        "allow_discount_codes": False,
        "discount_id": DISCOUNT,
        "custom_field_data": {"gift": True},
    }


def _drive(client: PolarClient, create: dict[str, Any], dated: bool) -> None:
    """Every operation the client offers, with the inputs the app gives it."""
    services.create_checkout(**create)
    services.create_checkout(product_id=PRODUCT)
    if not dated:
        # Selecting a price by id is seed-era API (today's spec hides it).
        services.create_checkout(product_price_id=str(uuid.uuid4()))
    listing_filters: dict[str, Any] = {
        "organization_id": [ORG],
        "product_id": [PRODUCT, OTHER_PRODUCT],
        "sorting": ["-created_at", "expires_at"],
    }
    if dated:
        listing_filters |= {"status": ["open", "succeeded"], "customer_id": CUSTOMER}
        listing_filters["query"] = "ada@example.com"
    client.list(page=2, limit=100, **listing_filters)
    # The status filter is today's API; the seed era filters here, after the listing.
    services.sync_checkouts(organization_id=ORG, status="succeeded" if dated else None)
    client.get(str(uuid.uuid4()))
    client.update(
        str(uuid.uuid4()),
        {
            "metadata": {"cart": "C-43"},
            "customer_email": "ada@example.com",
            "customer_billing_address": ADDRESS,
            "allow_discount_codes": True,
            "success_url": "https://shop.example.com/thanks",
            "customer_ip_address": "2001:db8::1",
        },
    )
    buyer = {
        "customer_name": "Ada",
        "customer_email": "ada@example.com",
        "customer_billing_address": ADDRESS,
        "customer_tax_id": None,
        "discount_code": "LAUNCH",
        "amount": 700,
    }
    client.client_get(SECRET)
    client.client_update(SECRET, buyer)
    client.client_confirm(SECRET, {**buyer, "confirmation_token_id": "ctoken_1"})
    client.list_products(organization_id=ORG, is_archived=False, is_recurring=True, query="book")
    services.clear_catalogue_cache()
    services.list_products()
    client.get_product(PRODUCT)


CASES = [
    pytest.param(
        f"polar-openapi-{PINNED_API_VERSION}.json",
        PINNED_API_VERSION,
        "/v1/checkouts/",
        _todays_create,
        id="pinned-" + PINNED_API_VERSION,
    ),
    pytest.param(
        "polar-openapi-2026-04.json", "2026-04", "/v1/checkouts/", _todays_create, id="2026-04"
    ),
    pytest.param(
        "polar-openapi-2024-12-seed-era.json", None, SEED_CHECKOUT_PATH, _seed_create, id="seed"
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("filename", "version", "checkout_path", "create"), CASES)
def test_every_request_the_client_sends_is_one_the_spec_documents(
    settings, filename: str, version: str | None, checkout_path: str, create: Callable[[], Any]
):
    spec = Spec(filename)
    if version is not None:
        assert spec.version == version
    settings.POLAR_API_VERSION = version
    settings.POLAR_CHECKOUT_PATH = checkout_path
    settings.POLAR_ORGANIZATION_ID = ORG
    client = get_client()
    assert client.api_version == version

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.add_callback(responses.GET, re.compile(re.escape(BASE) + ".*"), _answer)
        mocked.add_callback(responses.POST, re.compile(re.escape(BASE) + ".*"), _answer)
        mocked.add_callback(responses.PATCH, re.compile(re.escape(BASE) + ".*"), _answer)
        _drive(client, create(), dated=version is not None)
        calls = list(mocked.calls)

    covered: set[str] = set()
    failures: list[str] = []
    for call in calls:
        request = call.request
        operation_id, problems = spec.problems(request)
        covered.add(operation_id)
        failures += [f"{request.method} {request.url}: {p}" for p in problems]
        sent_version = request.headers.get("Polar-Version")
        if sent_version != version:
            failures.append(f"{operation_id}: Polar-Version {sent_version!r}, not {version!r}")
        authorization = request.headers.get("Authorization")
        if operation_id in CLIENT_SECRET_OPERATIONS:
            # The deliberate difference (module docstring): no token on client-secret routes.
            if authorization is not None:
                failures.append(f"{operation_id}: a token was sent on a client-secret route")
        elif authorization != f"Bearer {settings.POLAR_ACCESS_TOKEN}":
            failures.append(f"{operation_id}: no bearer token where the spec asks for one")
    assert failures == []
    every = {op["operationId"] for _, _, _, op in spec.operations}
    assert covered == every - set(NOT_OFFERED), "every operation the client offers was checked"


def test_the_spec_check_catches_what_the_spec_does_not_document():
    """The checker itself: an undocumented key, a bad format, an unknown query parameter."""
    spec = Spec(f"polar-openapi-{PINNED_API_VERSION}.json")
    request = requests.PreparedRequest()
    request.prepare(
        method="POST",
        url=f"{BASE}/v1/checkouts/",
        json={"product_id": PRODUCT, "payment_processor": "stripe"},
    )
    _, problems = spec.problems(request)
    assert any("products" in p and "required" in p for p in problems)
    assert any("payment_processor" in p for p in problems)

    request.prepare(method="GET", url=f"{BASE}/v1/checkouts/not-a-uuid?colour=blue")
    _, problems = spec.problems(request)
    assert any(p.startswith("path id") for p in problems)
    assert "query parameter colour is not declared" in problems

    request.prepare(method="GET", url=f"{BASE}/v1/checkouts/?sorting=colour&limit=0")
    _, problems = spec.problems(request)
    assert [p.split("=")[0] for p in problems] == ["query sorting", "query limit"]
