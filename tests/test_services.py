"""The service layer: each operation calls Polar once and keeps the cache in step."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import responses
from django.core.cache import cache

from polar_checkouts import services
from polar_checkouts.exceptions import NotFoundError, NotOpenCheckoutError
from polar_checkouts.models import CheckoutSession
from tests.polar_payloads import API, CHECKOUTS_URL, PRICE_ID, PRODUCT_ID, T1, T2, checkout_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def rsps():
    with responses.RequestsMock() as mock:
        yield mock


def _body(call) -> dict:
    return json.loads(call.request.body)


SEED_CHECKOUTS_URL = API + "/v1/checkouts/custom/"


def _create_with_the_usual_fields(alice):
    return services.create_checkout(
        product_id=PRODUCT_ID,
        customer_email="ada@example.com",
        success_url="https://shop.example.com/thanks?checkout_id={CHECKOUT_ID}",
        metadata={"cart": 42},
        user=alice,
        ip_address="203.0.113.7",
        extra={"allow_discount_codes": False},
    )


def test_create_checkout_sends_the_body_and_caches_the_answer(rsps, django_user_model):
    alice = django_user_model.objects.create_user("alice")
    payload = checkout_payload(customer_email="ada@example.com")
    rsps.post(CHECKOUTS_URL, json=payload, status=201)

    checkout = _create_with_the_usual_fields(alice)

    assert isinstance(checkout, CheckoutSession)
    assert str(checkout.pk) == payload["id"]
    assert checkout.user == alice
    assert checkout.ip_address == "203.0.113.7"
    assert CheckoutSession.objects.filter(pk=payload["id"]).exists()
    # Today's Polar (2026-10 by default): products, no payment_processor.
    assert rsps.calls[0].request.headers["Polar-Version"] == "2026-10"
    assert _body(rsps.calls[0]) == {
        "products": [PRODUCT_ID],
        "customer_email": "ada@example.com",
        "success_url": "https://shop.example.com/thanks?checkout_id={CHECKOUT_ID}",
        "metadata": {"cart": 42},
        "customer_ip_address": "203.0.113.7",
        "allow_discount_codes": False,
    }


def test_create_checkout_on_the_seed_era_path_sends_product_id(rsps, django_user_model, settings):
    settings.POLAR_CHECKOUT_PATH = "/v1/checkouts/custom/"
    settings.POLAR_API_VERSION = None
    alice = django_user_model.objects.create_user("alice")
    payload = checkout_payload(customer_email="ada@example.com")
    rsps.post(SEED_CHECKOUTS_URL, json=payload, status=201)

    checkout = _create_with_the_usual_fields(alice)

    assert str(checkout.pk) == payload["id"]
    assert checkout.user == alice
    assert "Polar-Version" not in rsps.calls[0].request.headers
    assert _body(rsps.calls[0]) == {
        "product_id": PRODUCT_ID,
        "customer_email": "ada@example.com",
        "success_url": "https://shop.example.com/thanks?checkout_id={CHECKOUT_ID}",
        "metadata": {"cart": 42},
        "customer_ip_address": "203.0.113.7",
        "allow_discount_codes": False,
        "payment_processor": "stripe",
    }


#: Every create field of today's Polar that create_checkout names, with a value each; sent
#: under the same names (tests/test_client_requests_spec.py checks them against the spec).
TODAYS_CREATE_FIELDS: dict[str, Any] = {
    "currency": "eur",
    "external_customer_id": "shop-user-7",
    "allow_discount_codes": False,
    "discount_id": "9b0c2f4e-4a0e-4d55-9c77-2f9f0a6c1e01",
    "require_billing_address": True,
    "locale": "fr-CA",
    "return_url": "https://shop.example.com/cart",
    "seats": 3,
    "allow_trial": False,
    "trial_interval": "week",
    "trial_interval_count": 2,
    "custom_field_data": {"gift": True},
}


def test_create_checkout_with_several_products_and_todays_fields(rsps):
    other = str(uuid.uuid4())
    prices = {other: [{"amount_type": "custom", "price_currency": "eur", "minimum_amount": 0}]}
    rsps.post(CHECKOUTS_URL, json=checkout_payload(), status=201)
    services.create_checkout(
        products=[PRODUCT_ID, other, PRODUCT_ID], prices=prices, **TODAYS_CREATE_FIELDS
    )
    assert _body(rsps.calls[0]) == {
        "products": [PRODUCT_ID, other],  # unique, in order
        "prices": prices,
        **TODAYS_CREATE_FIELDS,
    }


def test_the_seed_era_takes_one_product_and_no_ad_hoc_prices(rsps, settings):
    settings.POLAR_CHECKOUT_PATH = "/v1/checkouts/custom/"
    settings.POLAR_API_VERSION = None
    with pytest.raises(ValueError, match="one product per checkout"):
        services.create_checkout(products=[PRODUCT_ID, str(uuid.uuid4())])
    with pytest.raises(ValueError, match="Ad-hoc prices need a dated API version"):
        services.create_checkout(
            product_id=PRODUCT_ID, prices={PRODUCT_ID: [{"amount_type": "free"}]}
        )
    assert len(rsps.calls) == 0


def test_create_checkout_by_price_with_amount_on_the_seed_era_path(rsps, settings):
    # The seed era's create names the price itself; no catalogue look-up.
    settings.POLAR_CHECKOUT_PATH = "/v1/checkouts/custom/"
    settings.POLAR_API_VERSION = None
    rsps.post(SEED_CHECKOUTS_URL, json=checkout_payload(amount=2500), status=201)
    services.create_checkout(product_price_id="p-1", amount=2500)
    body = _body(rsps.calls[0])
    assert body["product_price_id"] == "p-1"
    assert body["amount"] == 2500
    assert "product_id" not in body


OTHER_PRICE_ID = "3b5d7f91-2c4e-4a6b-9d8f-0e1a2b3c4d03"


def _catalogue(rsps, *prices: dict[str, Any]) -> None:
    cache.clear()
    product = {"id": PRODUCT_ID, "name": "Pro licence", "prices": list(prices)}
    rsps.get(
        API + "/v1/products/",
        json={"items": [product], "pagination": {"total_count": 1, "max_page": 1}},
    )


def _price(price_id: str, currency: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": price_id,
        "amount_type": "custom",
        "price_currency": currency,
        "is_archived": False,
        **extra,
    }


@pytest.mark.parametrize("version", ["2026-04", "2026-10"])
def test_a_price_on_a_dated_version_is_sent_as_its_product_and_currency(rsps, settings, version):
    settings.POLAR_API_VERSION = version
    _catalogue(rsps, _price(OTHER_PRICE_ID, "usd"), _price(PRICE_ID, "eur"))
    rsps.post(CHECKOUTS_URL, json=checkout_payload(amount=2500), status=201)
    services.create_checkout(product_price_id=PRICE_ID, amount=2500)
    assert _body(rsps.calls[1]) == {"products": [PRODUCT_ID], "amount": 2500, "currency": "eur"}
    cache.clear()


@pytest.mark.parametrize(
    ("prices", "currency"),
    [
        # A legacy product: a monthly and a yearly price in one currency; the second one.
        ([_price(OTHER_PRICE_ID, "usd"), _price(PRICE_ID, "usd")], None),
        # Not in the catalogue (archived, or unknown): Polar's own answer says why.
        ([_price(OTHER_PRICE_ID, "usd"), _price(PRICE_ID, "usd", is_archived=True)], None),
        # The shop asks for another currency than the price's.
        ([_price(PRICE_ID, "eur")], "usd"),
    ],
)
def test_a_price_nothing_else_names_keeps_the_deprecated_field(rsps, prices, currency):
    _catalogue(rsps, *prices)
    rsps.post(CHECKOUTS_URL, json=checkout_payload(), status=201)
    services.create_checkout(product_price_id=PRICE_ID, currency=currency)
    expected = {"product_price_id": PRICE_ID, **({"currency": currency} if currency else {})}
    assert _body(rsps.calls[1]) == expected
    cache.clear()


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"product_id": "a", "product_price_id": "b"},
        {"products": ["a"], "product_id": "a"},
        {"products": []},
    ],
)
def test_create_checkout_needs_exactly_one_product_key(kwargs):
    with pytest.raises(ValueError, match="exactly one"):
        services.create_checkout(**kwargs)


def test_refresh_checkout_updates_the_cache(rsps):
    payload = checkout_payload(modified_at=T1)
    CheckoutSession.objects.upsert_from_polar(payload)
    rsps.get(
        CHECKOUTS_URL + payload["id"],
        json={**payload, "status": "succeeded", "modified_at": "2026-11-01T12:02:00Z"},
    )

    checkout = services.refresh_checkout(uuid.UUID(payload["id"]))

    assert checkout.status == "succeeded"
    assert CheckoutSession.objects.get(pk=payload["id"]).status == "succeeded"


def test_refresh_checkout_never_rolls_back(rsps):
    payload = checkout_payload(status="succeeded", modified_at=T2)
    CheckoutSession.objects.upsert_from_polar(payload)
    stale = {**payload, "status": "open", "modified_at": "2026-11-01T12:01:00Z"}
    rsps.get(CHECKOUTS_URL + payload["id"], json=stale)

    assert services.refresh_checkout(payload["id"]).status == "succeeded"


def test_refresh_checkout_raises_polar_errors_and_keeps_the_row(rsps):
    payload = checkout_payload()
    CheckoutSession.objects.upsert_from_polar(payload)
    rsps.get(
        CHECKOUTS_URL + payload["id"],
        json={"error": "ResourceNotFound", "detail": "Not found"},
        status=404,
        headers={"Polar-Version": "2026-10"},  # a routed answer, as Polar sends it
    )
    with pytest.raises(NotFoundError):
        services.refresh_checkout(payload["id"])
    assert CheckoutSession.objects.filter(pk=payload["id"]).exists()


def test_update_checkout(rsps):
    payload = checkout_payload(modified_at=T1)
    CheckoutSession.objects.upsert_from_polar(payload)
    rsps.patch(
        CHECKOUTS_URL + payload["id"],
        json={**payload, "metadata": {"cart": 7}, "modified_at": "2026-11-01T12:02:00Z"},
    )
    checkout = services.update_checkout(payload["id"], {"metadata": {"cart": 7}})
    assert checkout.metadata == {"cart": 7}
    assert _body(rsps.calls[0]) == {"metadata": {"cart": 7}}


def test_client_get_returns_the_payload_and_keeps_metadata(rsps):
    payload = checkout_payload(modified_at=T1)
    CheckoutSession.objects.upsert_from_polar(payload)
    public = checkout_payload(
        payload["id"], public=True, modified_at=T2, customer_email="grace@example.com"
    )
    rsps.get(CHECKOUTS_URL + "client/" + payload["client_secret"], json=public)

    answer = services.client_get(payload["client_secret"])

    assert answer == public
    row = CheckoutSession.objects.get(pk=payload["id"])
    assert row.customer_email == "grace@example.com"
    assert row.metadata == {"order_ref": "A-1"}
    assert "Authorization" not in rsps.calls[0].request.headers


def test_client_update_caches_the_answer(rsps):
    payload = checkout_payload(modified_at=T1)
    CheckoutSession.objects.upsert_from_polar(payload)
    public = checkout_payload(payload["id"], public=True, modified_at=T2, customer_name="Grace")
    rsps.patch(CHECKOUTS_URL + "client/" + payload["client_secret"], json=public)

    answer = services.client_update(payload["client_secret"], {"customer_name": "Grace"})

    assert answer["customer_name"] == "Grace"
    assert CheckoutSession.objects.get(pk=payload["id"]).customer_name == "Grace"


def test_client_confirm_returns_the_token_but_never_stores_it(rsps):
    payload = checkout_payload(modified_at=T1)
    CheckoutSession.objects.upsert_from_polar(payload)
    confirmed = checkout_payload(
        payload["id"],
        public=True,
        status="confirmed",
        modified_at=T2,
        customer_session_token="polar_cst_secret",
    )
    rsps.post(CHECKOUTS_URL + "client/" + payload["client_secret"] + "/confirm", json=confirmed)

    answer = services.client_confirm(
        payload["client_secret"], {"confirmation_token_id": "ctoken_1"}
    )

    assert answer["customer_session_token"] == "polar_cst_secret"
    row = CheckoutSession.objects.get(pk=payload["id"])
    assert row.status == "confirmed"
    assert "customer_session_token" not in row.payload
    assert "polar_cst_secret" not in json.dumps(row.payload)


def test_client_confirm_error_leaves_the_cache_alone(rsps):
    payload = checkout_payload(modified_at=T1)
    CheckoutSession.objects.upsert_from_polar(payload)
    rsps.post(
        CHECKOUTS_URL + "client/" + payload["client_secret"] + "/confirm",
        json={"error": "NotOpenCheckout", "detail": "Checkout is not open: confirmed"},
        status=403,
    )
    with pytest.raises(NotOpenCheckoutError):
        services.client_confirm(payload["client_secret"], {})
    assert CheckoutSession.objects.get(pk=payload["id"]).status == "open"


def test_store_checkout_is_the_upsert_path():
    result = services.store_checkout(checkout_payload())
    assert result.created


def test_list_products_is_cached_briefly(rsps, settings):
    settings.POLAR_ORGANIZATION_ID = "org-1"
    cache.clear()
    product = {"id": PRODUCT_ID, "name": "Pro licence", "prices": []}
    rsps.get(
        API + "/v1/products/",
        json={"items": [product], "pagination": {"total_count": 1, "max_page": 1}},
    )

    assert services.list_products() == [product]
    assert services.list_products() == [product]

    assert len(rsps.calls) == 1
    query = rsps.calls[0].request.url
    assert "organization_id=org-1" in query
    assert "is_archived=false" in query
    cache.clear()


# -- end to end against the fake Polar ----------------------------------------------------


def test_fake_checkout_lifecycle_keeps_the_cache_in_step(polar_fake, django_user_model):
    from polar_checkouts.testing import PRODUCT_ONE_TIME_ID, TOKEN_SUCCEEDED

    alice = django_user_model.objects.create_user("alice")
    checkout = services.create_checkout(
        product_id=PRODUCT_ONE_TIME_ID, metadata={"cart": 1}, user=alice, ip_address="192.0.2.9"
    )
    assert checkout.status == "open"
    assert checkout.formatted_total == "19.00 USD"
    assert checkout.user == alice

    secret = checkout.client_secret
    assert secret is not None
    services.client_update(secret, {"customer_email": "ada@example.com"})
    answer = services.client_confirm(
        secret,
        {
            "customer_email": "ada@example.com",
            "customer_name": "Ada Lovelace",
            "customer_billing_address": {"country": "FR"},
            "confirmation_token_id": TOKEN_SUCCEEDED,
        },
    )
    assert answer["status"] == "confirmed"
    row = CheckoutSession.objects.get(pk=checkout.pk)
    assert row.status == "confirmed"
    assert row.customer_email == "ada@example.com"
    assert row.metadata == {"cart": 1}  # public payloads never wiped it

    assert services.refresh_checkout(checkout.pk).status == "succeeded"
    assert CheckoutSession.objects.succeeded().get() == row


def test_fake_sync_then_expiry_updates_rows(polar_fake):
    from polar_checkouts.testing import PRODUCT_ONE_TIME_ID

    for _ in range(3):
        polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)

    first = services.sync_checkouts()
    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    assert services.sync_checkouts().unchanged == 3

    polar_fake.advance_time(polar_fake.checkout_ttl.total_seconds() + 60)
    again = services.sync_checkouts()
    assert (again.created, again.updated) == (0, 3)
    assert set(CheckoutSession.objects.values_list("status", flat=True)) == {"expired"}


def test_fake_polar_error_during_refresh_is_raised(polar_fake):
    from polar_checkouts.exceptions import ServerError
    from polar_checkouts.testing import PRODUCT_ONE_TIME_ID

    checkout = services.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    polar_fake.inject(500, route="get")
    with pytest.raises(ServerError):
        services.refresh_checkout(checkout.pk)
    assert CheckoutSession.objects.get(pk=checkout.pk).status == "open"


def test_storing_what_the_cache_holds_reads_once_and_writes_nothing(django_assert_num_queries):
    from tests.polar_payloads import checkout_payload as make

    payload = make(status="open")
    first = services.store_checkout(payload)
    assert first.created
    with django_assert_num_queries(1):  # one unlocked SELECT: no lock, no transaction
        again = services.store_checkout(dict(payload))
    assert (again.created, again.changed) == (False, False)
    # Anything new still takes the locked path and is stored.
    newer = {**payload, "customer_name": "Grace", "modified_at": "2030-01-01T00:00:00Z"}
    assert services.store_checkout(newer).changed
    assert CheckoutSession.objects.get(pk=payload["id"]).customer_name == "Grace"


def test_an_unnotified_success_is_never_skipped_as_unchanged():
    from tests.polar_payloads import checkout_payload as make

    payload = make(status="succeeded")
    CheckoutSession.objects.upsert_from_polar(payload)  # stored without the signal layer
    assert CheckoutSession.objects.unchanged_by(payload) is None
    services.store_checkout(payload)
    assert CheckoutSession.objects.get(pk=payload["id"]).succeeded_notified_at is not None
    assert CheckoutSession.objects.unchanged_by(payload) is not None


def test_local_facts_still_recorded_on_an_unchanged_payload():
    from tests.polar_payloads import checkout_payload as make

    payload = make()
    services.store_checkout(payload)
    services.store_checkout(payload, ip_address="203.0.113.9")
    assert CheckoutSession.objects.get(pk=payload["id"]).ip_address == "203.0.113.9"

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import AnonymousUser

    services.store_checkout(payload, user=AnonymousUser())
    assert CheckoutSession.objects.get(pk=payload["id"]).user is None
    ada = get_user_model().objects.create(username="ada")
    services.store_checkout(payload, user=ada)
    assert CheckoutSession.objects.get(pk=payload["id"]).user == ada
