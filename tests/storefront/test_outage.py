"""The storefront while its database fails: 503 with Retry-After, never a 500.

The real thing (PostgreSQL cut under gunicorn) is tests/faults/test_processes.py; this
checks each view's answer in-process, on any database, with the failure injected where
the views read the cache of checkouts.
"""

from __future__ import annotations

import logging
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client

from polar_checkouts.models import CheckoutSession
from polar_checkouts.testing import PRODUCT_ONE_TIME_ID

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_down():
    with mock.patch.object(
        CheckoutSession.objects, "filter", side_effect=OperationalError("server closed")
    ):
        yield


def test_pages_and_json_calls_answer_503_while_the_database_fails(
    polar_fake, database_down, caplog
):
    caplog.set_level(logging.INFO)
    secret = polar_fake.create_checkout(product_id=PRODUCT_ONE_TIME_ID)["client_secret"]
    http = Client(raise_request_exception=False)
    status = http.get(f"/checkout/{secret}/status/")
    assert status.status_code == 503
    assert status["Retry-After"] == "10"
    assert "try again" in status.json()["detail"]
    receipt = http.get("/checkout/success/?checkout_id=0b6bd3fa-5d0c-4c57-9a9d-4b0c7c7a3f1e")
    assert receipt.status_code == 503
    page = receipt.content.decode()
    assert 'data-polar-state="unavailable"' in page
    assert "Try again" in page
    assert "Traceback" not in page
    http.get(f"/checkout/{secret}/status/")
    outage_lines = [r for r in caplog.records if "cannot reach its database" in r.getMessage()]
    assert len(outage_lines) == 1  # once, not per request
    assert not [r for r in caplog.records if r.name == "django.request"]
