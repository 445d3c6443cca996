"""Redirects and return URLs stay on the shop's own hosts: no open redirect.

The create view sends the customer back (``next``, then the Referer) when it cannot start
a checkout, and hands Polar a ``success_url``; both must point at this site whatever the
request says.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from polar_checkouts.models import CheckoutSession
from polar_checkouts.testing import PRODUCT_ONE_TIME_ID

pytestmark = pytest.mark.django_db

OPEN_REDIRECTS = [
    "//evil.com",
    "//evil.com/path",
    "///evil.com",
    "https://evil.com",
    "https://evil.com/shop/",
    "http://evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "\\/evil.com",
    "https:evil.com",
    " //evil.com",
    "//testserver@evil.com",
    "https://testserver.evil.com/",
    "javascript:alert(document.domain)",
    "data:text/html,<script>alert(1)</script>",
    "http://[::1",  # unparsable
]


def back_location(client: Client, **post: str) -> str:
    """Where the create view sends the customer when it cannot start the checkout."""
    data = {"product_id": "not-a-uuid", **post}  # a form error: the view sends them back
    response = client.post(reverse("polar_checkouts:create"), data)
    assert response.status_code == 303
    return str(response["Location"])


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_next_to_another_host_falls_back_to_the_home_page(target):
    assert back_location(Client(), next=target) == "/"


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_referer_from_another_host_falls_back_to_the_home_page(target):
    client = Client(headers={"referer": target})
    assert back_location(client) == "/"


def test_next_wins_over_referer_only_when_on_this_site():
    client = Client(headers={"referer": "https://evil.com/"})
    assert back_location(client, next="/shop/") == "/shop/"
    assert back_location(Client(headers={"referer": "http://testserver/shop/"})) == (
        "http://testserver/shop/"
    )


def test_over_https_a_plain_http_return_url_is_refused():
    client = Client()
    response = client.post(
        reverse("polar_checkouts:create"),
        {"product_id": "x", "next": "http://testserver/shop/"},
        secure=True,
    )
    assert response["Location"] == "/"


def test_polar_failure_sends_back_only_to_this_site(polar_fake):
    polar_fake.inject(503, route="create", times=10)
    response = Client().post(
        reverse("polar_checkouts:create"),
        {"product_id": PRODUCT_ONE_TIME_ID, "next": "//evil.com"},
    )
    assert response.status_code == 303
    assert response["Location"] == "/"


def test_success_url_given_to_polar_is_on_this_site(polar_fake):
    response = Client().post(reverse("polar_checkouts:create"), {"product_id": PRODUCT_ONE_TIME_ID})
    assert response.status_code == 303
    checkout = polar_fake.checkouts()[-1]
    parts = urlsplit(checkout["success_url"])
    assert parts.hostname in django_settings.ALLOWED_HOSTS
    assert parts.path == reverse("polar_checkouts:success")
    # Then the customer lands on this site's checkout page, not anywhere else.
    assert response["Location"] == reverse(
        "polar_checkouts:checkout", args=[checkout["client_secret"]]
    )


def test_forged_host_header_is_refused_before_polar(polar_fake):
    response = Client(raise_request_exception=False).post(
        reverse("polar_checkouts:create"),
        {"product_id": PRODUCT_ONE_TIME_ID},
        headers={"host": "evil.com"},
    )
    assert response.status_code == 400  # DisallowedHost: no success_url on evil.com
    assert polar_fake.calls("create") == []
    assert CheckoutSession.objects.count() == 0


def test_hosted_mode_redirects_only_to_polars_checkout_page(polar_fake):
    response = Client().post(
        reverse("polar_checkouts:create"), {"product_id": PRODUCT_ONE_TIME_ID, "mode": "hosted"}
    )
    checkout = polar_fake.checkouts()[-1]
    assert response.status_code == 303
    assert response["Location"] == checkout["url"]
    assert response["Location"].startswith(polar_fake.frontend_url + "/")


def test_status_and_page_point_only_to_this_sites_receipt(polar_fake):
    checkout = polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    client = Client()
    status = client.get(reverse("polar_checkouts:status", args=[checkout["client_secret"]]))
    success_url = status.json()["success_url"]
    assert success_url.startswith(reverse("polar_checkouts:success"))
    assert not success_url.startswith("//")
    page = client.get(reverse("polar_checkouts:checkout", args=[checkout["client_secret"]]))
    assert page.context["config"]["successUrl"] == success_url
