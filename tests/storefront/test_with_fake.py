"""The storefront end to end against the fake Polar, through Django's test client.

The same purchases as the browser tests, one level down: the HTTP the page's script
would send in ``server`` mode, the views, the services, the cache and the fake Polar.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client, override_settings

from polar_checkouts.models import CheckoutSession
from polar_checkouts.testing import (
    DISCOUNT_CODE,
    PRICE_PWYW_ID,
    PRODUCT_FREE_ID,
    PRODUCT_ONE_TIME_ID,
    PRODUCT_PWYW_ID,
    PRODUCT_SUBSCRIPTION_ID,
    PWYW_MINIMUM,
    TOKEN_DECLINED,
    TOKEN_REQUIRES_ACTION,
    TOKEN_SUCCEEDED,
)
from tests.storefront.stubs import messages_of

pytestmark = pytest.mark.django_db

ADDRESS = {"country": "FR", "line1": "1 rue de la Paix", "postal_code": "75002", "city": "Paris"}
#: What the buyer types into the checkout form before paying.
BUYER = {
    "customer_name": "Ada",
    "customer_email": "ada@example.com",
    "customer_billing_address": ADDRESS,
}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


class Shopper:
    """A browser on the checkout page in ``server`` mode: cookies, CSRF token, JSON calls."""

    def __init__(self) -> None:
        self.http = Client(enforce_csrf_checks=True)
        self.secret = ""
        self.page: Any = None

    def buy(self, **data: Any) -> Any:
        """From the shop page (which sets the CSRF cookie), press a buy button."""
        self.http.get("/shop/")
        response = self.http.post(
            "/checkout/create/",
            {**data, "csrfmiddlewaretoken": self.http.cookies["csrftoken"].value},
            HTTP_REFERER="http://testserver/shop/",
        )
        match = re.fullmatch(r"/checkout/([^/]+)/", response["Location"])
        if match:
            self.secret = match.group(1)
            self.page = self.http.get(response["Location"])
        return response

    def update(self, body: dict[str, Any]) -> Any:
        return self._send(self.http.patch, f"/checkout/client/{self.secret}", body)

    def confirm(self, body: dict[str, Any]) -> Any:
        return self._send(self.http.post, f"/checkout/client/{self.secret}/confirm", body)

    def pay(self, token: str) -> Any:
        """Confirm with the buyer's details and a test payment token."""
        return self.confirm({**BUYER, "confirmation_token_id": token})

    def _send(self, send: Any, url: str, body: dict[str, Any]) -> Any:
        """JSON with the CSRF header, as checkout.js sends it."""
        return send(
            url,
            json.dumps(body),
            content_type="application/json",
            HTTP_X_CSRFTOKEN=self.http.cookies["csrftoken"].value,
        )

    def status(self) -> dict[str, Any]:
        cache.clear()  # as if the refresh interval had passed
        return self.http.get(f"/checkout/{self.secret}/status/").json()


@pytest.fixture
def shopper(polar_fake, settings):
    settings.POLAR_CLIENT_CALLS = "server"
    return Shopper()


def test_one_checkout_offers_several_products(shopper, polar_fake):
    response = shopper.buy(product_id=[PRODUCT_ONE_TIME_ID, PRODUCT_FREE_ID])
    assert response.status_code == 303
    assert shopper.page.status_code == 200
    [create] = polar_fake.calls("create")
    assert create.headers["polar-version"] == "2026-10"
    assert create.json()["products"] == [PRODUCT_ONE_TIME_ID, PRODUCT_FREE_ID]
    assert "product_id" not in create.json()
    session = CheckoutSession.objects.get(client_secret=shopper.secret)
    offered = [product["id"] for product in session.payload["products"]]
    assert offered == [PRODUCT_ONE_TIME_ID, PRODUCT_FREE_ID]
    assert session.product_id is not None
    assert str(session.product_id) == PRODUCT_ONE_TIME_ID  # the first is selected
    assert shopper.pay(TOKEN_SUCCEEDED).status_code == 200


