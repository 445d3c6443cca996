"""Who may do what: admin permissions, the scope of a client secret, webhook authenticity.

* The admin is staff-only; refreshing, syncing and reprocessing need their own
  permission on top of viewing.
* A client secret is the credential of one checkout: the server-mode endpoints act on
  the checkout whose secret is in the path, and on nothing else.
* A webhook counts only when signed with the shop's secret, recently, and once.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse

from polar_checkouts import signals
from polar_checkouts.models import CheckoutSession, WebhookEvent, WebhookOutcome
from polar_checkouts.testing import PRODUCT_ONE_TIME_ID, TOKEN_SUCCEEDED
from tests.webhook_helpers import event_body, post, signed_headers

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:polar_checkouts_checkoutsession_changelist"
CHANGE = "admin:polar_checkouts_checkoutsession_change"
SYNC = "admin:polar_checkouts_checkoutsession_sync"
OVERVIEW = "admin:polar_checkouts_checkoutsession_overview"
EVENTS = "admin:polar_checkouts_webhookevent_changelist"
EVENT = "admin:polar_checkouts_webhookevent_change"


def details() -> dict:
    return {
        "customer_email": "ada@example.com",
        "customer_name": "Ada Lovelace",
        "customer_billing_address": {"country": "FR"},
    }


@pytest.fixture
def cached(polar_fake):
    """A checkout known to Polar and the cache, plus a recorded (failed) webhook event."""
    checkout = polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
    CheckoutSession.objects.upsert_from_polar(polar_fake.checkout(checkout["id"]))
    event = WebhookEvent.objects.create(
        webhook_id="msg_failed", type="checkout.updated", payload={}, outcome=WebhookOutcome.FAILED
    )
    return checkout, event


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def admin_urls(checkout: dict, event: WebhookEvent) -> dict[str, str]:
    return {
        "list": reverse(CHANGELIST),
        "detail": reverse(CHANGE, args=[checkout["id"]]),
        "overview": reverse(OVERVIEW),
        "events": reverse(EVENTS),
        "event": reverse(EVENT, args=[event.pk]),
    }


# -- admin -----------------------------------------------------------------------------------


def assert_sent_to_login(client, checkout, event, polar_fake):
    """Every admin page and the sync action redirect to the login page; Polar is not called."""
    for name, url in admin_urls(checkout, event).items():
        response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("admin:login")), name
    assert client.post(reverse(SYNC)).status_code == 302
    assert polar_fake.calls("list") == []


def test_anonymous_visitors_are_sent_to_the_login_page(cached, polar_fake):
    checkout, event = cached
    assert_sent_to_login(Client(), checkout, event, polar_fake)


def test_customers_who_are_not_staff_are_sent_to_the_login_page(cached, polar_fake, make_staff):
    checkout, event = cached
    customer = make_staff("customer", "view_checkoutsession")
    customer.is_staff = False  # holds the view permission, but is not staff
    customer.save(update_fields=["is_staff"])
    assert_sent_to_login(logged_in(customer), checkout, event, polar_fake)


def test_staff_without_permissions_get_403(cached, polar_fake, make_staff):
    checkout, event = cached
    client = logged_in(make_staff("intern"))
    for name, url in admin_urls(checkout, event).items():
        assert client.get(url).status_code == 403, name
    assert client.post(reverse(SYNC)).status_code == 403
    assert polar_fake.calls() == []


def test_viewers_cannot_sync_refresh_or_reprocess(cached, polar_fake, make_staff):
    checkout, event = cached
    client = logged_in(make_staff("viewer", "view_checkoutsession", "view_webhookevent"))
    assert client.get(reverse(CHANGELIST)).status_code == 200
    assert client.post(reverse(SYNC)).status_code == 403
    refresh = client.post(
        reverse(CHANGELIST),
        {"action": "refresh_from_polar", "_selected_action": [checkout["id"]]},
    )
    reprocess = client.post(
        reverse(EVENTS), {"action": "process_again", "_selected_action": [str(event.pk)]}
    )
    # The admin refuses an action the user lacks permission for: nothing runs.
    assert refresh.status_code in (200, 302, 403)
    assert reprocess.status_code in (200, 302, 403)
    assert polar_fake.calls() == []
    event.refresh_from_db()
    assert event.attempts == 0
    assert "refresh_from_polar" not in client.get(reverse(CHANGELIST)).content.decode()


def test_permitted_staff_can_do_all_of_it(cached, polar_fake, make_staff):
    checkout, event = cached
    client = logged_in(
        make_staff(
            "operator",
            "view_checkoutsession",
            "sync_checkoutsession",
            "view_webhookevent",
            "change_webhookevent",
        )
    )
    assert client.post(reverse(SYNC)).status_code == 302
    client.post(
        reverse(CHANGELIST),
        {"action": "refresh_from_polar", "_selected_action": [checkout["id"]]},
    )
    client.post(reverse(EVENTS), {"action": "process_again", "_selected_action": [str(event.pk)]})
    assert len(polar_fake.calls("list")) == 1
    assert len(polar_fake.calls("get")) == 1
    event.refresh_from_db()
    assert event.attempts == 1


def test_sync_answers_get_with_405(cached, make_staff):
    client = logged_in(make_staff("op", "view_checkoutsession", "sync_checkoutsession"))
    assert client.get(reverse(SYNC)).status_code == 405


# -- a client secret acts on its own checkout only -------------------------------------------


@pytest.fixture
def two(polar_fake):
    """Alice's checkout and Bob's; the attacker holds Alice's secret."""
    alice = polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID, **details())
    bob = polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID, **details())
    return alice, bob


