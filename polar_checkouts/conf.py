"""The app's settings, read lazily from Django settings so ``override_settings`` works.

Every setting is prefixed ``POLAR_`` and has its default here. Nothing reads settings at
import time: ``polar_settings.SERVER`` looks up ``settings.POLAR_SERVER`` on each access.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

#: Defaults for every setting the app reads, without the ``POLAR_`` prefix.
DEFAULTS: dict[str, Any] = {
    # Server-side credential (Organization Access Token). Never sent on client_* calls.
    "ACCESS_TOKEN": None,
    # "production", "sandbox" (the safe default), "fake" (in-process fake Polar) or a base URL.
    "SERVER": "sandbox",
    # "/v1/checkouts/" (documented) or "/v1/checkouts/custom/" (the seed-era alias).
    "CHECKOUT_PATH": "/v1/checkouts/",
    # (connect, read) seconds, or one number for both.
    "TIMEOUT": (5, 30),
    "MAX_RETRIES": 3,
    "ORGANIZATION_ID": None,
    # The organization's slug in Polar's dashboard URLs; the admin links checkouts there.
    "ORGANIZATION_SLUG": None,
    # Secret of the webhook endpoint configured in Polar's dashboard (a list while rotating).
    "WEBHOOK_SECRET": None,
    # Largest webhook body accepted, in bytes; bigger deliveries get 413.
    "WEBHOOK_MAX_BODY": 1024 * 1024,
    # Product ids the storefront may sell; None allows every product.
    "ALLOWED_PRODUCTS": None,
    # "browser": the checkout page calls Polar's client routes directly; "server": through
    # this app's own endpoints.
    "CLIENT_CALLS": "browser",
    # Storefront hook: a callable (or its dotted path) taking (request, form data) and
    # returning the metadata dict of a new checkout (cart or order id…), or None.
    "CHECKOUT_METADATA": None,
    # Seconds between two Polar reads for one checkout by the status and success pages.
    "STATUS_REFRESH_INTERVAL": 2,
}

VALID_SERVERS = ("production", "sandbox", "fake")


class PolarSettings:
    """Attribute access to ``POLAR_*`` settings with the defaults above."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown polar_checkouts setting: POLAR_{name}")
        return getattr(settings, "POLAR_" + name, DEFAULTS[name])


polar_settings = PolarSettings()
