"""Payment providers: the registry, the choice per checkout, the page config, the check.

The checkout page includes the chosen provider's template and hands its script
``config.payment``; the fake Polar's provider (``polar_checkouts.testing.payment``) is
one provider among others, listed by default only with ``POLAR_SERVER = "fake"``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory, override_settings
from django.urls import include, path

from polar_checkouts.storefront.checks import check_payment_providers
from polar_checkouts.storefront.context import browser_api_root
from polar_checkouts.storefront.payment import (
    PaymentProvider,
    StripeProvider,
    payment_providers,
    provider_for,
)
from polar_checkouts.testing import PUBLISHABLE_KEY, TOKEN_SUCCEEDED
from polar_checkouts.testing.payment import FakePaymentProvider
from tests.polar_payloads import checkout_payload
from tests.storefront.stubs import SECRET, page_config

STRIPE = "polar_checkouts.storefront.payment.StripeProvider"
FAKE = "polar_checkouts.testing.payment.FakePaymentProvider"


class InvoiceProvider(PaymentProvider):
    """A shop's own provider: pay by invoice, for checkouts in euros."""

    name = "invoice"
    template_name = "polar_checkouts/payment/stripe.html"  # any template that exists

    def applies_to(self, checkout):
        return checkout.get("currency") == "eur"

    def script_config(self, request, checkout):
        return {"reference": checkout["id"], "provider": "ignored: the name wins"}


class NotAProvider:
    pass


def kinds(providers: list[Any]) -> list[type]:
    return [type(provider) for provider in providers]


def test_default_providers_follow_the_server():
    assert kinds(payment_providers()) == [StripeProvider]
    with override_settings(POLAR_SERVER="fake"):
        assert kinds(payment_providers()) == [FakePaymentProvider, StripeProvider]


def test_configured_providers_in_order():
    with override_settings(POLAR_PAYMENT_PROVIDERS=[f"{__name__}.InvoiceProvider", STRIPE]):
        assert kinds(payment_providers()) == [InvoiceProvider, StripeProvider]
    with override_settings(POLAR_PAYMENT_PROVIDERS=InvoiceProvider):
        assert kinds(payment_providers()) == [InvoiceProvider]
    with override_settings(POLAR_PAYMENT_PROVIDERS=[]):
        assert payment_providers() == []


@pytest.mark.parametrize("entry", [f"{__name__}.NotAProvider", NotAProvider, PaymentProvider()])
def test_a_provider_must_subclass_payment_provider(entry):
    with override_settings(POLAR_PAYMENT_PROVIDERS=[entry]), pytest.raises(ImproperlyConfigured):
        payment_providers()


def test_the_first_provider_that_applies_wins():
    euros = checkout_payload(currency="eur")
    dollars = checkout_payload(currency="usd")
    no_key = checkout_payload(payment_processor_metadata={})
    with override_settings(POLAR_PAYMENT_PROVIDERS=[f"{__name__}.InvoiceProvider", STRIPE]):
        assert isinstance(provider_for(euros), InvoiceProvider)
        assert isinstance(provider_for(dollars), StripeProvider)
        assert provider_for({**no_key, "currency": "usd"}) is None


def test_stripe_needs_a_publishable_key():
    stripe = StripeProvider()
    assert stripe.applies_to(checkout_payload())
    assert not stripe.applies_to(checkout_payload(payment_processor_metadata={}))
    assert not stripe.applies_to(checkout_payload(payment_processor_metadata=None))
    config = stripe.page_config(RequestFactory().get("/"), checkout_payload())
    assert config == {"provider": "stripe", "publishableKey": "pk_test_123"}


def test_the_page_includes_the_chosen_providers_template_and_config(client, stub):
    stub.public["currency"] = "eur"
    with override_settings(POLAR_PAYMENT_PROVIDERS=[f"{__name__}.InvoiceProvider"]):
        response = client.get(f"/checkout/{SECRET}/")
    config = page_config(response)
    assert config["payment"] == {"provider": "invoice", "reference": stub.public["id"]}
    assert response.context["provider"] == "invoice"
    assert response.context["payment_template"] == InvoiceProvider.template_name
    assert isinstance(response.context["payment_provider"], InvoiceProvider)
    assert "data-polar-stripe" in response.content.decode()


def test_no_provider_is_the_unavailable_state(client, stub):
    stub.public["payment_processor_metadata"] = {}
    response = client.get(f"/checkout/{SECRET}/")
    html = response.content.decode()
    assert page_config(response)["payment"] == {"provider": "unavailable"}
    assert response.context["payment_template"] is None
    assert "Payment is not available for this checkout." in html
    assert "js.stripe.com" not in html


