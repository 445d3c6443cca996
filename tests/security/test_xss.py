"""Customer-controlled strings are escaped everywhere they are shown, admin included.

A buyer types their name and address; a shop's metadata hook may copy a cart note into
metadata. Each carries script and attribute-breaking payloads here, and every page that
shows them (checkout page, receipt, admin list, detail, search, webhook log) must render
them as text.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from polar_checkouts.models import CheckoutSession, WebhookEvent
from polar_checkouts.testing import PRODUCT_ONE_TIME_ID
from tests.webhook_helpers import deliver

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = "\"'><img src=x onerror=alert(2)>"
PAYLOAD = f"{BREAKOUT}{SCRIPT}"
#: What must never appear verbatim in an HTML page.
RAW = ("<script>alert(1)", "<img src=x", "onerror=alert(2)>")


def assert_escaped(body: str, where: str) -> None:
    for needle in RAW:
        assert needle not in body, f"{needle!r} unescaped in {where}"


def assert_shown(body: str, where: str) -> None:
    """The payload is there, as text: the page did show it (the test is not vacuous)."""
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body or "\\u003Cscript\\u003E" in body, (
        f"payload not shown in {where}"
    )


@pytest.fixture
def hostile(polar_fake):
    """A paid-for checkout whose buyer and metadata strings are all hostile."""
    checkout = polar_fake.create_checkout(
        product_id=PRODUCT_ONE_TIME_ID,
        customer_email="ada@example.com",
        customer_name=PAYLOAD,
        customer_billing_address={
            "country": "FR",
            "line1": PAYLOAD,
            "line2": PAYLOAD,
            "city": PAYLOAD,
            "postal_code": "75001",
        },
        metadata={"note": PAYLOAD, PAYLOAD[:40]: "key"},
    )
    CheckoutSession.objects.upsert_from_polar(polar_fake.checkout(checkout["id"]))
    return checkout


@pytest.fixture
def staff(django_user_model) -> Client:
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="polar_checkouts"))
    client = Client()
    client.force_login(user)
    return client


def test_checkout_page_escapes_buyer_fields(hostile):
    response = Client().get(reverse("polar_checkouts:checkout", args=[hostile["client_secret"]]))
    body = response.content.decode()
    assert response.status_code == 200
    assert_escaped(body, "the checkout page")
    assert_shown(body, "the checkout page")
    # The page's JSON config is inert: json_script escapes <, > and &.
    start = body.index('id="polar-checkout-config"')
    config = body[start : body.index("</script>", start)]
    assert "<" not in config.split(">", 1)[1]


def test_receipt_escapes_buyer_fields(hostile):
    row = CheckoutSession.objects.get(pk=hostile["id"])
    row.customer_email = PAYLOAD  # the receipt shows the email; make it hostile too
    row.status = "succeeded"
    row.save()
    response = Client().get(reverse("polar_checkouts:success") + f"?checkout_id={row.pk}")
    body = response.content.decode()
    assert response.status_code == 200
    assert_escaped(body, "the receipt")
    assert_shown(body, "the receipt")


def test_server_mode_json_is_not_html(hostile):
    response = Client().get(reverse("polar_checkouts:client", args=[hostile["client_secret"]]))
    assert response["Content-Type"] == "application/json"
    assert response.json()["customer_name"] == PAYLOAD  # data, for the script's textContent


def test_admin_list_detail_and_search_escape_everything(staff, hostile):
    pages = {
        "admin list": reverse("admin:polar_checkouts_checkoutsession_changelist"),
        "admin detail": reverse(
            "admin:polar_checkouts_checkoutsession_change", args=[hostile["id"]]
        ),
        "admin search": reverse("admin:polar_checkouts_checkoutsession_changelist")
        + "?q="
        + PAYLOAD,
    }
    for where, url in pages.items():
        response = staff.get(url)
        body = response.content.decode()
        assert response.status_code == 200, where
        assert_escaped(body, where)
        assert_shown(body, where)


def test_admin_webhook_log_escapes_payloads(staff, polar_fake, hostile):
    assert (
        deliver(Client(), "checkout.updated", polar_fake.checkout(hostile["id"])).status_code == 200
    )
    event = WebhookEvent.objects.get()
    for where, url in {
        "webhook list": reverse("admin:polar_checkouts_webhookevent_changelist"),
        "webhook detail": reverse("admin:polar_checkouts_webhookevent_change", args=[event.pk]),
    }.items():
        response = staff.get(url)
        body = response.content.decode()
        assert response.status_code == 200, where
        assert_escaped(body, where)
    assert_shown(body, "webhook detail")


def test_error_messages_from_polar_are_escaped(polar_fake, hostile):
    """A 422 message quoting the buyer's input goes back as JSON, never as HTML."""
    response = Client().patch(
        reverse("polar_checkouts:client", args=[hostile["client_secret"]]),
        data=json.dumps({"customer_email": PAYLOAD}),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/json"


def test_flash_message_is_escaped(polar_fake, settings):
    """A metadata hook's refusal message may quote the cart: shown escaped on the page."""
    from django.core.exceptions import ValidationError

    def refuse(request, data):
        raise ValidationError(f"Cart {PAYLOAD} is empty")

    settings.POLAR_CHECKOUT_METADATA = refuse
    client = Client()
    response = client.post(
        reverse("polar_checkouts:create"),
        {"product_id": PRODUCT_ONE_TIME_ID, "next": "/shop/"},
        follow=True,
    )
    body = response.content.decode()
    assert_escaped(body, "the shop page with the message")
    assert "Cart &quot;&#x27;&gt;&lt;img" in body
