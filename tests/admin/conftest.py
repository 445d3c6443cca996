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
