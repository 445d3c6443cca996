"""A customer buying through the storefront in headless Chromium, against the fake Polar.

Each test starts on the test shop's catalogue (``tests/browser/shop.py``), clicks a
product's button and goes through the checkout page the way a person would.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from polar_checkouts import services
from polar_checkouts.models import CheckoutSession
from polar_checkouts.money import format_money
from polar_checkouts.testing import (
    DISCOUNT_CODE,
    PRODUCT_FREE_ID,
    PRODUCT_ONE_TIME_ID,
    PRODUCT_PWYW_ID,
    PRODUCT_SUBSCRIPTION_ID,
)
from tests.browser.screenshots import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SUCCESS_URL = re.compile(r"/checkout/success/\?checkout_id=[0-9a-f-]{36}$")


def start_checkout(page: Page, product_id: str) -> None:
    """From the catalogue, press the product's button and land on the checkout page."""
    page.goto("/shop/")
    # The card's first button ("Buy now", "Subscribe" or "Get it free", by its price).
    page.locator(f'[data-product-id="{product_id}"]').get_by_role("button").first.click()
    expect(page).to_have_url(re.compile(r"/checkout/polar_c_[^/]+/$"))
    # The script enables the confirm button once it has taken over the form.
    expect(page.locator("[data-polar-confirm]")).to_be_enabled()


def fill_billing(page: Page, *, country: str = "FR") -> None:
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Name on the card").fill("Ada Lovelace")
    page.get_by_label("Country").select_option(country)
    page.get_by_label("Address", exact=True).fill("12 rue des Lilas")
    page.get_by_label("Postal code").fill("75011")
    page.get_by_label("City").fill("Paris")
    page.get_by_label("City").press("Tab")


def choose_test_payment(page: Page, label: str) -> None:
    page.get_by_label(label).check()


def expect_total(page: Page, text: str | re.Pattern[str]) -> None:
    expect(page.locator('[data-polar-amount="total"]')).to_have_text(text)


def expect_receipt(page: Page) -> str:
    """Wait for the receipt; return the checkout id from the URL."""
    expect(page).to_have_url(SUCCESS_URL, timeout=20_000)
    expect(page.get_by_role("heading", name="Thank you for your order!")).to_be_visible()
    return page.url.rsplit("=", 1)[1]


def client_calls(page: Page) -> list[str]:
    """Record the URL path of every client call the page makes."""
    calls: list[str] = []
    page.on(
        "request",
        lambda request: (
            calls.append(request.method + " " + request.url.split("/", 3)[3])
            if "/client/" in request.url or "/_fake/" in request.url
            else None
        ),
    )
    return calls


@pytest.mark.parametrize("mode", ["browser", "server"])
def test_buy_a_one_time_product(page, shop, settings, mode):
    settings.POLAR_CLIENT_CALLS = mode
    calls = client_calls(page)
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    expect(page.get_by_role("heading", name="Field Guide to Django Payments (PDF)")).to_be_visible()
    expect_total(page, "$19.00")
    fill_billing(page)
    # The billing address brings French VAT (20 %) into the total.
    expect_total(page, "$22.80")
    expect(page.get_by_role("button", name="Pay $22.80")).to_be_visible()
    if mode == "browser":
        screenshot(page, "checkout", full_page=True)
    page.get_by_role("button", name="Pay $22.80").click()
    checkout_id = expect_receipt(page)
    if mode == "browser":
        screenshot(page, "receipt")

    expect(page.locator("body")).to_contain_text("$22.80")
    expect(page.locator("body")).to_contain_text("ada@example.com")
    session = CheckoutSession.objects.get(pk=checkout_id)
    assert session.status == "succeeded"
    assert session.total_amount == 2280
    assert session.customer_email == "ada@example.com"
    prefix = "polar-fake/v1/checkouts/client/" if mode == "browser" else "checkout/client/"
    assert calls, "the page made client calls"
    assert all(call.split(" ", 1)[1].startswith(prefix) for call in calls), calls
    assert sum(call.endswith("/confirm") for call in calls) == 1


def test_subscribe_to_a_monthly_plan(page, shop, settings):
    settings.POLAR_CLIENT_CALLS = "server"
    start_checkout(page, PRODUCT_SUBSCRIPTION_ID)
    expect_total(page, re.compile(r"^\$9\.00 / month$"))
    fill_billing(page, country="US")
    page.get_by_label("State or region (if any)").fill("CA")
    page.get_by_label("State or region (if any)").press("Tab")
    page.get_by_role("button", name="Subscribe").click()
    checkout_id = expect_receipt(page)
    expect(page.locator("body")).to_contain_text("/ month")
    session = CheckoutSession.objects.get(pk=checkout_id)
    assert session.status == "succeeded"
    assert session.payload["customer_billing_address"]["state"] == "US-CA"


