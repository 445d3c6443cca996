"""Helpers for the admin tests: cached checkouts, logged-in clients, what a page lists."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from polar_checkouts import services
from polar_checkouts.models import CheckoutSession, Customer
from tests.polar_objects import customer_payload, order_payload, subscription_payload
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


# -- customers, orders and subscriptions -----------------------------------------------------

ORDERS = "admin:polar_checkouts_order_changelist"
SUBSCRIPTIONS = "admin:polar_checkouts_subscription_changelist"
CUSTOMERS = "admin:polar_checkouts_customer_changelist"


def change_url_of(row):
    """The admin change page of a cached row."""
    opts = row._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])


def new_id():
    """A fresh Polar id."""
    return str(uuid.uuid4())


def membership(user=None, *, status="active", checkout_id=None, renewals=0, **kwargs):
    """A customer (of ``user``, when given) with a monthly subscription and its paid orders
    (the first payment and ``renewals`` renewals), all stored through the services as a
    webhook would. Returns ``(customer, subscription, orders)``."""
    customer = customer_payload(external_id=str(user.pk) if user else None, **kwargs)
    subscription = subscription_payload(
        new_id(), customer, status=status, checkout_id=checkout_id, period=renewals
    )
    orders = [
        services.store_order(
            order_payload(
                new_id(),
                customer,
                created=period * 30 * 24 * 60,
                billing_reason="subscription_cycle" if period else "subscription_create",
                subscription=subscription,
                checkout_id=None if period else checkout_id,
            )
        ).row
        for period in range(renewals + 1)
    ]
    stored = services.store_subscription(subscription).row
    return Customer.objects.get(pk=customer["id"]), stored, orders


def one_time_order(user=None, **kwargs):
    """A paid one-time order of a new customer (of ``user``), stored as a webhook would."""
    customer = customer_payload(external_id=str(user.pk) if user else None)
    return services.store_order(order_payload(new_id(), customer, **kwargs)).row


# -- queries -------------------------------------------------------------------------------


def changelist_queries(client, changelist):
    """Load the ``changelist`` page (it must answer 200): ``(queries it cost, response)``."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(changelist))
    assert response.status_code == 200
    return len(queries.captured_queries), response


def assert_list_costs_the_same_for_one_and_many(
    client,
    django_user_model,
    django_assert_max_num_queries,
    changelist,
    *,
    members,
    rows,
    renewals=0,
):
    """The ``changelist`` page costs as many queries listing one membership as listing
    ``members`` more (each with ``renewals`` renewals), where it lists ``rows`` rows; and
    a third load costs no more than the first."""
    membership(django_user_model.objects.create_user("first"))
    one, _ = changelist_queries(client, changelist)
    for i in range(members):
        membership(django_user_model.objects.create_user(f"member-{i}"), renewals=renewals)
    many, response = changelist_queries(client, changelist)

    assert many == one
    assert response.context["cl"].result_count == rows
    with django_assert_max_num_queries(one):
        client.get(reverse(changelist))
