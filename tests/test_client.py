"""The Polar client's exact HTTP exchange, checked with ``responses``."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
import responses
import urllib3
from responses import matchers

from polar_checkouts import __version__
from polar_checkouts.client import (
    FAKE_BASE_URL,
    Page,
    PolarClient,
    PolarRetry,
    get_client,
    resolve_server,
)
from polar_checkouts.exceptions import (
    APIVersionError,
    AuthenticationError,
    ExpiredCheckoutError,
    ForbiddenError,
    InvalidResponseError,
    NotFoundError,
    NotOpenCheckoutError,
    PaymentError,
    PolarAPIError,
    PolarConnectionError,
    PolarTimeoutError,
    PolarValidationError,
    RateLimitError,
    ServerError,
)

TOKEN = "polar_oat_secret_token_abc123"
BASE = "https://sandbox-api.polar.sh"
CID = "0b6bd3fa-5d0c-4c57-9a9d-4b0c7c7a3f1e"
SECRET = "polar_c_2bXoKlvqvS0yGx3xQ1pLmNo"
PRODUCT_ID = "6d2a8e4b-1f3c-4b5d-8e7f-9a0b1c2d3e4f"


def checkout(**overrides):
    """A checkout as today's Polar returns it: nulls where Polar allows them, extra keys."""
    data = {
        "id": CID,
        "created_at": "2026-11-24T10:00:00Z",
        "modified_at": None,
        "status": "open",
        "client_secret": SECRET,
        "url": f"https://sandbox.polar.sh/checkout/{SECRET}",
        "expires_at": "2026-11-25T10:00:00Z",
        "amount": 1900,
        "currency": "usd",
        "total_amount": 1900,
        "product": None,
        "product_price": None,
        "product_id": None,
        "metadata": {},
        "a_key_from_the_future": {"nested": [1, 2, 3]},
    }
    data.update(overrides)
    return data


def listing(items, total_count, max_page):
    return {"items": items, "pagination": {"total_count": total_count, "max_page": max_page}}


@pytest.fixture
def client():
    return PolarClient(TOKEN, server="sandbox", max_retries=3)


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


# -- servers and paths ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "base"),
    [
        ("production", "https://api.polar.sh"),
        ("sandbox", "https://sandbox-api.polar.sh"),
        ("fake", FAKE_BASE_URL),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://127.0.0.1:8765/", "http://127.0.0.1:8765"),
    ],
)
def test_resolve_server(server, base):
    assert resolve_server(server) == base


@pytest.mark.parametrize("server", ["prod", "", "ftp://x", "api.polar.sh", "http://x/?a=1"])
def test_resolve_server_rejects_nonsense(server):
    with pytest.raises(ValueError, match="Unknown Polar server"):
        resolve_server(server)


def test_client_rejects_bad_options():
    with pytest.raises(ValueError, match="checkout_path"):
        PolarClient(TOKEN, checkout_path="/v1/checkouts")
    with pytest.raises(ValueError, match="max_retries"):
        PolarClient(TOKEN, max_retries=-1)


CHECKOUT_PATHS = ["/v1/checkouts/", "/v1/checkouts/custom/"]


#: (checkout path, API version, the create body for {"product_id": P, "metadata": …}).
CREATE_BODIES = [
    ("/v1/checkouts/", "2026-10", {"products": [PRODUCT_ID], "metadata": {"o": 7}}),
    ("/v1/checkouts/custom/", "2026-10", {"products": [PRODUCT_ID], "metadata": {"o": 7}}),
    (
        "/v1/checkouts/custom/",
        None,  # the seed era
        {"product_id": PRODUCT_ID, "payment_processor": "stripe", "metadata": {"o": 7}},
    ),
]


