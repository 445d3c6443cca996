"""polar-sdk 1.0.2 (the newest release, pinned in the test extras) drives the standalone fake.

polar-sdk ships one module per API version (``polar.v2026_04``, ``polar.v2026_10``,
``polar.v2027_01``): each has its own ``Polar`` client, which sends ``Polar-Version`` with
its version, and its own strictly decoded models. Every test runs through every module the
installed SDK ships, found by inspecting the package, so raising the pin brings the new
versions in. The fake is the command-line server over real sockets.

(``tests/testing/test_server.py`` keeps its one paid-checkout smoke test on 2026-04; this
module is the full conformance pass.)
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.newer_python import import_from_311

polar = import_from_311("polar", package="polar-sdk")

from polar.base import PolarRateLimitError  # noqa: E402

from polar_checkouts import testing as fake_polar  # noqa: E402
from polar_checkouts.testing import (  # noqa: E402
    ONE_TIME_AMOUNT,
    PRODUCT_FREE_ID,
    PRODUCT_ONE_TIME_ID,
    PRODUCT_PWYW_ID,
    PRODUCT_SUBSCRIPTION_ID,
    PWYW_MINIMUM,
    TOKEN_DECLINED,
    TOKEN_SUCCEEDED,
)
from tests.conformance.conftest import (  # noqa: E402
    TOKEN,
    advance,
    inject,
    reset,
)

pytestmark = pytest.mark.slow

#: The API-version modules this polar-sdk ships (``v2026_04`` → ``"2026-04"``).
VERSION_MODULES = sorted(
    module.name
    for module in pkgutil.iter_modules(polar.__path__)
    if re.fullmatch(r"v\d{4}_\d{2}", module.name)
)
ALL_PRODUCTS = {PRODUCT_ONE_TIME_ID, PRODUCT_SUBSCRIPTION_ID, PRODUCT_PWYW_ID, PRODUCT_FREE_ID}
BUYER: dict[str, Any] = {"customer_name": "Ada", "customer_billing_address": {"country": "NL"}}


def pay(sdk: Any, client_secret: str, token: str = TOKEN_SUCCEEDED, **extra: Any) -> Any:
    """``client_confirm`` as the buyer's page does: an e-mail address and a Stripe token."""
    return sdk.checkouts.client_confirm(
        client_secret, customer_email="ada@example.com", confirmation_token_id=token, **extra
    )


def test_the_sdk_is_the_pinned_release_with_its_version_modules():
    """Raising the pin is a decision: this names what the suite was written against."""
    assert polar.__version__ == "1.0.2"
    assert VERSION_MODULES == ["v2026_04", "v2026_10", "v2027_01"]


@pytest.fixture(params=VERSION_MODULES)
def sdk(request, fake_url) -> Iterator[Any]:
    """A ``Polar`` client of one API-version module, on a freshly reset fake.

    Every answer's ``Polar-Version`` header is kept on ``sdk.answered_versions``.
    """
    module: ModuleType = importlib.import_module(f"polar.{request.param}")
    reset(fake_url)
    client = module.Polar(TOKEN, base_url=fake_url, timeout=10)
    answered: list[str | None] = []
    client._client._client.event_hooks["response"].append(
        lambda response: answered.append(response.headers.get("polar-version"))
    )
    client.answered_versions = answered
    client.errors = importlib.import_module(f"polar.{request.param}.errors")
    client.fake_url = fake_url
    with client:
        yield client


def test_the_fake_answers_in_the_version_each_module_asks_for(sdk):
    """Polar-Version goes out with the module's version and comes back resolved to it."""
    assert sdk.version in fake_polar.API_VERSIONS
    sdk.products.list()
    sdk.checkouts.list()
    assert sdk.answered_versions == [sdk.version, sdk.version]


def test_products_list_get_and_iterate(sdk):
    page = sdk.products.list(limit=100)
    assert {p.id for p in page.items} == ALL_PRODUCTS
    assert page.pagination.total_count == 4
    for product in page.items:
        # is_deletable and the other fields today's models require decode.
        assert isinstance(product.is_deletable, bool)
        assert sdk.products.get(product.id).id == product.id
    assert {p.id for p in sdk.products.iter_list(limit=1)} == ALL_PRODUCTS
    # Today's models have no "free" price type: a free product has a fixed price of 0.
    free = sdk.products.get(PRODUCT_FREE_ID)
    assert [(p.amount_type, p.price_amount) for p in free.prices] == [("fixed", 0)]
    pwyw = sdk.products.get(PRODUCT_PWYW_ID)
    assert pwyw.prices[0].amount_type == "custom"
    assert pwyw.prices[0].minimum_amount == PWYW_MINIMUM


