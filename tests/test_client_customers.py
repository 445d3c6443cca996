"""The client's calls for what comes after a checkout: orders, subscriptions, customers and
customer sessions. The exact HTTP exchange (method, URL, query, headers, body), with
``responses``; that each request is one Polar's 2026-10 spec documents is
``tests/test_client_customers_spec.py``."""

from __future__ import annotations

import json

import pytest
import responses
from responses import matchers

from polar_checkouts import __version__
from polar_checkouts.client import Page, PolarClient
from polar_checkouts.exceptions import (
    InvalidResponseError,
    NotFoundError,
    PolarAPIError,
    PolarValidationError,
)

TOKEN = "polar_oat_customers_token"
BASE = "https://sandbox-api.polar.sh"
ORDER_ID = "5a1f0c9e-3b2d-4e6f-8a7b-9c0d1e2f3a4b"
SUBSCRIPTION_ID = "6b2a1d0f-4c3e-4f70-9b8c-0d1e2f3a4b5c"
CUSTOMER_ID = "7c3b2e1a-5d4f-4a81-8c9d-1e2f3a4b5c6d"
PRODUCT_ID = "6d2a8e4b-1f3c-4b5d-8e7f-9a0b1c2d3e4f"
ORG = "1dbfc517-0bbf-4301-9ba8-555ca42b9737"

HEADERS = {
    "Authorization": f"Bearer {TOKEN}",
    "Polar-Version": "2026-10",
    "Accept": "application/json",
    "User-Agent": f"django-polar-checkouts/{__version__}",
}


def order(**overrides):
    return {"id": ORDER_ID, "status": "paid", "customer_id": CUSTOMER_ID, **overrides}


def subscription(**overrides):
    return {"id": SUBSCRIPTION_ID, "status": "active", "customer_id": CUSTOMER_ID, **overrides}


def customer(**overrides):
    return {"id": CUSTOMER_ID, "external_id": "42", "email": "ada@example.com", **overrides}


def listing(items, total_count, max_page):
    return {"items": items, "pagination": {"total_count": total_count, "max_page": max_page}}


@pytest.fixture
def client():
    return PolarClient(TOKEN, server="sandbox", max_retries=2)


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def _headers_of(call):
    sent = call.request.headers
    for name, value in HEADERS.items():
        assert sent[name] == value, name


def test_list_orders_sends_every_filter_as_polar_names_it(mocked, client):
    mocked.get(
        f"{BASE}/v1/orders/",
        json=listing([order()], 1, 1),
        match=[
            matchers.query_string_matcher(
                f"organization_id={ORG}&product_id={PRODUCT_ID}&product_billing_type=recurring"
                f"&customer_id={CUSTOMER_ID}&external_customer_id=42&external_customer_id=43"
                f"&subscription_id={SUBSCRIPTION_ID}&status=paid&status=partially_refunded"
                "&sorting=-created_at&page=2&limit=50"
            )
        ],
    )
    page = client.list_orders(
        organization_id=ORG,
        product_id=PRODUCT_ID,
        product_billing_type="recurring",
        customer_id=CUSTOMER_ID,
        external_customer_id=["42", "43"],
        subscription_id=SUBSCRIPTION_ID,
        status=["paid", "partially_refunded"],
        sorting="-created_at",
        page=2,
        limit=50,
    )
    assert isinstance(page, Page)
    assert [o["id"] for o in page] == [ORDER_ID]
    (call,) = mocked.calls
    assert call.request.method == "GET"
    assert call.request.body is None
    _headers_of(call)


def test_get_order_subscription_customer_and_by_external_id(mocked, client):
    mocked.get(f"{BASE}/v1/orders/{ORDER_ID}", json=order(new_key=1))
    mocked.get(f"{BASE}/v1/subscriptions/{SUBSCRIPTION_ID}", json=subscription())
    mocked.get(f"{BASE}/v1/customers/{CUSTOMER_ID}", json=customer())
    # An external id is the shop's: any text, one path segment, escaped.
    mocked.get(f"{BASE}/v1/customers/external/user%2F42%20x", json=customer())
    assert client.get_order(ORDER_ID)["new_key"] == 1
    assert client.get_subscription(SUBSCRIPTION_ID)["status"] == "active"
    assert client.get_customer(CUSTOMER_ID)["external_id"] == "42"
    assert client.get_customer_by_external_id("user/42 x")["id"] == CUSTOMER_ID
    for call in mocked.calls:
        assert call.request.method == "GET"
        _headers_of(call)


def test_list_subscriptions_filters_and_booleans(mocked, client):
    mocked.get(
        f"{BASE}/v1/subscriptions/",
        json=listing([subscription()], 1, 1),
        match=[
            matchers.query_string_matcher(
                f"product_id={PRODUCT_ID}&external_customer_id=42&status=active"
                "&status=past_due&active=true&cancel_at_period_end=false&page=1&limit=10"
            )
        ],
    )
    page = client.list_subscriptions(
        product_id=PRODUCT_ID,
        external_customer_id="42",
        status=["active", "past_due"],
        active=True,
        cancel_at_period_end=False,
    )
    assert [s["id"] for s in page] == [SUBSCRIPTION_ID]


def test_list_customers_filters(mocked, client):
    mocked.get(
        f"{BASE}/v1/customers/",
        json=listing([customer()], 1, 1),
        match=[
            matchers.query_string_matcher(
                f"organization_id={ORG}&sorting=email&email=ada%40example.com&query=Ada"
                "&active=false&page=1&limit=10"
            )
        ],
    )
    page = client.list_customers(
        organization_id=ORG, email="ada@example.com", query="Ada", active=False, sorting="email"
    )
    assert page.total_count == 1


