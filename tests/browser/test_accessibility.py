"""axe-core finds no violation on any storefront page, in any state, at phone and desktop
widths: the shop's buttons, each kind of checkout, a form full of errors, the receipt,
the closed pages.

axe-core is the copy bundled with ``axe-playwright-python``; it is evaluated in the page
through Playwright (not a ``<script>`` tag), so the strict CSP of these pages stays on.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from polar_checkouts import services
from polar_checkouts.testing import (
    PRODUCT_FREE_ID,
    PRODUCT_ONE_TIME_ID,
    PRODUCT_PWYW_ID,
    PRODUCT_SUBSCRIPTION_ID,
)

from .test_checkout_flows import expect_receipt, fill_billing, start_checkout

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Axe()
#: WCAG 2.2 A and AA, and axe's best practices.
OPTIONS = {
    "resultTypes": ["violations"],
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
}


def assert_accessible(page: Page, what: str) -> None:
    """Run axe on the page as it is now; fail with every violation and where it is."""
    results = AXE.run(page, options=OPTIONS)
    violations = results.response["violations"]
    report = [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in violations
    ]
    assert not report, f"{what}:\n" + "\n".join(report)


@pytest.fixture(params=[390, 1280], ids=["phone", "desktop"])
def sized_page(request, page: Page) -> Page:
    page.set_viewport_size({"width": request.param, "height": 900})
    return page


def test_the_shop_and_each_kind_of_checkout(sized_page, shop):
    page = sized_page
    page.goto("/shop/")
    assert_accessible(page, "the shop's catalogue")
    for name, product in [
        ("one-time", PRODUCT_ONE_TIME_ID),
        ("subscription", PRODUCT_SUBSCRIPTION_ID),
        ("pay what you want", PRODUCT_PWYW_ID),
        ("free", PRODUCT_FREE_ID),
    ]:
        start_checkout(page, product)
        assert_accessible(page, f"the {name} checkout page")


def test_a_form_full_of_errors(sized_page, shop):
    page = sized_page
    start_checkout(page, PRODUCT_PWYW_ID)
    page.locator("#polar-amount").fill("1")
    page.locator("#polar-email").fill("ada@")
    page.locator("#polar-email").press("Tab")
    page.locator("[data-polar-confirm]").click()
    expect(page.locator('[data-polar-error="customer_billing_address.country"]')).to_be_visible()
    expect(page.locator('[data-polar-error="amount"]')).to_be_visible()
    assert_accessible(page, "the checkout page with errors")


def test_a_declined_payment_then_the_receipt(sized_page, shop):
    page = sized_page
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    fill_billing(page, country="CH")
    page.get_by_label("Card is declined").check()
    page.locator("[data-polar-confirm]").click()
    expect(page.locator('[data-polar-error="payment"]')).to_be_visible()
    assert_accessible(page, "the checkout page after a decline")
    page.get_by_label("Card succeeds").check()
    page.locator("[data-polar-confirm]").click()
    expect_receipt(page)
    assert_accessible(page, "the receipt")


def test_the_closed_and_processing_pages(sized_page, shop):
    page = sized_page
    page.goto("/checkout/polar_c_doesnotexist/")
    assert_accessible(page, "an unknown checkout")
    page.goto("/checkout/success/?checkout_id=00000000-0000-4000-8000-000000000000")
    assert_accessible(page, "an unknown receipt")
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
    page.goto(f"/checkout/{checkout.client_secret}/")
    assert_accessible(page, "an already confirmed checkout")
    page.goto(f"/checkout/success/?checkout_id={checkout.id}")
    assert_accessible(page, "the processing page")
    expired = services.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    shop.advance_time(2 * 24 * 3600)
    page.goto(f"/checkout/{expired.client_secret}/")
    assert_accessible(page, "an expired checkout")