def test_update_changes_only_the_checkout_in_the_path(polar_fake, two):
    alice, bob = two
    response = Client().patch(
        reverse("polar_checkouts:client", args=[alice["client_secret"]]),
        data=json.dumps({"customer_name": "Mallory"}),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["id"] == alice["id"]
    assert polar_fake.checkout(bob["id"])["customer_name"] == "Ada Lovelace"
    assert not CheckoutSession.objects.filter(pk=bob["id"]).exists()


@pytest.mark.parametrize(
    "smuggled",
    [
        {"id": "{bob_id}"},
        {"client_secret": "{bob_secret}"},
        {"checkout_id": "{bob_id}"},
        {"metadata": {"owner": "mallory"}},
        {"success_url": "https://evil.com/"},
        {"customer_name": "x", "status": "succeeded"},
    ],
)
def test_body_cannot_name_another_checkout_or_server_only_fields(polar_fake, two, smuggled):
    alice, bob = two
    body = json.loads(
        json.dumps(smuggled)
        .replace("{bob_id}", bob["id"])
        .replace("{bob_secret}", bob["client_secret"])
    )
    for view, method in (
        ("polar_checkouts:client", "patch"),
        ("polar_checkouts:client-confirm", "post"),
    ):
        response = getattr(Client(), method)(
            reverse(view, args=[alice["client_secret"]]),
            data=json.dumps(body),
            content_type="application/json",
        )
        assert response.status_code == 422, (view, response.content)
        assert response.json()["detail"][0]["type"] == "extra_forbidden"
    assert polar_fake.calls("client_update") == []
    assert polar_fake.calls("client_confirm") == []
    assert polar_fake.checkout(alice["id"])["status"] == "open"


def test_confirm_pays_only_the_checkout_in_the_path(polar_fake, two):
    alice, bob = two
    response = Client().post(
        reverse("polar_checkouts:client-confirm", args=[alice["client_secret"]]),
        data=json.dumps({"confirmation_token_id": TOKEN_SUCCEEDED}),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert polar_fake.checkout(alice["id"])["status"] in ("confirmed", "succeeded")
    assert polar_fake.checkout(bob["id"])["status"] == "open"


@pytest.mark.parametrize(
    "secret",
    [
        "{bob_id}",  # an id is not a secret
        ".",
        "..",
        "polar_c_",
        "polar_c_" + "x" * 3000,
        "{alice_secret}%2F..%2F{bob_secret}",
        "{alice_secret}x",
    ],
)
def test_guessed_or_mangled_secrets_reach_no_checkout(polar_fake, two, secret):
    alice, bob = two
    secret = (
        secret.replace("{bob_id}", bob["id"])
        .replace("{alice_secret}", alice["client_secret"])
        .replace("{bob_secret}", bob["client_secret"])
    )
    client = Client(raise_request_exception=False)
    base = "/checkout/"
    for url, method in (
        (f"{base}{secret}/", "get"),
        (f"{base}{secret}/status/", "get"),
        (f"{base}client/{secret}", "get"),
        (f"{base}client/{secret}", "patch"),
        (f"{base}client/{secret}/confirm", "post"),
    ):
        if method == "get":
            response = client.get(url)
        else:
            response = getattr(client, method)(
                url, data=json.dumps({"customer_name": "Mallory"}), content_type="application/json"
            )
        assert response.status_code in (404, 405), (url, method, response.status_code)
    for checkout in (alice, bob):
        state = polar_fake.checkout(checkout["id"])
        assert state["customer_name"] == "Ada Lovelace"
        assert state["status"] == "open"


# -- webhooks: forged, tampered, stale, replayed, oversized ---------------------------------


@pytest.fixture
def succeeded(polar_fake):
    """A paid checkout, as Polar's webhook reports it."""
    checkout = polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID, **details())
    polar_fake.handle(
        "POST",
        f"/v1/checkouts/client/{checkout['client_secret']}/confirm",
        body=json.dumps({"confirmation_token_id": TOKEN_SUCCEEDED}).encode(),
    )
    return polar_fake.checkout(checkout["id"])


def test_forged_signature_is_rejected_and_nothing_stored(succeeded, signal_log):
    body = event_body("checkout.updated", succeeded)
    response = post(Client(), body, signed_headers(body, secret="polar_whs_guessed"))
    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0
    assert CheckoutSession.objects.count() == 0
    assert signal_log["checkout_succeeded"] == []


def test_tampered_body_is_rejected(succeeded):
    body = event_body("checkout.updated", succeeded)
    headers = signed_headers(body)
    tampered = body.replace(b'"succeeded"', b'"failed"', 1)
    assert tampered != body
    assert post(Client(), tampered, headers).status_code == 401
    assert WebhookEvent.objects.count() == 0


@pytest.mark.parametrize("minutes", [-6, 6, -60 * 24])
def test_stale_or_future_delivery_is_rejected(succeeded, minutes):
    body = event_body("checkout.updated", succeeded)
    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)
    assert post(Client(), body, signed_headers(body, when=when)).status_code == 401
    assert WebhookEvent.objects.count() == 0