def test_pay_what_you_want(page, shop):
    start_checkout(page, PRODUCT_PWYW_ID)
    amount = page.get_by_label(re.compile(r"Amount you want to pay"))
    expect(amount).to_have_value("15.00")
    # Below the minimum: Polar's message shows next to the field, then a good amount.
    amount.fill("1")
    amount.press("Tab")
    error = page.locator('[data-polar-error="amount"]')
    expect(error).to_be_visible()
    expect(amount).to_have_attribute("aria-invalid", "true")
    amount.fill("12.34")
    amount.press("Tab")
    expect_total(page, "$12.34")
    expect(error).to_be_hidden()
    fill_billing(page, country="CH")  # no tax in the fake for Switzerland
    page.get_by_role("button", name="Pay $12.34").click()
    checkout_id = expect_receipt(page)
    assert CheckoutSession.objects.get(pk=checkout_id).total_amount == 1234


def test_get_a_free_product_with_just_an_email(page, shop):
    start_checkout(page, PRODUCT_FREE_ID)
    expect(page.get_by_label("Name on the card")).to_be_hidden()
    expect(page.locator("[data-polar-payment]")).to_be_hidden()
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_role("button", name="Get it for free").click()
    checkout_id = expect_receipt(page)
    assert CheckoutSession.objects.get(pk=checkout_id).status == "succeeded"


def test_declined_card_then_successful_retry(page, shop):
    calls = client_calls(page)
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    fill_billing(page)
    choose_test_payment(page, "Card is declined")
    page.get_by_role("button", name="Pay $22.80").click()
    error = page.locator('[data-polar-error="payment"]')
    expect(error).to_contain_text("Your card was declined")
    button = page.get_by_role("button", name="Pay $22.80")
    expect(button).to_be_enabled()
    choose_test_payment(page, "Card succeeds")
    button.click()
    checkout_id = expect_receipt(page)
    assert CheckoutSession.objects.get(pk=checkout_id).status == "succeeded"
    assert sum(call.endswith("/confirm") for call in calls) == 2


def test_requires_action_then_authentication(page, shop):
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    fill_billing(page)
    choose_test_payment(page, "Card asks for authentication (3-D Secure)")
    page.get_by_role("button", name="Pay $22.80").click()
    dialog = page.get_by_role("dialog", name="Confirm this payment with your bank")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Complete authentication").click()
    checkout_id = expect_receipt(page)
    assert CheckoutSession.objects.get(pk=checkout_id).status == "succeeded"


def test_payment_failing_after_confirmation(page, shop):
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    fill_billing(page)
    choose_test_payment(page, "Payment fails after confirmation")
    page.get_by_role("button", name="Pay $22.80").click()
    expect(page).to_have_url(SUCCESS_URL, timeout=20_000)
    expect(page.get_by_role("heading", name="The payment failed")).to_be_visible()


def test_discount_code_changes_the_total(page, shop):
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    code = page.get_by_label("Discount code")
    code.fill("NOPE")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator('[data-polar-error="discount_code"]')).to_be_visible()
    expect_total(page, "$19.00")
    code.fill(DISCOUNT_CODE)
    page.get_by_role("button", name="Apply").click()
    expect_total(page, "$17.10")
    expect(page.locator('[data-polar-amount="discount"]')).to_have_text("\u2212$1.90")
    expect(page.locator('[data-polar-error="discount_code"]')).to_be_hidden()
    page.get_by_role("button", name="Remove").click()
    expect_total(page, "$19.00")
    code.fill(DISCOUNT_CODE)
    code.press("Enter")
    expect_total(page, "$17.10")
    fill_billing(page, country="CH")
    page.get_by_role("button", name="Pay $17.10").click()
    checkout_id = expect_receipt(page)
    assert CheckoutSession.objects.get(pk=checkout_id).total_amount == 1710


def test_double_click_confirms_once(page, shop):
    calls = client_calls(page)
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    fill_billing(page, country="CH")
    page.get_by_role("button", name="Pay $19.00").dblclick()
    expect_receipt(page)
    assert sum(call.endswith("/confirm") for call in calls) == 1


