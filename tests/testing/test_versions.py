"""The fake answers as the ``Polar-Version`` asked for, and refuses what Polar refuses.

Every response here is also validated (autouse ``spec_checked``) against the spec of the
version the request asked for, so the shapes below are Polar's, not only these asserts.
"""

from __future__ import annotations

import json

import pytest

from polar_checkouts.testing import (
    API_VERSIONS,
    DEFAULT_API_VERSION,
    PRODUCT_FREE_ID,
    PRODUCT_ONE_TIME_ID,
    PRODUCT_PWYW_ID,
    PRODUCT_SUBSCRIPTION_ID,
    TOKEN_SUCCEEDED,
)

AUTH = {"Authorization": "Bearer polar_oat_test"}
DATED_PATHS = ("/v1/checkouts/", "/v1/checkouts/custom/")
BUYER = {
    "customer_email": "ada@example.com",
    "customer_name": "Ada",
    "customer_billing_address": {"country": "FR"},
    "confirmation_token_id": TOKEN_SUCCEEDED,
}


def call(fake, method, path, body=None, *, version=None, headers=None):
    sent = {**AUTH, **(headers or {})}
    if version is not None:
        sent["Polar-Version"] = version
    data = json.dumps(body).encode() if body is not None else b""
    return fake.handle(method, path, "", sent, data)


def test_the_versions_served_are_polars_and_the_newest_sdks():
    assert API_VERSIONS == ("2026-04", "2026-10", "2027-01")
    assert DEFAULT_API_VERSION == "2026-04"


@pytest.mark.parametrize("version", API_VERSIONS)
@pytest.mark.parametrize("path", ["/v1/products/", "/v1/checkouts/", "/v1/checkouts/custom/"])
def test_every_known_version_is_answered_and_named(fake, version, path):
    response = call(fake, "GET", path, version=version)
    assert response.status == 200
    assert response.headers["Polar-Version"] == version
    assert response.cors


@pytest.mark.parametrize("header", [None, "", "  "])
def test_no_or_an_empty_header_is_polars_default(fake, header):
    headers = {} if header is None else {"Polar-Version": header}
    response = call(fake, "GET", "/v1/products/", headers=headers)
    assert response.status == 200
    assert response.headers["Polar-Version"] == "2026-04"


@pytest.mark.parametrize(
    "header",
    [
        "2025-01",  # well formed, never served
        "2026-13",
        "2026-4",
        "26-04",
        "2026-004",
        "v2026-10",
        "2026-10-01",
        "2026/10",
        "latest",
        "2026-10\n",
        "2026-10x",
    ],
)
@pytest.mark.parametrize("path", ["/v1/products/", "/v1/checkouts/", "/v1/checkouts/custom/"])
def test_an_unknown_or_malformed_version_is_a_bare_404(fake, header, path):
    response = call(fake, "GET", path, headers={"Polar-Version": header})
    assert response.status == 404
    assert response.json() == {"detail": "Not Found"}
    assert "Polar-Version" not in response.headers
    assert not response.cors
    # Nothing was routed: not even a create happens.
    created = call(
        fake, "POST", path, {"products": [PRODUCT_ONE_TIME_ID]}, headers={"Polar-Version": header}
    )
    assert created.status == 404
    assert fake.checkouts() == []


def test_other_digits_naming_a_known_version_are_read_as_polar_reads_them(fake):
    # Polar matches \d (any Unicode digit) and compares int(year), int(month).
    response = call(fake, "GET", "/v1/products/", headers={"Polar-Version": "２０２６-１０"})
    assert response.status == 200
    assert response.headers["Polar-Version"] == "2026-10"


@pytest.mark.parametrize("version", [None, *API_VERSIONS])
def test_errors_redirects_and_405s_carry_the_version_too(fake, version):
    expected = version or "2026-04"
    answers = [
        call(fake, "GET", "/v1/checkouts/", version=version, headers={"Authorization": ""}),
        call(fake, "GET", "/v1/products/0a8c5e7f-0000-4000-8000-000000000000", version=version),
        call(fake, "POST", "/v1/checkouts/", {"products": ["nope"]}, version=version),
        call(fake, "DELETE", "/v1/checkouts/", version=version),
        call(fake, "GET", "/v1/products", version=version),
    ]
    assert [a.status for a in answers] == [401, 404, 422, 405, 307]
    assert {a.headers["Polar-Version"] for a in answers} == {expected}


def test_the_fakes_own_routes_are_not_versioned(fake):
    for path in ("/", "/_fake/events"):
        response = call(fake, "GET", path, headers={"Polar-Version": "1999-01"})
        assert response.status == 200
        assert "Polar-Version" not in response.headers


# -- the seed era ---------------------------------------------------------------------------


