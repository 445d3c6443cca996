"""A fake Polar for tests, demos and offline development.

One implementation, three ways in:

* the pytest fixture ``polar_fake`` (this package's pytest plugin): every
  :class:`~polar_checkouts.client.PolarClient` built during the test talks to a fresh
  :class:`FakePolar`, with no network;
* ``POLAR_SERVER = "fake"``: the client uses :func:`fake_adapter`, answering from
  :func:`get_default_fake`, and ``polar_checkouts.testing.urls`` serves that same fake
  over HTTP (with CORS) so a browser reaches its client routes;
* ``python -m polar_checkouts.testing.server``: a standalone HTTP server.
"""

from __future__ import annotations

import threading

from .adapter import FakePolarAdapter, fake_adapter
from .catalogue import (
    DISCOUNT_BASIS_POINTS,
    DISCOUNT_CODE,
    DISCOUNT_ID,
    ONE_TIME_AMOUNT,
    ORGANIZATION_ID,
    PRICE_FREE_ID,
    PRICE_ONE_TIME_ID,
    PRICE_PWYW_ID,
    PRICE_SUBSCRIPTION_ID,
    PRODUCT_FREE_ID,
    PRODUCT_ONE_TIME_ID,
    PRODUCT_PWYW_ID,
    PRODUCT_SUBSCRIPTION_ID,
    PUBLISHABLE_KEY,
    PWYW_MAXIMUM,
    PWYW_MINIMUM,
    PWYW_PRESET,
    SUBSCRIPTION_AMOUNT,
    TOKEN_DECLINED,
    TOKEN_FAILED,
    TOKEN_REQUIRES_ACTION,
    TOKEN_SUCCEEDED,
)
from .fake import FakePolar, FakeResponse, RecordedRequest
from .faults import Injection
from .webhooks import WebhookEvent, polar_webhook

__all__ = [
    "DISCOUNT_BASIS_POINTS",
    "DISCOUNT_CODE",
    "DISCOUNT_ID",
    "ONE_TIME_AMOUNT",
    "ORGANIZATION_ID",
    "PRICE_FREE_ID",
    "PRICE_ONE_TIME_ID",
    "PRICE_PWYW_ID",
    "PRICE_SUBSCRIPTION_ID",
    "PRODUCT_FREE_ID",
    "PRODUCT_ONE_TIME_ID",
    "PRODUCT_PWYW_ID",
    "PRODUCT_SUBSCRIPTION_ID",
    "PUBLISHABLE_KEY",
    "PWYW_MAXIMUM",
    "PWYW_MINIMUM",
    "PWYW_PRESET",
    "SUBSCRIPTION_AMOUNT",
    "TOKEN_DECLINED",
    "TOKEN_FAILED",
    "TOKEN_REQUIRES_ACTION",
    "TOKEN_SUCCEEDED",
    "FakePolar",
    "FakePolarAdapter",
    "FakeResponse",
    "Injection",
    "RecordedRequest",
    "WebhookEvent",
    "fake_adapter",
    "get_default_fake",
    "polar_webhook",
    "set_default_fake",
]

_default_lock = threading.Lock()
_default_fake: FakePolar | None = None


def get_default_fake() -> FakePolar:
    """The process-wide fake used by ``POLAR_SERVER = "fake"`` and the mounted urls.

    During a test that uses the ``polar_fake`` fixture, this is the test's fake.
    """
    global _default_fake
    fake = _default_fake
    if fake is None:
        with _default_lock:
            if _default_fake is None:
                _default_fake = FakePolar()
            fake = _default_fake
    return fake


def set_default_fake(fake: FakePolar | None) -> FakePolar | None:
    """Replace the process-wide fake (``None``: a new one on next use); returns the old one."""
    global _default_fake
    with _default_lock:
        previous, _default_fake = _default_fake, fake
    return previous