@pytest.mark.parametrize(("path", "version", "create_body"), CREATE_BODIES)
def test_server_routes_send_exact_paths_and_bearer_token(mocked, path, version, create_body):
    client = PolarClient(TOKEN, server="sandbox", checkout_path=path, api_version=version)
    auth = matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"})
    mocked.get(f"{BASE}{path}{CID}", json=checkout(), match=[auth])
    mocked.patch(
        f"{BASE}{path}{CID}",
        json=checkout(customer_email="a@b.co"),
        match=[auth, matchers.json_params_matcher({"customer_email": "a@b.co"})],
    )
    mocked.post(
        f"{BASE}{path}",
        status=201,
        json=checkout(),
        match=[auth, matchers.json_params_matcher(create_body)],
    )
    mocked.get(f"{BASE}{path}", json=listing([checkout()], 1, 1), match=[auth])

    assert client.get(CID)["id"] == CID
    assert client.update(CID, {"customer_email": "a@b.co"})["customer_email"] == "a@b.co"
    assert client.create({"product_id": PRODUCT_ID, "metadata": {"o": 7}})["status"] == "open"
    assert client.list().items[0]["id"] == CID
    for call in mocked.calls:
        assert call.request.headers["User-Agent"] == f"django-polar-checkouts/{__version__}"
        assert call.request.headers["Accept"] == "application/json"
        assert call.request.headers.get("Polar-Version") == version


@pytest.mark.parametrize("path", CHECKOUT_PATHS)
def test_client_routes_send_no_authorization_header(mocked, path):
    client = PolarClient(TOKEN, server="sandbox", checkout_path=path)
    url = f"{BASE}{path}client/{SECRET}"
    mocked.get(url, json=checkout())
    mocked.patch(
        url,
        json=checkout(customer_name="Ada"),
        match=[matchers.json_params_matcher({"customer_name": "Ada"})],
    )
    mocked.post(
        url + "/confirm",
        json=checkout(status="confirmed", customer_session_token="polar_cst_x"),
        match=[matchers.json_params_matcher({"confirmation_token_id": "ctoken_1"})],
    )

    assert client.client_get(SECRET)["client_secret"] == SECRET
    assert client.client_update(SECRET, {"customer_name": "Ada"})["customer_name"] == "Ada"
    confirmed = client.client_confirm(SECRET, {"confirmation_token_id": "ctoken_1"})
    assert confirmed["status"] == "confirmed"
    assert len(mocked.calls) == 3
    for call in mocked.calls:
        assert "Authorization" not in call.request.headers


def test_json_body_is_compact_utf8_with_content_type(mocked, client):
    mocked.patch(f"{BASE}/v1/checkouts/{CID}", json=checkout())
    client.update(CID, {"customer_name": "Zoë Ångström"})
    request = mocked.calls[0].request
    assert request.headers["Content-Type"] == "application/json"
    assert request.body == '{"customer_name":"Zoë Ångström"}'.encode()
    assert request.headers["Content-Length"] == str(len(request.body))


def test_create_keeps_an_explicit_payment_processor_and_does_not_mutate_input(mocked):
    # The seed era requires payment_processor; the client fills it in there.
    client = PolarClient(TOKEN, checkout_path="/v1/checkouts/custom/", api_version=None)
    mocked.post(f"{BASE}/v1/checkouts/custom/", status=201, json=checkout())
    data = {"product_price_id": PRODUCT_ID}
    client.create(data)
    assert data == {"product_price_id": PRODUCT_ID}
    assert json.loads(mocked.calls[0].request.body)["payment_processor"] == "stripe"


@pytest.mark.parametrize("secret", ["polar_c_a/b", "polar_c_x?y=1", "polar_c_%2e"])
def test_ids_and_secrets_are_one_quoted_path_segment(mocked, client, secret):
    mocked.get(f"{BASE}/v1/checkouts/client/{quote(secret, safe='')}", json=checkout())
    client.client_get(secret)
    assert urlsplit(mocked.calls[0].request.url).query == ""


@pytest.mark.parametrize("bad", ["", ".", ".."])
def test_empty_or_dot_segments_are_refused_without_a_request(client, bad):
    with pytest.raises(ValueError, match="Invalid"):
        client.get(bad)
    with pytest.raises(ValueError, match="Invalid"):
        client.client_confirm(bad, {})


