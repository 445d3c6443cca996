"""The fake Polar's state machine, amounts, tokens and catalogue, through the real client."""

from __future__ import annotations

import pytest
from django.utils.dateparse import parse_datetime

from polar_checkouts.client import PolarClient
from polar_checkouts.exceptions import (
    ExpiredCheckoutError,
    NotFoundError,
    NotOpenCheckoutError,
    PaymentError,
    PolarValidationError,
)
from polar_checkouts.testing import (
    DISCOUNT_CODE,
    DISCOUNT_ID,
    ONE_TIME_AMOUNT,
    ORGANIZATION_ID,
    PRICE_ONE_TIME_ID,
    PRICE_SUBSCRIPTION_ID,
    PRODUCT_FREE_ID,
    PRODUCT_ONE_TIME_ID,
    PRODUCT_PWYW_ID,
    PRODUCT_SUBSCRIPTION_ID,
    PUBLISHABLE_KEY,
    PWYW_PRESET,
    SUBSCRIPTION_AMOUNT,
    TOKEN_DECLINED,
    TOKEN_FAILED,
    TOKEN_REQUIRES_ACTION,
    TOKEN_SUCCEEDED,
    FakePolar,
)

BUYER = {
    "customer_email": "ada@example.com",
    "customer_name": "Ada Lovelace",
    "customer_billing_address": {"country": "FR", "postal_code": "75001", "city": "Paris"},
}


@pytest.fixture(params=["/v1/checkouts/", "/v1/checkouts/custom/"])
def client(request, polar_fake):
    """The real client, on both checkout path prefixes."""
    return PolarClient("polar_oat_test", checkout_path=request.param, max_retries=0)


def _pay(client, checkout, token=TOKEN_SUCCEEDED, **extra):
    return client.client_confirm(
        checkout["client_secret"], {**BUYER, "confirmation_token_id": token, **extra}
    )


def test_create_returns_a_realistic_open_checkout(client):
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID})
    assert checkout["status"] == "open"
    assert checkout["client_secret"].startswith("polar_c_")
    assert checkout["url"].endswith("/checkout/" + checkout["client_secret"])
    assert checkout["amount"] == ONE_TIME_AMOUNT
    assert checkout["currency"] == "usd"
    assert checkout["tax_amount"] is None
    assert checkout["total_amount"] == ONE_TIME_AMOUNT
    assert checkout["product_price_id"] == PRICE_ONE_TIME_ID
    assert checkout["product"]["id"] == PRODUCT_ONE_TIME_ID
    assert checkout["organization_id"] == ORGANIZATION_ID
    assert checkout["payment_processor_metadata"] == {"publishable_key": PUBLISHABLE_KEY}
    assert PUBLISHABLE_KEY.startswith("pk_fake_")
    assert checkout["is_payment_required"] is True
    assert checkout["is_payment_setup_required"] is False
    assert checkout["is_payment_form_required"] is True
    assert checkout["modified_at"] is None
    # Polar's "Z" suffix: Python 3.10's fromisoformat does not read it, Django's parser does.
    created = parse_datetime(checkout["created_at"])
    expires = parse_datetime(checkout["expires_at"])
    assert created is not None
    assert expires is not None
    assert (expires - created).total_seconds() == 3600


def test_confirm_moves_open_to_confirmed_then_succeeded(client, polar_fake):
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID, "metadata": {"order": 42}})
    confirmed = _pay(client, checkout)
    assert confirmed["status"] == "confirmed"
    assert confirmed["customer_session_token"].startswith("polar_cst_")
    assert confirmed["payment_processor_metadata"]["intent_status"] == "succeeded"
    assert confirmed["customer_id"] is not None
    after = client.get(checkout["id"])
    assert after["status"] == "succeeded"
    assert after["metadata"] == {"order": 42}
    (order,) = polar_fake.orders.values()
    assert order["checkout_id"] == checkout["id"]
    assert order["billing_reason"] == "purchase"
    assert order["total_amount"] == after["total_amount"]


def test_success_waits_for_the_configured_delay(client, polar_fake):
    polar_fake.success_delay = 30
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID})
    _pay(client, checkout)
    assert client.get(checkout["id"])["status"] == "confirmed"
    polar_fake.advance_time(31)
    assert client.get(checkout["id"])["status"] == "succeeded"