def test_the_seed_era_keeps_its_free_checkout_shapes(fake):
    created = call(
        fake,
        "POST",
        "/v1/checkouts/custom/",
        {"product_id": PRODUCT_FREE_ID, "payment_processor": "stripe"},
    )
    assert created.status == 201
    checkout = created.json()
    assert checkout["amount"] is None
    assert checkout["currency"] is None
    assert checkout["total_amount"] is None
    assert checkout["product_price"]["amount_type"] == "free"
    # Polar resolves a request without the header to its default and says so.
    assert created.headers["Polar-Version"] == "2026-04"


def test_the_seed_era_requires_product_id_and_payment_processor(fake):
    missing = call(fake, "POST", "/v1/checkouts/custom/", {"product_id": PRODUCT_ONE_TIME_ID})
    assert missing.status == 422
    assert [e["loc"] for e in missing.json()["detail"]] == [["body", "payment_processor"]]
    products = call(
        fake,
        "POST",
        "/v1/checkouts/custom/",
        {"products": [PRODUCT_ONE_TIME_ID], "payment_processor": "stripe"},
    )
    assert products.status == 422
    assert ["body", "CheckoutProductCreate", "product_id"] in [
        e["loc"] for e in products.json()["detail"]
    ]
    assert fake.checkouts() == []


@pytest.mark.parametrize("version", API_VERSIONS)
def test_a_dated_version_on_the_custom_path_takes_products_without_a_processor(fake, version):
    created = call(
        fake, "POST", "/v1/checkouts/custom/", {"products": [PRODUCT_FREE_ID]}, version=version
    )
    assert created.status == 201
    assert created.json()["amount"] == 0


# -- dated shapes ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", [None, *API_VERSIONS])
def test_a_free_checkout_is_a_fixed_price_of_zero_on_dated_versions(fake, version):
    created = call(fake, "POST", "/v1/checkouts/", {"products": [PRODUCT_FREE_ID]}, version=version)
    assert created.status == 201
    checkout = created.json()
    for key in ("amount", "net_amount", "total_amount", "discount_amount"):
        assert checkout[key] == 0, key
    assert checkout["currency"] == "usd"
    assert checkout["is_free_product_price"] is True
    assert checkout["is_payment_required"] is False
    assert checkout["is_payment_form_required"] is False
    price = checkout["product_price"]
    assert (price["amount_type"], price["price_amount"], price["price_currency"]) == (
        "fixed",
        0,
        "usd",
    )
    assert checkout["prices"][PRODUCT_FREE_ID][0]["amount_type"] == "fixed"
    public = call(fake, "GET", f"/v1/checkouts/client/{checkout['client_secret']}", version=version)
    assert public.json()["amount"] == 0
    confirmed = call(
        fake,
        "POST",
        f"/v1/checkouts/client/{checkout['client_secret']}/confirm",
        {"customer_email": "free@example.com"},
        version=version,
    )
    assert confirmed.status == 200
    assert confirmed.json()["total_amount"] == 0
    listed = call(fake, "GET", "/v1/checkouts/", version=version).json()["items"]
    assert [c["currency"] for c in listed] == ["usd"]


@pytest.mark.parametrize("version", API_VERSIONS)
def test_pay_what_you_want_and_subscriptions_on_every_version(fake, version):
    for product in (PRODUCT_PWYW_ID, PRODUCT_SUBSCRIPTION_ID, PRODUCT_ONE_TIME_ID):
        created = call(fake, "POST", "/v1/checkouts/", {"products": [product]}, version=version)
        assert created.status == 201
        secret = created.json()["client_secret"]
        confirmed = call(
            fake, "POST", f"/v1/checkouts/client/{secret}/confirm", BUYER, version=version
        )
        assert confirmed.status == 200, confirmed.body
        assert (
            call(fake, "GET", f"/v1/checkouts/{created.json()['id']}", version=version).json()[
                "status"
            ]
            == "succeeded"
        )


@pytest.mark.parametrize("version", [None, *API_VERSIONS])
def test_products_are_deletable_or_not_and_free_prices_follow_the_version(fake, version):
    items = call(fake, "GET", "/v1/products/", version=version).json()["items"]
    assert all(item["is_deletable"] is False for item in items)
    (free,) = [i for i in items if i["id"] == PRODUCT_FREE_ID]
    assert free["prices"][0]["amount_type"] == "fixed"
    assert free["prices"][0]["price_amount"] == 0
    one = call(fake, "GET", f"/v1/products/{PRODUCT_FREE_ID}", version=version).json()
    assert one["prices"] == free["prices"]


def test_the_python_api_answers_in_seed_shapes(fake):
    # No request, no version: fake.checkout() is what a seed-era GET returns.
    checkout = fake.create_checkout(product_id=PRODUCT_FREE_ID)
    assert checkout["amount"] is None
    assert fake.checkout(checkout["id"])["product_price"]["amount_type"] == "free"


def test_an_unknown_version_neither_consumes_a_fault_nor_moves_anything(fake):
    fake.inject(503)
    refused = call(fake, "GET", "/v1/products/", headers={"Polar-Version": "2031-01"})
    assert refused.status == 404
    assert call(fake, "GET", "/v1/products/").status == 503
