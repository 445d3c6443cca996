"""The shop's adapter (``POLAR_ADAPTER``): the storefront asks it, and a subclass decides.

The default reads ``POLAR_CHECKOUT_METADATA`` and ``POLAR_ALLOWED_PRODUCTS`` (those are
tested through the views in ``tests/storefront/test_views.py``); here a subclass set by
``override_settings`` changes each decision and the storefront follows.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.test import Client, RequestFactory, override_settings

from polar_checkouts.adapter import DefaultAdapter, get_adapter, polar_locale
from tests.storefront.stubs import (
    OTHER_PRODUCT,
    PRICE,
    PRODUCT,
    SECRET,
    messages_of,
    validation_error,
)

SHOP_ADAPTER = "tests.test_adapter.ShopAdapter"


class ShopAdapter(DefaultAdapter):
    """A shop's decisions: its own metadata, one product, its own prefill and client IP."""

    def checkout_metadata(self, request, data):
        if request.POST.get("next") == "/empty-cart/":
            raise ValidationError("Your cart is empty.")
        return {"cart": "C-7", "source": "adapter"}

    def allowed_products(self, request=None):
        return frozenset({PRODUCT})

    def prefill(self, request):
        return {"customer_email": "buyer@example.com", "customer_name": "From the adapter"}

    def client_ip(self, request):
        # A shop behind a proxy it trusts reads the forwarded address.
        return request.META.get("HTTP_X_REAL_IP")


class NotAnAdapter:
    pass


def test_get_adapter_reads_the_setting_on_each_call():
    assert type(get_adapter()) is DefaultAdapter
    with override_settings(POLAR_ADAPTER=SHOP_ADAPTER):
        assert type(get_adapter()) is ShopAdapter
    with override_settings(POLAR_ADAPTER=ShopAdapter):
        assert type(get_adapter()) is ShopAdapter


@pytest.mark.parametrize(
    "setting", ["tests.test_adapter.NotAnAdapter", NotAnAdapter, "tests.test_adapter.messages_of"]
)
def test_an_adapter_that_is_no_subclass_is_improperly_configured(setting):
    with override_settings(POLAR_ADAPTER=setting), pytest.raises(ImproperlyConfigured):
        get_adapter()


@pytest.mark.django_db
@override_settings(POLAR_ADAPTER=SHOP_ADAPTER)
def test_the_storefront_asks_the_adapter(client, stub):
    response = client.post(
        "/checkout/create/",
        {"product_id": PRODUCT},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_REAL_IP="203.0.113.5",
    )
    assert response["Location"] == f"/checkout/{SECRET}/"
    [(_, kwargs)] = stub.named("create_checkout")
    assert kwargs["metadata"] == {"cart": "C-7", "source": "adapter"}
    assert kwargs["customer_email"] == "buyer@example.com"
    assert kwargs["customer_name"] == "From the adapter"
    assert kwargs["ip_address"] == "203.0.113.5"


@pytest.mark.django_db
@override_settings(POLAR_ADAPTER=SHOP_ADAPTER, POLAR_ALLOWED_PRODUCTS=None)
def test_the_adapter_decides_which_products_sell(stub):
    refused = Client().post("/checkout/create/", {"product_id": OTHER_PRODUCT})
    by_price = Client().post("/checkout/create/", {"price_id": PRICE})
    assert messages_of(refused) == ["This product is not available."]
    assert by_price["Location"] == f"/checkout/{SECRET}/"
    assert [kwargs["product_price_id"] for _, kwargs in stub.named("create_checkout")] == [PRICE]


@pytest.mark.django_db
@override_settings(POLAR_ADAPTER=SHOP_ADAPTER)
def test_the_adapters_metadata_can_refuse(client, stub):
    response = client.post("/checkout/create/", {"product_id": PRODUCT, "next": "/empty-cart/"})
    assert messages_of(response) == ["Your cart is empty."]
    assert stub.named("create_checkout") == []


@pytest.mark.django_db
@override_settings(POLAR_ADAPTER=SHOP_ADAPTER)
def test_a_prefill_polar_refuses_is_dropped(client, stub):
    stub.fail("create_checkout", validation_error(["body", "customer_email"], "Not deliverable"))
    response = client.post("/checkout/create/", {"product_id": PRODUCT})
    assert response["Location"] == f"/checkout/{SECRET}/"
    first, second = stub.named("create_checkout")
    assert first[1]["customer_email"] == "buyer@example.com"
    assert "customer_email" not in second[1]
    assert second[1]["metadata"] == {"cart": "C-7", "source": "adapter"}


# -- the default adapter's decisions -----------------------------------------------------------


@pytest.mark.django_db
def test_default_prefill_and_user():
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    adapter = DefaultAdapter()
    assert adapter.checkout_user(request) is None
    assert adapter.prefill(request) == {}
    request.user = get_user_model().objects.create_user("ada", email="", first_name="Ada")
    assert adapter.checkout_user(request) == request.user
    assert adapter.prefill(request) == {"customer_email": None, "customer_name": "Ada"}


@pytest.mark.parametrize(
    ("remote_addr", "expected"),
    [("203.0.113.9", "203.0.113.9"), ("2001:db8::1", "2001:db8::1"), ("", None), ("x", None)],
)
def test_default_client_ip_is_remote_addr_only(remote_addr, expected):
    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr, HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert DefaultAdapter().client_ip(request) == expected


def test_default_allowed_products_read_the_setting():
    adapter = DefaultAdapter()
    assert adapter.allowed_products() is None
    assert adapter.is_product_allowed(OTHER_PRODUCT)
    with override_settings(POLAR_ALLOWED_PRODUCTS=PRODUCT.upper()):
        assert adapter.allowed_products() == frozenset({PRODUCT})
        assert adapter.is_product_allowed(f" {PRODUCT.upper()} ")
        assert not adapter.is_product_allowed(OTHER_PRODUCT)


@pytest.mark.parametrize(
    ("language", "locale"),
    [
        ("en", "en"),
        ("en-us", "en-US"),
        ("fr", "fr"),
        ("de", "de"),
        ("es", "es"),
        ("pt-br", "pt-BR"),
        ("pt_BR", "pt-BR"),
        ("ja", "ja"),
        ("es-419", "es-419"),
        ("zh-hans", "zh"),
        ("sr-latn", "sr"),
        ("en-GB-oxendict", "en-GB"),
        (None, None),
        ("", None),
        ("x", None),
        ("1a", None),
    ],
)
def test_polar_locale_is_a_tag_every_polar_version_accepts(language, locale):
    import re

    assert polar_locale(language) == locale
    if locale is not None:
        # The stricter of Polar's two rules (the other is any valid BCP 47 tag).
        assert re.fullmatch(r"[a-zA-Z]{2,3}(-[a-zA-Z]{2}|-[0-9]{3})?", locale)


def test_the_default_checkout_locale_is_the_active_language():
    from django.utils import translation

    request = RequestFactory().get("/")
    with translation.override("pt-br"):
        assert DefaultAdapter().checkout_locale(request) == "pt-BR"
    with translation.override("ja"):
        assert DefaultAdapter().checkout_locale(request) == "ja"
    with translation.override(None):
        assert DefaultAdapter().checkout_locale(request) is None
