"""Refreshing customers, orders and subscriptions from Polar in the admin: the list
action and the detail page's button, through the services, against the fake Polar and
against Polar's exact answers (``responses``)."""

from __future__ import annotations

from typing import Any, cast

import pytest
from django.contrib import admin as django_admin
from django.test import Client
from django.urls import reverse
from django.utils import translation

from polar_checkouts import services, signals
from polar_checkouts.admin import objects as admin_objects
from polar_checkouts.client import get_client
from polar_checkouts.models import CheckoutSession, Customer, Order, Subscription
from polar_checkouts.testing import PRODUCT_ONE_TIME_ID, PRODUCT_SUBSCRIPTION_ID, TOKEN_SUCCEEDED
from tests.admin.helpers import (
    CUSTOMERS,
    ORDERS,
    SUBSCRIPTIONS,
    change_url_of,
    membership,
    messages_of,
    one_time_order,
    store,
)
from tests.polar_payloads import API

Mixin = admin_objects.RefreshFromPolarMixin

pytestmark = pytest.mark.django_db


def buy(product_id, external_id="user-1"):
    """A paid checkout in the fake Polar; returns Polar's checkout after payment."""
    client = get_client()
    checkout = client.create({"products": [product_id], "external_customer_id": external_id})
    client.client_confirm(
        checkout["client_secret"],
        {
            "customer_email": "ada@example.com",
            "customer_name": "Ada",
            "customer_billing_address": {"country": "SE"},
            "confirmation_token_id": TOKEN_SUCCEEDED,
        },
    )
    return client.get(checkout["id"])


def refresh(client, changelist, *rows):
    return client.post(
        reverse(changelist),
        {"action": "refresh_from_polar", "_selected_action": [str(r.pk) for r in rows]},
        follow=True,
    )


def refresh_button(row):
    opts = row._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_refresh", args=[row.pk])


def test_refresh_action_and_button_read_polar_again(cache_operator_client, polar_fake):
    buy(PRODUCT_SUBSCRIPTION_ID)
    (subscription_id,) = polar_fake.subscriptions
    subscription = services.store_subscription(polar_fake.subscription(subscription_id)).row
    (order_id,) = polar_fake.orders
    order = services.store_order(polar_fake.order(order_id)).row
    customer = Customer.objects.get(orders=order)
    assert not subscription.cancel_at_period_end

    polar_fake.cancel_subscription(subscription_id)  # Polar changed; the cache does not know
    polar_fake.refund_order(order_id)

    response = refresh(cache_operator_client, SUBSCRIPTIONS, subscription)
    assert response.status_code == 200
    assert "Refreshed 1 subscription from Polar." in messages_of(response)
    subscription.refresh_from_db()
    assert subscription.cancel_at_period_end
    assert subscription.status == "active"  # until the period ends

    response = cache_operator_client.post(refresh_button(order), follow=True)
    assert response.redirect_chain[-1][0] == change_url_of(order)
    assert "Refreshed from Polar." in messages_of(response)
    assert Order.objects.get(pk=order.pk).status == "refunded"

    response = refresh(cache_operator_client, CUSTOMERS, customer)
    assert "Refreshed 1 customer from Polar." in messages_of(response)


def test_the_action_counts_what_it_refreshed(cache_operator_client, polar_fake):
    for n in range(3):
        buy(PRODUCT_ONE_TIME_ID, external_id=f"user-{n}")
    rows = [services.store_order(polar_fake.order(pk)).row for pk in polar_fake.orders]
    response = refresh(cache_operator_client, ORDERS, *rows)
    assert "Refreshed 3 orders from Polar." in messages_of(response)


def test_polar_errors_become_messages_not_500s(cache_operator_client, rsps):
    ok, gone = one_time_order(), one_time_order()
    rsps.get(f"{API}/v1/orders/{ok.pk}", json=ok.payload)
    rsps.get(
        f"{API}/v1/orders/{gone.pk}",
        json={"error": "ResourceNotFound", "detail": "Not found"},
        status=404,
    )

    response = refresh(cache_operator_client, ORDERS, ok, gone)

    assert response.status_code == 200
    messages = messages_of(response)
    assert any(f"Could not refresh {gone.pk} from Polar" in m and "404" in m for m in messages)
    assert "Refreshed 1 order from Polar." in messages

    response = cache_operator_client.post(refresh_button(gone), follow=True)
    assert response.status_code == 200
    assert any(f"Could not refresh {gone.pk}" in m for m in messages_of(response))


