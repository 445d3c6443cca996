"""Fixtures of the fake Polar's tests: every response is checked against Polar's specs."""

from __future__ import annotations

import pytest

from polar_checkouts.client import PolarClient
from polar_checkouts.testing import FakePolar, FakePolarAdapter
from tests.testing.spec_checker import SpecChecker


@pytest.fixture
def fake():
    """A fresh :class:`FakePolar` of its own, closed after the test."""
    fake = FakePolar()
    yield fake
    fake.close()


@pytest.fixture
def fake_client(fake):
    """A :class:`PolarClient` answered in process by ``fake`` (named so as not to hide
    pytest-django's ``client``)."""
    return PolarClient("t", server="fake", transport=FakePolarAdapter(fake))


@pytest.fixture(autouse=True)
def spec_checked(monkeypatch):
    """Validate every response and webhook payload of any FakePolar; fail on a violation."""
    checker = SpecChecker()
    monkeypatch.setattr(FakePolar, "global_observers", [checker.check_response])
    emit = FakePolar.emit

    def checked_emit(self, type, data):
        # Every webhook payload too, whether or not the test configured an endpoint.
        emit(self, type, data)
        checker.check_event(self.events[-1])

    monkeypatch.setattr(FakePolar, "emit", checked_emit)
    yield checker
    assert not checker.violations, "\n".join(checker.violations[:20])
