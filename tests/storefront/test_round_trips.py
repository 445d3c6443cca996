"""How many Polar calls stand between a shopper's click and the page they see.

Counted through the fake Polar, which records every request it answers: the button's
POST to the checkout page's HTML costs the create alone (the page renders from the
create's answer while it is fresh), and a payment a webhook already stored reaches the
receipt with no Polar call after the confirm. A stale, reloaded or no longer open
checkout still asks Polar.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from polar_checkouts import services
from polar_checkouts.models import CheckoutSession
from polar_checkouts.payload import PUBLIC_CHECKOUT_KEYS
from polar_checkouts.testing import PRODUCT_ONE_TIME_ID, TOKEN_SUCCEEDED
from polar_checkouts.testing.catalogue import ORGANIZATION_NAME
from tests.webhook_helpers import SECRET

pytestmark = pytest.mark.django_db

BUYER = {
    "customer_name": "Ada",
    "customer_email": "ada@example.com",
    "customer_billing_address": {"country": "FR", "postal_code": "75002"},
}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def browser(polar_fake) -> Client:
    """A shopper's browser that has seen one checkout page (so the seller is known) and
    the shop page (the CSRF cookie; the catalogue is cached)."""
    client = Client()
    client.get("/shop/")
    warm = services.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    services.client_get(warm.client_secret or "")
    return client


def press_buy(browser: Client, **data: Any) -> str:
    """POST the buy button; the checkout page's path it redirects to."""
    response = browser.post(
        "/checkout/create/",
        {"product_id": PRODUCT_ONE_TIME_ID, **data},
        HTTP_REFERER="http://testserver/shop/",
    )
    assert response.status_code == 303, response
    assert re.fullmatch(r"/checkout/[^/]+/", response["Location"])
    return str(response["Location"])


def page_config(html: str) -> dict[str, Any]:
    match = re.search(
        r'<script id="polar-checkout-config" type="application/json">(.*?)</script>', html, re.S
    )
    assert match, "the page carries its script's config"
    config: dict[str, Any] = json.loads(match.group(1))
    return config


def operations(fake, since: int = 0) -> list[str | None]:
    return [call.operation for call in fake.calls()[since:]]


def test_the_button_to_the_checkout_page_costs_one_polar_call(browser, polar_fake):
    before = len(polar_fake.calls())
    page = browser.get(press_buy(browser))
    assert page.status_code == 200
    assert operations(polar_fake, before) == ["create"]
    html = page.content.decode()
    assert "Field Guide to Django Payments (PDF)" in html
    assert ORGANIZATION_NAME in html  # the seller, learnt from an earlier public answer


def test_the_page_from_the_cache_is_the_page_polar_would_give(browser, polar_fake, settings):
    settings.POLAR_CHECKOUT_METADATA = lambda request, data: {"cart": "internal-42"}
    path = press_buy(browser)
    from_cache = browser.get(path).content.decode()
    assert operations(polar_fake)[-1] == "create"
    from_polar = browser.get(path).content.decode()  # a reload asks Polar
    assert operations(polar_fake)[-1] == "client_get"

    cached, asked = page_config(from_cache), page_config(from_polar)
    # The public view only: the shop's own data never reaches the buyer's page.
    assert set(cached["checkout"]) <= PUBLIC_CHECKOUT_KEYS
    assert "internal-42" not in from_cache
    assert "metadata" not in cached["checkout"]
    public_answer = {k: v for k, v in asked["checkout"].items() if k in PUBLIC_CHECKOUT_KEYS}
    assert cached["checkout"] == public_answer
    per_render = {"checkout", "csrfToken"}  # the CSRF token is masked anew on each render
    assert {k: v for k, v in cached.items() if k not in per_render} == {
        k: v for k, v in asked.items() if k not in per_render
    }
    # What the buyer sees is the same, the script config and CSRF tokens aside.
    strip = re.compile(
        r'<script id="polar-checkout-config".*?</script>|name="csrfmiddlewaretoken" value="[^"]*"',
        re.S,
    )
    assert strip.sub("", from_cache) == strip.sub("", from_polar)


def test_a_reload_asks_polar_again(browser, polar_fake):
    """In browser mode the page's script updates Polar directly; the cache may lag."""
    path = press_buy(browser)
    browser.get(path)
    before = len(polar_fake.calls())
    assert browser.get(path).status_code == 200
    assert operations(polar_fake, before) == ["client_get"]


def test_a_stale_row_is_refreshed_from_polar(browser, polar_fake, settings):
    settings.POLAR_CHECKOUT_FRESH_SECONDS = 5
    path = press_buy(browser)
    CheckoutSession.objects.filter(client_secret=path.split("/")[2]).update(
        synced_at=timezone.now() - dt.timedelta(seconds=6)
    )
    before = len(polar_fake.calls())
    page = browser.get(path)
    assert page.status_code == 200
    assert operations(polar_fake, before) == ["client_get"]
    # Polar's answer was stored: the row is fresh again.
    row = CheckoutSession.objects.get(client_secret=path.split("/")[2])
    assert timezone.now() - row.synced_at < dt.timedelta(seconds=5)


def test_a_checkout_no_longer_open_in_the_cache_asks_polar(browser, polar_fake):
    path = press_buy(browser)
    secret = path.split("/")[2]
    # Paid in another tab (straight to Polar in browser mode) and seen by a webhook as
    # confirmed: the page must not offer to pay again from the cache.
    services.client_confirm(secret, {**BUYER, "confirmation_token_id": TOKEN_SUCCEEDED})
    before = len(polar_fake.calls())
    page = browser.get(path)
    assert operations(polar_fake, before) == ["client_get"]
    assert "already complete" in page.content.decode()


