"""Bad input to the storefront, generated: zero 500s, clear 4xx messages, nothing stored.

Hypothesis feeds the "Buy" form and the server-mode client endpoints with fields, JSON
bodies and content types of every shape. Whatever arrives, the answer is a redirect
with a message (the form) or a 2xx/4xx JSON answer with a ``detail`` (the endpoints),
and the cache holds only what Polar really has.
(Webhook bodies and headers are fuzzed in ``tests/test_webhooks.py``.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from polar_checkouts.models import CheckoutSession
from polar_checkouts.storefront.responses import CLIENT_UPDATE_KEYS, MAX_JSON_BODY
from polar_checkouts.testing import (
    PRICE_PWYW_ID,
    PRODUCT_FREE_ID,
    PRODUCT_ONE_TIME_ID,
    PRODUCT_PWYW_ID,
    PWYW_MAXIMUM,
    PWYW_MINIMUM,
)
from tests.storefront.stubs import messages_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_per_client_limits(settings):
    """Every generated example must reach the view: one test sends far more than a
    visitor may in a minute (the limits have their own tests, tests/storefront/test_limits.py)."""
    settings.POLAR_RATE_LIMITS = None


fuzz = hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Form values arrive as text; anything a browser (or a script) can put in a field.
form_text = st.text(max_size=80)
ids = st.one_of(
    st.sampled_from([PRODUCT_ONE_TIME_ID, PRODUCT_PWYW_ID, PRODUCT_FREE_ID, PRICE_PWYW_ID]),
    st.uuids().map(str),
    form_text,
)
amounts = st.one_of(
    st.integers(min_value=PWYW_MINIMUM - 100, max_value=PWYW_MAXIMUM + 100).map(str),
    st.integers().map(str),
    st.sampled_from(["", "1e3", "12.5", "-0", "NaN", "٣٤٥", " 700 "]),
    form_text,
)
button_forms = st.fixed_dictionaries(
    {},
    optional={
        "product_id": ids,
        "price_id": ids,
        "amount": amounts,
        "mode": st.one_of(st.sampled_from(["embedded", "hosted"]), form_text),
        "next": st.one_of(st.sampled_from(["/shop/", "//evil.com", "https://evil.com"]), form_text),
    },
).flatmap(
    lambda fields: st.dictionaries(st.text(min_size=1, max_size=20), form_text, max_size=3).map(
        lambda garbage: {**garbage, **fields}
    )
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=20), children, max_size=4)
    ),
    max_leaves=12,
)
address = st.fixed_dictionaries(
    {},
    optional={
        key: json_values | st.text(max_size=10)
        for key in ("country", "line1", "line2", "postal_code", "city", "state")
    },
)
# Bodies close to what the page's script sends, with any value in any field.
update_bodies = st.fixed_dictionaries(
    {},
    optional={
        **dict.fromkeys(CLIENT_UPDATE_KEYS, json_values),
        "customer_billing_address": address | json_values,
        "customer_email": st.emails() | json_values,
        "amount": st.integers() | json_values,
    },
)
confirm_bodies = update_bodies.flatmap(
    lambda body: st.fixed_dictionaries(
        {},
        optional={
            "confirmation_token_id": st.sampled_from(
                ["ctoken_fake_succeeded", "ctoken_fake_declined", "ctoken_fake_failed"]
            )
            | json_values
        },
    ).map(lambda token: {**body, **token})
)


def _fake_ids(fake: Any) -> set[str]:
    return {checkout["id"] for checkout in fake.checkouts()}


def assert_cache_matches_polar(fake: Any) -> None:
    """Everything cached is a checkout Polar has: nothing stored that should not be."""
    cached = {str(pk) for pk in CheckoutSession.objects.values_list("pk", flat=True)}
    assert cached <= _fake_ids(fake)


@fuzz
@given(form=button_forms)
def test_buy_form_never_fails_and_never_stores_a_rejected_purchase(polar_fake, form):
    before_rows = CheckoutSession.objects.count()
    before_polar = len(polar_fake.checkouts())
    client = Client(raise_request_exception=False)
    response = client.post(reverse("polar_checkouts:create"), form)

    assert response.status_code == 303, response.content[:300]
    location = response["Location"]
    created = len(polar_fake.checkouts()) - before_polar
    assert created in (0, 1)
    if created:
        checkout = polar_fake.checkouts()[-1]
        assert CheckoutSession.objects.count() == before_rows + 1
        assert location in (
            reverse("polar_checkouts:checkout", args=[checkout["client_secret"]]),
            checkout["url"],
        )
    else:
        assert CheckoutSession.objects.count() == before_rows
        # Sent back to this site with a message saying what was wrong.
        assert url_has_allowed_host_and_scheme(location, allowed_hosts={"testserver"})
        shown = messages_of(response)
        assert shown
        assert all(message.strip() for message in shown)
    assert_cache_matches_polar(polar_fake)


def _answer_is_clear(response: Any) -> dict[str, Any]:
    assert response.status_code < 500, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    data = response.json()
    if response.status_code >= 400:
        assert data["detail"], data
        assert isinstance(data["error"], str)
    return data


@fuzz
@given(body=update_bodies | json_values)
def test_client_update_with_any_json(polar_fake, body):
    checkout = polar_fake.create_checkout(product_id=PRODUCT_PWYW_ID)
    before = polar_fake.checkout(checkout["id"])
    response = Client(raise_request_exception=False).patch(
        reverse("polar_checkouts:client", args=[checkout["client_secret"]]),
        data=json.dumps(body),
        content_type="application/json",
    )
    data = _answer_is_clear(response)
    row = CheckoutSession.objects.filter(pk=checkout["id"]).first()
    if response.status_code == 200:
        assert data["id"] == checkout["id"]
        assert row is not None
        assert row.status == "open"
    else:
        assert response.status_code in (403, 404, 413, 415, 422)
        # A rejected update changes nothing, here or in Polar.
        assert row is None
        assert polar_fake.checkout(checkout["id"]) == before
    assert_cache_matches_polar(polar_fake)


@fuzz
@given(body=confirm_bodies | json_values)
def test_client_confirm_with_any_json(polar_fake, body):
    checkout = polar_fake.create_checkout(
        product_id=PRODUCT_ONE_TIME_ID,
        customer_email="ada@example.com",
        customer_name="Ada Lovelace",
        customer_billing_address={"country": "FR"},
    )
    response = Client(raise_request_exception=False).post(
        reverse("polar_checkouts:client-confirm", args=[checkout["client_secret"]]),
        data=json.dumps(body),
        content_type="application/json",
    )
    data = _answer_is_clear(response)
    status = polar_fake.checkout(checkout["id"])["status"]
    if response.status_code == 200:
        assert data["status"] == "confirmed"
        assert status in ("confirmed", "succeeded", "failed")
    else:
        assert response.status_code in (400, 403, 404, 413, 415, 422)
        assert status == "open"  # not paid by a rejected request
        assert not CheckoutSession.objects.filter(pk=checkout["id"]).exists()
    assert_cache_matches_polar(polar_fake)


content_types = st.one_of(
    st.sampled_from(
        [
            "",
            "text/plain",
            "text/html",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=xyz",
            "application/json; charset=utf-8",
            "application/json; charset=latin-1",
            "APPLICATION/JSON",
            "application/jsonx",
            "application/json-patch+json",
        ]
    ),
    st.text(max_size=40).filter(lambda t: "\n" not in t and "\r" not in t),
)


@fuzz
@given(content_type=content_types, raw=st.binary(max_size=400))
def test_client_endpoints_with_any_bytes_and_content_type(polar_fake, content_type, raw):
    checkout = polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    client = Client(raise_request_exception=False)
    for view, method in (
        ("polar_checkouts:client", "patch"),
        ("polar_checkouts:client-confirm", "post"),
    ):
        # generic(): the other helpers re-encode the body for a charset in the type.
        response = client.generic(
            method.upper(), reverse(view, args=[checkout["client_secret"]]), raw, content_type
        )
        _answer_is_clear(response)
    assert polar_fake.checkout(checkout["id"])["status"] == "open"
    assert_cache_matches_polar(polar_fake)


@pytest.mark.parametrize(
    "raw",
    [
        b" " * (MAX_JSON_BODY + 1),
        json.dumps({"customer_name": "x" * (MAX_JSON_BODY + 10)}).encode(),
        b'{"customer_name": "' + b"x" * (3 * 1024 * 1024) + b'"}',  # over Django's own limit
    ],
    ids=["just-over-the-limit", "big-field", "over-djangos-limit"],
)
def test_huge_bodies_are_refused_with_413(polar_fake, raw):
    checkout = polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    client = Client(raise_request_exception=False)
    for view, method in (
        ("polar_checkouts:client", "patch"),
        ("polar_checkouts:client-confirm", "post"),
    ):
        response = getattr(client, method)(
            reverse(view, args=[checkout["client_secret"]]),
            data=raw,
            content_type="application/json",
        )
        assert response.status_code == 413
        assert response.json()["error"] == "PayloadTooLarge"
    assert polar_fake.calls("client_update") == []
    assert polar_fake.calls("client_confirm") == []


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 50_000,
        b'{"a":' * 10_000,
        b"\xff\xfe{}",
        b'{"customer_name": "\\ud800"}',
        b"{" + b" " * 100,
    ],
    ids=["deep-array", "deep-object", "not-utf8", "lone-surrogate", "truncated"],
)
def test_pathological_json_is_a_422(polar_fake, raw):
    checkout = polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    response = Client(raise_request_exception=False).patch(
        reverse("polar_checkouts:client", args=[checkout["client_secret"]]),
        data=raw,
        content_type="application/json",
    )
    assert response.status_code in (422,)
    assert response.json()["detail"]
    assert polar_fake.calls("client_update") == []