def test_a_paid_purchase(sdk):
    checkout = sdk.checkouts.create(products=[PRODUCT_ONE_TIME_ID])
    assert (checkout.status, checkout.amount) == ("open", ONE_TIME_AMOUNT)
    assert [p.id for p in checkout.products] == [PRODUCT_ONE_TIME_ID]
    public = sdk.checkouts.client_get(checkout.client_secret)
    assert public.id == checkout.id
    updated = sdk.checkouts.client_update(checkout.client_secret, **BUYER)
    assert updated.tax_amount == 399  # 21 % Dutch VAT on $19.00
    confirmed = pay(sdk, checkout.client_secret)
    assert confirmed.customer_session_token.startswith("polar_cst_")
    assert sdk.checkouts.get(checkout.id).status == "succeeded"


def test_a_free_product(sdk):
    checkout = sdk.checkouts.create(products=[PRODUCT_FREE_ID])
    # Today's spec: a free checkout has amounts of 0 and a currency, never null.
    assert (checkout.amount, checkout.total_amount, checkout.net_amount) == (0, 0, 0)
    assert checkout.currency == "usd"
    confirmed = sdk.checkouts.client_confirm(
        checkout.client_secret, customer_email="ada@example.com"
    )
    assert confirmed.status in ("confirmed", "succeeded")
    # An unfiltered listing decodes once a free checkout exists.
    assert [c.id for c in sdk.checkouts.iter_list()] == [checkout.id]


def test_pay_what_you_want(sdk):
    checkout = sdk.checkouts.create(products=[PRODUCT_PWYW_ID], amount=2500)
    assert checkout.amount == 2500
    updated = sdk.checkouts.client_update(checkout.client_secret, amount=3000)
    assert updated.amount == 3000
    with pytest.raises(sdk.errors.HTTPValidationError) as caught:
        sdk.checkouts.client_update(checkout.client_secret, amount=PWYW_MINIMUM - 1)
    assert caught.value.status_code == 422
    confirmed = pay(sdk, checkout.client_secret, **BUYER)
    assert confirmed.amount == 3000


def test_pagination(sdk):
    created = [sdk.checkouts.create(products=[PRODUCT_ONE_TIME_ID]).id for _ in range(5)]
    first = sdk.checkouts.list(limit=2)
    assert (first.pagination.total_count, first.pagination.max_page) == (5, 3)
    assert len(first.items) == 2
    last = sdk.checkouts.list(limit=2, page=3)
    assert len(last.items) == 1
    assert sorted(c.id for c in sdk.checkouts.iter_list(limit=2)) == sorted(created)


def test_not_found_is_resource_not_found(sdk):
    with pytest.raises(sdk.errors.ResourceNotFound) as caught:
        sdk.checkouts.get(str(uuid.uuid4()))
    assert caught.value.status_code == 404
    with pytest.raises(sdk.errors.ResourceNotFound):
        sdk.products.get(str(uuid.uuid4()))
    with pytest.raises(sdk.errors.ResourceNotFound):
        sdk.checkouts.client_get("polar_c_nope")


def test_invalid_body_is_a_validation_error(sdk):
    with pytest.raises(sdk.errors.HTTPValidationError) as caught:
        sdk.checkouts.create(products=[])
    assert caught.value.status_code == 422
    assert caught.value.error.detail[0].loc[:2] == ["body", "products"]


def test_a_closed_checkout_is_not_open_checkout(sdk):
    checkout = sdk.checkouts.create(products=[PRODUCT_ONE_TIME_ID])
    pay(sdk, checkout.client_secret, **BUYER)
    with pytest.raises(sdk.errors.CheckoutsClientConfirm403Error) as caught:
        pay(sdk, checkout.client_secret)
    assert caught.value.status_code == 403
    assert caught.value.error.error == "NotOpenCheckout"
    with pytest.raises(sdk.errors.CheckoutsClientUpdate403Error) as caught_update:
        sdk.checkouts.client_update(checkout.client_secret, customer_name="Bo")
    assert caught_update.value.error.error == "NotOpenCheckout"


def test_a_declined_payment_is_a_payment_error(sdk):
    checkout = sdk.checkouts.create(products=[PRODUCT_ONE_TIME_ID])
    with pytest.raises(sdk.errors.PaymentError) as caught:
        pay(sdk, checkout.client_secret, TOKEN_DECLINED, **BUYER)
    assert caught.value.status_code == 400


def test_an_expired_checkout_is_gone(sdk):
    checkout = sdk.checkouts.create(products=[PRODUCT_ONE_TIME_ID])
    advance(sdk.fake_url, 2 * 24 * 3600)
    with pytest.raises(sdk.errors.ExpiredCheckoutError) as caught:
        sdk.checkouts.client_get(checkout.client_secret)
    assert caught.value.status_code == 410
    assert caught.value.error.error == "ExpiredCheckoutError"
    assert sdk.checkouts.get(checkout.id).status == "expired"


def test_rate_limited_is_a_rate_limit_error(sdk):
    inject(sdk.fake_url, status=429, route="get_product", retry_after=3)
    with pytest.raises(PolarRateLimitError) as caught:
        sdk.products.get(PRODUCT_ONE_TIME_ID)
    assert (caught.value.status_code, caught.value.retry_after) == (429, 3)
    assert sdk.products.get(PRODUCT_ONE_TIME_ID).id == PRODUCT_ONE_TIME_ID