def test_products(mocked, client):
    product = {"id": PRODUCT_ID, "name": "Book", "prices": [], "new_key": 1}
    mocked.get(f"{BASE}/v1/products/{PRODUCT_ID}", json=product)
    mocked.get(
        f"{BASE}/v1/products/",
        json=listing([product], 1, 1),
        match=[
            matchers.query_param_matcher(
                {"organization_id": "org-1", "is_archived": "false", "page": "1", "limit": "10"}
            )
        ],
    )
    assert client.get_product(PRODUCT_ID)["name"] == "Book"
    assert [p["id"] for p in client.list_products(organization_id="org-1", is_archived=False)] == [
        PRODUCT_ID
    ]


# -- the API version ----------------------------------------------------------------------


def _every_operation(mocked, path="/v1/checkouts/", answered=None):
    """Mock the seven checkout calls and the two product calls; return a caller of all nine."""
    headers = {"Polar-Version": answered} if answered else {}
    product = {"id": PRODUCT_ID, "prices": []}
    url = f"{BASE}{path}"
    mocked.get(url, json=listing([checkout()], 1, 1), headers=headers)
    mocked.post(url, status=201, json=checkout(), headers=headers)
    mocked.get(f"{url}{CID}", json=checkout(), headers=headers)
    mocked.patch(f"{url}{CID}", json=checkout(), headers=headers)
    mocked.get(f"{url}client/{SECRET}", json=checkout(), headers=headers)
    mocked.patch(f"{url}client/{SECRET}", json=checkout(), headers=headers)
    mocked.post(f"{url}client/{SECRET}/confirm", json=checkout(), headers=headers)
    mocked.get(f"{BASE}/v1/products/", json=listing([product], 1, 1), headers=headers)
    mocked.get(f"{BASE}/v1/products/{PRODUCT_ID}", json=product, headers=headers)

    def call_all(client):
        client.list()
        client.create({"products": [PRODUCT_ID]})
        client.get(CID)
        client.update(CID, {"customer_name": "Ada"})
        client.client_get(SECRET)
        client.client_update(SECRET, {"customer_name": "Ada"})
        client.client_confirm(SECRET, {"confirmation_token_id": "ctoken_1"})
        client.list_products()
        client.get_product(PRODUCT_ID)

    return call_all


@pytest.mark.parametrize("version", ["2026-10", "2026-04"])
def test_every_call_sends_the_api_version(mocked, version):
    call_all = _every_operation(mocked, answered=version)
    kwargs = {} if version == "2026-10" else {"api_version": version}
    client = PolarClient(TOKEN, **kwargs)  # built directly: 2026-10 unless told otherwise
    call_all(client)
    assert len(mocked.calls) == 9
    for call in mocked.calls:
        assert call.request.headers["Polar-Version"] == version, call.request.url
    assert client.answered_api_version == version


def test_no_api_version_sends_no_header(mocked):
    call_all = _every_operation(mocked, path="/v1/checkouts/custom/")
    client = PolarClient(TOKEN, checkout_path="/v1/checkouts/custom/", api_version=None)
    call_all(client)
    assert len(mocked.calls) == 9
    for call in mocked.calls:
        assert "Polar-Version" not in call.request.headers, call.request.url
    assert client.answered_api_version is None


@pytest.mark.parametrize("version", ["", "2026-1", "2026-10-01", "latest", " 2026-10", 202610])
def test_a_malformed_api_version_is_refused_before_any_request(version):
    with pytest.raises(ValueError, match="Invalid Polar API version"):
        PolarClient(TOKEN, api_version=version)


