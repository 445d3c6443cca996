"""The one upsert path of customers, orders and subscriptions, and who the user is."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from polar_checkouts import services
from polar_checkouts.adapter import DefaultAdapter, get_adapter
from polar_checkouts.models import CheckoutSession, Customer, Order, Subscription
from tests.polar_objects import (
    at,
    customer_payload,
    order_payload,
    subscription_payload,
)
from tests.polar_payloads import checkout_payload

pytestmark = pytest.mark.django_db


def new_id() -> str:
    return str(uuid.uuid4())


# -- the adapter maps external ids both ways --------------------------------------------------


def test_the_default_adapter_reads_external_ids_as_primary_keys(django_user_model):
    user = django_user_model.objects.create_user("ada")
    adapter = get_adapter()
    assert adapter.external_customer_id(user) == str(user.pk)
    assert adapter.user_for_external_customer_id(str(user.pk)) == user
    assert adapter.user_for_external_customer_id("999999") is None
    assert adapter.user_for_external_customer_id("not-a-pk") is None
    assert adapter.users_for_external_customer_ids([str(user.pk), "x", "999"]) == {
        str(user.pk): user
    }


class EmailAdapter(DefaultAdapter):
    """A shop whose external ids are e-mail addresses."""

    def user_for_external_customer_id(self, external_id):
        from django.contrib.auth import get_user_model

        return get_user_model().objects.filter(email=external_id).first()


@override_settings(POLAR_ADAPTER="tests.services.test_objects.EmailAdapter")
def test_a_shop_overriding_the_single_lookup_is_used_for_many(django_user_model):
    user = django_user_model.objects.create_user("ada", email="ada@example.com")
    found = get_adapter().users_for_external_customer_ids(["ada@example.com", "x@example.com"])
    assert found == {"ada@example.com": user}


# -- customers ---------------------------------------------------------------------------------


def test_a_customer_is_stored_with_the_user_its_external_id_names(django_user_model):
    user = django_user_model.objects.create_user("ada")
    payload = customer_payload(external_id=str(user.pk))
    result = services.store_customer(payload)
    assert result.created
    customer = Customer.objects.get(pk=payload["id"])
    assert (customer.user, customer.external_id, customer.email) == (
        user,
        str(user.pk),
        payload["email"],
    )
    assert customer.payload == payload


def test_an_older_customer_payload_does_not_overwrite_a_newer_one():
    newer = customer_payload(modified_at=at(5), name="New name")
    services.store_customer(newer)
    older = {**newer, "modified_at": at(1), "name": "Old name"}
    result = services.store_customer(older)
    assert not result.changed
    assert Customer.objects.get(pk=newer["id"]).name == "New name"


# -- orders and subscriptions: embedded objects and the user -------------------------------------


def test_an_order_stores_its_customer_and_subscription_and_finds_the_user(django_user_model):
    user = django_user_model.objects.create_user("ada")
    customer = customer_payload(external_id=str(user.pk))
    sub = subscription_payload(new_id(), customer)
    order = order_payload(
        new_id(), customer, subscription=sub, billing_reason="subscription_create"
    )

    result = services.store_order(order)

    stored = result.row
    assert stored.user == user
    assert stored.customer == Customer.objects.get(pk=customer["id"])
    assert stored.subscription == Subscription.objects.get(pk=sub["id"])
    assert stored.subscription.user == user
    assert stored.customer.user == user
    assert stored.paid_at is not None


def test_a_guest_order_gets_the_user_of_its_cached_checkout(django_user_model):
    user = django_user_model.objects.create_user("ada")
    checkout = checkout_payload(status="succeeded")
    services.store_checkout(checkout, user=user)
    order = order_payload(new_id(), customer_payload(external_id=None), checkout_id=checkout["id"])
    assert services.store_order(order).row.user == user
    assert Order.objects.get(pk=order["id"]).checkout == CheckoutSession.objects.get()


def test_a_subscription_gets_the_user_of_its_cached_customer(django_user_model):
    user = django_user_model.objects.create_user("ada")
    customer = customer_payload(external_id=None)
    services.store_customer(customer)
    Customer.objects.filter(pk=customer["id"]).update(user=user)
    assert services.store_subscription(subscription_payload(new_id(), customer)).row.user == user


def test_an_order_for_nobody_is_a_guests_order():
    order = order_payload(new_id(), customer_payload(external_id="no-such-user"))
    assert services.store_order(order).row.user is None


def test_a_user_once_recorded_is_kept_when_later_data_names_nobody(django_user_model):
    user = django_user_model.objects.create_user("ada")
    customer = customer_payload(external_id=str(user.pk))
    sub_id = new_id()
    services.store_subscription(subscription_payload(sub_id, customer))
    later = subscription_payload(sub_id, customer_payload(customer["id"]), modified=5)
    services.store_subscription(later)
    assert Subscription.objects.get(pk=sub_id).user == user


def test_bulk_store_of_a_page_takes_a_constant_number_of_queries(django_user_model):
    # 20 rows stay within one SQLite INSERT batch; PostgreSQL streams any page with COPY.
    users = [django_user_model.objects.create_user(f"u{i}") for i in range(3)]

    def page(size):
        result = []
        for i in range(size):
            customer = customer_payload(external_id=str(users[i % 3].pk))
            result.append(subscription_payload(new_id(), customer, status="active"))
        return result

    with CaptureQueriesContext(connection) as small:
        services.store_subscriptions(page(2))
    with CaptureQueriesContext(connection) as large:
        services.store_subscriptions(page(20))
    assert len(large) == len(small)
    assert Subscription.objects.count() == 22
    assert Subscription.objects.filter(user__isnull=True).count() == 0


def test_bulk_store_applies_newer_wins_and_counts():
    customer = customer_payload()
    sub_id = new_id()
    first = services.store_subscriptions([subscription_payload(sub_id, customer, modified=1)])
    assert (first.created, first.updated, first.unchanged) == (1, 0, 0)
    stale = subscription_payload(sub_id, customer, status="past_due", modified=0)
    newer = subscription_payload(sub_id, customer, status="canceled", modified=9)
    counts = services.store_subscriptions([stale, newer])
    assert (counts.created, counts.updated, counts.unchanged) == (0, 1, 1)
    assert Subscription.objects.get(pk=sub_id).status == "canceled"


def test_an_order_embeds_a_partial_subscription_without_losing_stored_keys():
    customer = customer_payload()
    sub = subscription_payload(new_id(), customer, modified=1)
    services.store_subscription(sub)
    renewal = order_payload(
        new_id(),
        customer,
        subscription={**sub, "modified_at": at(2), "current_period_end": at(99)},
        billing_reason="subscription_cycle",
    )
    services.store_order(renewal)
    stored = Subscription.objects.get(pk=sub["id"])
    assert stored.payload["product"]["name"] == "Monthly membership"
    assert stored.current_period_end is not None
    assert stored.current_period_end.isoformat().startswith("2026-11-")
