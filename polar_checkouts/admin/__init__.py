"""The Django admin of the Polar cache and the webhook event log (read-only).

Django's autodiscovery imports this package; importing the admin modules registers
``CheckoutSession``, ``Customer``, ``Order``, ``Subscription`` and ``WebhookEvent``.
Shared parts live in :mod:`.base` (and, for the three cached objects after a checkout,
:mod:`.objects`), the list filters in :mod:`.filters`, the overview page's numbers and
chart in :mod:`.overview`.
"""

from __future__ import annotations

from .checkouts import CheckoutSessionAdmin
from .customers import CustomerAdmin
from .orders import OrderAdmin
from .subscriptions import SubscriptionAdmin
from .webhooks import WebhookEventAdmin

__all__ = [
    "CheckoutSessionAdmin",
    "CustomerAdmin",
    "OrderAdmin",
    "SubscriptionAdmin",
    "WebhookEventAdmin",
]