def test_replayed_delivery_is_processed_once(succeeded, signal_log):
    body = event_body("checkout.updated", succeeded)
    headers = signed_headers(body, webhook_id="msg_once")
    answers = [post(Client(), body, headers).status_code for _ in range(3)]
    assert answers == [200, 200, 200]
    assert WebhookEvent.objects.get().attempts == 1
    assert len(signal_log["checkout_succeeded"]) == 1


def test_replayed_old_state_under_a_new_id_does_not_roll_back(polar_fake, succeeded, signal_log):
    """An attacker with the secret replays an older 'open' event: the newer state stays."""
    older = {**succeeded, "status": "open", "modified_at": succeeded["created_at"]}
    current = event_body("checkout.updated", succeeded)
    assert post(Client(), current, signed_headers(current)).status_code == 200
    body = event_body("checkout.updated", older)
    assert post(Client(), body, signed_headers(body)).status_code == 200
    assert CheckoutSession.objects.get(pk=succeeded["id"]).status == "succeeded"
    assert len(signal_log["checkout_succeeded"]) == 1


def test_oversized_body_is_refused_unread(settings, succeeded):
    settings.POLAR_WEBHOOK_MAX_BODY = 2048
    body = event_body("checkout.updated", {**succeeded, "padding": "x" * 4096})
    assert post(Client(), body, signed_headers(body)).status_code == 413
    assert WebhookEvent.objects.count() == 0


def test_signals_are_the_documented_ones():
    """The fulfilment hooks SECURITY.md refers to exist under these names."""
    for name in ("checkout_succeeded", "checkout_updated", "order_paid", "webhook_received"):
        assert hasattr(signals, name)