def test_an_expired_row_asks_polar(browser, polar_fake):
    path = press_buy(browser)
    CheckoutSession.objects.filter(client_secret=path.split("/")[2]).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    before = len(polar_fake.calls())
    browser.get(path)
    assert operations(polar_fake, before) == ["client_get"]


def test_the_setting_at_zero_always_asks_polar(browser, polar_fake, settings):
    settings.POLAR_CHECKOUT_FRESH_SECONDS = 0
    before = len(polar_fake.calls())
    assert browser.get(press_buy(browser)).status_code == 200
    assert operations(polar_fake, before) == ["create", "client_get"]


def test_an_unknown_seller_asks_polar(polar_fake):
    """A server-side answer lacks the organization; until a public answer showed it, ask."""
    browser = Client()
    browser.get("/shop/")
    before = len(polar_fake.calls())
    path = press_buy(browser)
    assert browser.get(path).status_code == 200
    assert operations(polar_fake, before) == ["create", "client_get"]
    # Now it is known: the next button costs the create alone.
    before = len(polar_fake.calls())
    assert ORGANIZATION_NAME in browser.get(press_buy(browser)).content.decode()
    assert operations(polar_fake, before) == ["create"]


def test_another_browser_with_the_link_gets_polar_s_answer(browser, polar_fake):
    """The cache serves one view per create; a second one (a shared link) asks Polar."""
    path = press_buy(browser)
    browser.get(path)
    before = len(polar_fake.calls())
    assert Client().get(path).status_code == 200
    assert operations(polar_fake, before) == ["client_get"]


# -- confirm to receipt ------------------------------------------------------------------


@pytest.fixture
def webhooks_to_the_shop(polar_fake, settings, django_capture_on_commit_callbacks):
    """The fake delivers its webhooks to this site's endpoint when told to."""
    endpoint = reverse("polar_checkouts:webhook")
    client = Client()

    def send(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.generic(
                "POST",
                endpoint,
                body,
                content_type="application/json",
                headers=headers,
            )
        return int(response.status_code)

    polar_fake.configure_webhooks(
        "http://testserver" + endpoint, SECRET, delivery="manual", sender=send
    )
    return polar_fake


def test_a_success_stored_by_a_webhook_reaches_the_receipt_without_polar(
    browser, webhooks_to_the_shop
):
    fake = webhooks_to_the_shop
    path = press_buy(browser)
    secret = path.split("/")[2]
    browser.get(path)
    fake.handle(  # the page's script confirms straight with Polar
        "POST",
        f"/v1/checkouts/client/{secret}/confirm",
        headers={"content-type": "application/json", "polar-version": "2026-10"},
        body=json.dumps({**BUYER, "confirmation_token_id": TOKEN_SUCCEEDED}).encode(),
    )
    fake.checkout(str(CheckoutSession.objects.get(client_secret=secret).pk))  # it settles
    fake.deliver_webhooks()
    assert CheckoutSession.objects.get(client_secret=secret).status == "succeeded"

    before = len(fake.calls())
    status = browser.get(f"/checkout/{secret}/status/").json()
    assert status["status"] == "succeeded"
    receipt = browser.get(status["success_url"])
    assert "Thank you for your order!" in receipt.content.decode()
    assert operations(fake, before) == []


def test_without_the_webhook_the_status_poll_asks_polar_once(browser, polar_fake):
    path = press_buy(browser)
    secret = path.split("/")[2]
    browser.get(path)
    services.client_confirm(secret, {**BUYER, "confirmation_token_id": TOKEN_SUCCEEDED})
    before = len(polar_fake.calls())
    status = browser.get(f"/checkout/{secret}/status/").json()
    assert status["status"] == "succeeded"
    receipt = browser.get(status["success_url"])
    assert "Thank you for your order!" in receipt.content.decode()
    assert operations(polar_fake, before) == ["client_get"]


def test_a_final_status_in_the_cache_is_never_asked_again(browser, polar_fake):
    """Polar never changes a succeeded, failed or expired checkout: polls cost nothing."""
    path = press_buy(browser)
    secret = path.split("/")[2]
    services.client_confirm(secret, {**BUYER, "confirmation_token_id": TOKEN_SUCCEEDED})
    browser.get(f"/checkout/{secret}/status/")  # learns the success
    before = len(polar_fake.calls())
    for _ in range(3):
        cache.clear()  # as if the refresh interval had passed each time
        assert browser.get(f"/checkout/{secret}/status/").json()["status"] == "succeeded"
    assert operations(polar_fake, before) == []


# -- the checkout's language ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_language", "locale"),
    [("fr-FR,fr;q=0.9", "fr"), ("pt-BR", "pt-BR"), ("ja", "ja"), ("de", "de"), ("en", "en")],
)
def test_polar_s_checkout_locale_follows_the_shopper_s_language(
    browser, polar_fake, settings, accept_language, locale
):
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[:2],
        "django.middleware.locale.LocaleMiddleware",
        *settings.MIDDLEWARE[2:],
    ]
    settings.LANGUAGES = [
        ("en", "English"),
        ("fr", "French"),
        ("de", "German"),
        ("es", "Spanish"),
        ("pt-br", "Brazilian Portuguese"),
        ("ja", "Japanese"),
    ]
    Client().post(  # a new client: one built before the settings has the old middleware
        "/checkout/create/",
        {"product_id": PRODUCT_ONE_TIME_ID},
        HTTP_ACCEPT_LANGUAGE=accept_language,
    )
    create = polar_fake.calls("create")[-1]
    assert create.json()["locale"] == locale
    assert create.status == 201