def test_a_failing_receiver_is_reported_and_rolled_back(cache_operator_client, rsps):
    order = one_time_order(status="pending")
    paid = {**order.payload, "status": "paid", "paid": True, "modified_at": "2026-11-02T00:00:00Z"}
    rsps.get(f"{API}/v1/orders/{order.pk}", json=paid)

    def broken(sender, **kwargs):
        raise RuntimeError("licence server down")

    signals.order_paid.connect(broken)
    try:
        response = refresh(cache_operator_client, ORDERS, order)
    finally:
        signals.order_paid.disconnect(broken)
    assert response.status_code == 200
    assert any("licence server down" in m for m in messages_of(response))
    assert Order.objects.get(pk=order.pk).status == "pending"


def test_refreshing_needs_the_sync_permission(cache_viewer_client, make_staff, rsps):
    order = one_time_order()
    assert "refresh_from_polar" not in cache_viewer_client.get(reverse(ORDERS)).content.decode()
    refresh(cache_viewer_client, ORDERS, order)
    assert cache_viewer_client.post(refresh_button(order)).status_code == 403
    page = cache_viewer_client.get(change_url_of(order)).content.decode()
    assert refresh_button(order) not in page

    # the permission is per model: syncing orders does not allow refreshing subscriptions
    staff = Client()
    staff.force_login(make_staff("orders", "view_order", "view_subscription", "sync_order"))
    assert refresh_button(order) in staff.get(change_url_of(order)).content.decode()
    _customer, subscription, _orders = membership()
    assert staff.post(refresh_button(subscription)).status_code == 403
    assert len(rsps.calls) == 0


def test_the_refresh_button_is_post_only_and_csrf_protected(make_staff, rsps):
    order = one_time_order()
    staff = Client(enforce_csrf_checks=True)
    staff.force_login(make_staff("operator", "view_order", "sync_order"))
    assert staff.get(refresh_button(order)).status_code == 405
    assert staff.post(refresh_button(order)).status_code == 403
    assert len(rsps.calls) == 0


@pytest.mark.parametrize(
    ("changelist", "service", "make_row", "capped", "refreshed"),
    [
        (
            ORDERS,
            "refresh_order",
            one_time_order,
            "Only the first 2 selected orders were refreshed.",
            "Refreshed 2 orders from Polar.",
        ),
        (
            "admin:polar_checkouts_checkoutsession_changelist",
            "refresh_checkout",
            store,
            "Only the first 2 selected checkout sessions were refreshed.",
            "Refreshed 2 checkout sessions from Polar.",
        ),
    ],
)
def test_the_action_refreshes_at_most_max_refresh_rows(
    cache_operator_client, monkeypatch, changelist, service, make_row, capped, refreshed
):
    # The checkout admin uses the same mixin: same cap, its own whole sentences.
    monkeypatch.setattr(admin_objects, "MAX_REFRESH", 2)
    fetched: list[Any] = []
    monkeypatch.setattr(services, service, fetched.append)
    rows = [make_row() for _ in range(3)]

    messages = messages_of(refresh(cache_operator_client, changelist, *rows))

    assert len(fetched) == 2
    assert set(fetched) <= {row.pk for row in rows}
    assert capped in messages
    assert refreshed in messages


def test_each_admin_says_its_own_whole_sentence_in_every_language():
    said = {
        model: cast(Mixin, django_admin.site._registry[model]).refreshed_message
        for model in (CheckoutSession, Customer, Order, Subscription)
    }
    with translation.override("fr"):
        assert said[Order] % {"n": 1} == "1 commande actualisée depuis Polar."
        assert said[Order] % {"n": 3} == "3 commandes actualisées depuis Polar."
        assert said[Customer] % {"n": 2} == "2 clients actualisés depuis Polar."
    with translation.override("de"):
        assert said[Subscription] % {"n": 2} == "2 Abonnements von Polar aktualisiert."
    with translation.override("ja"):
        assert said[CheckoutSession] % {"n": 2} == (
            "2 件のチェックアウトセッションを Polar から更新しました。"
        )