@pytest.mark.parametrize(
    ("method", "path", "item"),
    [
        ("iter_orders", "/v1/orders/", order),
        ("iter_subscriptions", "/v1/subscriptions/", subscription),
        ("iter_customers", "/v1/customers/", customer),
    ],
)
def test_iterators_walk_every_page_at_the_largest_size(mocked, client, method, path, item):
    first = [item(id=f"00000000-0000-4000-8000-{i:012d}") for i in range(100)]
    mocked.get(
        f"{BASE}{path}",
        json=listing(first, 101, 2),
        match=[matchers.query_string_matcher(f"customer_id={CUSTOMER_ID}&page=1&limit=100")]
        if method != "iter_customers"
        else [matchers.query_string_matcher("page=1&limit=100")],
    )
    mocked.get(
        f"{BASE}{path}",
        json=listing([item()], 101, 2),
        match=[matchers.query_string_matcher(f"customer_id={CUSTOMER_ID}&page=2&limit=100")]
        if method != "iter_customers"
        else [matchers.query_string_matcher("page=2&limit=100")],
    )
    filters = {"customer_id": CUSTOMER_ID} if method != "iter_customers" else {}
    assert len(list(getattr(client, method)(**filters))) == 101
    assert len(mocked.calls) == 2


def test_create_customer_session_by_external_id(mocked, client):
    session = {
        "id": "8d4c3f2b-6e5a-4b92-9dae-2f3a4b5c6d7e",
        "token": "polar_cst_abc",
        "customer_portal_url": "https://polar.sh/acme/portal?customer_session_token=polar_cst_abc",
        "customer_id": CUSTOMER_ID,
        "return_url": "https://shop.example/account/",
        "customer": customer(),
    }
    mocked.post(
        f"{BASE}/v1/customer-sessions/",
        status=201,
        json=session,
        match=[
            matchers.json_params_matcher(
                {"external_customer_id": "42", "return_url": "https://shop.example/account/"},
                strict_match=True,
            )
        ],
    )
    result = client.create_customer_session(
        external_customer_id="42", return_url="https://shop.example/account/"
    )
    assert result["customer_portal_url"].startswith("https://polar.sh/acme/portal")
    (call,) = mocked.calls
    assert call.request.headers["Content-Type"] == "application/json"
    _headers_of(call)


def test_create_customer_session_by_customer_id_without_return_url(mocked, client):
    mocked.post(
        f"{BASE}/v1/customer-sessions/",
        status=201,
        json={"token": "t", "customer_portal_url": "u", "customer_id": CUSTOMER_ID},
        match=[matchers.json_params_matcher({"customer_id": CUSTOMER_ID}, strict_match=True)],
    )
    assert client.create_customer_session(customer_id=CUSTOMER_ID)["customer_portal_url"] == "u"


@pytest.mark.parametrize("kwargs", [{}, {"customer_id": CUSTOMER_ID, "external_customer_id": "42"}])
def test_create_customer_session_needs_exactly_one_customer(client, kwargs):
    with responses.RequestsMock() as mocked:
        with pytest.raises(ValueError, match="exactly one"):
            client.create_customer_session(**kwargs)
        assert len(mocked.calls) == 0


def test_an_unknown_customer_is_polars_validation_error(mocked, client):
    detail = [
        {
            "loc": ["body", "external_customer_id"],
            "msg": "Customer does not exist.",
            "type": "value_error",
            "input": "nobody",
        }
    ]
    mocked.post(
        f"{BASE}/v1/customer-sessions/",
        status=422,
        json={"error": "PolarRequestValidationError", "detail": detail},
    )
    with pytest.raises(PolarValidationError) as info:
        client.create_customer_session(external_customer_id="nobody")
    assert info.value.status_code == 422
    assert "Customer does not exist." in json.dumps(info.value.errors)


def test_not_found_and_not_the_object_expected(mocked, client):
    mocked.get(
        f"{BASE}/v1/customers/external/nobody",
        status=404,
        json={"error": "ResourceNotFound", "detail": "Not found"},
    )
    mocked.get(f"{BASE}/v1/orders/{ORDER_ID}", json={"id": ORDER_ID})
    with pytest.raises(NotFoundError):
        client.get_customer_by_external_id("nobody")
    with pytest.raises(InvalidResponseError, match="missing: status, customer_id"):
        client.get_order(ORDER_ID)


def test_reads_are_retried_and_the_session_post_is_not(mocked, client):
    url = f"{BASE}/v1/subscriptions/{SUBSCRIPTION_ID}"
    mocked.get(url, status=503, body="", headers={"Retry-After": "0"})
    mocked.get(url, json=subscription())
    mocked.post(f"{BASE}/v1/customer-sessions/", status=503, body="")
    assert client.get_subscription(SUBSCRIPTION_ID)["id"] == SUBSCRIPTION_ID
    with pytest.raises(PolarAPIError):
        client.create_customer_session(external_customer_id="42")
    assert [c.request.method for c in mocked.calls] == ["GET", "GET", "POST"]


@pytest.mark.parametrize("bad", ["", ".", ".."])
def test_ids_that_would_leave_their_path_segment_are_refused(client, bad):
    with responses.RequestsMock() as mocked:
        for call in (
            client.get_order,
            client.get_subscription,
            client.get_customer,
            client.get_customer_by_external_id,
        ):
            with pytest.raises(ValueError, match="Invalid"):
                call(bad)
        assert len(mocked.calls) == 0
