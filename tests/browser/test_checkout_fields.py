"""The checkout form's fields as a shopper meets them, at phone and desktop widths.

Countries from a list (named in the page's language, preselected from Polar's guess),
amounts and their bounds in money, and every error in words people understand: beside
its field, the field marked invalid and focused, the summary agreeing with the field.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from polar_checkouts import services
from polar_checkouts.models import CheckoutSession
from polar_checkouts.testing import PRODUCT_ONE_TIME_ID, PRODUCT_PWYW_ID

from .test_checkout_flows import expect_receipt, expect_total, fill_billing, start_checkout

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [pytest.param(390, id="phone"), pytest.param(1280, id="desktop")]


@pytest.fixture(params=WIDTHS)
def width(request, page: Page) -> int:
    """Run the test at a phone's width and at a desktop's."""
    page.set_viewport_size({"width": request.param, "height": 900})
    return request.param


def error_of(page: Page, key: str):
    return page.locator(f'[data-polar-error="{key}"]')


def expect_beside(page: Page, field_id: str, key: str) -> None:
    """The error slot sits in the same field block as its input (not under another one)."""
    same_block = page.locator(".polar-field").filter(has=page.locator(f"#{field_id}"))
    expect(same_block.locator(f'[data-polar-error="{key}"]')).to_be_visible()


def polar_calls(page: Page) -> list[str]:
    calls: list[str] = []
    page.on(
        "request",
        lambda r: calls.append(r.method) if "/checkouts/client/" in r.url else None,
    )
    return calls


def test_the_country_is_chosen_from_a_list_and_brings_the_tax(page, shop, width):
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    country = page.get_by_label("Country")
    expect(country).to_have_js_property("tagName", "SELECT")
    expect(country).to_have_value("")
    fill_billing(page, country="FR")
    expect(country.locator("option:checked")).to_have_text("France")
    expect_total(page, "$22.80")  # French VAT, from the chosen country


def test_the_country_polar_guessed_is_preselected(page, shop):
    checkout = services.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    assert checkout.client_secret is not None
    # What Polar does from the buyer's IP address: a billing address with just a country.
    services.client_update(checkout.client_secret, {"customer_billing_address": {"country": "DE"}})
    page.goto(f"/checkout/{checkout.client_secret}/")
    expect(page.get_by_label("Country")).to_have_value("DE")
    expect(page.get_by_label("Country").locator("option:checked")).to_have_text("Germany")


def test_country_names_are_in_the_pages_language(page, shop, settings):
    settings.LANGUAGE_CODE = "fr"
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    country = page.locator("#polar-country")
    country.select_option("DE")
    expect(country.locator("option:checked")).to_have_text("Allemagne")


def test_a_missing_country_marks_the_country_not_the_state(page, shop, width):
    calls = polar_calls(page)
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Name on the card").fill("Ada Lovelace")
    page.get_by_label("City").fill("Paris")
    page.locator("[data-polar-confirm]").click()
    country = page.get_by_label("Country")
    expect(error_of(page, "customer_billing_address.country")).to_have_text("Choose your country.")
    expect_beside(page, "polar-country", "customer_billing_address.country")
    expect(country).to_have_attribute("aria-invalid", "true")
    expect(country).to_be_focused()
    expect(page.get_by_label("State or region (if any)")).not_to_have_attribute(
        "aria-invalid", "true"
    )
    expect(error_of(page, "customer_billing_address.state")).to_be_hidden()
    expect(error_of(page, "customer_billing_address")).to_be_hidden()
    assert "POST" not in calls  # the page knew: no confirm was sent
    # Choosing one clears the error.
    country.select_option("CH")
    expect(error_of(page, "customer_billing_address.country")).to_be_hidden()
    expect(country).not_to_have_attribute("aria-invalid", "true")


def test_a_country_outside_polars_list_is_refused_clearly(page, shop, settings):
    settings.POLAR_CLIENT_CALLS = "server"  # this app checks the country before Polar
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    # Only a tampered page can send one: add "ZZ" to the list and pick it.
    page.evaluate(
        "() => { const o = new Option('Nowhere', 'ZZ');"
        " document.getElementById('polar-country').add(o); }"
    )
    page.get_by_label("Country").select_option("ZZ")
    expect(error_of(page, "customer_billing_address.country")).to_have_text(
        "Choose your country from the list."
    )
    expect(page.get_by_label("Country")).to_have_attribute("aria-invalid", "true")


def test_an_invalid_email_is_explained_and_the_address_still_counts(page, shop, width):
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    fill_billing(page, country="FR")
    email = page.get_by_label("Email")
    email.fill("ada@")
    page.get_by_label("Name on the card").fill("Ada King")
    page.get_by_label("Country").select_option("DE")
    page.get_by_label("City").fill("Berlin")
    page.get_by_label("City").press("Tab")
    message = "Enter a valid email address, such as name@example.com."
    expect(error_of(page, "customer_email")).to_have_text(message)
    expect_beside(page, "polar-email", "customer_email")
    expect(email).to_have_attribute("aria-invalid", "true")
    # The address changed with the bad email was saved anyway: German VAT (19 %).
    expect(page.locator('[data-polar-amount="tax"]')).to_have_text("$3.61")
    expect_total(page, "$22.61")
    expect(page.locator("[data-polar-confirm]")).to_have_text("Pay $22.61")
    # Confirming takes the shopper to the field to fix.
    page.locator("[data-polar-confirm]").click()
    expect(email).to_be_focused()
    expect(error_of(page, "customer_email")).to_have_text(message)
    email.fill("ada@example.com")
    email.press("Tab")
    expect(error_of(page, "customer_email")).to_be_hidden()
    expect(email).not_to_have_attribute("aria-invalid", "true")


def test_an_empty_email_says_so(page, shop):
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    page.locator("[data-polar-confirm]").click()
    expect(error_of(page, "customer_email")).to_have_text("Enter your email address.")
    expect(page.get_by_label("Email")).to_be_focused()


def test_an_address_without_what_tax_needs_points_at_the_missing_part(page, shop, width):
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    fill_billing(page, country="US")  # the fake, like Stripe Tax, needs a state in the US
    page.get_by_label("Postal code").fill("")
    page.get_by_label("Postal code").press("Tab")
    page.locator("[data-polar-confirm]").click()
    postal_code = page.get_by_label("Postal code")
    expect(error_of(page, "customer_billing_address.postal_code")).to_have_text(
        "Enter your postal code and state or region, so that tax can be calculated."
    )
    expect(postal_code).to_have_attribute("aria-invalid", "true")
    expect(postal_code).to_be_focused()
    expect(error_of(page, "customer_billing_address")).to_be_hidden()


def test_a_discount_code_that_does_not_exist(page, shop, width):
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    code = page.get_by_label("Discount code")
    code.fill("NOPE")
    page.get_by_role("button", name="Apply").click()
    expect(error_of(page, "discount_code")).to_have_text(
        "This discount code is not valid or has expired."
    )
    expect(code).to_have_attribute("aria-invalid", "true")
    expect_total(page, "$19.00")


def test_pay_what_you_want_speaks_money_next_to_the_amount(page, shop, width):
    calls = polar_calls(page)
    start_checkout(page, PRODUCT_PWYW_ID)
    amount = page.get_by_label(re.compile(r"Amount you want to pay"))
    expect(page.locator("#polar-amount-hint")).to_have_text("From $5.00 to $100.00")
    amount.fill("2")
    amount.press("Tab")
    expect(error_of(page, "amount")).to_have_text("Enter at least $5.00.")
    expect_beside(page, "polar-amount", "amount")
    expect(amount).to_have_attribute("aria-invalid", "true")
    # The summary and the button follow the amount typed, not the last accepted one.
    expect(page.locator('[data-polar-amount="amount"]')).to_have_text("$2.00")
    expect_total(page, "$2.00")
    expect(page.locator("[data-polar-confirm]")).to_have_text("Pay $2.00")
    assert "PATCH" not in calls  # the bounds are checked on the page
    # Polar's answer to another field keeps its last accepted amount; the page still
    # shows the one in the field (no tax in Switzerland: the total is the amount).
    page.get_by_label("Country").select_option("CH")
    page.wait_for_function("() => window.PolarCheckouts.page.checkout.customer_billing_address")
    expect(page.locator('[data-polar-amount="amount"]')).to_have_text("$2.00")
    expect(page.locator('[data-polar-amount="tax"]')).to_have_text("$0.00")
    expect(page.locator("[data-polar-confirm]")).to_have_text("Pay $2.00")
    # With French VAT the tax depends on the amount: no stale figure, no false total.
    page.get_by_label("Country").select_option("FR")
    page.wait_for_function(
        "() => window.PolarCheckouts.page.checkout.customer_billing_address.country === 'FR'"
    )
    expect(page.locator('[data-polar-amount="tax"]')).to_have_text("Depends on the amount")
    expect_total(page, "$2.00 + tax")
    expect(page.locator("[data-polar-confirm]")).to_have_text("Pay")
    page.get_by_label("Country").select_option("CH")
    amount.fill("150")
    amount.press("Tab")
    expect(error_of(page, "amount")).to_have_text("Enter at most $100.00.")
    expect_total(page, "$150.00")
    # Pay with the amount still wrong: back to the field.
    page.get_by_label("Email").focus()
    page.locator("[data-polar-confirm]").click()
    expect(amount).to_be_focused()
    amount.fill("12.34")
    amount.press("Tab")
    expect(error_of(page, "amount")).to_be_hidden()
    expect(amount).not_to_have_attribute("aria-invalid", "true")
    expect_total(page, "$12.34")
    fill_billing(page, country="CH")
    page.get_by_role("button", name="Pay $12.34").click()
    checkout_id = expect_receipt(page)
    assert CheckoutSession.objects.get(pk=checkout_id).total_amount == 1234
