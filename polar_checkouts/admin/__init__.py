"""The Django admin of the checkout cache and the webhook event log (read-only).

Django's autodiscovery imports this package; importing the two admin modules registers
``CheckoutSession`` and ``WebhookEvent``. Shared parts live in :mod:`.base`, the list
filters in :mod:`.filters`, the overview page's numbers and chart in :mod:`.overview`.
"""

from __future__ import annotations

from .checkouts import CheckoutSessionAdmin
from .webhooks import WebhookEventAdmin

__all__ = ["CheckoutSessionAdmin", "WebhookEventAdmin"]