def test_declined_card_is_a_payment_error_and_the_checkout_stays_open(client):
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID})
    with pytest.raises(PaymentError) as caught:
        _pay(client, checkout, TOKEN_DECLINED)
    assert caught.value.status_code == 400
    assert caught.value.error == "PaymentError"
    again = client.get(checkout["id"])
    # Rolled back: neither the status nor the buyer fields of the failed confirm stuck.
    assert again["status"] == "open"
    assert again["customer_email"] is None
    assert _pay(client, checkout)["status"] == "confirmed"


def test_requires_action_waits_for_the_browser_step(client, polar_fake):
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID})
    confirmed = _pay(client, checkout, TOKEN_REQUIRES_ACTION)
    metadata = confirmed["payment_processor_metadata"]
    assert metadata["intent_status"] == "requires_action"
    assert metadata["intent_client_secret"].startswith("pi_")
    assert "_secret_" in metadata["intent_client_secret"]
    polar_fake.advance_time(3600 * 2)
    assert client.get(checkout["id"])["status"] == "confirmed"
    response = polar_fake.handle(
        "POST", f"/_fake/actions/{checkout['client_secret']}/complete", "", {}, b""
    )
    assert response.status == 200
    assert client.get(checkout["id"])["status"] == "succeeded"


def test_completing_an_action_twice_or_for_an_unknown_secret_fails(polar_fake):
    checkout = polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    secret = checkout["client_secret"]
    assert polar_fake.handle("POST", f"/_fake/actions/{secret}/complete").status == 409
    assert polar_fake.handle("POST", "/_fake/actions/polar_c_nope/complete").status == 404
    assert polar_fake.handle("GET", f"/_fake/actions/{secret}/complete").status == 405


def test_action_can_fail(client, polar_fake):
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID})
    _pay(client, checkout, TOKEN_REQUIRES_ACTION)
    polar_fake.complete_action(checkout["client_secret"], succeed=False)
    assert client.get(checkout["id"])["status"] == "failed"


def test_failed_token_confirms_then_fails(client, polar_fake):
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID})
    confirmed = _pay(client, checkout, TOKEN_FAILED)
    assert confirmed["status"] == "confirmed"
    assert confirmed["payment_processor_metadata"]["intent_status"] == "processing"
    assert client.get(checkout["id"])["status"] == "failed"
    assert polar_fake.orders == {}


def test_unknown_token_is_a_payment_error(client):
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID})
    with pytest.raises(PaymentError, match="ctoken_fake_succeeded"):
        _pay(client, checkout, "ctoken_1Nq2realStripe")


@pytest.mark.parametrize("status", ["confirmed", "succeeded"])
def test_update_and_confirm_of_a_non_open_checkout_are_forbidden(client, polar_fake, status):
    polar_fake.success_delay = 0 if status == "succeeded" else 999
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID})
    _pay(client, checkout)
    assert client.get(checkout["id"])["status"] == status
    for call in (
        lambda: client.update(checkout["id"], {"customer_name": "Bob"}),
        lambda: client.client_update(checkout["client_secret"], {"customer_name": "Bob"}),
        lambda: _pay(client, checkout),
    ):
        with pytest.raises(NotOpenCheckoutError) as caught:
            call()
        assert caught.value.status_code == 403
        assert caught.value.detail == f"Checkout {checkout['id']} is not open: {status}"


def test_free_product_confirms_with_only_an_email(client, polar_fake):
    checkout = client.create({"product_id": PRODUCT_FREE_ID})
    (sent,) = polar_fake.calls("create")
    if sent.path.startswith("/v1/checkouts/custom/") and not sent.headers.get("polar-version"):
        # The seed era: no amounts, no currency.
        assert checkout["amount"] is None
        assert checkout["currency"] is None
        assert checkout["total_amount"] is None
    else:
        # Dated versions (2026-04 without a header on /v1/checkouts/): a fixed price of 0.
        assert (checkout["amount"], checkout["total_amount"]) == (0, 0)
        assert checkout["currency"] == "usd"
    assert checkout["is_free_product_price"] is True
    assert checkout["is_payment_required"] is False
    assert checkout["is_payment_form_required"] is False
    confirmed = client.client_confirm(
        checkout["client_secret"], {"customer_email": "free@example.com"}
    )
    assert confirmed["status"] == "confirmed"
    assert "intent_status" not in confirmed["payment_processor_metadata"]
    assert client.get(checkout["id"])["status"] == "succeeded"
    (order_id,) = polar_fake.orders
    assert polar_fake.order(order_id)["amount"] == 0