def test_an_answered_version_that_differs_is_logged_once(mocked, caplog):
    call_all = _every_operation(mocked, answered="2026-04")
    client = PolarClient(TOKEN)
    with caplog.at_level(logging.WARNING, logger="polar_checkouts"):
        call_all(client)
        client.get(CID)
    warnings = [r for r in caplog.records if r.name == "polar_checkouts"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "'2026-04'" in warnings[0].getMessage()
    assert "'2026-10'" in warnings[0].getMessage()
    assert "POLAR_API_VERSION" in warnings[0].getMessage()
    assert client.answered_api_version == "2026-04"
    # Each client warns once: a new one warns again.
    with caplog.at_level(logging.WARNING, logger="polar_checkouts"):
        PolarClient(TOKEN).get(CID)
    assert len([r for r in caplog.records if r.name == "polar_checkouts"]) == 2


def test_an_answered_version_that_matches_is_not_logged(mocked, caplog):
    call_all = _every_operation(mocked, answered="2026-10")
    with caplog.at_level(logging.WARNING, logger="polar_checkouts"):
        call_all(PolarClient(TOKEN))
    assert [r for r in caplog.records if r.name == "polar_checkouts"] == []


def test_an_unknown_version_is_an_api_version_error_naming_the_setting(mocked):
    # Polar's answer to a version it does not serve: a bare 404, no Polar-Version header.
    mocked.get(f"{BASE}/v1/checkouts/{CID}", status=404, json={"detail": "Not Found"})
    mocked.get(f"{BASE}/v1/checkouts/client/{SECRET}", status=404, json={"detail": "Not Found"})
    client = PolarClient(TOKEN, api_version="2031-01")
    for call in (lambda: client.get(CID), lambda: client.client_get(SECRET)):
        with pytest.raises(APIVersionError) as info:
            call()
        error = info.value
        assert isinstance(error, PolarAPIError)
        assert not isinstance(error, NotFoundError)
        assert error.status_code == 404
        assert error.api_version == "2031-01"
        assert "POLAR_API_VERSION" in str(error)
        assert "'2031-01'" in str(error)
        assert SECRET not in str(error)
    assert len(mocked.calls) == 2  # a 404 is not retried


def test_a_404_that_carries_the_version_is_not_found(mocked):
    mocked.get(
        f"{BASE}/v1/checkouts/{CID}",
        status=404,
        json={"error": "ResourceNotFound", "detail": "Not found"},
        headers={"Polar-Version": "2026-10"},
    )
    with pytest.raises(NotFoundError) as info:
        PolarClient(TOKEN).get(CID)
    assert type(info.value) is NotFoundError


def test_a_404_that_names_a_polar_error_was_routed_and_is_not_found(mocked):
    # The unknown-version 404 is Starlette's bare {"detail": "Not Found"}; a body naming
    # a Polar error came from a route, even through something that dropped the header.
    mocked.get(
        f"{BASE}/v1/checkouts/{CID}",
        status=404,
        json={"error": "ResourceNotFound", "detail": "Not found"},
    )
    with pytest.raises(NotFoundError) as info:
        PolarClient(TOKEN).get(CID)
    assert type(info.value) is NotFoundError


def test_without_an_api_version_a_bare_404_is_not_found(mocked):
    mocked.get(f"{BASE}/v1/checkouts/{CID}", status=404, json={"detail": "Not Found"})
    with pytest.raises(NotFoundError):
        PolarClient(TOKEN, api_version=None).get(CID)


def test_get_client_passes_the_api_version_setting(settings, mocked):
    settings.POLAR_API_VERSION = "2026-04"
    client = get_client()
    assert client.api_version == "2026-04"
    assert get_client() is client
    settings.POLAR_API_VERSION = None
    unversioned = get_client()
    assert unversioned is not client
    assert unversioned.api_version is None
    del settings.POLAR_API_VERSION
    assert get_client().api_version == "2026-10"
    mocked.get(f"{BASE}/v1/checkouts/{CID}", json=checkout())
    get_client().get(CID)
    assert mocked.calls[0].request.headers["Polar-Version"] == "2026-10"


# -- the create body per API version ---------------------------------------------------------


def test_create_body_on_dated_versions_lists_products():
    client = PolarClient(TOKEN)
    assert client.create_body({"product_id": PRODUCT_ID, "amount": 500}) == {
        "products": [PRODUCT_ID],
        "amount": 500,
    }
    prices = {PRODUCT_ID: [{"amount_type": "custom", "minimum_amount": 0}]}
    assert client.create_body({"products": (PRODUCT_ID, CID), "prices": prices}) == {
        "products": [PRODUCT_ID, CID],
        "prices": prices,
    }
    with pytest.raises(ValueError, match="not both"):
        client.create_body({"products": [PRODUCT_ID], "product_id": CID})
    with pytest.raises(ValueError, match="non-empty list"):
        client.create_body({"products": []})
    with pytest.raises(ValueError, match="non-empty list"):
        client.create_body({"products": PRODUCT_ID})


def test_create_body_in_the_seed_era_has_product_id_and_payment_processor():
    client = PolarClient(TOKEN, checkout_path="/v1/checkouts/custom/", api_version=None)
    assert client.seed_era
    assert client.create_body({"products": [PRODUCT_ID]}) == {
        "product_id": PRODUCT_ID,
        "payment_processor": "stripe",
    }
    with pytest.raises(ValueError, match="one product per checkout"):
        client.create_body({"products": [PRODUCT_ID, CID]})
    with pytest.raises(ValueError, match="Ad-hoc prices"):
        client.create_body(
            {"products": [PRODUCT_ID], "prices": {PRODUCT_ID: [{"amount_type": "custom"}]}}
        )
    # Only the /custom/ path without a version is the seed era.
    assert not PolarClient(TOKEN, checkout_path="/v1/checkouts/custom/").seed_era
    assert not PolarClient(TOKEN, api_version=None).seed_era


# -- listing and pagination ------------------------------------------------------------------


def test_list_sends_repeated_filter_keys_and_sorting(mocked, client):
    mocked.get(f"{BASE}/v1/checkouts/", json=listing([], 0, 0))
    client.list(
        organization_id=["o1", "o2"],
        product_id="p1",
        page=2,
        limit=25,
        sorting=["-created_at", "status"],
        status="succeeded",
    )
    query = parse_qs(urlsplit(mocked.calls[0].request.url).query)
    assert query == {
        "organization_id": ["o1", "o2"],
        "product_id": ["p1"],
        "status": ["succeeded"],
        "sorting": ["-created_at", "status"],
        "page": ["2"],
        "limit": ["25"],
    }


@pytest.mark.parametrize(("limit", "page"), [(0, 1), (101, 1), (10, 0)])
def test_list_rejects_out_of_range_limit_or_page(client, limit, page):
    with pytest.raises(ValueError, match="must be"):
        client.list(limit=limit, page=page)


def test_page_next_walks_pages_and_stops_on_the_last(mocked, client):
    for page, ids in ((1, ["a", "b"]), (2, ["c", "d"]), (3, ["e"])):
        mocked.get(
            f"{BASE}/v1/checkouts/",
            json=listing([checkout(id=i) for i in ids], 5, 3),
            match=[matchers.query_param_matcher({"page": str(page), "limit": "2"})],
        )
    first = client.list(limit=2)
    assert isinstance(first, Page)
    assert (first.page, first.total_count, first.max_page) == (1, 5, 3)
    second = first.next()
    assert second is not None
    third = second.next()
    assert third is not None
    assert [c["id"] for c in third] == ["e"]
    assert third.next() is None
    assert len(mocked.calls) == 3


def test_page_next_is_none_for_an_empty_or_short_page(mocked, client):
    mocked.get(f"{BASE}/v1/checkouts/", json=listing([checkout()], 30, 3))
    assert client.list(limit=10).next() is None  # short page: nothing after it
    assert len(mocked.calls) == 1


def test_iter_checkouts_fetches_pages_of_100_lazily(mocked, client):
    pages = {
        1: [checkout(id=f"a{i}") for i in range(100)],
        2: [checkout(id=f"b{i}") for i in range(100)],
        3: [checkout(id=f"c{i}") for i in range(50)],
    }
    for number, items in pages.items():
        mocked.get(
            f"{BASE}/v1/checkouts/",
            json=listing(items, 250, 3),
            match=[
                matchers.query_param_matcher(
                    {"product_id": "p1", "page": str(number), "limit": "100"}
                )
            ],
        )
    iterator = client.iter_checkouts(product_id="p1")
    assert next(iterator)["id"] == "a0"
    assert len(mocked.calls) == 1  # lazily: only the first page so far
    rest = list(iterator)
    assert len(rest) == 249
    assert rest[-1]["id"] == "c49"
    assert len(mocked.calls) == 3


# -- tolerant parsing and invalid responses ---------------------------------------------------


def test_unknown_keys_and_null_product_are_returned_untouched(mocked, client):
    payload = checkout(product=None, product_price=None, product_id=None, brand_new={"x": 1})
    mocked.get(f"{BASE}/v1/checkouts/{CID}", json=payload)
    assert client.get(CID) == payload


@pytest.mark.parametrize(
    "body",
    [
        "<html><body>Bad gateway</body></html>",
        '{"id": "0b6bd3fa", "status": "op',  # truncated
        "",
        '["a", "list"]',
        '{"id": "x", "status": "open"}',  # required client_secret missing
    ],
)
def test_success_status_with_unexpected_body_is_invalid_response(mocked, client, body):
    mocked.get(f"{BASE}/v1/checkouts/{CID}", body=body, status=200)
    with pytest.raises(InvalidResponseError) as info:
        client.get(CID)
    assert info.value.status_code in (200, None)


@pytest.mark.parametrize(
    "payload",
    [
        {"items": [{"id": "x"}], "pagination": {"total_count": 1, "max_page": 1}},
        {"items": [], "pagination": {"total_count": "many"}},
        {"items": {}, "pagination": {}},
        {"pagination": {"total_count": 0, "max_page": 0}},
    ],
)
def test_list_with_broken_shape_is_invalid_response(mocked, client, payload):
    mocked.get(f"{BASE}/v1/checkouts/", json=payload)
    with pytest.raises(InvalidResponseError):
        client.list()


# -- errors ------------------------------------------------------------------------------------


ERROR_CASES = [
    (
        400,
        {"error": "PaymentError", "detail": "The payment failed: declined."},
        PaymentError,
    ),
    (401, {"error": "Unauthorized", "detail": "Unauthorized"}, AuthenticationError),
    (
        401,
        {"error": "invalid_token", "error_description": "The access token is invalid."},
        AuthenticationError,
    ),
    (
        403,
        {"error": "insufficient_scope", "error_description": "higher privileges"},
        ForbiddenError,
    ),
    (
        403,
        {"error": "NotOpenCheckout", "detail": f"Checkout {CID} is not open: confirmed"},
        NotOpenCheckoutError,
    ),
    (404, {"error": "ResourceNotFound", "detail": "Not found"}, NotFoundError),
    (
        410,
        {"error": "ExpiredCheckoutError", "detail": "This checkout session has expired."},
        ExpiredCheckoutError,
    ),
    (500, {"error": "InternalServerError", "detail": "boom"}, ServerError),
    (418, {"error": "Teapot", "detail": "short and stout"}, PolarAPIError),
]


@pytest.mark.parametrize(("status", "body", "cls"), ERROR_CASES)
def test_each_status_maps_to_its_exception(mocked, client, status, body, cls):
    # Polar's routed answers, errors included, carry the version they were served in.
    mocked.post(
        f"{BASE}/v1/checkouts/client/{SECRET}/confirm",
        status=status,
        json=body,
        headers={"Polar-Version": "2026-10"},
    )
    with pytest.raises(cls) as info:
        client.client_confirm(SECRET, {})
    error = info.value
    assert type(error) is cls
    assert error.status_code == status
    assert error.error == body["error"]
    assert error.detail == body.get("detail", body.get("error_description"))
    assert str(status) in str(error)
    assert SECRET not in str(error)  # the path is masked in the message
    assert "polar_c_…****" in str(error)


def test_validation_error_exposes_the_problems(mocked, client):
    detail = [
        {
            "loc": ["body", "customer_email"],
            "msg": "value is not a valid email address",
            "type": "value_error",
            "input": "nope",
        },
        {"loc": ["body", "amount"], "msg": "Input should be >= 500", "type": "greater_than_equal"},
    ]
    mocked.patch(
        f"{BASE}/v1/checkouts/client/{SECRET}",
        status=422,
        json={"error": "PolarRequestValidationError", "detail": detail},
    )
    with pytest.raises(PolarValidationError) as info:
        client.client_update(SECRET, {"customer_email": "nope"})
    error = info.value
    assert error.errors == detail
    assert error.field_errors() == {
        "customer_email": ["value is not a valid email address"],
        "amount": ["Input should be >= 500"],
    }
    assert "body.customer_email: value is not a valid email address" in str(error)


def test_html_502_from_a_proxy_is_still_a_server_error(mocked, client):
    mocked.post(
        f"{BASE}/v1/checkouts/",
        status=502,
        body="<html><h1>502 Bad Gateway</h1></html>",
        content_type="text/html",
    )
    with pytest.raises(ServerError) as info:
        client.create({"product_id": PRODUCT_ID})
    assert info.value.error is None
    assert "Bad Gateway" in info.value.body


def test_rate_limit_error_carries_retry_after(mocked, client):
    # POST is never retried, so the first 429 reaches the caller.
    mocked.post(f"{BASE}/v1/checkouts/", status=429, body="", headers={"Retry-After": "17"})
    with pytest.raises(RateLimitError) as info:
        client.create({"product_id": PRODUCT_ID})
    assert info.value.retry_after == 17
    assert len(mocked.calls) == 1


def test_401_without_a_configured_token_says_so(mocked):
    mocked.get(
        f"{BASE}/v1/checkouts/{CID}",
        status=401,
        json={"error": "Unauthorized", "detail": "Unauthorized"},
    )
    with pytest.raises(AuthenticationError, match="POLAR_ACCESS_TOKEN"):
        PolarClient(None).get(CID)
    assert "Authorization" not in mocked.calls[0].request.headers


def test_token_never_appears_in_errors_or_repr(mocked, client):
    mocked.get(f"{BASE}/v1/checkouts/{CID}", status=401, json={"error": "invalid_token"})
    with pytest.raises(AuthenticationError) as info:
        client.get(CID)
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(info.value)
    assert TOKEN not in repr(client)


# -- retries ------------------------------------------------------------------------------------


def _status_then_ok(mocked, method, url, statuses, ok_status=200):
    for status in statuses:
        mocked.add(method, url, status=status, body="", headers={"Retry-After": "0"})
    mocked.add(method, url, status=ok_status, json=checkout())


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_get_retries_transient_statuses_then_succeeds(mocked, client, status):
    _status_then_ok(mocked, "GET", f"{BASE}/v1/checkouts/{CID}", [status, status])
    assert client.get(CID)["id"] == CID
    assert len(mocked.calls) == 3


def test_patch_is_retried_too(mocked, client):
    _status_then_ok(mocked, "PATCH", f"{BASE}/v1/checkouts/client/{SECRET}", [503])
    assert client.client_update(SECRET, {"customer_name": "A"})["id"] == CID
    assert len(mocked.calls) == 2


def test_retries_stop_at_max_retries(client):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.get(f"{BASE}/v1/checkouts/{CID}", status=503, body="")
        with pytest.raises(ServerError):
            client.get(CID)
        assert len(mocked.calls) == 1 + 3


def test_max_retries_zero_means_one_attempt():
    with responses.RequestsMock() as mocked:
        mocked.get(f"{BASE}/v1/checkouts/{CID}", status=503, body="")
        with pytest.raises(ServerError):
            PolarClient(TOKEN, max_retries=0).get(CID)
        assert len(mocked.calls) == 1


@pytest.mark.parametrize("status", [500, 501, 400, 404, 422])
def test_other_statuses_are_not_retried(mocked, client, status):
    mocked.get(f"{BASE}/v1/checkouts/{CID}", status=status, json={"detail": "x"})
    with pytest.raises(PolarAPIError):
        client.get(CID)
    assert len(mocked.calls) == 1


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_create_and_confirm_are_never_retried_after_a_response(mocked, client, status):
    mocked.post(f"{BASE}/v1/checkouts/", status=status, body="")
    mocked.post(f"{BASE}/v1/checkouts/client/{SECRET}/confirm", status=status, body="")
    with pytest.raises(PolarAPIError):
        client.create({"product_id": PRODUCT_ID})
    with pytest.raises(PolarAPIError):
        client.client_confirm(SECRET, {"confirmation_token_id": "ctoken_x"})
    assert len(mocked.calls) == 2


def test_a_retry_after_beyond_the_cap_is_not_waited_for(mocked, client):
    mocked.get(f"{BASE}/v1/checkouts/{CID}", status=429, body="", headers={"Retry-After": "1800"})
    with pytest.raises(RateLimitError) as info:
        client.get(CID)
    assert info.value.retry_after == 1800
    assert len(mocked.calls) == 1


def test_retry_policy_honours_and_caps_retry_after():
    retry = PolarClient(TOKEN).retry
    assert isinstance(retry, PolarRetry)

    response = urllib3.HTTPResponse(body=b"", headers={"Retry-After": "3"}, status=429)
    assert retry.get_retry_after(response) == 3
    assert retry.is_retry("GET", 429, has_retry_after=True)
    assert retry.is_retry("PATCH", 503)
    assert not retry.is_retry("POST", 503)
    assert not retry.is_retry("GET", 500)


def test_create_after_a_read_timeout_is_not_repeated(mocked, client):
    mocked.post(f"{BASE}/v1/checkouts/", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(PolarTimeoutError):
        client.create({"product_id": PRODUCT_ID})
    assert len(mocked.calls) == 1


def test_connection_errors_become_polar_connection_error(mocked, client):
    mocked.get(f"{BASE}/v1/checkouts/client/{SECRET}", body=requests.ConnectionError("refused"))
    with pytest.raises(PolarConnectionError) as info:
        client.client_get(SECRET)
    assert SECRET not in str(info.value)


# -- logging, proxies, settings ------------------------------------------------------------------


def test_one_debug_line_per_call_with_masked_secret_and_no_token(mocked, client, caplog):
    mocked.get(f"{BASE}/v1/checkouts/client/{SECRET}", json=checkout())
    mocked.get(f"{BASE}/v1/checkouts/{CID}", json=checkout())
    with caplog.at_level(logging.DEBUG, logger="polar_checkouts"):
        client.client_get(SECRET)
        client.get(CID)
    lines = [r.getMessage() for r in caplog.records if r.name == "polar_checkouts"]
    assert len(lines) == 2
    assert lines[0].startswith("GET /v1/checkouts/client/polar_c_…**** -> 200 in ")
    assert lines[1].startswith(f"GET /v1/checkouts/{CID} -> 200 in ")
    assert not any(SECRET in line or TOKEN in line for line in lines)


def test_proxies_are_resolved_once_at_construction(monkeypatch, mocked):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = PolarClient(TOKEN)
    assert client._send_kwargs["proxies"]["https"] == "http://proxy.internal:3128"

    def _no_env_lookups(*args, **kwargs):
        raise AssertionError("the environment was read during a call")

    monkeypatch.setattr(requests.utils, "get_environ_proxies", _no_env_lookups)
    monkeypatch.setattr(requests.sessions, "get_environ_proxies", _no_env_lookups, raising=False)
    mocked.get(f"{BASE}/v1/checkouts/{CID}", json=checkout())
    client.get(CID)
    assert mocked.calls[0].request.url.endswith(CID)


def test_no_proxy_excludes_the_polar_host(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "sandbox-api.polar.sh")
    assert PolarClient(TOKEN)._send_kwargs["proxies"] == {}


def test_get_client_follows_settings(settings):
    settings.POLAR_ACCESS_TOKEN = "polar_oat_one"
    settings.POLAR_SERVER = "production"
    settings.POLAR_TIMEOUT = [2, 9]
    first = get_client()
    assert get_client() is first
    assert first.base_url == "https://api.polar.sh"
    assert first.timeout == (2.0, 9.0)
    settings.POLAR_CHECKOUT_PATH = "/v1/checkouts/custom/"
    second = get_client()
    assert second is not first
    assert second.checkout_path == "/v1/checkouts/custom/"
    settings.POLAR_ACCESS_TOKEN = "polar_oat_two"
    third = get_client()
    assert third is not second
    assert third._auth_headers["Authorization"] == "Bearer polar_oat_two"


def test_one_client_is_safe_to_share_between_threads(mocked, client, run_in_threads):
    mocked.get(f"{BASE}/v1/checkouts/{CID}", json=checkout())
    results: list[str] = []

    def work():
        for _ in range(20):
            results.append(client.get(CID)["id"])

    errors = run_in_threads(work, 8)
    assert errors == []
    assert results == [CID] * 160
