"""The read-only order admin: access, the list (queries, columns, filters, search), the
detail page's links to the customer, subscription and checkout."""

from __future__ import annotations

import re
import uuid

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from polar_checkouts.models import Order
from tests.admin.helpers import (
    ORDERS,
    assert_list_costs_the_same_for_one_and_many,
    change_url_of,
    listed_ids,
    membership,
    new_id,
    one_time_order,
    store,
)
from tests.polar_objects import OTHER_PRODUCT_ID, PRODUCT_ID

pytestmark = pytest.mark.django_db


# -- access ------------------------------------------------------------------------------------


def test_non_staff_and_staff_without_permission_cannot_see_orders(django_user_model, make_staff):
    order = one_time_order()
    shopper = Client()
    shopper.force_login(django_user_model.objects.create_user("shopper"))
    response = shopper.get(reverse(ORDERS))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]

    other_staff = Client()
    other_staff.force_login(make_staff("checkouts-only", "view_checkoutsession"))
    assert other_staff.get(reverse(ORDERS)).status_code == 403
    assert other_staff.get(change_url_of(order)).status_code == 403


def test_the_order_admin_is_read_only(cache_viewer_client):
    order = one_time_order()
    assert cache_viewer_client.get(reverse("admin:polar_checkouts_order_add")).status_code == 403
    delete = reverse("admin:polar_checkouts_order_delete", args=[order.pk])
    assert cache_viewer_client.get(delete).status_code == 403
    assert cache_viewer_client.post(change_url_of(order), {"status": "void"}).status_code == 403
    assert Order.objects.get(pk=order.pk).status == "paid"
    page = cache_viewer_client.get(change_url_of(order)).content.decode()
    assert 'name="_save"' not in page
    assert "refresh_from_polar" not in cache_viewer_client.get(reverse(ORDERS)).content.decode()


# -- the list ----------------------------------------------------------------------------------


def test_the_list_costs_the_same_queries_for_one_and_many_orders(
    cache_viewer_client, django_user_model, django_assert_max_num_queries
):
    assert_list_costs_the_same_for_one_and_many(
        cache_viewer_client,
        django_user_model,
        django_assert_max_num_queries,
        ORDERS,
        members=20,
        renewals=1,
        rows=1 + 20 * 2,
    )


def test_list_columns_link_the_customer_and_show_amounts(cache_viewer_client):
    customer, _subscription, _orders = membership(email="grace@navy.mil")
    refunded = one_time_order(status="partially_refunded", refunded_amount=300, currency="jpy")
    Order.objects.filter(pk=refunded.pk).update(customer_id=uuid.uuid4())

    page = cache_viewer_client.get(reverse(ORDERS)).content.decode()

    assert f'<a href="{change_url_of(customer)}">grace@navy.mil</a>' in page
    assert "polar-order-status-paid" in page
    assert "polar-order-status-partially_refunded" in page
    assert "9.00 USD" in page
    assert "900 JPY" in page  # yen have no minor unit
    assert "refunded 300 JPY" in page
    assert "(not cached)" in page
    assert "New subscription" in page


def test_filters_by_status_product_currency_and_billing_reason(cache_viewer_client):
    _c, _s, [first] = membership()
    other = one_time_order(
        product_id=OTHER_PRODUCT_ID,
        currency="eur",
        product={"id": OTHER_PRODUCT_ID, "name": "Sticker pack"},
    )
    pending = one_time_order(status="pending")

    def listed(**params):
        return listed_ids(cache_viewer_client.get(reverse(ORDERS), params))

    assert listed(status__exact="pending") == {str(pending.pk)}
    assert listed(product_id=OTHER_PRODUCT_ID) == {str(other.pk)}
    assert listed(product_id=PRODUCT_ID) == {str(first.pk), str(pending.pk)}
    assert listed(currency="eur") == {str(other.pk)}
    assert listed(billing_reason__exact="subscription_create") == {str(first.pk)}

    page = cache_viewer_client.get(reverse(ORDERS)).content.decode()
    # a choice per product, named
    assert f'<a href="?product_id={OTHER_PRODUCT_ID}">Sticker pack</a>' in page
    assert '<a href="?currency=eur">EUR</a>' in page


def test_a_bad_filter_value_is_not_a_500(cache_viewer_client):
    one_time_order()
    for params in ({"product_id": "not-a-uuid"}, {"customer": "nope"}):
        response = cache_viewer_client.get(reverse(ORDERS), params)
        assert response.status_code == 302
        assert response["Location"].endswith("?e=1")