def test_subscription_requires_a_payment_form_and_makes_a_subscription(client, polar_fake):
    checkout = client.create({"product_price_id": PRICE_SUBSCRIPTION_ID})
    assert checkout["amount"] == SUBSCRIPTION_AMOUNT
    assert checkout["product_price"]["recurring_interval"] == "month"
    assert checkout["is_payment_setup_required"] is True
    _pay(client, checkout)
    after = client.get(checkout["id"])
    assert after["status"] == "succeeded"
    (order,) = polar_fake.orders.values()
    assert order["billing_reason"] == "subscription_create"
    assert after["subscription_id"] == order["subscription_id"] is not None


def test_pay_what_you_want_uses_the_preset_and_accepts_amounts_in_bounds(client):
    checkout = client.create({"product_id": PRODUCT_PWYW_ID})
    assert checkout["amount"] == PWYW_PRESET
    assert client.create({"product_id": PRODUCT_PWYW_ID, "amount": 500})["amount"] == 500
    updated = client.client_update(checkout["client_secret"], {"amount": 10_000})
    assert updated["amount"] == 10_000
    assert updated["total_amount"] == 10_000


@pytest.mark.parametrize(
    ("amount", "type_"), [(499, "greater_than_equal"), (10_001, "less_than_equal")]
)
def test_pay_what_you_want_bounds(client, amount, type_):
    with pytest.raises(PolarValidationError) as caught:
        client.create({"product_id": PRODUCT_PWYW_ID, "amount": amount})
    (error,) = caught.value.errors
    assert error["loc"] == ["body", "amount"]
    assert error["type"] == type_
    checkout = client.create({"product_id": PRODUCT_PWYW_ID})
    with pytest.raises(PolarValidationError):
        client.client_update(checkout["client_secret"], {"amount": amount})
    assert client.get(checkout["id"])["amount"] == PWYW_PRESET


def test_amount_is_ignored_for_fixed_prices(client):
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID, "amount": 5000})
    assert checkout["amount"] == ONE_TIME_AMOUNT


def test_discount_code_takes_ten_percent_off(client):
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID})
    updated = client.client_update(checkout["client_secret"], {"discount_code": "welcome10"})
    assert updated["discount_id"] == DISCOUNT_ID
    assert updated["discount"]["code"] == DISCOUNT_CODE
    assert updated["discount"]["basis_points"] == 1000
    assert updated["discount_amount"] == 190
    assert updated["subtotal_amount"] == 1710
    assert updated["total_amount"] == 1710
    removed = client.client_update(checkout["client_secret"], {"discount_code": None})
    assert removed["discount"] is None
    assert removed["total_amount"] == ONE_TIME_AMOUNT


def test_unknown_discount_code_is_a_422(client):
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID})
    with pytest.raises(PolarValidationError) as caught:
        client.client_update(checkout["client_secret"], {"discount_code": "NOPE"})
    assert caught.value.field_errors() == {
        "discount_code": ["This discount code does not exist or is no longer available."]
    }


def test_discount_codes_are_ignored_when_not_allowed(client):
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID, "allow_discount_codes": False})
    updated = client.client_update(checkout["client_secret"], {"discount_code": DISCOUNT_CODE})
    assert updated["discount"] is None


def test_discount_id_on_create_and_a_full_discount_needs_no_payment(client, polar_fake):
    full = polar_fake.add_discount(None, amount=5000, name="Everything free")
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID, "discount_id": full["id"]})
    assert checkout["total_amount"] == 0
    assert checkout["is_payment_required"] is False
    assert checkout["is_payment_form_required"] is False
    confirmed = client.client_confirm(checkout["client_secret"], {"customer_email": "a@b.co"})
    assert confirmed["status"] == "confirmed"


