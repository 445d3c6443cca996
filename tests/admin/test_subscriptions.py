"""The read-only subscription admin: access, the list (queries, columns, filters, search),
the detail page's links to the customer, the checkout and the orders."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from polar_checkouts import services
from polar_checkouts.admin.subscriptions import interval_text
from polar_checkouts.models import Subscription
from tests.admin.helpers import (
    SUBSCRIPTIONS,
    assert_list_costs_the_same_for_one_and_many,
    change_url_of,
    listed_ids,
    membership,
    new_id,
    store,
)
from tests.polar_objects import OTHER_PRODUCT_ID, at, customer_payload, subscription_payload

pytestmark = pytest.mark.django_db


def subscribe(**kwargs):
    """A subscription of a new customer, stored as a webhook would."""
    customer = customer_payload(email=kwargs.pop("email", "buyer@example.com"))
    return services.store_subscription(subscription_payload(new_id(), customer, **kwargs)).row


def test_staff_need_the_view_permission(make_staff, django_user_model):
    row = subscribe()
    shopper = Client()
    shopper.force_login(django_user_model.objects.create_user("shopper"))
    assert shopper.get(reverse(SUBSCRIPTIONS)).status_code == 302
    staff = Client()
    staff.force_login(make_staff("orders-only", "view_order"))
    assert staff.get(reverse(SUBSCRIPTIONS)).status_code == 403
    assert staff.get(change_url_of(row)).status_code == 403


def test_the_subscription_admin_is_read_only(cache_viewer_client):
    row = subscribe()
    add = reverse("admin:polar_checkouts_subscription_add")
    assert cache_viewer_client.get(add).status_code == 403
    delete = reverse("admin:polar_checkouts_subscription_delete", args=[row.pk])
    assert cache_viewer_client.get(delete).status_code == 403
    response = cache_viewer_client.post(change_url_of(row), {"status": "canceled"})
    assert response.status_code == 403
    assert Subscription.objects.get(pk=row.pk).status == "active"


def test_the_list_costs_the_same_queries_for_one_and_many(
    cache_viewer_client, django_user_model, django_assert_max_num_queries
):
    assert_list_costs_the_same_for_one_and_many(
        cache_viewer_client,
        django_user_model,
        django_assert_max_num_queries,
        SUBSCRIPTIONS,
        members=30,
        rows=31,
    )


def test_list_columns(cache_viewer_client):
    customer, _subscription, _orders = membership(email="grace@navy.mil")
    canceling = subscribe(
        cancel_at_period_end=True,
        canceled_at=at(60),
        status="active",
        amount=12000,
        recurring_interval="year",
        currency="eur",
    )
    subscribe(status="past_due")

    page = cache_viewer_client.get(reverse(SUBSCRIPTIONS)).content.decode()

    assert f'<a href="{change_url_of(customer)}">grace@navy.mil</a>' in page
    assert "9.00 USD per month" in page
    assert "120.00 EUR per year" in page
    assert "polar-subscription-status-active" in page
    assert "polar-subscription-status-past_due" in page
    # a scheduled cancellation is said in words, not only by colour
    assert "cancels on Dec. 1, 2026" in page
    assert canceling.ends_at is not None


def test_interval_texts():
    assert interval_text("month", 1) == "per month"
    assert interval_text("month", 3) == "every 3 months"
    assert interval_text("week", 2) == "every 2 weeks"
    assert interval_text("day", 1) == "per day"
    assert interval_text("year", 1) == "per year"
    assert interval_text("", 1) == ""


def test_filters(cache_viewer_client):
    active = subscribe()
    canceling = subscribe(cancel_at_period_end=True, canceled_at=at(60))
    other = subscribe(product_id=OTHER_PRODUCT_ID, status="past_due", recurring_interval="year")

    def listed(**params):
        return listed_ids(cache_viewer_client.get(reverse(SUBSCRIPTIONS), params))

    assert listed(status__exact="past_due") == {str(other.pk)}
    assert listed(cancel_at_period_end__exact="1") == {str(canceling.pk)}
    assert listed(recurring_interval__exact="year") == {str(other.pk)}
    assert listed(product_id=OTHER_PRODUCT_ID) == {str(other.pk)}
    assert str(active.pk) in listed()


def test_search_by_email_and_exact_ids(cache_viewer_client):
    checkout = store()
    customer, subscription, _orders = membership(
        email="ada@example.com", checkout_id=str(checkout.pk)
    )
    subscribe(email="grace@navy.mil")

    def search(term):
        return listed_ids(cache_viewer_client.get(reverse(SUBSCRIPTIONS), {"q": term}))

    assert search("ada@") == {str(subscription.pk)}
    assert search(str(subscription.pk)) == {str(subscription.pk)}
    assert search(str(customer.pk)) == {str(subscription.pk)}
    assert search(str(checkout.pk)) == {str(subscription.pk)}
    assert search(new_id()) == set()


def test_detail_links_to_customer_checkout_and_orders_and_back(cache_viewer_client, settings):
    checkout = store(status="succeeded")
    customer, subscription, orders = membership(checkout_id=str(checkout.pk), renewals=1)

    page = cache_viewer_client.get(change_url_of(subscription)).content.decode()
    assert f'href="{change_url_of(customer)}"' in page
    assert f'href="{change_url_of(checkout)}"' in page
    for order in orders:
        assert f'href="{change_url_of(order)}"' in page
    assert "All 2 orders" not in page  # all shown already

    for row in (customer, checkout, *orders):
        back = cache_viewer_client.get(change_url_of(row)).content.decode()
        assert f'href="{change_url_of(subscription)}"' in back, row

    settings.POLAR_ORGANIZATION_SLUG = "acme"
    page = cache_viewer_client.get(change_url_of(subscription)).content.decode()
    assert f"https://sandbox.polar.sh/dashboard/acme/sales/subscriptions/{subscription.pk}" in page