def test_the_seed_era_path_buys_with_product_id(shopper, polar_fake, settings):
    settings.POLAR_CHECKOUT_PATH = "/v1/checkouts/custom/"
    settings.POLAR_API_VERSION = None
    assert shopper.buy(product_id=PRODUCT_ONE_TIME_ID).status_code == 303
    assert shopper.page.status_code == 200
    [create] = polar_fake.calls("create")
    assert create.path == "/v1/checkouts/custom/"
    assert "polar-version" not in create.headers
    assert create.json()["product_id"] == PRODUCT_ONE_TIME_ID
    assert create.json()["payment_processor"] == "stripe"
    assert "products" not in create.json()
    assert shopper.pay(TOKEN_SUCCEEDED).status_code == 200
    assert all("polar-version" not in call.headers for call in polar_fake.calls())


def test_a_version_polar_does_not_serve_is_a_configuration_error(shopper, polar_fake, caplog):
    """The buyer sees a friendly message; the log names the setting to fix."""
    shopper.http.get("/shop/")  # the CSRF cookie (the shop page lists products)
    with override_settings(POLAR_API_VERSION="2031-01"):
        response = shopper.http.post(
            "/checkout/create/",
            {
                "product_id": PRODUCT_ONE_TIME_ID,
                "csrfmiddlewaretoken": shopper.http.cookies["csrftoken"].value,
            },
            HTTP_REFERER="http://testserver/shop/",
        )
    assert response.status_code == 303
    assert response["Location"] == "http://testserver/shop/"
    assert messages_of(response) == ["Checkout is not available right now. Please try again later."]
    # Refused before any route, as Polar does: no operation, a bare 404.
    [create] = [call for call in polar_fake.calls() if call.method == "POST"]
    assert create.headers["polar-version"] == "2031-01"
    assert create.status == 404
    warnings = [r.getMessage() for r in caplog.records if r.name == "polar_checkouts"]
    assert any("POLAR_API_VERSION" in m and "'2031-01'" in m for m in warnings)
    assert not CheckoutSession.objects.exists()


def test_buy_a_one_time_product_in_server_mode(shopper, polar_fake):
    response = shopper.buy(product_id=PRODUCT_ONE_TIME_ID)
    assert response.status_code == 303
    page = shopper.page
    assert page.status_code == 200
    assert "Field Guide to Django Payments (PDF)" in page.content.decode()
    session = CheckoutSession.objects.get(client_secret=shopper.secret)
    assert session.status == "open"
    assert session.ip_address == "127.0.0.1"
    assert session.payload["success_url"] == (
        f"http://testserver/checkout/success/?checkout_id={session.id}"
    )

    updated = shopper.update(
        {"customer_email": "ada@example.com", "customer_billing_address": ADDRESS}
    )
    assert updated.status_code == 200
    assert updated.json()["tax_amount"] == 380
    assert updated.json()["total_amount"] == 2280

    declined = shopper.pay(TOKEN_DECLINED)
    assert declined.status_code == 400
    assert declined.json()["error"] == "PaymentError"
    assert "declined" in declined.json()["detail"]

    confirmed = shopper.pay(TOKEN_SUCCEEDED)
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "confirmed"
    # The cache learnt the confirmation from the server-mode call itself.
    assert CheckoutSession.objects.get(pk=session.id).status == "confirmed"

    status = shopper.status()
    assert status["status"] == "succeeded"
    receipt = shopper.http.get(status["success_url"])
    assert "Thank you for your order!" in receipt.content.decode()
    assert "$22.80" in receipt.content.decode()
    assert CheckoutSession.objects.get(pk=session.id).status == "succeeded"

    again = shopper.confirm({"confirmation_token_id": TOKEN_SUCCEEDED})
    assert again.status_code == 403
    assert again.json()["error"] == "NotOpenCheckout"
    assert "already complete" in shopper.http.get(f"/checkout/{shopper.secret}/").content.decode()


