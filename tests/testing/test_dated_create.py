"""The dated versions' create validates every field of ``CheckoutProductsCreate``.

Each field the fake does not act on (``currency``, trials, ``locale``, ``return_url``…)
is refused with Polar's 422 (pydantic's error types and messages, at the field) when it
breaks the spec, and accepted (and shown back where Polar's ``Checkout`` has it) when
it does not. Real fake, real HTTP through the client's transport.
"""

from __future__ import annotations

import pytest

from polar_checkouts.client import PolarClient
from polar_checkouts.exceptions import PolarValidationError
from polar_checkouts.testing import (
    PRODUCT_FREE_ID,
    PRODUCT_ONE_TIME_ID,
    PRODUCT_PWYW_ID,
)
from polar_checkouts.testing.transport import FakePolarAdapter

VERSIONS = ["2026-04", "2026-10", "2027-01"]
P1 = PRODUCT_ONE_TIME_ID
V1_UUID = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
V4_UUID = "8d6a4c1e-0b2f-4a3d-9e8f-7a6b5c4d3e2f"
BOOLEANS = [
    "allow_discount_codes",
    "require_billing_address",
    "allow_trial",
    "is_business_customer",
]


@pytest.fixture(params=VERSIONS)
def client(request, fake):
    return PolarClient(
        "polar_oat_test",
        transport=lambda retry: FakePolarAdapter(fake, max_retries=retry),
        api_version=request.param,
    )


def refused(client, fields, product=P1):
    with pytest.raises(PolarValidationError) as caught:
        client.create({"products": [product], **fields})
    assert caught.value.status_code == 422
    return caught.value.errors


def one_error(client, fields):
    errors = refused(client, fields)
    assert len(errors) == 1, errors
    return errors[0]


# -- refused -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "type", "msg"),
    [
        ("currency", 0, "enum", "Input should be 'aed', 'all'"),
        ("currency", "USD", "enum", "Input should be 'aed', 'all'"),
        ("currency", "xyz", "enum", "Input should be 'aed', 'all'"),
        ("trial_interval", "fortnight", "enum", "Input should be 'day', 'week', 'month' or 'year'"),
        ("trial_interval", 7, "enum", "Input should be 'day', 'week', 'month' or 'year'"),
        (
            "trial_interval_count",
            0,
            "greater_than_equal",
            "Input should be greater than or equal to 1",
        ),
        (
            "trial_interval_count",
            1001,
            "less_than_equal",
            "Input should be less than or equal to 1000",
        ),
        ("trial_interval_count", "3", "int_type", "Input should be a valid integer"),
        (
            "trial_interval_count",
            1.5,
            "int_from_float",
            "Input should be a valid integer, got a number with a fractional part",
        ),
        ("locale", "not a tag", "value_error", "Value error, Invalid IETF BCP 47 language tag"),
        ("locale", "und", "value_error", "Value error, Invalid IETF BCP 47 language tag"),
        ("locale", "x-private", "value_error", "Value error, Invalid IETF BCP 47 language tag"),
        ("locale", 1, "string_type", "Input should be a valid string"),
        ("external_customer_id", 42, "string_type", "Input should be a valid string"),
        ("customer_external_id", ["u1"], "string_type", "Input should be a valid string"),
        ("customer_billing_name", False, "string_type", "Input should be a valid string"),
        ("customer_tax_id", 7, "string_type", "Input should be a valid string"),
        ("embed_origin", {}, "string_type", "Input should be a valid string"),
        (
            "customer_name",
            "n" * 257,
            "string_too_long",
            "String should have at most 256 characters",
        ),
        ("return_url", "/back", "url_parsing", "Input should be a valid URL"),
        ("return_url", 5, "url_type", "URL input should be a string or URL"),
        (
            "return_url",
            "https://shop.example/" + "a" * 2083,
            "url_too_long",
            "URL should have at most 2083",
        ),
        ("success_url", "shop.example", "url_parsing", "Input should be a valid URL"),
        ("amount", -1, "greater_than_equal", "Input should be greater than or equal to 0"),
        ("amount", "100", "int_type", "Input should be a valid integer"),
        ("discount_id", V1_UUID, "uuid_version", "UUID version 4 expected"),
        ("customer_id", "nope", "uuid_parsing", "Input should be a valid UUID"),
        ("subscription_id", 3, "uuid_type", "UUID input should be a string, bytes or UUID object"),
        ("customer_metadata", None, "dict_type", "Input should be a valid dictionary"),
        ("metadata", None, "dict_type", "Input should be a valid dictionary"),
        ("customer_email", "nobody", "value_error", "value is not a valid email address"),
        ("customer_ip_address", "300.1.1.1", "ip_any_address", "value is not a valid IPv4"),
        (
            "customer_billing_name",
            "a\x00b",
            "value_error",
            "Value error, This value contains invalid",
        ),
        ("metadata", {"k": "a\x00"}, "value_error", "Value error, This value contains invalid"),
    ],
)
def test_a_field_breaking_the_spec_is_refused_at_that_field(client, name, value, type, msg):
    error = one_error(client, {name: value})
    assert (error["loc"], error["type"]) == (["body", name], type)
    assert error["msg"].startswith(msg), error["msg"]
    assert error["input"] == value


