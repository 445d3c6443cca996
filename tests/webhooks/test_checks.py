"""System check W003: failed webhook events waiting for a retry."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from polar_checkouts.checks import check_failed_webhook_events
from polar_checkouts.models import WebhookEvent, WebhookOutcome

pytestmark = pytest.mark.django_db


def test_no_warning_without_failed_events():
    WebhookEvent.objects.create(webhook_id="p", type="benefit.created")
    WebhookEvent.objects.create(
        webhook_id="d", type="benefit.created", outcome=WebhookOutcome.PROCESSED
    )
    assert check_failed_webhook_events(databases=["default"]) == []


def test_failed_events_are_a_warning():
    for webhook_id in ("f1", "f2"):
        WebhookEvent.objects.create(
            webhook_id=webhook_id, type="benefit.created", outcome=WebhookOutcome.FAILED
        )
    [warning] = check_failed_webhook_events(databases=["default"])
    assert warning.id == "polar_checkouts.W003"
    assert warning.msg.startswith("2 Polar webhook event(s) failed")
    assert "--all-failed" in (warning.hint or "")


def test_it_queries_only_when_databases_are_checked(django_assert_num_queries):
    WebhookEvent.objects.create(
        webhook_id="f", type="benefit.created", outcome=WebhookOutcome.FAILED
    )
    with django_assert_num_queries(0):
        assert check_failed_webhook_events(databases=None) == []


def test_manage_py_check_database_reports_it():
    WebhookEvent.objects.create(
        webhook_id="f", type="benefit.created", outcome=WebhookOutcome.FAILED
    )
    err = io.StringIO()
    call_command("check", "--database", "default", stdout=io.StringIO(), stderr=err)
    assert "polar_checkouts.W003" in err.getvalue()
