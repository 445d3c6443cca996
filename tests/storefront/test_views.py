"""Storefront views with the service layer stubbed: validation, error mapping, headers.

Each test says what Polar answers (a payload or an error) and checks what the customer
or the page's script gets. ``tests/storefront/test_with_fake.py`` runs the same views against
the fake Polar end to end.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.utils import timezone, translation

from polar_checkouts import services
from polar_checkouts.exceptions import (
    AuthenticationError,
    ExpiredCheckoutError,
    ForbiddenError,
    InvalidResponseError,
    NotFoundError,
    NotOpenCheckoutError,
    PaymentError,
    PolarConnectionError,
    PolarTimeoutError,
    RateLimitError,
    ServerError,
)
from polar_checkouts.models import CheckoutSession
from tests.polar_payloads import checkout_payload, iso
from tests.storefront.stubs import (
    OTHER_PRODUCT,
    PRICE,
    PRODUCT,
    PWYW_PRICE,
    PWYW_PRODUCT,
    SECRET,
    assert_private,
    messages_of,
    page_config,
    polar_error,
    validation_error,
)

# -- create ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "referer", "expected"),
    [
        ("", "", "/"),
        ("?next=/shop/item/", "", "/shop/item/"),
        ("?next=https://evil.example.org/", "", "/"),
        ("?next=//evil.example.org/", "http://testserver/shop/", "http://testserver/shop/"),
        ("", "http://testserver/shop/", "http://testserver/shop/"),
    ],
)
def test_create_by_get_goes_back_instead_of_an_empty_405(client, stub, query, referer, expected):
    """A bookmarked or reloaded form target starts nothing and leads back to the shop."""
    response = client.get("/checkout/create/" + query, HTTP_REFERER=referer)
    assert response.status_code == 302
    assert response["Location"] == expected
    assert stub.calls == []


def test_create_refuses_other_methods(client, stub):
    assert client.put("/checkout/create/").status_code == 405
    assert client.delete("/checkout/create/").status_code == 405
    assert stub.calls == []


@pytest.mark.django_db
def test_create_redirects_to_the_checkout_page(client, stub):
    response = client.post(
        "/checkout/create/",
        {"product_id": PRODUCT},
        REMOTE_ADDR="203.0.113.9",
        HTTP_HOST="shop.example.com",
    )
    assert response.status_code == 303
    assert response["Location"] == f"/checkout/{SECRET}/"
    [(_, kwargs)] = stub.named("create_checkout")
    assert kwargs["product_id"] == PRODUCT
    assert kwargs["product_price_id"] is None
    assert kwargs["amount"] is None
    assert kwargs["success_url"] == (
        "http://shop.example.com/checkout/success/?checkout_id={CHECKOUT_ID}"
    )
    assert kwargs["ip_address"] == "203.0.113.9"
    assert kwargs["user"] is None
    assert "customer_email" not in kwargs
    assert kwargs["metadata"] is None
    # A plain product button costs no catalogue request.
    assert stub.named("list_products") == []


@pytest.mark.django_db
def test_create_offers_several_products_in_one_checkout(client, stub):
    response = client.post("/checkout/create/", {"product_id": [PWYW_PRODUCT, PRODUCT]})
    assert response.status_code == 303
    assert response["Location"] == f"/checkout/{SECRET}/"
    [(_, kwargs)] = stub.named("create_checkout")
    assert kwargs["products"] == [PWYW_PRODUCT, PRODUCT]
    assert kwargs["product_id"] is None
    assert kwargs["product_price_id"] is None


@pytest.mark.django_db
def test_create_prefills_the_signed_in_customer(client, stub):
    user = get_user_model().objects.create_user(
        "ada", email="ada@example.com", first_name="Ada", last_name="Lovelace"
    )
    client.force_login(user)
    client.post("/checkout/create/", {"product_id": PRODUCT})
    [(_, kwargs)] = stub.named("create_checkout")
    assert kwargs["customer_email"] == "ada@example.com"
    assert kwargs["customer_name"] == "Ada Lovelace"
    assert kwargs["user"] == user


@pytest.mark.django_db
def test_create_drops_a_prefilled_email_polar_rejects(client, stub):
    user = get_user_model().objects.create_user("dev", email="dev@localhost.test")
    client.force_login(user)
    stub.fail("create_checkout", validation_error(["body", "customer_email"], "Not deliverable"))
    response = client.post("/checkout/create/", {"product_id": PRODUCT})
    assert response.status_code == 303
    assert response["Location"] == f"/checkout/{SECRET}/"
    first, second = stub.named("create_checkout")
    assert first[1]["customer_email"] == "dev@localhost.test"
    assert "customer_email" not in second[1]


@pytest.mark.django_db
def test_create_hosted_mode_goes_to_polars_page(client, stub):
    response = client.post("/checkout/create/", {"product_id": PRODUCT, "mode": "hosted"})
    assert response.status_code == 303
    assert response["Location"].startswith("https://sandbox.polar.sh/checkout/polar_c_")


@pytest.mark.django_db
def test_create_with_price_id_and_amount(client, stub):
    response = client.post("/checkout/create/", {"price_id": PWYW_PRICE, "amount": "750"})
    assert response.status_code == 303
    [(_, kwargs)] = stub.named("create_checkout")
    assert kwargs["product_price_id"] == PWYW_PRICE
    assert kwargs["product_id"] is None
    assert kwargs["amount"] == 750


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Please choose a product."),
        ({"product_id": "not-a-uuid"}, "This product is not available."),
        ({"price_id": "not-a-uuid"}, "This product is not available."),
        ({"product_id": PRODUCT, "price_id": PRICE}, "Please choose a product."),
        ({"product_id": PRODUCT, "amount": "ten"}, "Please enter the amount as a number."),
        ({"product_id": PRODUCT, "amount": "-5"}, "greater than or equal to 0"),
        ({"product_id": PRODUCT, "amount": "100"}, "fixed price"),
        ({"product_id": PWYW_PRODUCT, "amount": "499"}, "Please enter at least $5.00."),
        ({"price_id": PWYW_PRICE, "amount": "10001"}, "Please enter at most $100.00."),
        ({"product_id": PRODUCT, "mode": "popup"}, "Select a valid choice."),
        ({"product_id": "x" * 5000}, "This product is not available."),
    ],
)
def test_create_rejects_bad_input_with_a_message(client, stub, data, message):
    response = client.post("/checkout/create/", data, HTTP_REFERER="http://testserver/shop/")
    assert response.status_code == 303
    assert response["Location"] == "http://testserver/shop/"
    [shown] = messages_of(response)
    assert message in shown
    assert stub.named("create_checkout") == []


@pytest.mark.django_db
def test_create_enforces_allowed_products(stub):
    def post(data):
        return Client().post("/checkout/create/", data)  # one visitor each: own messages

    with override_settings(POLAR_ALLOWED_PRODUCTS=[PRODUCT.upper()]):
        refused = post({"product_id": OTHER_PRODUCT})
        allowed = post({"product_id": PRODUCT})
        by_price = post({"price_id": PRICE})
        foreign_price = post({"price_id": str(uuid.uuid4())})
    assert messages_of(refused) == ["This product is not available."]
    assert refused["Location"] == "/"
    assert allowed["Location"] == by_price["Location"] == f"/checkout/{SECRET}/"
    assert messages_of(foreign_price) == ["This product is not available."]
    created = [
        kwargs.get("product_id") or kwargs["product_price_id"]
        for _, kwargs in stub.named("create_checkout")
    ]
    assert created == [PRODUCT, PRICE]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("error", "message"),
    [
        (validation_error(["body", "product_id"], "Product does not exist."), "cannot be bought"),
        (validation_error(["body", "amount"]), "amount within the allowed range"),
        (polar_error(ServerError, 503), "cannot be reached"),
        (PolarConnectionError("refused"), "cannot be reached"),
        (PolarTimeoutError("slow"), "cannot be reached"),
        (InvalidResponseError("html"), "cannot be reached"),
        (polar_error(AuthenticationError, 401, "invalid_token"), "not available right now"),
        (polar_error(ForbiddenError, 403, "insufficient_scope"), "not available right now"),
    ],
)
def test_create_turns_polar_errors_into_a_message_on_the_previous_page(
    client, stub, error, message
):
    stub.fail("create_checkout", error)
    response = client.post("/checkout/create/", {"product_id": PRODUCT, "next": "/shop/?page=2"})
    assert response.status_code == 303
    assert response["Location"] == "/shop/?page=2"
    [shown] = messages_of(response)
    assert message in shown
    assert "polar_" not in shown
    assert "Polar answered" not in shown


@pytest.mark.django_db
def test_create_answers_polars_own_limit_with_a_busy_page(client, stub):
    """Polar's 429 (issue 16): not a message on the previous page but a page saying how
    long to wait, with Retry-After (the RateLimitError case of the test above until then)."""
    stub.fail("create_checkout", polar_error(RateLimitError, 429, retry_after=30.0))
    response = client.post(
        "/checkout/create/",
        {"product_id": PRODUCT, "next": "/shop/?page=2"},
        HTTP_REFERER="http://testserver/shop/?page=2",
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    page = response.content.decode()
    assert "very busy" in page
    assert "try again in 30 seconds" in page
    assert 'href="/shop/?page=2"' in page
    assert "Polar answered" not in page


@pytest.mark.django_db
def test_create_catalogue_outage_is_a_message_too(client, stub):
    stub.fail("list_products", polar_error(ServerError, 502))
    response = client.post("/checkout/create/", {"product_id": PWYW_PRODUCT, "amount": "700"})
    assert response.status_code == 303
    assert "cannot be reached" in messages_of(response)[0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("next_url", "referer", "expected"),
    [
        ("https://evil.example.org/", "", "/"),
        ("//evil.example.org/x", "http://testserver/ok/", "http://testserver/ok/"),
        ("", "https://evil.example.org/", "/"),
        ("/fine/", "http://testserver/ok/", "/fine/"),
    ],
)
def test_create_only_returns_to_this_site(client, stub, next_url, referer, expected):
    stub.fail("create_checkout", polar_error(ServerError, 500))
    response = client.post(
        "/checkout/create/", {"product_id": PRODUCT, "next": next_url}, HTTP_REFERER=referer
    )
    assert response["Location"] == expected


def metadata_hook(request, data):
    return {"cart": "C-42", "product": str(data["product_id"])}


def refusing_hook(request, data):
    raise ValidationError("Your cart is empty.")


@pytest.mark.django_db
def test_create_metadata_hook(client, stub):
    with override_settings(POLAR_CHECKOUT_METADATA="tests.storefront.test_views.metadata_hook"):
        client.post("/checkout/create/", {"product_id": PRODUCT})
    with override_settings(POLAR_CHECKOUT_METADATA=lambda request, data: None):
        client.post("/checkout/create/", {"product_id": PRODUCT})
    (_, first), (_, second) = stub.named("create_checkout")
    assert first["metadata"] == {"cart": "C-42", "product": PRODUCT}
    assert second["metadata"] is None


@pytest.mark.django_db
def test_create_metadata_hook_can_refuse(client, stub):
    with override_settings(POLAR_CHECKOUT_METADATA="tests.storefront.test_views.refusing_hook"):
        response = client.post("/checkout/create/", {"product_id": PRODUCT})
    assert messages_of(response) == ["Your cart is empty."]
    assert stub.named("create_checkout") == []


# -- checkout page ------------------------------------------------------------------------------


def test_checkout_page_renders_the_checkout(client, stub):
    stub.public.update(
        product={"id": PRODUCT, "name": "E-book", "description": "A fine read."},
        product_price={"amount_type": "fixed", "price_amount": 1900, "type": "one_time"},
        tax_amount=None,
        total_amount=1900,
    )
    response = client.get(f"/checkout/{SECRET}/")
    assert response.status_code == 200
    assert_private(response)
    html = response.content.decode()
    assert "<h1" in html
    assert "E-book" in html
    assert "A fine read." in html
    assert 'data-polar-amount="total">$19.00' in html
    assert "Calculated from your address" in html
    assert 'value="ada@example.com"' in html
    assert "Pay $19.00" in html
    for label in ("polar-email", "polar-name", "polar-country", "polar-discount-code"):
        assert f'<label for="{label}">' in html
        assert f'id="{label}"' in html
    # No inline script: only JSON data and script files.
    for tag in re.findall(r"<script[^>]*>", html):
        assert 'type="application/json"' in tag or "src=" in tag
    assert "polar_checkouts/checkout.js" in html
    assert "js.stripe.com" in html  # the sandbox sells through Stripe
    config = page_config(response)
    assert config["clientSecret"] == SECRET
    assert config["payment"] == {"provider": "stripe", "publishableKey": "pk_test_123"}
    assert config["client"]["mode"] == "browser"
    assert config["client"]["base"] == "https://sandbox-api.polar.sh/v1/checkouts/client/"
    assert config["statusUrl"] == f"/checkout/{SECRET}/status/"
    assert config["successUrl"] == f"/checkout/success/?checkout_id={stub.public['id']}"
    assert config["strings"]["payAmount"] == "Pay %(amount)s"


def test_checkout_page_server_mode_and_custom_path(client, stub):
    with override_settings(
        POLAR_CLIENT_CALLS="server", POLAR_CHECKOUT_PATH="/v1/checkouts/custom/"
    ):
        server = page_config(client.get(f"/checkout/{SECRET}/"))["client"]
    with override_settings(POLAR_CHECKOUT_PATH="/v1/checkouts/custom/", POLAR_SERVER="production"):
        browser = page_config(client.get(f"/checkout/{SECRET}/"))["client"]
    assert server == {"mode": "server", "base": "/checkout/client/"}
    assert browser["base"] == "https://api.polar.sh/v1/checkouts/custom/client/"


def test_checkout_page_for_a_free_product_asks_only_an_email(client, stub):
    stub.public.update(
        amount=None,
        total_amount=None,
        currency=None,
        is_free_product_price=True,
        is_payment_required=False,
        is_payment_form_required=False,
        product_price={"amount_type": "free", "type": "one_time"},
    )
    html = client.get(f"/checkout/{SECRET}/").content.decode()
    assert re.search(r"<fieldset[^>]*data-polar-billing hidden", html)
    assert re.search(r"<fieldset[^>]*data-polar-payment hidden", html)
    assert "Get it for free" in html


def test_checkout_page_for_a_subscription(client, stub):
    stub.public.update(
        amount=900,
        total_amount=900,
        is_payment_setup_required=True,
        product_price={"amount_type": "fixed", "type": "recurring", "recurring_interval": "month"},
    )
    html = client.get(f"/checkout/{SECRET}/").content.decode()
    assert "$9.00 / month" in html
    assert ">Subscribe</button>" in html


def test_checkout_page_pay_what_you_want_amount_field(client, stub):
    stub.public.update(
        amount=1500,
        product_price={"amount_type": "custom", "minimum_amount": 500, "maximum_amount": 10000},
    )
    html = client.get(f"/checkout/{SECRET}/").content.decode()
    assert re.search(
        r'id="polar-amount"[^>]*min="5.00"[^>]*max="100.00"[^>]*value="15.00"', html, re.S
    )


def test_checkout_page_shows_an_applied_discount(client, stub):
    stub.public.update(
        discount={"id": "d", "code": "WELCOME10", "name": "Welcome", "type": "percentage"},
        subtotal_amount=1710,
        total_amount=1710,
    )
    html = client.get(f"/checkout/{SECRET}/").content.decode()
    assert 'data-polar-amount="discount">−$1.90' in html
    assert "WELCOME10" in html


@pytest.mark.parametrize(
    ("setup", "status", "text"),
    [
        ({"error": polar_error(NotFoundError, 404, "ResourceNotFound")}, 404, "not found"),
        ({"error": polar_error(ExpiredCheckoutError, 410)}, 410, "has expired"),
        ({"payload": {"status": "expired"}}, 410, "has expired"),
        (
            {"payload": {"expires_at": iso(timezone.now() - dt.timedelta(seconds=1))}},
            410,
            "has expired",
        ),
        ({"payload": {"status": "confirmed"}}, 200, "already complete"),
        ({"payload": {"status": "succeeded"}}, 200, "already complete"),
        ({"payload": {"status": "failed"}}, 200, "payment failed"),
        ({"error": polar_error(ServerError, 500)}, 503, "temporarily unavailable"),
        ({"error": PolarConnectionError("down")}, 503, "temporarily unavailable"),
    ],
)
def test_checkout_page_states(client, stub, setup, status, text):
    if "error" in setup:
        stub.fail("client_get", setup["error"])
    else:
        stub.public.update(setup["payload"])
        if "expires_at" not in setup["payload"]:
            stub.public["expires_at"] = iso(timezone.now() + dt.timedelta(minutes=10))
    response = client.get(f"/checkout/{SECRET}/")
    assert response.status_code == status
    assert_private(response)
    assert text in response.content.decode().lower()
    assert "polar-checkout-config" not in response.content.decode()


def test_checkout_page_completed_links_to_the_receipt(client, stub):
    stub.public["status"] = "succeeded"
    html = client.get(f"/checkout/{SECRET}/").content.decode()
    assert f'href="/checkout/success/?checkout_id={stub.public["id"]}"' in html


def test_checkout_page_is_get_only(client, stub):
    assert client.post(f"/checkout/{SECRET}/").status_code == 405


# -- server-mode client endpoints ----------------------------------------------------------------


def csrf_client() -> tuple[Client, str]:
    """A client enforcing CSRF like a browser, with the token the page would carry."""
    browser = Client(enforce_csrf_checks=True)
    browser.get(f"/checkout/{SECRET}/")
    return browser, browser.cookies["csrftoken"].value


def patch(browser: Client, body: Any, token: str | None = None, **extra: Any):
    headers: dict[str, Any] = {"HTTP_X_CSRFTOKEN": token} if token else {}
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return browser.patch(
        f"/checkout/client/{SECRET}",
        data,
        content_type=extra.pop("content_type", "application/json"),
        **headers,
        **extra,
    )


def test_client_endpoints_enforce_csrf(stub):
    browser, token = csrf_client()
    refused = patch(browser, {"customer_email": "x@example.com"})
    refused_confirm = browser.post(
        f"/checkout/client/{SECRET}/confirm", "{}", content_type="application/json"
    )
    assert refused.status_code == refused_confirm.status_code == 403
    assert stub.named("client_update") == stub.named("client_confirm") == []
    accepted = patch(browser, {"customer_email": "x@example.com"}, token)
    assert accepted.status_code == 200
    assert accepted.json()["customer_email"] == "x@example.com"
    assert_private(accepted)


def test_client_get_update_and_confirm_call_the_services(stub):
    browser, token = csrf_client()
    got = browser.get(f"/checkout/client/{SECRET}")
    assert got.status_code == 200
    assert got.json()["id"] == stub.public["id"]
    body = {
        "customer_email": "ada@example.com",
        "customer_name": "Ada",
        "customer_billing_address": {"country": "FR"},
        "discount_code": "WELCOME10",
        "amount": 700,
    }
    assert patch(browser, body, token).status_code == 200
    confirmed = browser.post(
        f"/checkout/client/{SECRET}/confirm",
        json.dumps({**body, "confirmation_token_id": "ctoken_1"}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "confirmed"
    assert stub.named("client_update") == [((SECRET, body), {})]
    assert stub.named("client_confirm") == [
        ((SECRET, {**body, "confirmation_token_id": "ctoken_1"}), {})
    ]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "error"),
    [
        ({"customer_email": "a@b.co"}, "text/plain", 415, "UnsupportedMediaType"),
        ("customer_email=a", "application/x-www-form-urlencoded", 415, "UnsupportedMediaType"),
        ("{not json", "application/json", 422, "RequestValidationError"),
        (b"\xff\xfe", "application/json", 422, "RequestValidationError"),
        ("[1, 2]", "application/json", 422, "RequestValidationError"),
        ({"metadata": {"x": 1}}, "application/json", 422, "RequestValidationError"),
        ({"success_url": "https://evil"}, "application/json", 422, "RequestValidationError"),
        ('{"customer_name": "' + "x" * 70_000 + '"}', "application/json", 413, "PayloadTooLarge"),
    ],
)
def test_client_update_rejects_bad_bodies(stub, body, content_type, status, error):
    browser, token = csrf_client()
    response = patch(browser, body, token, content_type=content_type)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert stub.named("client_update") == []


def test_client_update_names_the_extra_keys(stub):
    browser, token = csrf_client()
    detail = patch(browser, {"metadata": {}, "customer_email": "a@b.co"}, token).json()["detail"]
    assert detail == [
        {
            "loc": ["body", "metadata"],
            "msg": "Extra inputs are not permitted",
            "type": "extra_forbidden",
        }
    ]


@pytest.mark.parametrize(
    ("country", "kind"), [("ZZ", "enum"), ("FRA", "enum"), ("RU", "enum"), (None, "missing")]
)
@pytest.mark.parametrize("path", ["", "/confirm"])
def test_a_country_polar_does_not_accept_is_refused_in_the_buyers_words(stub, country, kind, path):
    browser, token = csrf_client()
    body = {"customer_billing_address": {"country": country, "city": "Paris"}}
    send = browser.patch if not path else browser.post
    response = send(
        f"/checkout/client/{SECRET}{path}",
        json.dumps(body),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "customer_billing_address", "country"],
            "msg": "Choose your country from the list.",
            "type": kind,
        }
    ]
    assert stub.named("client_update") == stub.named("client_confirm") == []


def test_an_accepted_country_goes_through(stub):
    browser, token = csrf_client()
    body = {"customer_billing_address": {"country": "fr"}}
    assert patch(browser, body, token).status_code == 200
    assert stub.named("client_update") == [((SECRET, body), {})]


def test_client_confirm_rejects_bad_json(stub):
    browser, token = csrf_client()
    response = browser.post(
        f"/checkout/client/{SECRET}/confirm",
        "nope",
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 422
    assert stub.named("client_confirm") == []


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (
            polar_error(PaymentError, 400, "PaymentError", "The payment failed: card declined."),
            400,
            {"error": "PaymentError", "detail": "The payment failed: card declined."},
        ),
        (
            validation_error(["body", "customer_email"], "value is not a valid email address"),
            422,
            {
                "error": "RequestValidationError",
                "detail": [
                    {
                        "loc": ["body", "customer_email"],
                        "msg": "value is not a valid email address",
                        "type": "value_error",
                    }
                ],
            },
        ),
        (
            polar_error(
                NotOpenCheckoutError, 403, "NotOpenCheckout", "Checkout x is not open: confirmed"
            ),
            403,
            {"error": "NotOpenCheckout", "detail": "Checkout x is not open: confirmed"},
        ),
        (
            polar_error(NotFoundError, 404, "ResourceNotFound", "Not found"),
            404,
            {"error": "ResourceNotFound", "detail": "Not found"},
        ),
        (
            polar_error(
                ExpiredCheckoutError,
                410,
                "ExpiredCheckoutError",
                "This checkout session has expired.",
            ),
            410,
            {"error": "ExpiredCheckoutError", "detail": "This checkout session has expired."},
        ),
        (polar_error(AuthenticationError, 401, "invalid_token"), 502, None),
        (polar_error(ServerError, 503), 502, None),
        (PolarConnectionError("refused"), 502, None),
        (PolarTimeoutError("slow"), 502, None),
        (InvalidResponseError("<html>"), 502, None),
    ],
)
def test_client_confirm_maps_polar_errors_to_polars_shape(stub, error, status, body):
    stub.fail("client_confirm", error)
    browser, token = csrf_client()
    response = browser.post(
        f"/checkout/client/{SECRET}/confirm",
        json.dumps({"confirmation_token_id": "ctoken_x"}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == status
    data = response.json()
    if body is not None:
        assert data == body
    else:
        assert data["error"] == "BadGateway"
        assert "polar" not in json.dumps(data).lower()
    assert_private(response)


def test_client_rate_limit_is_passed_on_with_retry_after(stub):
    stub.fail("client_update", polar_error(RateLimitError, 429, retry_after=12.2))
    browser, token = csrf_client()
    response = patch(browser, {"customer_email": "a@b.co"}, token)
    assert response.status_code == 429
    assert response["Retry-After"] == "13"
    assert response.json()["error"] == "TooManyRequests"


def test_client_endpoints_refuse_other_methods(stub):
    browser, token = csrf_client()
    assert browser.delete(f"/checkout/client/{SECRET}", HTTP_X_CSRFTOKEN=token).status_code == 405
    assert browser.get(f"/checkout/client/{SECRET}/confirm").status_code == 405


# -- status --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_status_refreshes_from_polar_at_a_bounded_rate(client, stub):
    stub.public.update(status="confirmed")
    first = client.get(f"/checkout/{SECRET}/status/")
    assert first.status_code == 200
    assert first.json() == {
        "id": stub.public["id"],
        "status": "confirmed",
        "success_url": f"/checkout/success/?checkout_id={stub.public['id']}",
    }
    assert_private(first)
    # The cache learns the status; within the interval it answers alone.
    CheckoutSession.objects.upsert_from_polar(
        checkout_payload(stub.public["id"], status="confirmed", client_secret=SECRET)
    )
    stub.public.update(status="succeeded")
    for _ in range(5):
        assert client.get(f"/checkout/{SECRET}/status/").json()["status"] == "confirmed"
    assert len(stub.named("client_get")) == 1
    cache.clear()  # the interval has passed
    assert client.get(f"/checkout/{SECRET}/status/").json()["status"] == "succeeded"
    assert len(stub.named("client_get")) == 2


@pytest.mark.django_db
def test_status_errors(client, stub):
    stub.fail(
        "client_get",
        polar_error(NotFoundError, 404),
        polar_error(ExpiredCheckoutError, 410),
        polar_error(ServerError, 500),
    )
    assert client.get(f"/checkout/{SECRET}/status/").status_code == 404
    assert client.get(f"/checkout/{SECRET}/status/").status_code == 410
    assert client.get(f"/checkout/{SECRET}/status/").status_code == 502


@pytest.mark.django_db
def test_status_falls_back_to_the_cache_when_polar_is_down(client, stub):
    payload = checkout_payload(status="confirmed", client_secret=SECRET)
    CheckoutSession.objects.upsert_from_polar(payload)
    stub.fail("client_get", PolarConnectionError("down"))
    response = client.get(f"/checkout/{SECRET}/status/")
    assert response.status_code == 200
    assert response.json()["status"] == "confirmed"


# -- success -------------------------------------------------------------------------------------


@pytest.fixture
def paid(stub):
    checkout_id = str(uuid.uuid4())
    stub.server_payload = checkout_payload(
        checkout_id,
        status="succeeded",
        created_at=timezone.now() - dt.timedelta(minutes=2),
        modified_at=timezone.now(),
        customer_email="ada@example.com",
        product={"id": PRODUCT, "name": "E-book"},
    )
    return checkout_id


@pytest.mark.django_db
def test_success_shows_a_receipt_from_polars_answer(client, stub, paid):
    response = client.get(f"/checkout/success/?checkout_id={paid}")
    assert response.status_code == 200
    assert_private(response)
    html = response.content.decode()
    assert "Thank you for your order!" in html
    assert "E-book" in html
    assert "$19.00" in html
    assert "ada@example.com" in html
    assert paid in html
    assert "polar-success-config" not in html
    assert stub.named("refresh_checkout") == [((uuid.UUID(paid),), {})]
    assert CheckoutSession.objects.get(pk=paid).status == "succeeded"


@pytest.mark.django_db
def test_success_never_trusts_the_query_string(client, stub, paid):
    stub.server_payload["status"] = "confirmed"
    response = client.get(f"/checkout/success/?checkout_id={paid}&status=succeeded&paid=1")
    html = response.content.decode()
    assert "We are processing your payment" in html
    assert "Thank you" not in html
    # It refreshes itself, through the static script (no inline code).
    assert 'id="polar-success-config" type="application/json"' in html
    assert "polar_checkouts/checkout.js" in html


@pytest.mark.django_db
def test_success_does_not_trust_a_stale_cached_row_either(client, stub, paid):
    CheckoutSession.objects.upsert_from_polar(
        checkout_payload(
            paid, status="confirmed", created_at=timezone.now() - dt.timedelta(minutes=1)
        )
    )
    html = client.get(f"/checkout/success/?checkout_id={paid}").content.decode()
    assert "Thank you for your order!" in html
    # Within the refresh interval the cache answers; a terminal status is final anyway.
    client.get(f"/checkout/success/?checkout_id={paid}")
    assert len(stub.named("refresh_checkout")) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "text"),
    [
        ("failed", "The payment failed"),
        ("expired", "This checkout has expired"),
        ("open", "This order is not paid yet"),
    ],
)
def test_success_other_states(client, stub, paid, status, text):
    stub.server_payload["status"] = status
    response = client.get(f"/checkout/success/?checkout_id={paid}")
    assert response.status_code == 200
    assert text in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query", ["", "?checkout_id=", "?checkout_id=nope", "?checkout_id=../../x"]
)
def test_success_with_a_bad_id_is_a_friendly_404(client, stub, query):
    response = client.get(f"/checkout/success/{query}")
    assert response.status_code == 404
    assert "Order not found" in response.content.decode()
    assert stub.named("refresh_checkout") == []


@pytest.mark.django_db
def test_success_unknown_checkout_is_a_friendly_404(client, stub, paid):
    stub.fail("refresh_checkout", polar_error(NotFoundError, 404))
    response = client.get(f"/checkout/success/?checkout_id={paid}")
    assert response.status_code == 404
    assert "Order not found" in response.content.decode()


@pytest.mark.django_db
def test_success_when_polar_is_down(client, stub, paid):
    stub.fail("refresh_checkout", PolarConnectionError("down"), PolarConnectionError("down"))
    response = client.get(f"/checkout/success/?checkout_id={paid}")
    assert response.status_code == 503
    assert "cannot check your order right now" in response.content.decode()
    # With a cached row, that row is shown instead.
    CheckoutSession.objects.upsert_from_polar(checkout_payload(paid, status="confirmed"))
    cache.clear()
    response = client.get(f"/checkout/success/?checkout_id={paid}")
    assert response.status_code == 200
    assert "We are processing your payment" in response.content.decode()


def test_checkout_page_names_the_product_when_polar_lists_products_instead(client, stub):
    # Current Polar may send ``product: null`` with a ``products`` list.
    stub.public.update(product=None, products=[{"id": PRODUCT, "name": "Listed e-book"}])
    html = client.get(f"/checkout/{SECRET}/").content.decode()
    assert "Listed e-book" in html


@pytest.mark.django_db
def test_create_without_a_client_secret_is_a_message_not_a_500(client, stub, monkeypatch):
    def no_secret(**kwargs):
        stub.calls.append(("create_checkout", (), kwargs))
        return SimpleNamespace(client_secret=None, payload={}, id=str(uuid.uuid4()))

    monkeypatch.setattr(services, "create_checkout", no_secret)
    response = client.post("/checkout/create/", {"product_id": PRODUCT})
    assert response.status_code == 303
    assert response["Location"] == "/"
    assert messages_of(response) == ["Checkout is not available right now. Please try again later."]


def test_checkout_page_is_translated(client, stub):
    with translation.override("fr"):
        response = client.get(f"/checkout/{SECRET}/")
    html = response.content.decode()
    assert '<html lang="fr">' in html
    assert "Vos coordonnées" in html
    assert '<label for="polar-postal-code">Code postal</label>' in html
    assert "Payer 19,00\xa0$US" in html  # Babel's French format for US dollars
    strings = page_config(response)["strings"]
    assert strings["payAmount"] == "Payer %(amount)s"
    # The script formats amounts itself from the currency's exponent and the locale.
    assert page_config(response)["money"] == {"currency": "USD", "exponent": 2, "locale": "fr"}
