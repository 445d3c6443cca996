"""Syncing customers, subscriptions and orders from Polar's lists (through ``responses``).

A sync alone (no webhook) fills the cache in bulk, is idempotent, reports progress per
page, and sends each once-only signal once, as the webhooks would.
"""

from __future__ import annotations

import re
import uuid
from io import StringIO
from typing import Any

import pytest
import responses
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from polar_checkouts import services
from polar_checkouts.access import has_active_subscription
from polar_checkouts.management.commands.polar_checkouts_sync import parse_objects
from polar_checkouts.models import Customer, Order, Subscription
from tests.polar_objects import at, customer_payload, order_payload, subscription_payload
from tests.polar_payloads import API, PolarListStub

pytestmark = pytest.mark.django_db


class ListStub(PolarListStub):
    """``PolarListStub`` for another list route; its items are ``checkouts``."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.url = API + path

    def register(self, rsps: Any) -> ListStub:
        rsps.add_callback("GET", re.compile(re.escape(self.url) + r"(\?.*)?$"), self)
        return self


@pytest.fixture
def polar_lists():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        stubs: dict[str, Any] = {
            name: ListStub(f"/v1/{name}/").register(rsps)
            for name in ("customers", "subscriptions", "orders")
        }
        stubs["checkouts"] = PolarListStub().register(rsps)
        yield stubs


def writes(queries):
    return [q["sql"] for q in queries if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))]


def members(count, django_user_model):
    users = [django_user_model.objects.create_user(f"m{i}") for i in range(count)]
    return users, [customer_payload(external_id=str(u.pk)) for u in users]


def test_sync_subscriptions_fills_the_cache_page_by_page(
    polar_lists, django_user_model, signal_log
):
    users, customers = members(5, django_user_model)
    polar_lists["subscriptions"].checkouts = [
        subscription_payload(str(uuid.uuid4()), customers[i % 5], modified=i / 100)
        for i in range(230)
    ]
    seen = []

    result = services.sync_subscriptions(progress=lambda r: seen.append(r.rows))

    assert (result.created, result.updated, result.unchanged, result.pages) == (230, 0, 0, 3)
    assert seen == [100, 200, 230]
    assert polar_lists["subscriptions"].pages_requested() == [1, 2, 3]
    assert Subscription.objects.filter(user__in=users).count() == 230
    assert Customer.objects.count() == 5
    assert len(signal_log["subscription_activated"]) == 230
    assert all(has_active_subscription(u) for u in users)


def test_a_second_sync_changes_nothing_and_signals_nothing(polar_lists, signal_log):
    customer = customer_payload()
    polar_lists["subscriptions"].checkouts = [
        subscription_payload(str(uuid.uuid4()), customer) for _ in range(30)
    ]
    services.sync_subscriptions()
    signal_log.calls.clear()

    with CaptureQueriesContext(connection) as queries:
        result = services.sync_subscriptions()

    assert (result.created, result.updated, result.unchanged) == (0, 0, 30)
    assert writes(queries.captured_queries) == []
    assert all(not calls for calls in signal_log.calls.values())


def test_a_sync_alone_sends_the_lifecycle_signals_once(polar_lists, signal_log):
    customer = customer_payload()
    sub_id = str(uuid.uuid4())
    revoked = subscription_payload(
        sub_id,
        customer,
        status="canceled",
        modified=8,
        cancel_at_period_end=True,
        canceled_at=at(7),
        ended_at=at(8),
    )
    orders = [
        order_payload(str(uuid.uuid4()), customer, subscription=revoked, created=i)
        for i in range(3)
    ]
    orders.append(
        order_payload(
            str(uuid.uuid4()), customer, subscription=revoked, status="pending", created=4
        )
    )
    polar_lists["subscriptions"].checkouts = [revoked]
    polar_lists["orders"].checkouts = orders

    services.sync_subscriptions()
    services.sync_orders()
    services.sync_orders()

    assert [len(signal_log[n]) for n in ("subscription_activated", "subscription_canceled")] == [
        1,
        1,
    ]
    assert len(signal_log["subscription_revoked"]) == 1
    assert len(signal_log["order_paid"]) == 3
    assert all(c["event"] is None for c in signal_log["order_paid"])
    assert Order.objects.filter(subscription_id=sub_id).count() == 4


def test_sync_customers_and_since(polar_lists):
    polar_lists["customers"].checkouts = [customer_payload(created_at=at(i)) for i in range(150)]
    result = services.sync_customers(since=services_since(at(100)))
    assert result.created == 50
    # Newest first: the first page already reaches past `since`, so paging stopped there.
    assert polar_lists["customers"].pages_requested() == [1]


def services_since(text):
    from polar_checkouts.payload import parse_polar_datetime

    return parse_polar_datetime(text)


def test_a_malformed_row_is_skipped_not_fatal(polar_lists):
    good = order_payload(str(uuid.uuid4()), customer_payload())
    polar_lists["orders"].checkouts = [good, {**good, "id": "not-a-uuid", "created_at": at(1)}]
    assert services.sync_orders().created == 1


def test_refresh_reads_one_object(polar_lists):
    customer = customer_payload()
    sub = subscription_payload(str(uuid.uuid4()), customer)
    with responses.RequestsMock() as rsps:
        rsps.get(API + f"/v1/subscriptions/{sub['id']}", json=sub)
        assert services.refresh_subscription(sub["id"]).status == "active"


# -- the command's --objects ----------------------------------------------------------------


def test_parse_objects():
    assert parse_objects("orders,checkouts") == ["checkouts", "orders"]
    assert parse_objects("all") == ["checkouts", "customers", "subscriptions", "orders"]
    with pytest.raises(CommandError, match="comma-separated list"):
        parse_objects("invoices")
    with pytest.raises(CommandError):
        parse_objects(",")


def test_command_syncs_the_chosen_objects(polar_lists):
    customer = customer_payload()
    polar_lists["customers"].checkouts = [customer]
    polar_lists["subscriptions"].checkouts = [subscription_payload(str(uuid.uuid4()), customer)]
    polar_lists["orders"].checkouts = [order_payload(str(uuid.uuid4()), customer)]
    out = StringIO()

    call_command("polar_checkouts_sync", "--objects", "customers,subscriptions,orders", stdout=out)

    assert out.getvalue().splitlines() == [
        "customers: created 1, updated 0, unchanged 0",
        "subscriptions: created 1, updated 0, unchanged 0",
        "orders: created 1, updated 0, unchanged 0",
    ]
    assert polar_lists["checkouts"].queries == []  # checkouts were not asked for
    assert (Customer.objects.count(), Subscription.objects.count(), Order.objects.count()) == (
        1,
        1,
        1,
    )


def test_command_default_stays_checkouts(polar_lists):
    out = StringIO()
    call_command("polar_checkouts_sync", stdout=out)
    assert out.getvalue().strip() == "created 0, updated 0, unchanged 0"
    assert polar_lists.pop("checkouts").pages_requested() == [1]
    assert all(stub.queries == [] for stub in polar_lists.values())


def test_command_rejects_unknown_objects():
    with pytest.raises(CommandError, match="--objects"):
        call_command("polar_checkouts_sync", "--objects", "invoices")