def test_search_by_email_product_and_exact_ids(cache_viewer_client):
    checkout = store()
    customer, subscription, [order] = membership(
        email="ada@example.com", checkout_id=str(checkout.pk)
    )
    other = one_time_order(product_id=OTHER_PRODUCT_ID)

    def search(term):
        return listed_ids(cache_viewer_client.get(reverse(ORDERS), {"q": term}))

    assert search("ada@example") == {str(order.pk)}
    assert search("buyer@example") == {str(other.pk)}
    assert search(str(order.pk)) == {str(order.pk)}
    assert search(str(subscription.pk)) == {str(order.pk)}
    assert search(str(checkout.pk)) == {str(order.pk)}
    assert search(str(customer.pk)) == {str(order.pk)}
    assert search(new_id()) == set()


# -- the detail page ---------------------------------------------------------------------------


def test_detail_links_customer_subscription_and_checkout_both_ways(cache_viewer_client):
    checkout = store(status="succeeded")
    customer, subscription, [order] = membership(checkout_id=str(checkout.pk))

    page = cache_viewer_client.get(change_url_of(order)).content.decode()
    assert f'href="{change_url_of(customer)}"' in page
    assert f'href="{change_url_of(subscription)}"' in page
    assert f'href="{change_url_of(checkout)}"' in page

    # ... and each of them links back to the order.
    for row in (customer, subscription, checkout):
        back = cache_viewer_client.get(change_url_of(row)).content.decode()
        assert f'href="{change_url_of(order)}"' in back, row


def test_detail_says_when_a_related_row_is_not_cached(cache_viewer_client):
    order = one_time_order()
    missing = uuid.uuid4()
    Order.objects.filter(pk=order.pk).update(subscription_id=missing, checkout_id=missing)
    page = cache_viewer_client.get(change_url_of(order)).content.decode()
    assert page.count(f"{missing} <small>(not cached)</small>") == 2
    assert f'href="{change_url_of(order.customer)}"' in page


def test_detail_amounts_refunds_and_escaped_payload(cache_viewer_client):
    order = one_time_order(
        status="partially_refunded",
        refunded_amount=250,
        currency="kwd",
        metadata={"note": "<script>alert(1)</script>"},
    )
    page = cache_viewer_client.get(change_url_of(order)).content.decode()
    assert "0.900 KWD" in page  # three decimal places
    assert "0.250 KWD" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_detail_links_to_polars_dashboard(cache_viewer_client, settings):
    order = one_time_order()
    # Without a slug no link can be built; the shop owner gets no developer hint (issue 15:
    # `manage.py check` gives it, I001), only Django's empty value.
    page = cache_viewer_client.get(change_url_of(order)).content.decode()
    assert "POLAR_ORGANIZATION_SLUG" not in page
    assert "polar.sh/dashboard/" not in page
    settings.POLAR_ORGANIZATION_SLUG = "acme"
    page = cache_viewer_client.get(change_url_of(order)).content.decode()
    assert f"https://sandbox.polar.sh/dashboard/acme/sales/{order.pk}" in page


def test_the_list_of_a_customers_orders_and_of_a_subscriptions_renewals(cache_viewer_client):
    customer, subscription, orders = membership(renewals=11)
    one_time_order()  # someone else's

    page = cache_viewer_client.get(change_url_of(subscription)).content.decode()
    # the newest ten are linked, then the filtered list of all twelve
    linked = [o for o in orders if f'href="{change_url_of(o)}"' in page]
    assert len(linked) == 10
    assert orders[:2] == [o for o in orders if o not in linked]  # the two oldest are not
    assert "All 12 orders" in page
    assert f"?subscription={subscription.pk}" in page

    response = cache_viewer_client.get(reverse(ORDERS), {"subscription": str(subscription.pk)})
    assert listed_ids(response) == {str(o.pk) for o in orders}
    response = cache_viewer_client.get(reverse(ORDERS), {"customer": str(customer.pk)})
    assert listed_ids(response) == {str(o.pk) for o in orders}


def readonly_values(page):
    """What the change form shows in each read-only field."""
    return re.findall(r'<div class="readonly">(.*?)</div>', page, flags=re.S)


def test_empty_detail_fields_show_the_admins_empty_value(cache_viewer_client, monkeypatch):
    # A one-time order: no subscription, no checkout, nothing refunded.
    order = one_time_order()
    values = readonly_values(cache_viewer_client.get(change_url_of(order)).content.decode())
    assert values.count("-") >= 4  # subscription, checkout, refunded, order_refunded sent for
    assert "None" not in values
    assert not any("—" in value for value in values)

    # The admin's own empty_value_display, wherever a helper had nothing to show.
    monkeypatch.setattr(
        admin.site._registry[Order], "empty_value_display", "(nothing)", raising=False
    )
    values = readonly_values(cache_viewer_client.get(change_url_of(order)).content.decode())
    assert values.count("(nothing)") >= 4
    assert "-" not in values