def test_customer_metadata_holds_no_float(client):
    # Polar's Checkout answers customer_metadata as dict[str, str | int | bool].
    error = one_error(client, {"customer_metadata": {"k": 1.25}})
    assert (error["loc"], error["type"], error["input"]) == (
        ["body", "customer_metadata", "k", "str"],
        "string_type",
        1.25,
    )


@pytest.mark.parametrize("name", BOOLEANS)
@pytest.mark.parametrize("value", [None, "yes", 1, "x"])
def test_a_boolean_field_takes_only_a_boolean(client, name, value):
    error = one_error(client, {name: value})
    assert error == {
        "loc": ["body", name],
        "msg": "Input should be a valid boolean",
        "type": "bool_type",
        "input": value,
    }


def test_the_currency_error_names_every_currency_polar_presents_in(client):
    error = one_error(client, {"currency": 0})
    assert error["msg"].endswith("'zar' or 'zmw'")
    assert error["ctx"]["expected"] == error["msg"].removeprefix("Input should be ")


def test_every_problem_comes_in_one_answer_in_the_spec_order(client):
    errors = refused(
        client,
        {
            "currency": "usd!",
            "locale": "?",
            "allow_trial": "x",
            "trial_interval": "hour",
            "return_url": "back",
            "products": ["nope"],
        },
        product=None,
    )
    assert [e["loc"] for e in errors] == [
        ["body", "trial_interval"],
        ["body", "allow_trial"],
        ["body", "return_url"],
        ["body", "locale"],
        ["body", "currency"],
        ["body", "products", 0],
    ]


@pytest.mark.parametrize(
    "trial",
    [
        {"trial_interval": "week"},
        {"trial_interval_count": 2},
        {"trial_interval": "day", "trial_interval_count": None},
    ],
)
def test_a_trial_needs_its_interval_and_count_together(client, trial):
    error = one_error(client, trial)
    assert error == {
        "loc": ["body"],
        "msg": "Both trial_interval and trial_interval_count must be set together.",
        "type": "missing",
        "input": {"products": [P1], **trial},
    }


def test_the_trial_rule_comes_before_the_seats_rule(client):
    error = one_error(client, {"trial_interval": "day", "min_seats": 3, "max_seats": 2})
    assert error["msg"].startswith("Both trial_interval")


def test_a_currency_the_product_is_not_sold_in_is_refused_by_the_service(client):
    errors = refused(client, {"currency": "eur"})
    assert errors == [
        {
            "loc": ["body", "products", 0],
            "msg": "Product is not available in the specified currency.",
            "type": "value_error",
            "input": P1,
        }
    ]


# -- accepted ----------------------------------------------------------------------------


def test_every_field_valid_is_accepted_and_shown_back(client, fake):
    fields = {
        "currency": "usd",
        "allow_trial": False,
        "trial_interval": "month",
        "trial_interval_count": 3,
        "locale": "fr-ca",
        "is_business_customer": True,
        "require_billing_address": True,
        "customer_billing_name": "  ACME Ltd  ",
        "external_customer_id": "user-42",
        "return_url": "https://shop.example/back",
        "success_url": "https://shop.example/done?checkout_id={CHECKOUT_ID}",
        "embed_origin": "https://shop.example",
        "customer_name": "n" * 256,
        "customer_email": "buyer@example.com",
        "customer_tax_id": "  ",
        "amount": 0,
        "discount_id": None,
        "customer_id": None,
        "subscription_id": None,
        "metadata": {"ratio": 0.5, "n": 1, "ok": True, "s": "x"},
        "customer_metadata": {"n": 2},
        "custom_field_data": {"note": None},
        "allow_discount_codes": False,
    }
    checkout = client.create({"products": [P1], **fields})
    assert {
        key: checkout[key] for key in ("allow_trial", "trial_interval", "trial_interval_count")
    } == {
        "allow_trial": False,
        "trial_interval": "month",
        "trial_interval_count": 3,
    }
    assert checkout["locale"] == "fr-CA"  # standardised, as Polar stores it
    assert checkout["customer_billing_name"] == "ACME Ltd"
    assert checkout["external_customer_id"] == "user-42"
    assert checkout["return_url"] == "https://shop.example/back"
    assert checkout["is_business_customer"] is True
    assert checkout["require_billing_address"] is True
    assert checkout["customer_tax_id"] is None
    assert checkout["metadata"] == {"ratio": 0.5, "n": 1, "ok": True, "s": "x"}
    assert checkout["currency"] == "usd"
    # The buyer's view does not carry the shop's own customer id.
    public = client.client_get(checkout["client_secret"])
    assert public["external_customer_id"] is None
    assert public["return_url"] == "https://shop.example/back"