def test_keyboard_only_checkout_with_authentication(page, shop):
    """No mouse: tab through the form, pick the test payment with arrows, confirm with Enter."""
    page.goto("/shop/")
    buy = page.locator(f'[data-product-id="{PRODUCT_ONE_TIME_ID}"]').get_by_role("button")
    buy.focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-polar-confirm]")).to_be_enabled()
    page.get_by_label("Email").focus()
    for label, text in [
        ("Email", "ada@example.com"),
        ("Name on the card", "Ada Lovelace"),
        ("Country", "Switzerland"),  # a select: typing a name picks it
        ("Address", "Bahnhofstrasse 1"),
        ("Address line 2 (optional)", ""),
        ("Postal code", "8001"),
        ("City", "Zürich"),
        ("State or region (if any)", ""),
    ]:
        expect(page.get_by_label(label, exact=True)).to_be_focused()
        page.keyboard.type(text)
        page.keyboard.press("Tab")
    expect(page.get_by_label("Discount code")).to_be_focused()
    page.keyboard.press("Tab")  # the Apply button
    page.keyboard.press("Tab")  # the chosen test payment (the first)
    expect(page.get_by_label("Card succeeds")).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Card asks for authentication (3-D Secure)")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Pay $19.00")).to_be_focused()
    page.keyboard.press("Enter")
    # The bank's step takes the focus, so Enter completes it.
    complete = page.get_by_role("dialog").get_by_role("button", name="Complete authentication")
    expect(complete).to_be_focused()
    page.keyboard.press("Enter")
    checkout_id = expect_receipt(page)
    assert CheckoutSession.objects.get(pk=checkout_id).status == "succeeded"


def test_expired_checkout(page, shop):
    checkout = services.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    page.goto(f"/checkout/{checkout.client_secret}/")
    expect(page.locator("[data-polar-confirm]")).to_be_enabled()
    # The session runs out while the customer is on the page.
    shop.advance_time(2 * 24 * 3600)
    fill_billing(page, country="CH")
    page.get_by_role("button", name="Pay $19.00").click()
    expect(page.get_by_role("heading", name="This checkout has expired")).to_be_visible()
    page.goto(f"/checkout/{checkout.client_secret}/")
    expect(page.get_by_role("heading", name="This checkout has expired")).to_be_visible()


def test_unknown_checkout_page(page, shop):
    response = page.goto("/checkout/polar_c_doesnotexist/")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="Checkout not found")).to_be_visible()


def test_admin_shows_the_succeeded_session(page, shop):
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    fill_billing(page, country="CH")
    page.get_by_role("button", name="Pay $19.00").click()
    checkout_id = expect_receipt(page)

    get_user_model().objects.create_superuser("boss", "boss@example.com", "s3cret-pass")
    page.goto("/admin/login/?next=/admin/polar_checkouts/checkoutsession/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("s3cret-pass")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/admin/polar_checkouts/checkoutsession/"))
    row = page.locator("#result_list tbody tr").filter(has_text="Field Guide to Django Payments")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Succeeded")
    row.get_by_role("link").first.click()
    expect(page.locator("body")).to_contain_text(checkout_id)


def test_receipt_page_waits_for_the_payment_by_itself(page, shop):
    # Polar takes a minute (on the fake's clock) to settle this payment.
    shop.success_delay = 60
    checkout = services.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    assert checkout.client_secret is not None
    services.client_confirm(
        checkout.client_secret,
        {
            "customer_email": "ada@example.com",
            "customer_name": "Ada Lovelace",
            "customer_billing_address": {"country": "CH"},
            "confirmation_token_id": "ctoken_fake_succeeded",
        },
    )
    page.goto(f"/checkout/success/?checkout_id={checkout.id}")
    expect(page.get_by_role("heading", name="We are processing your payment")).to_be_visible()
    shop.advance_time(120)
    # No click: the page refreshes itself until Polar says the payment went through.
    expect(page.get_by_role("heading", name="Thank you for your order!")).to_be_visible()


def test_checkout_in_french_keeps_amounts_consistent(page, shop, settings):
    settings.LANGUAGE_CODE = "fr"
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    expect(page.get_by_role("heading", name="Vos coordonnées")).to_be_visible()
    total = page.locator('[data-polar-amount="total"]')
    expect_total(page, format_money(1900, "usd", "fr"))  # "19,00 $US", by the server
    rendered_by_the_server = total.text_content()
    page.get_by_label("Code de réduction").fill(DISCOUNT_CODE)
    page.get_by_role("button", name="Appliquer").click()
    expect_total(page, format_money(1710, "usd", "fr"))  # re-rendered by the script
    expect(page.locator("[data-polar-discount-status]")).to_have_text("Réduction appliquée.")
    pay = "Payer " + format_money(1710, "usd", "fr")
    expect(page.get_by_role("button", name=pay)).to_be_visible()
    # The script writes an amount exactly as the server does (same characters, spaces).
    page.locator("[data-polar-discount-remove]").click()
    expect_total(page, format_money(1900, "usd", "fr"))
    assert total.text_content() == rendered_by_the_server