def test_confirm_lists_every_missing_field(shopper):
    shopper.buy(product_id=PRODUCT_ONE_TIME_ID)
    response = shopper.confirm({})
    assert response.status_code == 422
    fields = {".".join(item["loc"][1:]) for item in response.json()["detail"]}
    assert {"customer_email", "customer_name", "confirmation_token_id"} <= fields


def test_discount_code(shopper):
    shopper.buy(product_id=PRODUCT_ONE_TIME_ID)
    wrong = shopper.update({"discount_code": "NOPE"})
    assert wrong.status_code == 422
    assert wrong.json()["detail"][0]["loc"] == ["body", "discount_code"]
    right = shopper.update({"discount_code": DISCOUNT_CODE})
    assert right.json()["total_amount"] == 1710
    assert right.json()["discount"]["code"] == DISCOUNT_CODE
    removed = shopper.update({"discount_code": None})
    assert removed.json()["total_amount"] == 1900


def test_requires_action_then_the_buyer_authenticates(shopper, polar_fake):
    shopper.buy(product_id=PRODUCT_ONE_TIME_ID)
    confirmed = shopper.pay(TOKEN_REQUIRES_ACTION)
    metadata = confirmed.json()["payment_processor_metadata"]
    assert metadata["intent_status"] == "requires_action"
    assert shopper.status()["status"] == "confirmed"
    polar_fake.complete_action(shopper.secret)
    assert shopper.status()["status"] == "succeeded"


def test_free_product_needs_only_an_email(shopper):
    shopper.buy(product_id=PRODUCT_FREE_ID)
    html = shopper.page.content.decode()
    assert "Get it for free" in html
    assert shopper.confirm({"customer_email": "ada@example.com"}).status_code == 200
    assert shopper.status()["status"] == "succeeded"


def test_subscription_page(shopper):
    shopper.buy(product_id=PRODUCT_SUBSCRIPTION_ID)
    html = shopper.page.content.decode()
    assert "/ month" in html
    assert ">Subscribe</button>" in html


def test_pay_what_you_want_bounds_come_from_the_catalogue(shopper):
    too_low = shopper.buy(product_id=PRODUCT_PWYW_ID, amount=PWYW_MINIMUM - 1)
    assert too_low["Location"] == "http://testserver/shop/"
    assert messages_of(too_low) == ["Please enter at least $5.00."]
    fine = shopper.buy(price_id=PRICE_PWYW_ID, amount=1234)
    assert fine.status_code == 303
    assert CheckoutSession.objects.get(client_secret=shopper.secret).amount == 1234
    assert 'value="12.34"' in shopper.page.content.decode()


def test_allowed_products_by_price_use_the_catalogue(shopper):
    with override_settings(POLAR_ALLOWED_PRODUCTS=[PRODUCT_ONE_TIME_ID]):
        refused = shopper.buy(price_id=PRICE_PWYW_ID)
    assert messages_of(refused) == ["This product is not available."]
    assert not CheckoutSession.objects.exists()


def test_signed_in_customer_is_prefilled_and_linked(shopper):
    user = get_user_model().objects.create_user("ada", email="ada@example.com")
    shopper.http.force_login(user)
    shopper.buy(product_id=PRODUCT_ONE_TIME_ID)
    session = CheckoutSession.objects.get(client_secret=shopper.secret)
    assert session.user == user
    assert session.customer_email == "ada@example.com"
    assert 'value="ada@example.com"' in shopper.page.content.decode()


def test_hosted_mode_sends_the_customer_to_polar(shopper):
    response = shopper.buy(product_id=PRODUCT_ONE_TIME_ID, mode="hosted")
    session = CheckoutSession.objects.get()
    assert response["Location"] == session.payload["url"]


