"""The customer portal view (``polar_checkouts:customer_portal``), its service and its tag,
against the fake Polar (customer sessions for real, no stubs)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template
from django.test import RequestFactory, override_settings

from polar_checkouts.services.portal import NoPolarCustomer, customer_portal_url
from polar_checkouts.testing import PRODUCT_SUBSCRIPTION_ID, TOKEN_SUCCEEDED

pytestmark = pytest.mark.django_db

URL = "/checkout/portal/"


@pytest.fixture
def user():
    return get_user_model().objects.create_user("ada", email="ada@example.com")


def subscribe(fake, user):
    """A paid subscription on the fake for ``user`` (external id: the user's pk)."""
    checkout = fake.create_checkout(
        products=[PRODUCT_SUBSCRIPTION_ID], external_customer_id=str(user.pk)
    )
    body = {
        "customer_email": user.email,
        "customer_name": "Ada",
        "customer_billing_address": {"country": "NL"},
        "confirmation_token_id": TOKEN_SUCCEEDED,
    }
    answer = fake.handle(
        "POST",
        f"/v1/checkouts/client/{checkout['client_secret']}/confirm",
        "",
        {"Polar-Version": "2026-10"},
        json.dumps(body).encode(),
    )
    assert answer.status == 200, answer.body
    fake.checkout(checkout["id"])


def test_anonymous_users_are_sent_to_log_in(client, polar_fake):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/checkout/portal/")
    assert polar_fake.calls("create_customer_session") == []


def test_a_customer_is_sent_to_polars_portal_signed_in(client, polar_fake, user):
    subscribe(polar_fake, user)
    client.force_login(user)
    response = client.get(URL, {"next": "/account/"})
    assert response.status_code == 302
    (call,) = polar_fake.calls("create_customer_session")
    assert call.json() == {
        "external_customer_id": str(user.pk),
        "return_url": "http://testserver/account/",
    }
    session = next(iter(polar_fake.customer_sessions.values()))
    location = urlsplit(response["Location"])
    # The default fake, mounted at /polar-fake/, serves its portal page on this site.
    assert location.path == "/polar-fake/fake-polar-demo/portal"
    assert parse_qs(location.query)["customer_session_token"] == [session["token"]]
    assert response["Cache-Control"].startswith("max-age=0")
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Pro Membership" in page.content.decode()
    assert 'href="http://testserver/account/"' in page.content.decode()
    # Cancelling there (a form post to the mounted fake, no CSRF token) reaches the fake.
    (subscription_id,) = polar_fake.subscriptions
    form = {
        "customer_session_token": session["token"],
        "subscription_id": subscription_id,
        "action": "cancel",
    }
    done = client.post(
        location.path, urlencode(form), content_type="application/x-www-form-urlencoded"
    )
    assert done.status_code == 303
    assert polar_fake.subscription(subscription_id)["cancel_at_period_end"] is True


@pytest.mark.parametrize("unsafe", ["https://evil.example/", "//evil.example/x", "javascript:x"])
def test_a_next_url_elsewhere_is_replaced_by_the_login_redirect_url(
    client, polar_fake, user, unsafe
):
    subscribe(polar_fake, user)
    client.force_login(user)
    with override_settings(LOGIN_REDIRECT_URL="/welcome/"):
        assert client.get(URL, {"next": unsafe}).status_code == 302
    (call,) = polar_fake.calls("create_customer_session")
    assert call.json()["return_url"] == "http://testserver/welcome/"


def test_a_user_polar_does_not_know_gets_a_clear_page(client, polar_fake, user):
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 404
    text = response.content.decode()
    assert "Nothing to manage yet" in text
    assert 'data-polar-state="no_customer"' in text


def test_polar_unreachable_is_a_503_page_not_an_error(client, polar_fake, user):
    subscribe(polar_fake, user)
    client.force_login(user)
    polar_fake.inject(500, route="create_customer_session")
    response = client.get(URL)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "temporarily unavailable" in response.content.decode()
    polar_fake.inject(fault="refused", times=10)
    assert client.get(URL).status_code == 503


def test_only_get(client, polar_fake, user):
    client.force_login(user)
    assert client.post(URL).status_code == 405


def test_the_service_needs_an_external_id(polar_fake, user):
    with pytest.raises(NoPolarCustomer):
        customer_portal_url(AnonymousUser())
    with pytest.raises(NoPolarCustomer):
        customer_portal_url(user)
    subscribe(polar_fake, user)
    url = customer_portal_url(user, "https://shop.example/")
    assert "customer_session_token=polar_cst_" in url


def test_the_tag_links_to_the_view_with_the_current_page_as_next(polar_fake):
    request = RequestFactory().get("/members/?page=2")
    template = Template("{% load polar_checkouts %}{% polar_customer_portal_url %}")
    assert template.render(Context({"request": request})) == (
        "/checkout/portal/?next=%2Fmembers%2F%3Fpage%3D2"
    )
    explicit = Template('{% load polar_checkouts %}{% polar_customer_portal_url next="/a/" %}')
    assert explicit.render(Context({})) == "/checkout/portal/?next=%2Fa%2F"
    bare = Template("{% load polar_checkouts %}{% polar_customer_portal_url %}")
    assert bare.render(Context({})) == "/checkout/portal/"
    assert polar_fake.requests == []


def test_the_portal_redirect_is_limited_per_user(client, polar_fake, user, settings):
    """Issue 16: each press costs a Polar customer session; over the limit, a 429 page
    with Retry-After and nothing sent to Polar."""
    settings.POLAR_RATE_LIMITS = {"portal": "2/m"}
    subscribe(polar_fake, user)
    client.force_login(user)
    assert [client.get(URL).status_code for _ in range(2)] == [302, 302]
    refused = client.get(URL)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert len(polar_fake.calls("create_customer_session")) == 2
