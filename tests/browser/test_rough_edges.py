"""The rough edges a newcomer found in the storefront (issue 15), each held in place.

At a phone's width (390 px) and a desktop's (1280 px) where the point is how it looks or
where the focus goes.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from polar_checkouts import services
from polar_checkouts.models import CheckoutSession
from polar_checkouts.testing import (
    DISCOUNT_CODE,
    PRODUCT_FREE_ID,
    PRODUCT_ONE_TIME_ID,
    PRODUCT_SUBSCRIPTION_ID,
)

from .test_checkout_flows import expect_receipt, fill_billing, start_checkout

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [pytest.param(390, id="phone"), pytest.param(1280, id="desktop")]


@pytest.fixture(params=WIDTHS)
def width(request, page: Page) -> int:
    """Run the test at a phone's width and at a desktop's."""
    page.set_viewport_size({"width": request.param, "height": 900})
    return request.param


def box(locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not laid out"
    return found


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS ``rgb()``/``rgba()`` colours (alpha ignored)."""

    def luminance(css: str) -> float:
        red, green, blue = (int(v) / 255 for v in re.findall(r"[\d.]+", css)[:3])

        def linear(c: float) -> float:
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def style(locator, prop: str) -> str:
    return locator.evaluate(f"(el) => getComputedStyle(el).{prop}")


# -- 4. without JavaScript ------------------------------------------------------------------


@pytest.fixture
def page_without_js(browser, live_server):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def test_without_javascript_the_notice_comes_first_with_polars_own_page(page_without_js, shop):
    page = page_without_js
    checkout = services.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    page.goto(f"/checkout/{checkout.client_secret}/")
    notice = page.locator("form .polar-noscript")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("This page needs JavaScript to take your payment.")
    # First thing in the form: before its title and every field.
    first = page.locator("form[data-polar-form] > :not(input[type=hidden])").first
    expect(first.locator(".polar-noscript")).to_have_count(1)
    assert box(notice)["y"] < box(page.get_by_label("Email"))["y"]
    link = notice.get_by_role("link", name="Pay on Polar's checkout page instead")
    assert checkout.payload["url"]
    expect(link).to_have_attribute("href", checkout.payload["url"])


# -- 5. the discount field on a phone ---------------------------------------------------------


def test_the_discount_code_stays_readable_once_remove_appears(page, shop, width):
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    code = page.get_by_label("Discount code")
    code.fill(DISCOUNT_CODE)
    page.get_by_role("button", name="Apply").click()
    remove = page.get_by_role("button", name="Remove")
    expect(remove).to_be_visible()
    # The whole code fits in the input: nothing scrolled out of sight.
    fits = code.evaluate("(el) => el.scrollWidth <= el.clientWidth")
    assert fits, "the discount code is clipped"
    assert box(code)["width"] >= 120
    form = box(page.locator("[data-polar-form]"))
    for control in (code, page.get_by_role("button", name="Apply"), remove):
        b = box(control)
        assert form["x"] <= b["x"]
        assert b["x"] + b["width"] <= form["x"] + form["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width


# -- 6. a free product --------------------------------------------------------------------------


def test_a_free_product_has_no_discount_field_and_no_gap(page, shop, width):
    page.goto("/shop/")
    card = page.locator(f'[data-product-id="{PRODUCT_FREE_ID}"]')
    expect(card.get_by_role("button")).to_have_text("Get it free")
    subscription = page.locator(f'[data-product-id="{PRODUCT_SUBSCRIPTION_ID}"]')
    expect(subscription.get_by_role("button")).to_have_text("Subscribe")
    one_time = page.locator(f'[data-product-id="{PRODUCT_ONE_TIME_ID}"]')
    expect(one_time.get_by_role("button")).to_have_text("Buy now")
    start_checkout(page, PRODUCT_FREE_ID)
    expect(page.get_by_label("Discount code")).to_have_count(0)
    expect(page.locator('[data-polar-amount="total"]')).to_have_text("Free")
    expect(page.locator('[data-polar-line="tax"]')).to_be_hidden()
    email = box(page.get_by_label("Email"))
    button = box(page.get_by_role("button", name="Get it for free"))
    gap = button["y"] - (email["y"] + email["height"])
    assert gap <= 48, f"{gap}px of empty space above the button"


# -- 7. a GET of the form's target -----------------------------------------------------------


def test_opening_the_forms_target_leads_back_to_the_shop(page, shop):
    response = page.goto("/checkout/create/?next=/shop/")
    assert response is not None
    assert response.status == 200
    expect(page).to_have_url(re.compile(r"/shop/$"))
    expect(page.get_by_role("button", name="Buy now").first).to_be_visible()


# -- 8. focus after a decline --------------------------------------------------------------------


def test_after_a_decline_the_focus_is_on_the_message(page, shop, width):
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    fill_billing(page, country="CH")
    page.get_by_label("Card is declined").check()
    pay = page.get_by_role("button", name="Pay $19.00")
    pay.focus()
    page.keyboard.press("Enter")
    message = page.locator('[data-polar-error="payment"]')
    expect(message).to_contain_text("Your card was declined")
    expect(message).to_be_focused()
    # The keyboard goes on from the payment choices, not from the top of the page.
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_label("Card is declined")).to_be_focused()


# -- 9. the receipt's link and the Pay button's focus ring -------------------------------------


def test_the_back_link_is_styled_and_the_focus_ring_is_visible(page, shop, width):
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    pay = page.locator("[data-polar-confirm]")
    page.get_by_label("Email").focus()
    page.keyboard.press("Shift+Tab")  # nothing before the email: leave it, then come back
    pay.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    expect(pay).to_be_focused()
    assert style(pay, "outlineStyle") == "solid"
    assert float(style(pay, "outlineWidth").rstrip("px")) >= 2
    ring = style(pay, "outlineColor")
    page_background = style(page.locator("[data-polar-form]"), "backgroundColor")
    assert contrast(ring, page_background) >= 3, (ring, page_background)

    fill_billing(page, country="CH")
    page.get_by_role("button", name="Pay $19.00").click()
    expect_receipt(page)
    back = page.get_by_role("link", name="Back to the shop")
    colour = style(back, "color")
    assert colour != "rgb(0, 0, 238)", "the browser's default link blue"
    assert style(back, "borderTopStyle") == "solid"  # drawn as the page's secondary button
    background = style(back, "backgroundColor")
    assert contrast(colour, background) >= 4.5


# -- 10. a subscription says when it renews and how to cancel -----------------------------------


def test_a_subscription_says_when_it_renews_and_how_to_cancel(page, shop):
    start_checkout(page, PRODUCT_SUBSCRIPTION_ID)
    renewal = page.locator("[data-polar-renewal]")
    expect(renewal).to_contain_text(re.compile(r"Renews automatically every month, next on .+"))
    expect(renewal).to_contain_text("You can cancel at any time")
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    expect(page.locator("[data-polar-renewal]")).to_have_count(0)


def test_a_paid_checkout_is_stored_with_the_chosen_country(page, shop):
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    fill_billing(page, country="DE")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    checkout_id = expect_receipt(page)
    session = CheckoutSession.objects.get(pk=checkout_id)
    assert session.payload["customer_billing_address"]["country"] == "DE"