def test_expired_checkout_page(shopper, polar_fake):
    shopper.buy(product_id=PRODUCT_ONE_TIME_ID)
    polar_fake.advance_time(2 * 24 * 3600)
    page = shopper.http.get(f"/checkout/{shopper.secret}/")
    assert page.status_code == 410
    assert "This checkout has expired" in page.content.decode()
    assert shopper.update({"customer_email": "ada@example.com"}).status_code in (404, 410)


def test_unknown_checkout_and_receipt(client, polar_fake):
    assert client.get("/checkout/polar_c_unknown/").status_code == 404
    assert client.get(f"/checkout/success/?checkout_id={uuid.uuid4()}").status_code == 404
    assert client.get("/checkout/polar_c_unknown/status/").status_code == 404


def test_a_failing_fulfilment_receiver_never_shows_the_buyer_a_500(shopper, caplog):
    """The shop's receiver raising must not break the buyer's pages; it runs again later."""
    from polar_checkouts import signals

    calls: list[str] = []

    def broken_fulfilment(sender, checkout, **kwargs):
        calls.append(str(checkout.pk))
        raise RuntimeError("licence server down")

    shopper.buy(product_id=PRODUCT_ONE_TIME_ID)
    confirmed = shopper.pay(TOKEN_SUCCEEDED)
    assert confirmed.status_code == 200
    session = CheckoutSession.objects.get(client_secret=shopper.secret)

    signals.checkout_succeeded.connect(broken_fulfilment)
    try:
        status = shopper.status()
        assert status["status"] == "confirmed"  # what the cache knows; nothing was stored
        cache.clear()
        receipt = shopper.http.get(f"/checkout/success/?checkout_id={session.id}")
        assert receipt.status_code == 200
        assert "Thank you for your order!" not in receipt.content.decode()
    finally:
        signals.checkout_succeeded.disconnect(broken_fulfilment)
    assert calls == [str(session.id), str(session.id)]
    assert "licence server down" in caplog.text  # the shop's developer sees the traceback
    session.refresh_from_db()
    assert (session.status, session.succeeded_notified_at) == ("confirmed", None)

    # Once the receiver works (or Polar's webhook retry comes), the success is delivered.
    assert shopper.status()["status"] == "succeeded"
    session.refresh_from_db()
    assert session.succeeded_notified_at is not None


def test_rendering_the_checkout_page_again_costs_one_polar_call_and_one_query(
    shopper, polar_fake, django_assert_max_num_queries
):
    shopper.buy(product_id=PRODUCT_ONE_TIME_ID)
    calls_before = len(polar_fake.calls("client_get"))
    with django_assert_max_num_queries(3):
        page = shopper.http.get(f"/checkout/{shopper.secret}/")
    assert page.status_code == 200
    assert len(polar_fake.calls("client_get")) == calls_before + 1


def test_a_failing_checkout_updated_receiver_is_a_friendly_error_everywhere(shopper, settings):
    """Every storefront path that stores Polar data survives a raising shop receiver."""
    from polar_checkouts import signals

    def broken(sender, **kwargs):
        raise RuntimeError("crm down")

    signals.checkout_updated.connect(broken)
    try:
        created = shopper.buy(product_id=PRODUCT_ONE_TIME_ID)
        assert created.status_code in (302, 303)
        assert created["Location"].endswith("/shop/")  # back where the customer came from
        assert CheckoutSession.objects.count() == 0  # rolled back with the receiver
    finally:
        signals.checkout_updated.disconnect(broken)

    shopper.buy(product_id=PRODUCT_ONE_TIME_ID)  # works again without the receiver
    signals.checkout_updated.connect(broken)
    try:
        updated = shopper.update({"customer_email": "ada@example.com"})
        assert updated.status_code == 502
        assert updated.json()["detail"]
        confirmed = shopper.pay(TOKEN_SUCCEEDED)
        assert confirmed.status_code == 502  # Polar confirmed; storing it raised
        assert "Traceback" not in confirmed.content.decode()
    finally:
        signals.checkout_updated.disconnect(broken)