def test_tax_is_computed_once_a_billing_address_is_known(client):
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID})
    secret = checkout["client_secret"]
    german = client.client_update(secret, {"customer_billing_address": {"country": "DE"}})
    assert german["tax_amount"] == 361  # 19 % of 19.00
    assert german["total_amount"] == 1900 + 361
    swiss = client.client_update(secret, {"customer_billing_address": {"country": "CH"}})
    assert swiss["tax_amount"] == 0
    us_partial = client.client_update(secret, {"customer_billing_address": {"country": "US"}})
    assert us_partial["tax_amount"] is None
    with pytest.raises(PolarValidationError) as caught:
        client.client_confirm(
            secret,
            {
                "customer_email": "a@b.co",
                "customer_name": "A",
                "confirmation_token_id": TOKEN_SUCCEEDED,
            },
        )
    assert list(caught.value.field_errors()) == ["customer_billing_address"]
    with_discount = client.client_update(
        secret,
        {
            "discount_code": DISCOUNT_CODE,
            "customer_billing_address": {"country": "DE", "line1": "Str. 1"},
        },
    )
    assert with_discount["tax_amount"] == 325  # 19 % of 17.10, rounded
    assert with_discount["total_amount"] == 1710 + 325


def test_paid_confirm_lists_every_missing_field_together(client):
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID})
    with pytest.raises(PolarValidationError) as caught:
        client.client_confirm(checkout["client_secret"], {})
    assert set(caught.value.field_errors()) == {
        "customer_email",
        "customer_name",
        "customer_billing_address",
        "confirmation_token_id",
    }
    assert client.get(checkout["id"])["status"] == "open"


def test_expired_checkout_answers_410_on_client_routes(client, polar_fake):
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID})
    polar_fake.advance_time(3601)
    assert client.get(checkout["id"])["status"] == "expired"
    with pytest.raises(ExpiredCheckoutError) as caught:
        client.client_get(checkout["client_secret"])
    assert caught.value.status_code == 410
    assert caught.value.error == "ExpiredCheckoutError"
    with pytest.raises(ExpiredCheckoutError):
        _pay(client, checkout)
    with pytest.raises(NotOpenCheckoutError):
        client.update(checkout["id"], {"customer_name": "Late"})


def test_seed_era_expiry_answers_404(polar_fake):
    polar_fake.expired_status = 404
    client = PolarClient("t", max_retries=0)
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID})
    polar_fake.advance_time(3601)
    with pytest.raises(NotFoundError):
        client.client_get(checkout["client_secret"])


def test_client_routes_hide_server_only_keys(client):
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID, "metadata": {"a": "b"}})
    public = client.client_get(checkout["client_secret"])
    assert "metadata" not in public
    assert "subscription_id" not in public
    assert public["organization"]["id"] == ORGANIZATION_ID


def test_update_changes_fields_and_modified_at_only_grows(client):
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID})
    first = client.update(checkout["id"], {"customer_email": "x@example.com", "metadata": {"a": 1}})
    second = client.update(checkout["id"], {"metadata": {"b": True}})
    assert first["customer_email"] == "x@example.com"
    assert second["metadata"] == {"b": True}  # replaced, not merged
    assert checkout["modified_at"] is None
    assert second["modified_at"] > first["modified_at"]


def test_price_change_must_stay_within_the_product(client):
    checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID})
    with pytest.raises(PolarValidationError) as caught:
        client.update(checkout["id"], {"product_price_id": PRICE_SUBSCRIPTION_ID})
    assert caught.value.field_errors() == {
        "product_price_id": ["Price does not belong to the product."]
    }


def test_success_url_gets_the_checkout_id(client):
    checkout = client.create(
        {"product_id": PRODUCT_ONE_TIME_ID, "success_url": "https://shop.test/ok/{CHECKOUT_ID}"}
    )
    assert checkout["success_url"] == f"https://shop.test/ok/{checkout['id']}"
    default = client.create({"product_id": PRODUCT_ONE_TIME_ID})
    assert default["success_url"].endswith("/confirmation")


def test_unknown_ids_and_secrets_are_404(client):
    with pytest.raises(NotFoundError) as caught:
        client.get("8d6a4c1e-0b2f-4a3d-9e8f-7a6b5c4d3e2f")
    assert caught.value.error == "ResourceNotFound"
    with pytest.raises(NotFoundError):
        client.client_get("polar_c_unknown")
    with pytest.raises(NotFoundError):
        client.get_product("8d6a4c1e-0b2f-4a3d-9e8f-7a6b5c4d3e2f")


