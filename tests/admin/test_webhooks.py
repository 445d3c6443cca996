"""The webhook event log in the admin, and the webhook system checks."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from polar_checkouts import signals
from polar_checkouts.checks import check_webhook_settings
from polar_checkouts.models import CheckoutSession, WebhookEvent, WebhookOutcome
from tests.admin.helpers import logged_in
from tests.polar_payloads import checkout_payload
from tests.webhook_helpers import connected, deliver

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:polar_checkouts_webhookevent_changelist"


@pytest.fixture
def event_viewer(make_staff):
    """Staff who may look at the event log only."""
    return logged_in(make_staff("viewer", "view_webhookevent"))


@pytest.fixture
def event_operator(make_staff):
    """Staff who may also process events again."""
    return logged_in(
        make_staff(
            "operator",
            "view_webhookevent",
            "change_webhookevent",
            "view_checkoutsession",
        )
    )


def _boom(sender, **kwargs):
    raise RuntimeError("warehouse offline")


def failed_event(client, webhook_id="msg_failed", payload=None):
    payload = payload or checkout_payload(status="succeeded")
    with connected(signals.checkout_succeeded, _boom):
        assert (
            deliver(client, "checkout.updated", payload, webhook_id=webhook_id).status_code == 200
        )
    return WebhookEvent.objects.get(webhook_id=webhook_id)


# -- list and detail ------------------------------------------------------------------------


def test_list_shows_deliveries_with_filters(event_viewer, client):
    deliver(client, "checkout.created", checkout_payload(), webhook_id="msg_a")
    deliver(client, "benefit.teleported", {"id": "b"}, webhook_id="msg_b")  # an unknown type
    response = event_viewer.get(reverse(CHANGELIST))
    assert response.status_code == 200
    content = response.content.decode()
    assert "msg_a" in content
    assert "msg_b" in content
    assert "Ignored (no handler)" in content

    ignored = event_viewer.get(reverse(CHANGELIST), {"outcome__exact": "ignored"}).content.decode()
    assert "msg_b" in ignored
    assert "msg_a" not in ignored
    by_type = event_viewer.get(reverse(CHANGELIST), {"type": "checkout.created"}).content.decode()
    assert "msg_a" in by_type
    assert "msg_b" not in by_type


def test_search_by_webhook_id_and_checkout_id(event_viewer, client):
    payload = checkout_payload()
    deliver(client, "checkout.created", payload, webhook_id="msg_find_me")
    deliver(client, "benefit.created", {"id": "b"}, webhook_id="msg_other")
    by_id = event_viewer.get(reverse(CHANGELIST), {"q": "msg_find_me"}).content.decode()
    assert "msg_find_me" in by_id
    assert "msg_other" not in by_id
    by_checkout = event_viewer.get(reverse(CHANGELIST), {"q": payload["id"]}).content.decode()
    assert "msg_find_me" in by_checkout
    assert "msg_other" not in by_checkout


def test_detail_is_read_only_and_escapes_and_masks_the_payload(event_viewer, client):
    payload = checkout_payload(customer_name="<script>alert(1)</script>")
    deliver(client, "checkout.created", payload, webhook_id="msg_detail")
    event = WebhookEvent.objects.get(webhook_id="msg_detail")
    url = reverse("admin:polar_checkouts_webhookevent_change", args=[event.pk])

    response = event_viewer.get(url)

    assert response.status_code == 200
    content = response.content.decode()
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert payload["client_secret"] not in content  # masked
    assert "polar.sh webhooks" in content  # headers shown
    assert 'name="_save"' not in content
    assert event_viewer.post(url, {}).status_code == 403


def test_no_add_or_delete(event_operator, client):
    deliver(client, "checkout.created", checkout_payload(), webhook_id="msg_x")
    event = WebhookEvent.objects.get()
    assert event_operator.get(reverse("admin:polar_checkouts_webhookevent_add")).status_code == 403
    delete = reverse("admin:polar_checkouts_webhookevent_delete", args=[event.pk])
    assert event_operator.get(delete).status_code == 403


def test_detail_links_the_cached_checkout(event_operator, client):
    payload = checkout_payload()
    deliver(client, "checkout.created", payload, webhook_id="msg_link")
    event = WebhookEvent.objects.get()
    response = event_operator.get(
        reverse("admin:polar_checkouts_webhookevent_change", args=[event.pk])
    )
    checkout_url = reverse("admin:polar_checkouts_checkoutsession_change", args=[payload["id"]])
    assert checkout_url in response.content.decode()


def test_failed_event_shows_its_error(event_viewer, client):
    event = failed_event(client)
    url = reverse("admin:polar_checkouts_webhookevent_change", args=[event.pk])
    assert "warehouse offline" in event_viewer.get(url).content.decode()


# -- process again ---------------------------------------------------------------------------


def test_process_again_reprocesses_a_failed_event(event_operator, client):
    payload = checkout_payload(status="succeeded")
    event = failed_event(client, payload=payload)

    response = event_operator.post(
        reverse(CHANGELIST),
        {"action": "process_again", "_selected_action": [event.pk]},
        follow=True,
    )

    assert response.status_code == 200
    event.refresh_from_db()
    assert event.outcome == WebhookOutcome.PROCESSED
    assert event.attempts == 2
    assert CheckoutSession.objects.get(pk=payload["id"]).status == "succeeded"
    assert "Processed 1 webhook event." in response.content.decode()


def test_process_again_skips_done_events_and_reports_repeated_failures(event_operator, client):
    deliver(client, "checkout.created", checkout_payload(), webhook_id="msg_done")
    failing = failed_event(client, webhook_id="msg_fail_again")
    done = WebhookEvent.objects.get(webhook_id="msg_done")

    with connected(signals.checkout_succeeded, _boom):
        response = event_operator.post(
            reverse(CHANGELIST),
            {"action": "process_again", "_selected_action": [done.pk, failing.pk]},
            follow=True,
        )

    content = response.content.decode()
    assert "1 webhook event failed again" in content
    assert "1 event was skipped" in content
    done.refresh_from_db()
    failing.refresh_from_db()
    assert done.attempts == 1
    assert (failing.outcome, failing.attempts) == (WebhookOutcome.FAILED, 2)


def test_viewer_cannot_process_again(event_viewer, client):
    event = failed_event(client)
    response = event_viewer.get(reverse(CHANGELIST))
    assert "process_again" not in response.content.decode()
    event_viewer.post(
        reverse(CHANGELIST), {"action": "process_again", "_selected_action": [event.pk]}
    )
    event.refresh_from_db()
    assert (event.outcome, event.attempts) == (WebhookOutcome.FAILED, 1)


# -- system checks -----------------------------------------------------------------------------


def ids(messages):
    return sorted(m.id for m in messages)


def test_configured_secret_passes():
    assert check_webhook_settings() == []


@pytest.mark.parametrize("value", [None, "", [], ["", ""]])
def test_missing_secret_warns(settings, value):
    settings.POLAR_WEBHOOK_SECRET = value
    assert ids(check_webhook_settings()) == ["polar_checkouts.W002"]


def test_rotating_secrets_pass(settings):
    settings.POLAR_WEBHOOK_SECRET = ["polar_whs_new", "polar_whs_old"]
    assert check_webhook_settings() == []


@pytest.mark.parametrize("value", [12345, b"bytes", ["ok", 5]])
def test_secret_of_the_wrong_type_is_an_error(settings, value):
    settings.POLAR_WEBHOOK_SECRET = value
    assert ids(check_webhook_settings()) == ["polar_checkouts.E003"]


@pytest.mark.parametrize("value", [0, -1, "1MB", 1.5, True])
def test_bad_max_body_is_an_error(settings, value):
    settings.POLAR_WEBHOOK_MAX_BODY = value
    assert ids(check_webhook_settings()) == ["polar_checkouts.E004"]


def test_check_is_registered(settings):
    from django.core import checks

    settings.POLAR_WEBHOOK_SECRET = None
    assert "polar_checkouts.W002" in {m.id for m in checks.run_checks()}


def test_uuid_search_term_that_matches_nothing(event_viewer):
    response = event_viewer.get(reverse(CHANGELIST), {"q": str(uuid.uuid4())})
    assert response.status_code == 200


def test_changelist_queries_do_not_grow_with_rows(event_viewer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for_list():
        with CaptureQueriesContext(connection) as captured:
            assert (
                event_viewer.get(reverse(CHANGELIST), {"outcome__exact": "processed"}).status_code
                == 200
            )
        return len(captured)

    def add(n):
        WebhookEvent.objects.bulk_create(
            WebhookEvent(
                webhook_id=f"msg_{uuid.uuid4().hex}",
                type="checkout.updated",
                outcome=WebhookOutcome.PROCESSED,
                checkout_id=uuid.uuid4(),
            )
            for _ in range(n)
        )

    add(3)
    few = queries_for_list()
    add(40)
    assert queries_for_list() == few


# -- what waits --------------------------------------------------------------------------------


def test_list_shows_waiting_counts_next_retry_and_error(event_viewer, client):
    failed_event(client, webhook_id="msg_failed_one")
    WebhookEvent.objects.create(webhook_id="msg_pending", type="benefit.created")
    WebhookEvent.objects.create(
        webhook_id="msg_due",
        type="benefit.created",
        outcome=WebhookOutcome.FAILED,
        error="Traceback …\nRuntimeError: label printer jammed\n",
    )
    next_retry = WebhookEvent.objects.get(webhook_id="msg_failed_one").next_attempt_at
    assert next_retry is not None

    response = event_viewer.get(reverse(CHANGELIST))

    content = response.content.decode()
    assert "Pending: 1 · Failed: 2 (1 due for a retry now)" in content
    assert f'<time datetime="{next_retry.isoformat()}">' in content
    assert "RuntimeError: label printer jammed" in content  # the error column
    assert "polar_checkouts_process_webhooks" in content


def test_list_without_waiting_events_has_no_retry_hint(event_viewer, client):
    deliver(client, "checkout.created", checkout_payload(), webhook_id="msg_fine")
    content = event_viewer.get(reverse(CHANGELIST)).content.decode()
    assert "Pending: 0 · Failed: 0 (0 due for a retry now)" in content
    assert "<time datetime" not in content
    assert "polar_checkouts_process_webhooks" not in content
