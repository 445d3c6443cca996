"""Fixtures of the webhook tests (signing and delivering helpers: ``tests.webhook_helpers``)."""

from __future__ import annotations

import logging

import pytest

from tests.webhook_helpers import SECRET


@pytest.fixture
def assert_rejected(caplog):
    """``assert_rejected(response, status, reason_part=None)``: refused, logged once, nothing kept.

    The answer is the generic text, nothing is stored, and the one WARNING on the
    ``polar_checkouts.webhooks`` logger holds neither the secret nor the payload.
    """
    from polar_checkouts.models import CheckoutSession, WebhookEvent

    def check(response, status, *, reason_part: str | None = None):
        assert response.status_code == status
        assert response.content == b"Webhook rejected.\n"
        assert not WebhookEvent.objects.exists()
        assert not CheckoutSession.objects.exists()
        warnings = [r for r in caplog.records if r.name == "polar_checkouts.webhooks"]
        assert [r.levelno for r in warnings] == [logging.WARNING]
        line = warnings[0].getMessage()
        assert SECRET not in line
        assert "Ada Lovelace" not in line  # no payload in the log
        if reason_part:
            assert reason_part in line

    return check
