"""The fake's 401s and 422s (Polar's exact shapes), and list filters, sorting and pages."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polar_checkouts.client import PolarClient
from polar_checkouts.exceptions import AuthenticationError
from polar_checkouts.testing import (
    ORGANIZATION_ID,
    PRODUCT_FREE_ID,
    PRODUCT_ONE_TIME_ID,
    PRODUCT_PWYW_ID,
    PRODUCT_SUBSCRIPTION_ID,
    FakePolar,
)

AUTH = {"Authorization": "Bearer polar_oat_anything"}
UNKNOWN = "8d6a4c1e-0b2f-4a3d-9e8f-7a6b5c4d3e2f"


def call(fake, method, path, body=None, *, query="", auth=True, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    return fake.handle(method, path, query, AUTH if auth else {}, data)


def detail(response, status=422):
    assert response.status == status, response.body
    payload = response.json()
    assert payload["error"] in ("RequestValidationError", "PolarRequestValidationError")
    for item in payload["detail"]:
        assert set(item) >= {"loc", "msg", "type", "input"}
    return payload["detail"]


def locs(response):
    return [(tuple(d["loc"]), d["type"]) for d in detail(response)]


# -- 401 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/checkouts/"),
        ("POST", "/v1/checkouts/"),
        ("GET", f"/v1/checkouts/{UNKNOWN}"),
        ("PATCH", f"/v1/checkouts/custom/{UNKNOWN}"),
        ("GET", "/v1/products/"),
        ("GET", f"/v1/products/{PRODUCT_ONE_TIME_ID}"),
    ],
)
@pytest.mark.parametrize("authorization", [None, "Bearer ", "Basic abc", "polar_oat_x"])
def test_server_routes_need_a_bearer_token(fake, method, path, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = fake.handle(method, path, "", headers, b"{}")
    assert response.status == 401
    assert response.json() == {"error": "Unauthorized", "detail": "Unauthorized"}
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert fake.checkouts() == []


def test_any_bearer_token_works_and_client_routes_ignore_it(fake):
    created = call(fake, "POST", "/v1/checkouts/", {"product_id": PRODUCT_FREE_ID})
    assert created.status == 201
    secret = created.json()["client_secret"]
    assert call(fake, "GET", f"/v1/checkouts/client/{secret}", auth=False).status == 200
    assert call(fake, "GET", f"/v1/checkouts/client/{secret}").status == 200


def test_client_without_token_gets_an_authentication_error(polar_fake):
    with pytest.raises(AuthenticationError, match="POLAR_ACCESS_TOKEN"):
        PolarClient(None, max_retries=0).list()


# -- 422 on create -----------------------------------------------------------------------


def test_create_without_product_reports_both_union_branches(fake):
    assert locs(call(fake, "POST", "/v1/checkouts/", {})) == [
        (("body", "CheckoutProductCreate", "product_id"), "missing"),
        (("body", "CheckoutPriceCreate", "product_price_id"), "missing"),
    ]


@pytest.mark.parametrize("key", ["product_id", "product_price_id"])
def test_bad_and_unknown_product_ids(fake, key):
    assert locs(call(fake, "POST", "/v1/checkouts/", {key: "nope"})) == [
        (("body", key), "uuid_parsing")
    ]
    (error,) = detail(call(fake, "POST", "/v1/checkouts/", {key: UNKNOWN}))
    assert error["msg"] in ("Product does not exist.", "Price does not exist.")
    assert error["input"] == UNKNOWN


def test_schema_errors_come_first_and_alone_then_the_service_s_rules(fake):
    # FastAPI rejects the shape before Polar's service looks anything up.
    schema = call(fake, "POST", "/v1/checkouts/", {"product_id": UNKNOWN, "customer_email": "x"})
    assert schema.json()["error"] == "RequestValidationError"
    assert [d["loc"] for d in schema.json()["detail"]] == [["body", "customer_email"]]
    business = call(fake, "POST", "/v1/checkouts/", {"product_id": UNKNOWN})
    assert business.json()["error"] == "PolarRequestValidationError"
    assert business.json()["detail"][0]["msg"] == "Product does not exist."


def test_bad_path_id_is_a_422_on_path(fake):
    for method in ("GET", "PATCH"):
        assert locs(call(fake, method, "/v1/checkouts/123", {})) == [
            (("path", "id"), "uuid_parsing")
        ]
    assert locs(call(fake, "GET", "/v1/products/123")) == [(("path", "id"), "uuid_parsing")]


def test_custom_without_slash_is_the_checkout_named_custom(fake):
    # Today's Polar routes /v1/checkouts/custom to /v1/checkouts/{id}: an invalid UUID.
    assert locs(call(fake, "GET", "/v1/checkouts/custom")) == [(("path", "id"), "uuid_parsing")]
    redirect = call(fake, "GET", "/v1/checkouts")
    assert (redirect.status, redirect.headers["location"]) == (307, "/v1/checkouts/")


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "a b@example.com", 42])
def test_bad_email(fake, email):
    response = call(
        fake, "POST", "/v1/checkouts/", {"product_id": PRODUCT_FREE_ID, "customer_email": email}
    )
    ((loc, _type),) = locs(response)
    assert loc == ("body", "customer_email")


def test_metadata_limits(fake):
    too_many = {f"k{i}": "v" for i in range(51)}
    (error,) = detail(
        call(fake, "POST", "/v1/checkouts/", {"product_id": PRODUCT_FREE_ID, "metadata": too_many})
    )
    assert (error["loc"], error["type"]) == (["body", "metadata"], "too_long")
    fifty = {f"k{i}": i for i in range(50)}
    ok = call(fake, "POST", "/v1/checkouts/", {"product_id": PRODUCT_FREE_ID, "metadata": fifty})
    assert ok.status == 201
    assert ok.json()["metadata"] == fifty
    bad = {"": "x", "k" * 41: "x", "long": "v" * 501, "empty": "", "list": [1], "ok": True}
    response = call(
        fake, "POST", "/v1/checkouts/", {"product_id": PRODUCT_FREE_ID, "metadata": bad}
    )
    assert locs(response) == [
        (("body", "metadata", "", "[key]"), "string_too_short"),
        (("body", "metadata", "k" * 41, "[key]"), "string_too_long"),
        (("body", "metadata", "long", "str"), "string_too_long"),
        (("body", "metadata", "empty", "str"), "string_too_short"),
        (("body", "metadata", "list", "str"), "string_type"),
    ]
    assert fake.checkouts() == [fake.checkouts()[0]]  # only the valid one was created


def test_success_url_limits(fake):
    base = {"product_id": PRODUCT_FREE_ID}
    long_url = "https://shop.example.com/" + "a" * 2060
    assert locs(call(fake, "POST", "/v1/checkouts/", {**base, "success_url": long_url})) == [
        (("body", "success_url"), "url_too_long")
    ]
    assert locs(call(fake, "POST", "/v1/checkouts/", {**base, "success_url": "/relative"})) == [
        (("body", "success_url"), "url_parsing")
    ]


def test_amount_schema_bounds_and_types(fake):
    base = {"product_id": PRODUCT_PWYW_ID}
    assert locs(call(fake, "POST", "/v1/checkouts/", {**base, "amount": 10})) == [
        (("body", "amount"), "greater_than_equal")
    ]
    assert locs(call(fake, "POST", "/v1/checkouts/", {**base, "amount": "lots"})) == [
        (("body", "amount"), "int_type")
    ]


def test_every_problem_is_reported_together(fake):
    response = call(
        fake,
        "POST",
        "/v1/checkouts/",
        {
            "product_id": "x",
            "customer_email": "bad",
            "payment_processor": "paypal",
            "customer_billing_address": {"country": "USA"},
            "customer_ip_address": "300.1.1.1",
            "allow_discount_codes": "yes",
        },
    )
    assert {loc for loc, _ in locs(response)} == {
        ("body", "product_id"),
        ("body", "customer_email"),
        ("body", "payment_processor"),
        ("body", "customer_billing_address", "country"),
        ("body", "customer_ip_address"),
        ("body", "allow_discount_codes"),
    }


def test_tax_id_needs_a_billing_address(fake):
    (error,) = detail(
        call(
            fake,
            "POST",
            "/v1/checkouts/",
            {"product_id": PRODUCT_ONE_TIME_ID, "customer_tax_id": "FR123"},
        )
    )
    assert error["msg"] == "Country is required to validate tax ID."


def test_unknown_customer_and_subscription_are_rejected(fake):
    response = call(
        fake,
        "POST",
        "/v1/checkouts/",
        {"product_id": PRODUCT_ONE_TIME_ID, "customer_id": UNKNOWN, "subscription_id": UNKNOWN},
    )
    assert [d["msg"] for d in detail(response)] == [
        "Customer does not exist.",
        "Subscription does not exist.",
    ]


@pytest.mark.parametrize(
    ("raw", "type_"), [(b"{not json", "json_invalid"), (b"[1]", "model_attributes_type")]
)
def test_bodies_that_are_not_objects(fake, raw, type_):
    (error,) = detail(call(fake, "POST", "/v1/checkouts/", raw=raw))
    assert error["type"] == type_


def test_unknown_keys_are_ignored(fake):
    response = call(
        fake, "POST", "/v1/checkouts/", {"product_id": PRODUCT_FREE_ID, "colour": "red"}
    )
    assert response.status == 201


def test_client_update_cannot_set_server_only_fields(fake):
    checkout = fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    response = call(
        fake,
        "PATCH",
        f"/v1/checkouts/client/{checkout['client_secret']}",
        {"metadata": {"a": "b"}, "success_url": "https://evil.example/"},
        auth=False,
    )
    assert response.status == 200
    after = fake.checkout(checkout["id"])
    assert after["metadata"] == {}
    assert after["success_url"] == checkout["success_url"]


def test_update_validation_errors_leave_the_checkout_unchanged(fake):
    checkout = fake.create_checkout(product_id=PRODUCT_PWYW_ID)
    response = call(
        fake,
        "PATCH",
        f"/v1/checkouts/{checkout['id']}",
        {"customer_name": "Changed", "amount": 1},
    )
    assert response.status == 422
    assert fake.checkout(checkout["id"])["customer_name"] is None


# -- lists ---------------------------------------------------------------------------------


@pytest.fixture
def populated(fake):
    for product in (PRODUCT_ONE_TIME_ID, PRODUCT_FREE_ID, PRODUCT_ONE_TIME_ID):
        fake.create_checkout(product_id=product)
        fake.advance_time(1)
    fake.create_checkout(product_id=PRODUCT_SUBSCRIPTION_ID, customer_email="z@example.com")
    return fake


def listing(fake, query=""):
    response = call(fake, "GET", "/v1/checkouts/", query=query)
    assert response.status == 200, response.body
    return response.json()


def test_list_defaults_to_newest_first_with_pagination(populated):
    page = listing(populated)
    created = [c["created_at"] for c in page["items"]]
    assert created == sorted(created, reverse=True)
    assert page["pagination"] == {"total_count": 4, "max_page": 1}


def test_list_filters_by_repeated_product_ids_and_organization(populated):
    one = listing(populated, f"product_id={PRODUCT_ONE_TIME_ID}")
    assert one["pagination"]["total_count"] == 2
    both = listing(populated, f"product_id={PRODUCT_ONE_TIME_ID}&product_id={PRODUCT_FREE_ID}")
    assert both["pagination"]["total_count"] == 3
    assert listing(populated, f"organization_id={ORGANIZATION_ID}")["pagination"] == {
        "total_count": 4,
        "max_page": 1,
    }
    assert listing(populated, f"organization_id={UNKNOWN}")["pagination"]["total_count"] == 0
    assert listing(populated, "query=Z@EXAMPLE")["pagination"]["total_count"] == 1
    assert listing(populated, "status=open")["pagination"]["total_count"] == 4
    assert listing(populated, "status=expired")["pagination"]["total_count"] == 0


def test_list_sorting(populated):
    ascending = [c["created_at"] for c in listing(populated, "sorting=created_at")["items"]]
    assert ascending == sorted(ascending)
    by_expiry = [c["expires_at"] for c in listing(populated, "sorting=-expires_at")["items"]]
    assert by_expiry == sorted(by_expiry, reverse=True)
    populated.advance_time(3600 * 2)
    populated.create_checkout(product_id=PRODUCT_FREE_ID)
    statuses = [
        c["status"] for c in listing(populated, "sorting=status&sorting=-created_at")["items"]
    ]
    assert statuses == ["expired"] * 4 + ["open"]


def test_list_pages_and_clamps_the_limit(populated):
    first = listing(populated, "limit=3&sorting=created_at")
    second = listing(populated, "limit=3&page=2&sorting=created_at")
    assert first["pagination"] == {"total_count": 4, "max_page": 2}
    assert len(first["items"]) == 3
    assert len(second["items"]) == 1
    assert {c["id"] for c in first["items"]}.isdisjoint({c["id"] for c in second["items"]})
    assert listing(populated, "page=9")["items"] == []
    for _ in range(100):
        populated.create_checkout(product_id=PRODUCT_FREE_ID)
    big = listing(populated, "limit=500")
    assert len(big["items"]) == 100
    assert big["pagination"] == {"total_count": 104, "max_page": 2}


def test_client_iterates_every_page(populated, polar_fake):
    client = PolarClient("t", max_retries=0)
    for _ in range(12):
        polar_fake.create_checkout(product_id=PRODUCT_FREE_ID)
    seen = [c["id"] for c in client.iter_checkouts(limit=5)]
    assert len(seen) == len(set(seen)) == 12


@pytest.mark.parametrize(
    ("query", "loc", "type_"),
    [
        ("page=0", ("query", "page"), "greater_than"),
        ("page=-1", ("query", "page"), "greater_than"),
        ("limit=0", ("query", "limit"), "greater_than"),
        ("page=two", ("query", "page"), "int_parsing"),
        ("sorting=price", ("query", "sorting"), "enum"),
        ("product_id=abc", ("query", "product_id", 0), "uuid_parsing"),
        ("organization_id=abc", ("query", "organization_id", 0), "uuid_parsing"),
        ("status=paid", ("query", "status"), "enum"),
    ],
)
def test_bad_list_parameters(fake, query, loc, type_):
    assert locs(call(fake, "GET", "/v1/checkouts/", query=query)) == [(loc, type_)]


def test_product_list_filters_and_sorting(fake):
    def names(query):
        response = call(fake, "GET", "/v1/products/", query=query)
        assert response.status == 200
        return [p["id"] for p in response.json()["items"]]

    assert names("is_recurring=true") == [PRODUCT_SUBSCRIPTION_ID]
    assert len(names("is_recurring=false")) == 3
    assert names("query=sample") == [PRODUCT_FREE_ID]
    assert names(f"id={PRODUCT_PWYW_ID}") == [PRODUCT_PWYW_ID]
    assert names("sorting=-price_amount")[0] == PRODUCT_ONE_TIME_ID
    assert locs(call(fake, "GET", "/v1/products/", query="is_archived=maybe")) == [
        (("query", "is_archived"), "bool_parsing")
    ]
    assert locs(call(fake, "GET", "/v1/products/", query="sorting=colour")) == [
        (("query", "sorting"), "enum")
    ]


def test_unknown_routes_and_methods(fake):
    assert call(fake, "GET", "/v2/nothing").status == 404
    assert call(fake, "DELETE", "/v1/checkouts/").status == 405
    assert call(fake, "POST", "/v1/checkouts/client/", {}).status == 405
    assert call(fake, "GET", f"/v1/checkouts/{uuid.uuid4()}/extra").status == 404
    index = call(fake, "GET", "/")
    assert index.status == 200
    assert "ctoken_fake_succeeded" in index.json()["confirmation_tokens"]


def test_products_list_variant_of_today_s_polar(fake):
    created = call(
        fake, "POST", "/v1/checkouts/", {"products": [PRODUCT_PWYW_ID, PRODUCT_ONE_TIME_ID]}
    )
    assert created.status == 201
    checkout = created.json()
    assert checkout["product_id"] == PRODUCT_PWYW_ID
    assert [p["id"] for p in checkout["products"]] == [PRODUCT_PWYW_ID, PRODUCT_ONE_TIME_ID]
    assert set(checkout["prices"]) == {PRODUCT_PWYW_ID, PRODUCT_ONE_TIME_ID}
    assert locs(call(fake, "POST", "/v1/checkouts/", {"products": []})) == [
        (("body", "products"), "too_short")
    ]
    assert locs(call(fake, "POST", "/v1/checkouts/", {"products": "x"})) == [
        (("body", "products"), "list_type")
    ]
    (error,) = detail(
        call(fake, "POST", "/v1/checkouts/", {"products": [PRODUCT_FREE_ID, UNKNOWN]})
    )
    assert (error["loc"], error["msg"]) == (["body", "products", 1], "Product does not exist.")
    assert locs(call(fake, "POST", "/v1/checkouts/", {"products": ["nope"]})) == [
        (("body", "products", 0), "uuid_parsing")
    ]


# -- fuzzing: any body gets a Polar-shaped answer, never a crash ----------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**9), max_value=10**9),
    st.text(max_size=30),
    st.sampled_from([PRODUCT_ONE_TIME_ID, PRODUCT_PWYW_ID, UNKNOWN, "WELCOME10", "a@b.co"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
_keys = st.sampled_from(
    [
        "product_id",
        "product_price_id",
        "products",
        "amount",
        "customer_email",
        "customer_name",
        "customer_billing_address",
        "customer_tax_id",
        "metadata",
        "discount_id",
        "discount_code",
        "success_url",
        "allow_discount_codes",
        "confirmation_token_id",
        "custom_field_data",
        "customer_ip_address",
    ]
)
_bodies = st.dictionaries(_keys, _values, max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    create=_bodies,
    update=_bodies,
    operation=st.sampled_from(["update", "client_update", "client_confirm"]),
)
def test_arbitrary_bodies_get_polar_shaped_answers(create, update, operation):
    fake = FakePolar()
    created = call(fake, "POST", "/v1/checkouts/", {"product_id": PRODUCT_PWYW_ID, **create})
    assert created.status in (201, 422)
    if created.status == 422:
        assert fake.checkouts() == []
        return
    checkout = created.json()
    path = {
        "update": ("PATCH", f"/v1/checkouts/{checkout['id']}"),
        "client_update": ("PATCH", f"/v1/checkouts/client/{checkout['client_secret']}"),
        "client_confirm": ("POST", f"/v1/checkouts/client/{checkout['client_secret']}/confirm"),
    }[operation]
    before = fake.checkout(checkout["id"])
    response = call(fake, *path, update)
    assert response.status in (200, 400, 422)
    if response.status != 200:
        assert fake.checkout(checkout["id"]) == before  # nothing half-written


# -- the product list's visibility and benefit_id (Polar's list queries) ------------------


@pytest.mark.parametrize("value", ["false", "", "PUBLIC", "archived"])
def test_product_list_rejects_an_unknown_visibility(fake, value):
    response = call(fake, "GET", "/v1/products/", query=f"visibility=public&visibility={value}")
    assert locs(response) == [(("query", "visibility", 1), "enum")]
    assert detail(response)[0]["input"] == value


def test_product_list_filters_by_visibility(fake):
    for query, count in (("visibility=public", 4), ("visibility=draft&visibility=private", 0)):
        response = call(fake, "GET", "/v1/products/", query=query)
        assert response.status == 200, response.body
        assert len(response.json()["items"]) == count


@pytest.mark.parametrize("value", ["nope", "", "1234"])
def test_product_list_rejects_a_benefit_id_that_is_not_a_uuid(fake, value):
    response = call(fake, "GET", "/v1/products/", query=f"benefit_id={UNKNOWN}&benefit_id={value}")
    assert locs(response) == [(("query", "benefit_id", 1), "uuid_parsing")]


def test_product_list_by_benefit_finds_none_the_fake_grants_none(fake):
    response = call(fake, "GET", "/v1/products/", query=f"benefit_id={UNKNOWN}")
    assert response.status == 200, response.body
    assert response.json()["items"] == []


# -- create: the dated versions' seats and ad-hoc prices ----------------------------------

P1, P2 = PRODUCT_ONE_TIME_ID, PRODUCT_SUBSCRIPTION_ID
FIXED = {"amount_type": "fixed", "price_amount": 1000}


def create(fake, body, version="2026-10", path="/v1/checkouts/"):
    headers = {**AUTH, **({"Polar-Version": version} if version else {})}
    return fake.handle("POST", path, "", headers, json.dumps(body).encode())


@pytest.mark.parametrize("version", ["2026-04", "2026-10", None])
@pytest.mark.parametrize("name", ["seats", "min_seats", "max_seats"])
@pytest.mark.parametrize(
    ("value", "error"),
    [(0, "greater_than_equal"), (10_001, "less_than_equal"), ("2", "int_type"), (True, "int_type")],
)
def test_create_bounds_the_seat_fields(fake, version, name, value, error):
    response = create(fake, {"products": [P1], name: value}, version)
    assert locs(response) == [(("body", name), error)]


@pytest.mark.parametrize(
    ("seats", "message"),
    [
        ({"min_seats": 3, "max_seats": 2}, "min_seats must be less than or equal to max_seats"),
        ({"seats": 1, "min_seats": 2}, "seats must be greater than or equal to min_seats"),
        ({"seats": 9, "max_seats": 8}, "seats must be less than or equal to max_seats"),
    ],
)
def test_create_keeps_the_seat_fields_in_order(fake, seats, message):
    response = create(fake, {"products": [P1], **seats})
    assert detail(response) == [
        {
            "loc": ["body"],
            "msg": f"Value error, {message}",
            "type": "value_error",
            "input": {"products": [P1], **seats},
        }
    ]


def test_create_accepts_seats_in_range_and_nulls(fake):
    body = {"products": [P1], "seats": 5, "min_seats": 1, "max_seats": 10_000}
    assert create(fake, body).status == 201
    nulls = {"products": [P1], "seats": None, "min_seats": None, "max_seats": None}
    assert create(fake, {**nulls, "prices": None}).status == 201


def test_create_rejects_a_product_twice(fake):
    assert locs(create(fake, {"products": [P1, P1]})) == [(("body", "products"), "value_error")]


@pytest.mark.parametrize(
    "prices",
    [
        {},
        {P1: [FIXED]},
        {P1: [{"amount_type": "custom"}], P2: [FIXED]},
        {
            P1: [
                {**FIXED, "price_currency": "eur", "tax_behavior": None},
                {
                    "amount_type": "seat_based",
                    "seat_tiers": {"tiers": [{"min_seats": 1, "price_per_seat": 500}]},
                },
                {"amount_type": "metered_unit", "meter_id": UNKNOWN, "unit_amount": "0.5"},
                {"amount_type": "metered_unit", "meter_id": UNKNOWN, "unit_amount": 2},
            ]
        },
    ],
)
def test_create_accepts_ad_hoc_prices_for_its_products(fake, prices):
    assert create(fake, {"products": [P1, P2], "prices": prices}).status == 201


@pytest.mark.parametrize(
    ("prices", "expected"),
    [
        ([FIXED], [(("body", "prices"), "dict_type")]),
        ({"nope": [FIXED]}, [(("body", "prices", "nope", "[key]"), "uuid_parsing")]),
        ({P1: []}, [(("body", "prices", P1), "too_short")]),
        ({P1: FIXED}, [(("body", "prices", P1), "list_type")]),
        ({P1: ["fixed"]}, [(("body", "prices", P1, 0), "model_attributes_type")]),
        ({P1: [{"price_amount": 1}]}, [(("body", "prices", P1, 0), "union_tag_not_found")]),
        ({P1: [{"amount_type": "free"}]}, [(("body", "prices", P1, 0), "union_tag_invalid")]),
        (
            {P1: [{"amount_type": "fixed"}]},
            [(("body", "prices", P1, 0, "fixed", "price_amount"), "missing")],
        ),
        (
            {P1: [{**FIXED, "price_amount": -1, "price_currency": "xyz", "tax_behavior": "x"}]},
            [
                (("body", "prices", P1, 0, "fixed", "price_currency"), "enum"),
                (("body", "prices", P1, 0, "fixed", "tax_behavior"), "enum"),
                (("body", "prices", P1, 0, "fixed", "price_amount"), "greater_than_equal"),
            ],
        ),
        (
            {P1: [{"amount_type": "custom", "maximum_amount": 0, "preset_amount": "1"}]},
            [
                (("body", "prices", P1, 0, "custom", "maximum_amount"), "greater_than_equal"),
                (("body", "prices", P1, 0, "custom", "preset_amount"), "int_type"),
            ],
        ),
        (
            {P1: [{"amount_type": "seat_based", "seat_tiers": {"tiers": [{"min_seats": 0}]}}]},
            [
                (
                    ("body", "prices", P1, 0, "seat_based", "seat_tiers", "tiers", 0, "min_seats"),
                    "greater_than_equal",
                ),
                (
                    (
                        "body",
                        "prices",
                        P1,
                        0,
                        "seat_based",
                        "seat_tiers",
                        "tiers",
                        0,
                        "price_per_seat",
                    ),
                    "missing",
                ),
            ],
        ),
        (
            {
                P1: [
                    {
                        "amount_type": "metered_unit",
                        "meter_id": "m",
                        "unit_amount": "+",
                        "cap_amount": -1,
                    }
                ]
            },
            [
                (("body", "prices", P1, 0, "metered_unit", "meter_id"), "uuid_parsing"),
                (("body", "prices", P1, 0, "metered_unit", "unit_amount"), "decimal_parsing"),
                (("body", "prices", P1, 0, "metered_unit", "cap_amount"), "greater_than_equal"),
            ],
        ),
        (
            {P1: [{"amount_type": "metered_unit", "meter_id": UNKNOWN, "unit_amount": 0}]},
            [(("body", "prices", P1, 0, "metered_unit", "unit_amount"), "greater_than")],
        ),
    ],
)
def test_create_validates_ad_hoc_prices(fake, prices, expected):
    assert locs(create(fake, {"products": [P1], "prices": prices})) == expected


def test_create_rejects_prices_for_a_product_not_on_the_checkout(fake):
    response = create(fake, {"products": [P1], "prices": {P2: [FIXED]}})
    assert response.json()["error"] == "PolarRequestValidationError"
    assert locs(response) == [(("body", "prices", P2), "value_error")]


def test_the_seed_era_create_ignores_the_dated_fields(fake):
    body = {
        "product_id": P1,
        "payment_processor": "stripe",
        "min_seats": 0,
        "prices": {"nope": []},
    }
    assert create(fake, body, None, "/v1/checkouts/custom/").status == 201