def test_products_are_seeded_and_can_be_added_and_archived(polar_fake):
    client = PolarClient("t", max_retries=0)
    names = {p["id"]: p for p in client.iter_products()}
    assert set(names) == {
        PRODUCT_ONE_TIME_ID,
        PRODUCT_SUBSCRIPTION_ID,
        PRODUCT_PWYW_ID,
        PRODUCT_FREE_ID,
    }
    assert names[PRODUCT_ONE_TIME_ID]["prices"][0]["price_amount"] == ONE_TIME_AMOUNT
    added = polar_fake.add_product("Poster", price_amount=2500, currency="EUR")
    assert client.get_product(added["id"])["prices"][0]["price_currency"] == "eur"
    checkout = client.create({"product_id": added["id"]})
    assert (checkout["amount"], checkout["currency"]) == (2500, "eur")
    polar_fake.archive_product(added["id"])
    # The seed era names product_id (dated versions send products: the error is products.0).
    seed = PolarClient("t", max_retries=0, checkout_path="/v1/checkouts/custom/", api_version=None)
    with pytest.raises(PolarValidationError) as caught:
        seed.create({"product_id": added["id"]})
    assert caught.value.field_errors() == {"product_id": ["Product is archived."]}
    with pytest.raises(PolarValidationError) as caught:
        client.create({"product_id": added["id"]})
    assert caught.value.field_errors() == {"products.0": ["Product is archived."]}
    assert [p["id"] for p in client.list_products(is_archived=True)] == [added["id"]]


def test_add_product_rejects_nonsense():
    fake = FakePolar(seed=False)
    with pytest.raises(ValueError, match="price_amount"):
        fake.add_product("x", price_amount=None)
    with pytest.raises(ValueError, match="amount_type"):
        fake.add_product("x", amount_type="metered")
    assert fake.products == {}


def test_reset_forgets_everything_but_the_catalogue(polar_fake):
    polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    polar_fake.advance_time(60)
    polar_fake.reset()
    assert polar_fake.checkouts() == []
    assert polar_fake.requests == []
    assert PRODUCT_ONE_TIME_ID in polar_fake.products


def test_create_checkout_helper_raises_on_invalid_data(polar_fake):
    with pytest.raises(ValueError, match="Product does not exist"):
        polar_fake.create_checkout(product_id="8d6a4c1e-0b2f-4a3d-9e8f-7a6b5c4d3e2f")


def test_fake_is_thread_safe(polar_fake, run_in_threads):
    client = PolarClient("t", max_retries=0)

    def work():
        for _ in range(10):
            checkout = client.create({"product_id": PRODUCT_ONE_TIME_ID})
            client.client_update(checkout["client_secret"], {"customer_name": "T"})

    errors = run_in_threads(work, 4)
    assert errors == []
    assert len(polar_fake.checkouts()) == 40
    assert len({c["client_secret"] for c in polar_fake.checkouts()}) == 40


@pytest.mark.django_db
def test_the_documented_shop_test_works(polar_fake):
    """The example of docs/howto/testing.md, through the service layer and the cache."""
    from polar_checkouts import services

    checkout = services.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    services.client_confirm(
        checkout.payload["client_secret"],
        {
            "customer_email": "ada@example.com",
            "customer_name": "Ada Lovelace",
            "customer_billing_address": {"country": "FR"},
            "confirmation_token_id": TOKEN_SUCCEEDED,
        },
    )
    assert services.refresh_checkout(checkout.id).status == "succeeded"
    assert len(polar_fake.calls("client_confirm")) == 1


def test_fake_only_routes_move_time_add_products_and_reset(polar_fake):
    checkout = polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    moved = polar_fake.handle("POST", "/_fake/advance-time", "", {}, b'{"seconds": 3601}')
    assert moved.status == 200
    assert polar_fake.checkout(checkout["id"])["status"] == "expired"
    bad = polar_fake.handle("POST", "/_fake/advance-time", "", {}, b'{"seconds": -1}')
    assert bad.status == 422
    added = polar_fake.handle(
        "POST", "/_fake/products", "", {}, b'{"name": "Mug", "price_amount": 1200}'
    )
    assert added.status == 201
    assert polar_fake.products[added.json()["id"]]["name"] == "Mug"
    assert polar_fake.handle("POST", "/_fake/products", "", {}, b'{"name": "x"}').status == 422
    assert polar_fake.handle("POST", "/_fake/reset").status == 200
    assert polar_fake.checkouts() == []
    assert added.json()["id"] not in polar_fake.products
    assert polar_fake.handle("GET", "/_fake/reset").status == 405
    assert polar_fake.handle("GET", "/_fake/nothing").status == 404
