"""The checkout page's Stripe path, with Stripe.js replaced by a recording stand-in.

The browser cannot reach js.stripe.com here, so the test serves a small ``Stripe()`` of
its own at that URL: it records how the page drives Stripe (Elements options, amount
updates, the confirmation token's billing details, ``handleNextAction``) and hands back
one of the fake Polar's confirmation tokens, which the fake then charges.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from polar_checkouts.models import CheckoutSession
from polar_checkouts.testing import PRODUCT_ONE_TIME_ID, PRODUCT_SUBSCRIPTION_ID

from .test_checkout_flows import expect_receipt, expect_total, fill_billing, start_checkout

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PUBLISHABLE_KEY = "pk_test_stand_in"

STRIPE_STAND_IN = """
window.stripeCalls = [];
window.Stripe = function (key) {
  var record = function () { window.stripeCalls.push(Array.prototype.slice.call(arguments)); };
  record("Stripe", key);
  var elements = {
    create: function (type, options) {
      record("create", type, options);
      return { mount: function (node) { record("mount", node.id); node.textContent = "card"; } };
    },
    update: function (options) { record("update", options); },
    submit: function () { record("submit"); return Promise.resolve({}); }
  };
  return {
    elements: function (options) { record("elements", options); return elements; },
    createConfirmationToken: function (args) {
      record("createConfirmationToken", args.params, args.elements === elements);
      return Promise.resolve({ confirmationToken: { id: "%(token)s" } });
    },
    handleNextAction: function (args) {
      record("handleNextAction", args);
      return Promise.resolve({ paymentIntent: { status: "processing" } });
    }
  };
};
"""


@pytest.fixture
def stripe_shop(shop, settings):
    """A Stripe-backed Polar (the fake, announcing a Stripe key); the page in server mode."""
    settings.POLAR_SERVER = "sandbox"  # the polar_fake fixture still answers every call
    settings.POLAR_CLIENT_CALLS = "server"  # the browser cannot reach the sandbox here
    shop.publishable_key = PUBLISHABLE_KEY
    return shop


def serve_stripe(page: Page, token: str) -> None:
    body = STRIPE_STAND_IN % {"token": token}
    page.context.route(
        "https://js.stripe.com/v3/",
        lambda route: route.fulfill(status=200, content_type="text/javascript", body=body),
    )


def stripe_calls(page: Page) -> list[list[Any]]:
    return json.loads(page.evaluate("JSON.stringify(window.stripeCalls)"))


def named(calls: list[list[Any]], name: str) -> list[list[Any]]:
    return [call[1:] for call in calls if call[0] == name]


def test_stripe_payment_element_and_confirmation_token(page, stripe_shop):
    serve_stripe(page, "ctoken_fake_succeeded")
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    expect(page.locator("#polar-payment-element")).to_have_text("card")
    expect(page.get_by_label("Card succeeds")).to_have_count(0)  # no test selector here
    fill_billing(page)
    expect_total(page, "$22.80")
    page.get_by_role("button", name="Pay $22.80").click()
    checkout_id = expect_receipt(page)
    assert CheckoutSession.objects.get(pk=checkout_id).status == "succeeded"


def test_stripe_calls_made_by_the_checkout_page(page, stripe_shop):
    serve_stripe(page, "ctoken_fake_declined")
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    fill_billing(page)
    expect_total(page, "$22.80")
    page.get_by_role("button", name="Pay $22.80").click()
    expect(page.locator('[data-polar-error="payment"]')).to_contain_text("declined")
    calls = stripe_calls(page)

    assert named(calls, "Stripe") == [[PUBLISHABLE_KEY]]
    assert named(calls, "elements") == [
        [{"mode": "payment", "amount": 1900, "currency": "usd", "paymentMethodCreation": "manual"}]
    ]
    [[kind, options]] = named(calls, "create")
    assert kind == "payment"
    assert options["fields"]["billingDetails"] == {
        "name": "never",
        "email": "never",
        "address": "never",
    }
    assert named(calls, "mount") == [["polar-payment-element"]]
    # Tax from the billing address changed the amount Stripe must authorise.
    assert named(calls, "update")[-1] == [{"mode": "payment", "amount": 2280, "currency": "usd"}]
    assert named(calls, "submit") == [[]]
    [[params, same_elements]] = named(calls, "createConfirmationToken")
    assert same_elements is True
    assert params == {
        "payment_method_data": {
            "billing_details": {
                "name": "Ada Lovelace",
                "email": "ada@example.com",
                "phone": None,
                "address": {
                    "line1": "12 rue des Lilas",
                    "line2": None,
                    "postal_code": "75011",
                    "city": "Paris",
                    "state": None,
                    "country": "FR",
                },
            }
        }
    }


def test_stripe_subscription_mode(page, stripe_shop):
    serve_stripe(page, "ctoken_fake_succeeded")
    start_checkout(page, PRODUCT_SUBSCRIPTION_ID)
    expect(page.locator("#polar-payment-element")).to_have_text("card")
    [[options]] = named(stripe_calls(page), "elements")
    assert options == {
        "mode": "subscription",
        "amount": 900,
        "currency": "usd",
        "setupFutureUsage": "off_session",
        "paymentMethodCreation": "manual",
    }


def test_stripe_requires_action_is_handed_to_stripe(page, stripe_shop):
    serve_stripe(page, "ctoken_fake_requires_action")
    start_checkout(page, PRODUCT_ONE_TIME_ID)
    secret = page.url.rstrip("/").rsplit("/", 1)[1]
    fill_billing(page, country="CH")
    page.get_by_role("button", name="Pay $19.00").click()
    expect(page.locator("[data-polar-progress]")).to_have_text("Payment received, finishing up…")
    [[args]] = named(stripe_calls(page), "handleNextAction")
    assert re.fullmatch(r"pi_fake\w*_secret_\w+", args["clientSecret"])
    # The bank's check passes (on Stripe's side); Polar then settles the payment.
    stripe_shop.complete_action(secret)
    checkout_id = expect_receipt(page)
    assert CheckoutSession.objects.get(pk=checkout_id).status == "succeeded"
