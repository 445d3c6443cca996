"""Pay what you want in currencies without cents: yen (no decimals) and dinars (three).

The page's amount input (value, bounds, step) comes from the server and the totals are
re-written by the script from Polar's answers; both must count the currency's own
decimal places, and the amount typed must reach Polar in its minor unit.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from polar_checkouts.models import CheckoutSession

from .test_checkout_flows import expect_receipt, expect_total, fill_billing, start_checkout

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# The server (money.py applies CLDR's currency spacing) and the browser's Intl both write
# "KWD 1.500" with a no-break space.
KWD = r"KWD\s"

CURRENCIES = [
    pytest.param(
        {"currency": "jpy", "minimum_amount": 100, "maximum_amount": 100_000, "preset_amount": 500},
        {"value": "500", "step": "1", "min": "100", "max": "100000"},
        ("¥500", "99", "1234", "¥1,234", 1234),
        id="yen",
    ),
    pytest.param(
        {
            "currency": "kwd",
            "minimum_amount": 500,
            "maximum_amount": 100_000,
            "preset_amount": 1500,
        },
        {"value": "1.500", "step": "0.001", "min": "0.500", "max": "100.000"},
        (KWD + r"1\.500", "0.499", "2.345", KWD + r"2\.345", 2345),
        id="kuwaiti-dinar",
    ),
]


@pytest.mark.parametrize(("price", "input_attributes", "story"), CURRENCIES)
def test_pay_what_you_want_in_a_currency_without_cents(
    page: Page, shop, price, input_attributes, story
):
    shown, too_low, typed, shown_after, minor_units = story
    product = shop.add_product("Tip jar", amount_type="custom", **price)
    start_checkout(page, product["id"])
    code = price["currency"].upper()
    amount = page.get_by_label(f"Amount you want to pay ({code})")
    # The input, from the server: the currency's own decimal places.
    expect(amount).to_have_value(input_attributes["value"])
    for name in ("step", "min", "max"):
        expect(amount).to_have_attribute(name, input_attributes[name])
    expect_total(page, re.compile(f"^{shown}$"))

    # Below the minimum: Polar says so beside the field.
    amount.fill(too_low)
    amount.press("Tab")
    expect(page.locator('[data-polar-error="amount"]')).to_be_visible()
    expect(amount).to_have_attribute("aria-invalid", "true")
    # The script sends the typed amount in minor units and writes Polar's answer.
    amount.fill(typed)
    amount.press("Tab")
    expect_total(page, re.compile(f"^{shown_after}$"))
    expect(page.locator('[data-polar-error="amount"]')).to_be_hidden()
    fill_billing(page, country="CH")  # no tax in the fake for Switzerland
    page.get_by_role("button", name=re.compile(f"^Pay {shown_after}$")).click()
    checkout_id = expect_receipt(page)
    session = CheckoutSession.objects.get(pk=checkout_id)
    assert (session.total_amount, session.currency) == (minor_units, price["currency"])
