"""The read-only customer admin: access, the list, search, filters, and the customer's
orders, subscriptions and checkout sessions on its page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from polar_checkouts import services
from polar_checkouts.models import CheckoutSession, Customer
from tests.admin.helpers import (
    CUSTOMERS,
    assert_list_costs_the_same_for_one_and_many,
    change_url_of,
    listed_ids,
    membership,
    one_time_order,
    store,
)
from tests.polar_objects import at, customer_payload

pytestmark = pytest.mark.django_db


def test_staff_need_the_view_permission(make_staff, django_user_model):
    customer, _s, _o = membership()
    shopper = Client()
    shopper.force_login(django_user_model.objects.create_user("shopper"))
    assert shopper.get(reverse(CUSTOMERS)).status_code == 302
    staff = Client()
    staff.force_login(make_staff("orders-only", "view_order"))
    assert staff.get(reverse(CUSTOMERS)).status_code == 403
    assert staff.get(change_url_of(customer)).status_code == 403


def test_the_customer_admin_is_read_only(cache_viewer_client):
    customer, _s, _o = membership()
    add = reverse("admin:polar_checkouts_customer_add")
    assert cache_viewer_client.get(add).status_code == 403
    delete = reverse("admin:polar_checkouts_customer_delete", args=[customer.pk])
    assert cache_viewer_client.get(delete).status_code == 403
    response = cache_viewer_client.post(change_url_of(customer), {"email": "x@example.com"})
    assert response.status_code == 403
    assert Customer.objects.get(pk=customer.pk).email == customer.email


def test_the_list_costs_the_same_queries_for_one_and_many(
    cache_viewer_client, django_user_model, django_assert_max_num_queries
):
    assert_list_costs_the_same_for_one_and_many(
        cache_viewer_client,
        django_user_model,
        django_assert_max_num_queries,
        CUSTOMERS,
        members=30,
        rows=31,
    )


def test_list_search_and_deleted_filter(cache_viewer_client, django_user_model):
    ada = django_user_model.objects.create_user("ada")
    mine, _s, _o = membership(ada, email="ada@example.com", name="Ada Lovelace")
    gone = services.store_customer(
        customer_payload(email="gone@example.com", deleted_at=at(10), external_id="ext-9")
    ).row

    page = cache_viewer_client.get(reverse(CUSTOMERS)).content.decode()
    assert "ada@example.com<br><small>Ada Lovelace</small>" in page
    assert str(ada.pk) in page  # the external id

    def listed(**params):
        return listed_ids(cache_viewer_client.get(reverse(CUSTOMERS), params))

    assert listed(q="lovelace") == {str(mine.pk)}
    assert listed(q="ext-9") == {str(gone.pk)}
    assert listed(q="ext-") == set()  # the external id matches exactly
    assert listed(q=str(gone.pk)) == {str(gone.pk)}
    assert listed(deleted="yes") == {str(gone.pk)}
    assert listed(deleted="no") == {str(mine.pk)}


def test_a_customers_page_links_orders_subscriptions_and_checkouts(
    cache_viewer_client, django_user_model
):
    checkout = store(status="succeeded")
    customer, subscription, orders = membership(checkout_id=str(checkout.pk))
    CheckoutSession.objects.filter(pk=checkout.pk).update(customer_id=customer.pk)
    one_time_order()  # another customer's

    page = cache_viewer_client.get(change_url_of(customer)).content.decode()
    assert f'href="{change_url_of(subscription)}"' in page
    assert f'href="{change_url_of(orders[0])}"' in page
    assert f'href="{change_url_of(checkout)}"' in page
    assert f"{orders[0].pk} — 9.00 USD, Paid, 2026-11-01" in page  # no product in the payload

    back = cache_viewer_client.get(change_url_of(checkout)).content.decode()
    assert f'href="{change_url_of(customer)}"' in back


def test_a_customers_page_costs_few_queries(cache_viewer_client, django_assert_max_num_queries):
    customer, _s, _o = membership(renewals=20)
    # session, user, the customer, then one query per related list (two for "All 21 orders")
    with django_assert_max_num_queries(12):
        page = cache_viewer_client.get(change_url_of(customer)).content.decode()
    assert "All 21 orders" in page
