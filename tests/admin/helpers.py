"""Helpers for the admin tests: cached checkouts, logged-in clients, what a page lists."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from polar_checkouts.models import CheckoutSession
from tests.polar_payloads import checkout_payload

CHANGELIST = "admin:polar_checkouts_checkoutsession_changelist"
SYNC = "admin:polar_checkouts_checkoutsession_sync"
OVERVIEW = "admin:polar_checkouts_checkoutsession_overview"


def logged_in(user):
    """A test client with ``user`` logged in."""
    client = Client()
    client.force_login(user)
    return client


def store(**kwargs):
    """A checkout cached from ``checkout_payload(**kwargs)``."""
    return CheckoutSession.objects.upsert_from_polar(checkout_payload(**kwargs)).checkout


def recent(minutes_ago=0, **kwargs):
    """A checkout created ``minutes_ago`` before now, expiring 30 minutes after that."""
    created = timezone.now() - dt.timedelta(minutes=minutes_ago)
    return store(created_at=created, expires_at=created + dt.timedelta(minutes=30), **kwargs)


def listed_ids(response):
    """The ids of the checkouts on a changelist page."""
    return {str(c.pk) for c in response.context["cl"].result_list}


def messages_of(response):
    """The texts of the messages shown on a page."""
    return [str(m) for m in response.context["messages"]] if response.context else []


#: (currency, minor units, how staff read it): 2, 2, 0 and 3 decimal places.
TOTALS = [
    ("usd", 1900, "19.00 USD"),
    ("eur", 1250, "12.50 EUR"),
    ("jpy", 500, "500 JPY"),
    ("kwd", 1500, "1.500 KWD"),
]
