"""A fake Polar for tests, demos and offline development.

One implementation, three ways in:

* the pytest fixture ``polar_fake`` (this package's pytest plugin): every
  :class:`~polar_checkouts.client.PolarClient` built during the test without a transport
  of its own talks to a fresh :class:`FakePolar`, with no network (the fixture sets the
  client's default transport, :func:`polar_checkouts.client.default_transport`);
* ``POLAR_SERVER = "fake"``: the client's transport is
  :data:`~.transport.fake_transport` (the default of ``POLAR_TRANSPORT``), answering from
  :func:`get_default_fake`, and ``polar_checkouts.testing.urls`` serves that same fake
  over HTTP (with CORS) so a browser reaches its client routes;
* ``python -m polar_checkouts.testing.server``: a standalone HTTP server.

It answers as the ``Polar-Version`` asked for (:data:`API_VERSIONS`, default
:data:`DEFAULT_API_VERSION`), and as the seed era on ``/v1/checkouts/custom/`` without one.
"""

from __future__ import annotations

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
from .default import get_default_fake, set_default_fake
from .fake import FakePolar, FakeResponse, RecordedRequest
from .faults import Injection
from .transport import FakePolarAdapter, FakeTransport, fake_adapter, fake_transport
from .versions import API_VERSIONS, DEFAULT_API_VERSION
from .webhooks import SentWebhook, polar_webhook

__all__ = [
    "API_VERSIONS",
    "DEFAULT_API_VERSION",
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
    "FakeTransport",
    "Injection",
    "RecordedRequest",
    "SentWebhook",
    "fake_adapter",
    "fake_transport",
    "get_default_fake",
    "polar_webhook",
    "set_default_fake",
]
