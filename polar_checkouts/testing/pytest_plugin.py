"""pytest plugin (entry point ``polar_checkouts``): the ``polar_fake`` fixture.

Installing django-polar-checkouts makes the fixture available in any test suite.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from polar_checkouts.client import default_transport

from .default import set_default_fake
from .fake import FakePolar
from .transport import FakeTransport


@pytest.fixture
def polar_fake() -> Iterator[FakePolar]:
    """A fresh :class:`FakePolar` that every ``PolarClient`` of the test talks to.

    Whatever ``POLAR_SERVER`` says, clients built during the test without a transport of
    their own (``get_client()`` included) answer from this fake with no network, and
    ``get_default_fake()`` returns it (so the mounted ``polar_checkouts.testing.urls``
    serve it too). Installed through the client's public seam,
    :func:`polar_checkouts.client.default_transport`.
    """
    from polar_checkouts.services import clear_catalogue_cache

    fake = FakePolar()
    previous = set_default_fake(fake)
    # The catalogue is cached for a minute: a catalogue from an earlier test's fake
    # must not leak into this one.
    clear_catalogue_cache()
    try:
        with default_transport(FakeTransport(fake)):
            yield fake
    finally:
        clear_catalogue_cache()
        set_default_fake(previous)
        fake.close()
