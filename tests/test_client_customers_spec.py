"""Every request of the client's order, subscription, customer and customer-session calls
is one Polar's 2026-10 spec documents (``tests/data/polar-openapi-2026-10-customers.json``,
provenance in ``tests/data/README.txt``): path, query parameters, the closed JSON body,
``Polar-Version`` and the bearer token; and every operation of that file is exercised."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

import responses

from polar_checkouts.client import PINNED_API_VERSION, PolarClient
from tests.test_client_requests_spec import BASE, ORG, PRODUCT, TOKEN, Spec

SPEC = f"polar-openapi-{PINNED_API_VERSION}-customers.json"
CUSTOMER = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"
ITEM = {"id": CUSTOMER, "status": "active", "customer_id": CUSTOMER}


def _answer(request: Any) -> tuple[int, dict[str, str], str]:
    path = urlsplit(request.url).path
    if request.method == "POST":
        body: Any = {"token": "polar_cst_x", "customer_portal_url": "u", "customer_id": CUSTOMER}
        return 201, {}, json.dumps(body)
    if path.endswith("/"):
        body = {"items": [ITEM], "pagination": {"total_count": 1, "max_page": 1}}
    else:
        body = ITEM
    return 200, {"Polar-Version": PINNED_API_VERSION}, json.dumps(body)


def _drive(client: PolarClient) -> None:
    """Every call, with every filter the client offers."""
    ids = [str(uuid.uuid4()), str(uuid.uuid4())]
    client.list_orders(
        organization_id=ORG,
        product_id=ids,
        customer_id=CUSTOMER,
        external_customer_id=["42", "shop-user-7"],
        checkout_id=ids[0],
        subscription_id=ids,
        discount_id=ids[1],
        status=["paid", "refunded"],
        product_billing_type="recurring",
        sorting=["-created_at", "status"],
        page=3,
        limit=100,
    )
    list(client.iter_orders(customer_id=CUSTOMER))
    client.get_order(ids[0])
    client.list_subscriptions(
        organization_id=[ORG],
        product_id=PRODUCT,
        customer_id=CUSTOMER,
        external_customer_id="42",
        discount_id=ids,
        status=["active", "past_due", "trialing"],
        active=True,
        cancel_at_period_end=False,
        sorting=["-started_at", "current_period_end"],
    )
    list(client.iter_subscriptions(external_customer_id="42"))
    client.get_subscription(ids[1])
    client.list_customers(
        organization_id=ORG,
        email="ada@example.com",
        query="ada",
        active=True,
        sorting=["-created_at", "email"],
    )
    list(client.iter_customers(organization_id=ORG))
    client.get_customer(CUSTOMER)
    client.get_customer_by_external_id("shop-user-7")
    client.create_customer_session(
        external_customer_id="42", return_url="https://shop.example.com/account/"
    )
    client.create_customer_session(customer_id=CUSTOMER)


def test_every_request_matches_the_spec_and_every_operation_is_offered():
    spec = Spec(SPEC)
    assert spec.version == PINNED_API_VERSION
    client = PolarClient(TOKEN, server="sandbox")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        for method in (responses.GET, responses.POST):
            mocked.add_callback(method, re.compile(re.escape(BASE) + ".*"), _answer)
        _drive(client)
        calls = list(mocked.calls)

    covered: set[str] = set()
    failures: list[str] = []
    for call in calls:
        request = call.request
        operation_id, problems = spec.problems(request)
        covered.add(operation_id)
        failures += [f"{request.method} {request.url}: {p}" for p in problems]
        if request.headers.get("Polar-Version") != PINNED_API_VERSION:
            failures.append(f"{operation_id}: Polar-Version {request.headers.get('Polar-Version')}")
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            failures.append(f"{operation_id}: no bearer token")
    assert failures == []
    assert covered == {op["operationId"] for _, _, _, op in spec.operations}


def test_the_check_sees_a_body_with_both_customer_keys_or_an_unknown_filter():
    """The checker is real for these routes: a body the spec refuses, an undeclared filter."""
    import requests

    spec = Spec(SPEC)
    request = requests.PreparedRequest()
    request.prepare(
        method="POST",
        url=f"{BASE}/v1/customer-sessions/",
        json={"external_customer_id": "42", "portal": True},
    )
    _, problems = spec.problems(request)
    assert problems
    request.prepare(method="GET", url=f"{BASE}/v1/subscriptions/?user_id=1")
    _, problems = spec.problems(request)
    assert any("user_id" in p for p in problems)
