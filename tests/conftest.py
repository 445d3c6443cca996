"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fresh_client_cache():
    """Each test builds its own client from the settings it runs with."""
    from polar_checkouts import client

    client._client_cache = None
    yield
    client._client_cache = None
