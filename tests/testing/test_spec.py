"""The spec checker itself: it catches what it must (``spec_checker.py``)."""

from __future__ import annotations

import json
import uuid

from polar_checkouts.testing import (
    PRODUCT_FREE_ID,
    PRODUCT_ONE_TIME_ID,
    PRODUCT_SUBSCRIPTION_ID,
    TOKEN_SUCCEEDED,
    FakePolar,
    FakeResponse,
)
from tests.testing.spec_checker import DATA, ERRORS, LAST_CUSTOM, SEED, SpecChecker

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
    # created, updated by update, client_update, confirm and success, customer.created and
    # customer.state_changed at confirmation, order.created/updated/paid.
    assert spec_checked.events_validated == 10
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
