"""CSRF: every state-changing storefront and admin endpoint refuses a forged request.

A forged cross-site form or ``fetch`` carries the victim's cookies but not the CSRF
token; Django's ``CsrfViewMiddleware`` must turn it away before any Polar call. The one
exemption is the webhook endpoint, which authenticates every request by its signature.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import URLPattern, reverse

from polar_checkouts import urls as storefront_urls
from polar_checkouts.models import CheckoutSession, WebhookEvent
from polar_checkouts.testing import PRODUCT_ONE_TIME_ID, TOKEN_SUCCEEDED
from tests.webhook_helpers import event_body, post, signed_headers

pytestmark = pytest.mark.django_db

UPDATE = json.dumps({"customer_name": "Mallory"}).encode()
CONFIRM = json.dumps({"confirmation_token_id": TOKEN_SUCCEEDED}).encode()


@pytest.fixture
def forger() -> Client:
    """A browser on another site: the victim's session, but no CSRF token to send."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def checkout(polar_fake):
    return polar_fake.create_checkout(
        product_id=PRODUCT_ONE_TIME_ID,
        customer_email="ada@example.com",
        customer_name="Ada Lovelace",
        customer_billing_address={"country": "FR"},
    )


def csrf_token(client: Client) -> str:
    """The token a page of the shop hands its own forms (and the checkout page's script)."""
    client.get(reverse("test-shop"))
    return client.cookies["csrftoken"].value


def test_create_without_token_is_refused_before_polar(forger, polar_fake):
    response = forger.post(reverse("polar_checkouts:create"), {"product_id": PRODUCT_ONE_TIME_ID})
    assert response.status_code == 403
    assert polar_fake.calls("create") == []
    assert CheckoutSession.objects.count() == 0


def test_create_with_a_wrong_token_is_refused(forger, polar_fake):
    csrf_token(forger)
    response = forger.post(
        reverse("polar_checkouts:create"),
        {"product_id": PRODUCT_ONE_TIME_ID, "csrfmiddlewaretoken": "x" * 64},
    )
    assert response.status_code == 403
    assert polar_fake.calls("create") == []


def test_create_with_the_token_works(forger, polar_fake):
    token = csrf_token(forger)
    response = forger.post(
        reverse("polar_checkouts:create"),
        {"product_id": PRODUCT_ONE_TIME_ID, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 303
    assert len(polar_fake.calls("create")) == 1


def send_json(send, view: str, checkout, data: bytes, token: str | None = None):
    """What checkout.js sends: JSON to a checkout's route, with the token header if given."""
    headers = {"X-CSRFToken": token} if token else {}
    url = reverse(view, args=[checkout["client_secret"]])
    return send(url, data=data, content_type="application/json", headers=headers)


@pytest.mark.parametrize(
    ("view", "method", "data", "operation", "field", "unchanged"),
    [
        (
            "polar_checkouts:client",
            "patch",
            UPDATE,
            "client_update",
            "customer_name",
            "Ada Lovelace",
        ),
        ("polar_checkouts:client-confirm", "post", CONFIRM, "client_confirm", "status", "open"),
    ],
    ids=["client_update", "confirm"],
)
def test_client_writes_without_token_are_refused(
    forger, polar_fake, checkout, view, method, data, operation, field, unchanged
):
    response = send_json(getattr(forger, method), view, checkout, data)
    assert response.status_code == 403
    assert polar_fake.calls(operation) == []
    assert polar_fake.checkout(checkout["id"])[field] == unchanged


def test_client_update_with_the_token_header_works(forger, polar_fake, checkout):
    token = csrf_token(forger)
    response = send_json(forger.patch, "polar_checkouts:client", checkout, UPDATE, token)
    assert response.status_code == 200
    assert polar_fake.checkout(checkout["id"])["customer_name"] == "Mallory"


def test_confirm_with_the_token_header_works(forger, polar_fake, checkout):
    token = csrf_token(forger)
    response = send_json(forger.post, "polar_checkouts:client-confirm", checkout, CONFIRM, token)
    assert response.status_code == 200
    assert response.json()["status"] == "confirmed"


def test_webhook_is_exempt_but_authenticated_by_its_signature(forger, polar_fake, checkout):
    body = event_body("checkout.updated", polar_fake.checkout(checkout["id"]))
    unsigned = post(forger, body, {"content-type": "application/json"})
    assert unsigned.status_code == 401
    assert WebhookEvent.objects.count() == 0
    signed = post(forger, body, signed_headers(body))
    assert signed.status_code == 200  # no CSRF token needed: the signature is the check
    assert WebhookEvent.objects.count() == 1


def _storefront_patterns() -> list[URLPattern]:
    return [p for p in storefront_urls.urlpatterns if isinstance(p, URLPattern)]


@pytest.mark.parametrize("method", ["post", "patch", "put", "delete"])
def test_no_storefront_route_changes_state_without_a_token(forger, polar_fake, checkout, method):
    """Every route, present and future: an unsafe method without a token gets 403 or 405."""
    kwargs_for = {"client_secret": checkout["client_secret"]}
    for pattern in _storefront_patterns():
        names = pattern.pattern.converters
        url = reverse(f"polar_checkouts:{pattern.name}", kwargs={k: kwargs_for[k] for k in names})
        response = getattr(forger, method)(url, data=b"{}", content_type="application/json")
        if pattern.name == "webhook":
            assert response.status_code in (401, 405), (url, response.status_code)
        else:
            assert response.status_code in (403, 405), (url, response.status_code)
    assert [call.operation for call in polar_fake.calls()] == []


@pytest.fixture
def operator_forger(django_user_model):
    """A forged request riding on the session of staff allowed to sync and reprocess."""
    user = django_user_model.objects.create_user("op", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="polar_checkouts"))
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_admin_sync_and_actions_need_the_token(operator_forger, polar_fake, checkout):
    row = CheckoutSession.objects.upsert_from_polar(polar_fake.checkout(checkout["id"])).checkout
    sync = operator_forger.post(reverse("admin:polar_checkouts_checkoutsession_sync"))
    action = operator_forger.post(
        reverse("admin:polar_checkouts_checkoutsession_changelist"),
        {"action": "refresh_from_polar", "_selected_action": [str(row.pk)]},
    )
    assert sync.status_code == 403
    assert action.status_code == 403
    assert polar_fake.calls() == []
