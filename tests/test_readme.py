"""The README's examples run as written."""

from __future__ import annotations

import pytest

from polar_checkouts import services
from polar_checkouts.exceptions import ServerError
from polar_checkouts.testing import PRODUCT_ONE_TIME_ID, TOKEN_SUCCEEDED

pytestmark = pytest.mark.django_db


def test_buying(polar_fake):
    checkout = services.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    assert checkout.client_secret is not None
    services.client_confirm(
        checkout.client_secret,
        {
            "customer_email": "ada@example.com",
            "customer_name": "Ada",
            "customer_billing_address": {"country": "FR"},
            "confirmation_token_id": TOKEN_SUCCEEDED,
        },
    )
    assert services.refresh_checkout(checkout.id).status == "succeeded"


def test_polar_down(polar_fake):
    polar_fake.inject(status=503, times=10, route="create")
    with pytest.raises(ServerError):
        services.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    assert len(polar_fake.calls("create")) == 1  # a POST is never repeated blindly


def test_each_polar_fake_starts_with_its_own_catalogue(polar_fake):
    # An earlier test (or request) cached a catalogue without this product...
    names = [p["name"] for p in services.list_products()]
    assert "Limited edition" not in names
    polar_fake.add_product(name="Limited edition", price_amount=4200)
    services.clear_catalogue_cache()
    assert "Limited edition" in [p["name"] for p in services.list_products()]


def test_a_later_test_does_not_see_the_previous_catalogue(polar_fake):
    assert "Limited edition" not in [p["name"] for p in services.list_products()]
