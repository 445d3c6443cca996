"""pytest plugin (entry point ``polar_checkouts``): the ``polar_fake`` fixture.

Installing django-polar-checkouts makes the fixture available in any test suite.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from requests.adapters import HTTPAdapter

from . import FakePolar, FakePolarAdapter, set_default_fake


@pytest.fixture
def polar_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePolar]:
    """A fresh :class:`FakePolar` that every ``PolarClient`` of the test talks to.

    Whatever ``POLAR_SERVER`` says, clients built during the test (``get_client()``
    included) answer from this fake with no network, and ``get_default_fake()`` returns it
    (so the mounted ``polar_checkouts.testing.urls`` serve it too).
    """
    from polar_checkouts import client as client_module
    from polar_checkouts.services import clear_catalogue_cache

    fake = FakePolar()

    def make_adapter(self: client_module.PolarClient) -> HTTPAdapter:
        return FakePolarAdapter(fake, max_retries=self.retry)

    monkeypatch.setattr(client_module.PolarClient, "_make_adapter", make_adapter)
    monkeypatch.setattr(client_module, "_client_cache", None)
    previous = set_default_fake(fake)
    # The catalogue is cached for a minute: a catalogue from an earlier test's fake
    # must not leak into this one.
    clear_catalogue_cache()
    try:
        yield fake
    finally:
        clear_catalogue_cache()
        set_default_fake(previous)
        client_module._client_cache = None
        fake.close()