def test_nullable_fields_take_null(client):
    nullable = [
        "trial_interval",
        "trial_interval_count",
        "discount_id",
        "amount",
        "customer_id",
        "external_customer_id",
        "customer_name",
        "customer_email",
        "customer_ip_address",
        "customer_billing_name",
        "customer_billing_address",
        "customer_tax_id",
        "subscription_id",
        "success_url",
        "return_url",
        "embed_origin",
        "locale",
        "currency",
        "prices",
    ]
    checkout = client.create({"products": [P1], **dict.fromkeys(nullable)})
    assert checkout["return_url"] is None
    assert checkout["locale"] is None


def test_the_old_name_of_external_customer_id_is_read_too(client):
    checkout = client.create({"products": [P1], "customer_external_id": "u-7"})
    assert checkout["external_customer_id"] == "u-7"


@pytest.mark.parametrize("locale", ["en", "en-US", "en-GB-oxendict", "pt-BR", "zh-Hant-TW"])
def test_bcp47_locales_are_accepted(client, locale):
    assert client.create({"products": [P1], "locale": locale})["locale"] == locale


def test_a_pay_what_you_want_amount_may_go_down_to_the_prices_minimum(client, fake):
    # The dated schema bounds amount at 0; the price's own bounds are the service's rule.
    checkout = client.create({"products": [PRODUCT_PWYW_ID], "amount": 1000})
    assert checkout["amount"] == 1000


def test_a_free_products_currency_is_usd(client):
    assert client.create({"products": [PRODUCT_FREE_ID], "currency": "usd"})["currency"] == "usd"


def test_the_currency_picks_the_products_price_in_it(client, fake):
    product = fake.add_product("Euro book", price_amount=900, currency="EUR")
    checkout = client.create({"products": [product["id"]], "currency": "eur"})
    assert (checkout["currency"], checkout["amount"]) == ("eur", 900)
    refused(client, {"currency": "usd"}, product=product["id"])


# -- the billing address's country: Polar's CountryAlpha2Input ----------------------------


@pytest.mark.parametrize("country", ["ZZ", "RU", "USA", 7])
def test_a_country_polar_does_not_sell_to_is_refused(client, country):
    error = one_error(client, {"customer_billing_address": {"country": country}})
    assert (error["loc"], error["type"]) == (
        ["body", "customer_billing_address", "country"],
        "enum",
    )
    assert error["msg"].startswith("Input should be 'AD', 'AE'")
    assert "'RU'" not in error["msg"]  # embargoed: reported by Polar, never accepted


def test_a_country_in_any_case_is_accepted_upper_cased(client):
    checkout = client.create({"products": [P1], "customer_billing_address": {"country": "fr"}})
    address = checkout["customer_billing_address"]
    assert address is not None
    assert address["country"] == "FR"
    with pytest.raises(PolarValidationError) as caught:
        client.client_update(
            checkout["client_secret"], {"customer_billing_address": {"country": "ZZ"}}
        )
    assert caught.value.errors[0]["loc"] == ["body", "customer_billing_address", "country"]


def test_the_seed_era_keeps_its_two_letter_pattern(fake):
    # RU: refused in an address today, two letters for the seed era (and a country
    # today's webhooks may carry).
    seed = PolarClient(
        "polar_oat_test",
        transport=lambda retry: FakePolarAdapter(fake, max_retries=retry),
        api_version=None,
        checkout_path="/v1/checkouts/custom/",
    )
    checkout = seed.create({"product_id": P1, "customer_billing_address": {"country": "RU"}})
    address = checkout["customer_billing_address"]
    assert address is not None
    assert address["country"] == "RU"