# -- the fake Polar's provider ---------------------------------------------------------------


def test_checkout_page_with_the_fake_polar_offers_test_payments(client, stub):
    stub.public["payment_processor_metadata"] = {"publishable_key": "pk_fake_demo"}
    with override_settings(POLAR_PAYMENT_PROVIDERS=[FAKE, STRIPE]):
        response = client.get(f"/checkout/{SECRET}/")
    html = response.content.decode()
    assert "js.stripe.com" not in html
    for token in ("succeeded", "declined", "requires_action", "failed"):
        assert f'value="ctoken_fake_{token}"' in html
    assert page_config(response)["payment"]["provider"] == "fake"


def test_the_fake_provider_takes_the_fakes_checkouts_only():
    fake = FakePaymentProvider()
    assert fake.applies_to(
        checkout_payload(payment_processor_metadata={"publishable_key": PUBLISHABLE_KEY})
    )
    assert not fake.applies_to(checkout_payload())
    with override_settings(POLAR_SERVER="fake"):
        assert fake.applies_to(checkout_payload())


def test_checkout_page_with_the_mounted_fake_calls_it_from_the_browser(client, stub):
    with override_settings(POLAR_SERVER="fake"):
        config = page_config(client.get(f"/checkout/{SECRET}/"))
    assert config["client"] == {"mode": "browser", "base": "/polar-fake/v1/checkouts/client/"}
    assert config["payment"]["provider"] == "fake"
    # The fake's own script completes a "3-D Secure" step through the fake's route.
    assert config["payment"]["apiRoot"] == "/polar-fake/"
    assert config["payment"]["completeActionUrl"] == (
        f"/polar-fake/_fake/actions/{SECRET}/complete"
    )
    assert config["payment"]["tokens"][0] == {"id": TOKEN_SUCCEEDED, "label": "Card succeeds"}
    assert config["payment"]["strings"] == {"chooseTestPayment": "Choose a test payment."}


def test_a_standalone_fake_is_reached_where_polar_server_points():
    request = RequestFactory().get("/")
    with override_settings(POLAR_SERVER="http://127.0.0.1:8765/"):
        assert browser_api_root(request) == "http://127.0.0.1:8765"
        config = FakePaymentProvider().script_config(request, {"client_secret": "polar_c_x"})
    assert config["completeActionUrl"] == "http://127.0.0.1:8765/_fake/actions/polar_c_x/complete"


# A project that runs the fake Polar in-process without mounting its urls.
urlpatterns = [path("checkout/", include("polar_checkouts.urls"))]


@override_settings(ROOT_URLCONF=__name__, POLAR_SERVER="fake")
def test_checkout_page_with_an_unmounted_fake_falls_back_to_server_mode(client, stub):
    config = page_config(client.get(f"/checkout/{SECRET}/"))
    assert config["client"]["mode"] == "server"
    assert config["client"]["base"] == "/checkout/client/"
    assert config["payment"]["completeActionUrl"] is None


# -- the system check ------------------------------------------------------------------------


def check_ids() -> list[str | None]:
    return [error.id for error in check_payment_providers()]


def test_check_passes_with_the_defaults():
    assert check_ids() == []
    with override_settings(POLAR_SERVER="fake"):
        assert check_ids() == []


@pytest.mark.parametrize(
    "entry", ["shop.payments.NoSuchProvider", "polar_checkouts.nothing.Here", NotAProvider]
)
def test_check_reports_a_provider_that_cannot_be_loaded(entry):
    with override_settings(POLAR_PAYMENT_PROVIDERS=[entry]):
        [error] = check_payment_providers()
    assert error.id == "polar_checkouts.E101"
    assert "cannot be loaded" in error.msg
    assert "INSTALLED_APPS" in str(error.hint)


def test_check_reports_the_fake_without_its_app(settings):
    apps = [app for app in settings.INSTALLED_APPS if app != "polar_checkouts.testing"]
    with override_settings(POLAR_SERVER="fake", INSTALLED_APPS=apps):
        [error] = check_payment_providers()
    assert error.id == "polar_checkouts.E102"
    assert "polar_checkouts/payment/fake.html" in error.msg
    assert "'polar_checkouts.testing'" in str(error.hint)


def test_the_check_runs_with_djangos_checks():
    with override_settings(POLAR_PAYMENT_PROVIDERS=["shop.payments.NoSuchProvider"]):
        ids = [message.id for message in checks.run_checks()]
    assert "polar_checkouts.E101" in ids
