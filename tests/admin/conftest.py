"""Staff users and clients shared by the checkout admin tests."""

from __future__ import annotations

import pytest
import responses

from tests.admin.helpers import logged_in


@pytest.fixture
def viewer(make_staff):
    """Staff who may look but not refresh or sync."""
    return make_staff("viewer", "view_checkoutsession")


@pytest.fixture
def operator(make_staff):
    """Staff who may also refresh and sync from Polar."""
    return make_staff("operator", "view_checkoutsession", "sync_checkoutsession")


@pytest.fixture
def viewer_client(viewer):
    return logged_in(viewer)


@pytest.fixture
def operator_client(operator):
    return logged_in(operator)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


#: View permissions on everything the admin shows after a checkout.
CACHE_VIEW = ("view_checkoutsession", "view_customer", "view_order", "view_subscription")
#: And the permissions to refresh each from Polar.
CACHE_SYNC = ("sync_checkoutsession", "sync_customer", "sync_order", "sync_subscription")


@pytest.fixture
def cache_viewer(make_staff):
    """Staff who may look at checkouts, customers, orders and subscriptions."""
    return make_staff("cache-viewer", *CACHE_VIEW)


@pytest.fixture
def cache_viewer_client(cache_viewer):
    return logged_in(cache_viewer)


@pytest.fixture
def cache_operator_client(make_staff):
    """Staff who may also refresh them from Polar."""
    return logged_in(make_staff("cache-operator", *CACHE_VIEW, *CACHE_SYNC))
