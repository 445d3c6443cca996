"""Credentials never leak: the access token anywhere, client secrets in logs and the admin.

Full flows run with every log record captured at DEBUG (every logger), every response
kept and every Polar error collected; then everything is searched for the credentials.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from polar_checkouts import services
from polar_checkouts.apps import SECRET_BEARING_LOGGERS
from polar_checkouts.exceptions import PolarError
from polar_checkouts.masking import MaskSecretsFilter
from polar_checkouts.models import CheckoutSession
from polar_checkouts.testing import (
    PRODUCT_FREE_ID,
    PRODUCT_ONE_TIME_ID,
    TOKEN_DECLINED,
    TOKEN_SUCCEEDED,
)
from tests.webhook_helpers import post, signed_headers

pytestmark = pytest.mark.django_db

TOKEN = "polar_oat_test_token_never_shown"  # tests/settings.py POLAR_ACCESS_TOKEN
SECRET_RE = re.compile(r"polar_c_[A-Za-z0-9_\-]{8,}")


class Evidence:
    """Everything a flow produced that someone other than the shop could read."""

    def __init__(self) -> None:
        self.responses: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.bodies: list[str] = []

    def keep(self, label: str, response: Any) -> Any:
        headers = "\n".join(f"{k}: {v}" for k, v in response.items())
        self.responses.append((label, headers + "\n" + response.content.decode(errors="replace")))
        return response

    def error(self, exc: PolarError) -> None:
        # The message is what ends up in logs and pages; ``body`` is Polar's raw answer
        # (a checkout payload holds its own client secret), kept for debugging.
        self.errors.append(" ".join([str(exc), repr(exc), repr(exc.args)]))
        self.bodies.append(str(getattr(exc, "body", "")))


def log_text(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Each record as a handler would write it: message, arguments and traceback."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return [formatter.format(record) for record in caplog.records]


@pytest.fixture
def staff_client(django_user_model) -> Client:
    user = django_user_model.objects.create_user("ops", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="polar_checkouts"))
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def buy(http: Client, fake: Any, evidence: Evidence, *, token: str = TOKEN_SUCCEEDED) -> str:
    """One purchase through the storefront in server mode; returns the client secret."""
    response = evidence.keep(
        "create",
        http.post(
            reverse("polar_checkouts:create"),
            {"product_id": PRODUCT_ONE_TIME_ID, "next": "/shop/"},
        ),
    )
    assert response.status_code == 303
    page_url = response["Location"]
    secret = page_url.rstrip("/").rsplit("/", 1)[-1]
    evidence.keep("checkout page", http.get(page_url))
    client_url = reverse("polar_checkouts:client", args=[secret])
    evidence.keep("client get", http.get(client_url))
    details = {
        "customer_email": "ada@example.com",
        "customer_name": "Ada Lovelace",
        "customer_billing_address": {"country": "FR"},
    }
    response = evidence.keep(
        "client update",
        http.patch(client_url, data=json.dumps(details), content_type="application/json"),
    )
    assert response.status_code == 200
    evidence.keep(
        "confirm",
        http.post(
            reverse("polar_checkouts:client-confirm", args=[secret]),
            data=json.dumps({"confirmation_token_id": token}),
            content_type="application/json",
        ),
    )
    evidence.keep("status", http.get(reverse("polar_checkouts:status", args=[secret])))
    row = CheckoutSession.objects.get(client_secret=secret)
    evidence.keep(
        "success", http.get(reverse("polar_checkouts:success") + f"?checkout_id={row.pk}")
    )
    return secret


def deliver_fake_events(http: Client, fake: Any, evidence: Evidence) -> None:
    """Deliver every event the fake emitted to the webhook endpoint, signed."""
    for event in list(fake.events):
        response = post(http, event.body, signed_headers(event.body, webhook_id=event.id))
        evidence.keep(f"webhook {event.type}", response)


def visit_admin(http: Client, evidence: Evidence) -> None:
    """Every admin page and action of the app."""
    changelist = reverse("admin:polar_checkouts_checkoutsession_changelist")
    evidence.keep("admin list", http.get(changelist))
    evidence.keep("admin search", http.get(changelist + "?q=ada"))
    for row in CheckoutSession.objects.all():
        evidence.keep(
            "admin change",
            http.get(reverse("admin:polar_checkouts_checkoutsession_change", args=[row.pk])),
        )
    evidence.keep(
        "admin refresh",
        http.post(
            changelist,
            {
                "action": "refresh_from_polar",
                "_selected_action": [
                    str(pk) for pk in CheckoutSession.objects.values_list("pk", flat=True)
                ],
            },
            follow=True,
        ),
    )
    evidence.keep(
        "admin sync",
        http.post(reverse("admin:polar_checkouts_checkoutsession_sync"), follow=True),
    )
    evidence.keep(
        "admin overview", http.get(reverse("admin:polar_checkouts_checkoutsession_overview"))
    )
    evidence.keep(
        "webhook list", http.get(reverse("admin:polar_checkouts_webhookevent_changelist"))
    )


def provoke_errors(fake: Any, secret: str, evidence: Evidence, http: Client) -> None:
    """Polar failing in every way, through services and views; every error kept."""
    row = CheckoutSession.objects.get(client_secret=secret)
    for status in (401, 403, 404, 422, 429, 500, 502):
        fake.inject(status, times=10)
        for call in (
            lambda: services.refresh_checkout(row.pk),
            lambda: services.client_get(secret),
            lambda: services.create_checkout(product_id=PRODUCT_FREE_ID),
            lambda: services.sync_checkouts(),
        ):
            try:
                call()
            except PolarError as exc:
                evidence.error(exc)
        evidence.keep(
            f"page under {status}", http.get(reverse("polar_checkouts:checkout", args=[secret]))
        )
        evidence.keep(
            f"admin sync under {status}",
            http.post(reverse("admin:polar_checkouts_checkoutsession_sync"), follow=True),
        )
        fake.clear_faults()
    for fault in ("timeout", "refused", "reset", "malformed_json", "html", "missing_keys"):
        fake.inject(fault=fault, times=10)
        try:
            services.client_get(secret)
        except PolarError as exc:
            evidence.error(exc)
        fake.clear_faults()


@pytest.mark.parametrize("calls", ["server", "browser"])
def test_access_token_never_leaves_the_server(settings, polar_fake, staff_client, caplog, calls):
    caplog.set_level(logging.DEBUG)
    settings.POLAR_CLIENT_CALLS = calls
    settings.POLAR_ORGANIZATION_SLUG = "demo"
    evidence = Evidence()
    http = Client(raise_request_exception=False)
    secret = buy(http, polar_fake, evidence)
    buy(http, polar_fake, evidence, token=TOKEN_DECLINED)
    deliver_fake_events(http, polar_fake, evidence)
    visit_admin(staff_client, evidence)
    provoke_errors(polar_fake, secret, evidence, staff_client)

    # The flows happened (the search below is not vacuous)...
    assert len(evidence.responses) > 30
    assert len(evidence.errors) > 20
    assert any("authorization" in r.headers for r in polar_fake.calls())
    # ...and the token is in none of it.
    for label, text in evidence.responses:
        assert TOKEN not in text, f"access token in the response of {label}"
    for text in evidence.errors + evidence.bodies:
        assert TOKEN not in text, f"access token in an error: {text[:200]}"
    for line in log_text(caplog):
        assert TOKEN not in line, f"access token logged: {line[:200]}"


def test_client_secrets_are_masked_in_every_log_line(settings, polar_fake, staff_client, caplog):
    caplog.set_level(logging.DEBUG)
    settings.POLAR_CLIENT_CALLS = "server"
    evidence = Evidence()
    http = Client(raise_request_exception=False)
    secret = buy(http, polar_fake, evidence, token=TOKEN_DECLINED)  # a 400: django.request logs it
    http.get(reverse("polar_checkouts:checkout", args=[secret + "x"]))  # a 404, logged too
    deliver_fake_events(http, polar_fake, evidence)
    provoke_errors(polar_fake, secret, evidence, staff_client)

    lines = log_text(caplog)
    assert any("django.request" in line and "polar_c_…****" in line for line in lines)
    for line in lines:
        assert not SECRET_RE.search(line), f"client secret logged: {line[:300]}"
    for text in evidence.errors:
        assert not SECRET_RE.search(text), f"client secret in an error: {text[:300]}"


def test_admin_list_and_detail_show_only_masked_secrets(polar_fake, staff_client):
    checkouts = [polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID) for _ in range(3)]
    for checkout in checkouts:
        CheckoutSession.objects.upsert_from_polar(polar_fake.checkout(checkout["id"]))
    pages = [staff_client.get(reverse("admin:polar_checkouts_checkoutsession_changelist"))]
    pages += [
        staff_client.get(reverse("admin:polar_checkouts_checkoutsession_change", args=[c["id"]]))
        for c in checkouts
    ]
    for response in pages:
        assert response.status_code == 200
        body = response.content.decode()
        for checkout in checkouts:
            assert checkout["client_secret"] not in body
    # The detail page says a secret exists, masked.
    assert "polar_c_…****" in pages[1].content.decode()


def test_mask_filter_is_installed_on_every_logger_that_sees_urls():
    for name in SECRET_BEARING_LOGGERS:
        assert any(isinstance(f, MaskSecretsFilter) for f in logging.getLogger(name).filters)


def test_mask_filter_rewrites_arguments_and_keeps_other_records():
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "%s: %s",
        ("Not Found", "/c/polar_c_abcDEF123/"),
        None,
    )
    assert MaskSecretsFilter().filter(record)
    assert record.getMessage() == "Not Found: /c/polar_c_…****/"
    plain = logging.LogRecord("x", logging.INFO, __file__, 1, "%d items", (3,), None)
    assert MaskSecretsFilter().filter(plain)
    assert plain.getMessage() == "3 items"
    assert plain.args == (3,)
