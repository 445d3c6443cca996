"""The app's settings, read lazily from Django settings so ``override_settings`` works.

Every setting is prefixed ``POLAR_`` and has its default here. Nothing reads settings at
import time: ``polar_settings.SERVER`` looks up ``settings.POLAR_SERVER`` on each access.

Upper-case attributes are the raw values. Lower-case properties are the same settings
normalised once, here, so no caller re-parses them (``polar_settings.timeout``,
``polar_settings.webhook_secrets``, ``polar_settings.allowed_products``…).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

#: Defaults for every setting the app reads, without the ``POLAR_`` prefix.
DEFAULTS: dict[str, Any] = {
    # Server-side credential (Organization Access Token). Never sent on client_* calls.
    "ACCESS_TOKEN": None,
    # "production", "sandbox" (the safe default), "fake" (in-process fake Polar) or a base URL.
    "SERVER": "sandbox",
    # "/v1/checkouts/" (documented) or "/v1/checkouts/custom/" (the seed-era alias).
    "CHECKOUT_PATH": "/v1/checkouts/",
    # Polar's API version, sent as the Polar-Version header on every call ("YYYY-MM").
    # None sends no header: Polar's default version, or the seed era on /custom/.
    "API_VERSION": "2026-10",
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
    # Seconds after a create during which the first view of its checkout page renders
    # from the cache (Polar's create answer) instead of asking Polar again; 0 always asks.
    "CHECKOUT_FRESH_SECONDS": 10,
    # The shop's decisions (metadata, sellable products, prefill, client IP…): a subclass
    # of polar_checkouts.adapter.DefaultAdapter, by dotted path.
    "ADAPTER": "polar_checkouts.adapter.DefaultAdapter",
    # How the client's requests travel: a factory ``factory(retry) -> requests adapter``
    # (or its dotted path). None: the real network, or the fake's when SERVER is "fake".
    "TRANSPORT": None,
    # How the checkout page takes payment: PaymentProvider subclasses by dotted path, the
    # first that applies to a checkout wins. None: the default below.
    "PAYMENT_PROVIDERS": None,
    # The TASKS alias (Django's task framework) webhook events are processed on.
    "TASK_BACKEND": "default",
    # The queue of that backend; None: the task's default queue ("default").
    "TASK_QUEUE": None,
    # Seconds before a failed webhook event is retried; doubled on each failure...
    "WEBHOOK_RETRY_DELAY": 60,
    # ...up to this many seconds between two attempts.
    "WEBHOOK_RETRY_MAX_DELAY": 6 * 60 * 60,
    # Where the in-process fake Polar (SERVER = "fake") POSTs its webhook events, signed
    # with WEBHOOK_SECRET: an absolute URL, usually this site's own webhook endpoint.
    # None: the fake delivers nothing (its events stay readable in tests).
    "FAKE_WEBHOOK_URL": None,
    # Per-client limits on the storefront (polar_checkouts.ratelimit), merged over
    # DEFAULT_RATE_LIMITS: {"create": "20/m"} changes one; None as a value lifts one.
    "RATE_LIMITS": {},
    # Addresses (or networks, "10.0.0.0/8") of reverse proxies whose X-Forwarded-For
    # is believed; empty: REMOTE_ADDR is the client.
    "TRUSTED_PROXIES": (),
}

#: What one client (a signed-in user, else an IP address) may do, per view of the
#: storefront, in django-ratelimit's notation ("10/m": ten a minute).
DEFAULT_RATE_LIMITS: dict[str, str | None] = {
    # The Buy button: every press costs a Polar create with the shop's token.
    "create": "10/m",
    # The checkout page (a Polar read each time).
    "checkout": "30/m",
    # The page script's status poll, once a second while a payment settles (a Polar
    # read at most every STATUS_REFRESH_INTERVAL).
    "status": "120/m",
    # Server mode's client routes: read, update, confirm (each a Polar call).
    "client": "60/m",
    # The receipt page (a Polar read while the checkout is not final).
    "success": "30/m",
    # The customer portal redirect (a Polar customer session).
    "portal": "10/m",
}

#: The transport ``POLAR_SERVER = "fake"`` uses unless ``POLAR_TRANSPORT`` says otherwise;
#: a dotted path, imported only when the fake is asked for.
FAKE_TRANSPORT = "polar_checkouts.testing.transport.fake_transport"

#: The providers used when ``POLAR_PAYMENT_PROVIDERS`` is not set: Stripe, after the fake
#: Polar's test-payment selector when ``SERVER = "fake"`` (a path, imported only then).
STRIPE_PAYMENT_PROVIDER = "polar_checkouts.storefront.payment.StripeProvider"
FAKE_PAYMENT_PROVIDER = "polar_checkouts.testing.payment.FakePaymentProvider"

VALID_SERVERS = ("production", "sandbox", "fake")

Timeout = float | tuple[float, float]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class PolarSettings:
    """Attribute access to ``POLAR_*`` settings with the defaults above."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown polar_checkouts setting: POLAR_{name}")
        return getattr(settings, "POLAR_" + name, DEFAULTS[name])

    @property
    def timeout(self) -> Timeout:
        """``POLAR_TIMEOUT`` as one float or a ``(connect, read)`` pair of floats."""
        return normalize_timeout(self.TIMEOUT)

    @property
    def api_version(self) -> str | None:
        """``POLAR_API_VERSION``: a ``"YYYY-MM"`` string, or ``None`` (no header); ``""``
        counts as ``None``. A malformed value is kept for the client (and check E006) to refuse.
        """
        value = self.API_VERSION
        return value or None

    @property
    def webhook_secrets(self) -> list[str]:
        """``POLAR_WEBHOOK_SECRET`` as a list (several while rotating); empties dropped."""
        value = self.WEBHOOK_SECRET
        if isinstance(value, str):
            values: Sequence[Any] = [value]
        elif isinstance(value, (list, tuple)):
            values = value
        else:
            return []
        return [secret for secret in values if isinstance(secret, str) and secret]

    @property
    def fake_webhook_url(self) -> str | None:
        """``POLAR_FAKE_WEBHOOK_URL`` stripped, or ``None`` (also for ``""``): deliveries off."""
        value = self.FAKE_WEBHOOK_URL
        return (value.strip() or None) if isinstance(value, str) else None

    @property
    def allowed_products(self) -> frozenset[str] | None:
        """``POLAR_ALLOWED_PRODUCTS`` as lower-case ids, or ``None`` when all are allowed."""
        value = self.ALLOWED_PRODUCTS
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        return frozenset(str(item).strip().lower() for item in value)

    @property
    def checkout_metadata(self) -> Callable[..., Any] | None:
        """``POLAR_CHECKOUT_METADATA`` resolved to a callable (a dotted path is imported)."""
        hook = self.CHECKOUT_METADATA
        if not hook:
            return None
        if isinstance(hook, str):
            hook = import_string(hook)
        return hook

    @property
    def client_calls(self) -> str:
        """``"server"`` or ``"browser"`` (anything but ``"server"`` means the browser)."""
        return "server" if self.CLIENT_CALLS == "server" else "browser"

    @property
    def checkout_fresh_seconds(self) -> float:
        """``POLAR_CHECKOUT_FRESH_SECONDS`` as a float; ``None`` or a negative value is 0."""
        value = self.CHECKOUT_FRESH_SECONDS
        return max(float(value), 0.0) if value else 0.0

    @property
    def transport_factory(self) -> Callable[..., Any] | None:
        """``POLAR_TRANSPORT`` resolved to a callable; the fake's for ``SERVER = "fake"``."""
        value = self.TRANSPORT or None
        if value is None and self.SERVER == "fake":
            value = FAKE_TRANSPORT
        if isinstance(value, str):
            value = import_string(value)
        return value

    @property
    def payment_providers(self) -> list[Any]:
        """``POLAR_PAYMENT_PROVIDERS`` as a list of dotted paths (or classes), or the default."""
        value = self.PAYMENT_PROVIDERS
        if value is None:
            fake = [FAKE_PAYMENT_PROVIDER] if self.SERVER == "fake" else []
            return [*fake, STRIPE_PAYMENT_PROVIDER]
        if isinstance(value, (str, type)):
            return [value]
        return list(value)

    @property
    def task_backend(self) -> str:
        """``POLAR_TASK_BACKEND``: the ``TASKS`` alias webhook processing runs on."""
        return str(self.TASK_BACKEND or "default")

    @property
    def task_queue(self) -> str | None:
        """``POLAR_TASK_QUEUE``, or ``None`` for the task's default queue."""
        return str(self.TASK_QUEUE) if self.TASK_QUEUE else None

    @property
    def rate_limits(self) -> dict[str, str | None]:
        """``POLAR_RATE_LIMITS`` merged over :data:`DEFAULT_RATE_LIMITS`; ``None`` lifts one.

        ``POLAR_RATE_LIMITS = None`` lifts every limit.
        """
        value = self.RATE_LIMITS
        if value is None:
            return dict.fromkeys(DEFAULT_RATE_LIMITS)
        merged = dict(DEFAULT_RATE_LIMITS)
        merged.update({str(k): (str(v) if v else None) for k, v in dict(value).items()})
        return merged

    @property
    def trusted_proxies(self) -> tuple[IPNetwork, ...]:
        """``POLAR_TRUSTED_PROXIES`` as networks (a single address is a /32 or /128).

        A value that is not an address or network raises :class:`ValueError` (check E202
        reports it at start-up).
        """
        value = self.TRUSTED_PROXIES or ()
        if isinstance(value, str):
            value = [value]
        return tuple(ipaddress.ip_network(str(item).strip(), strict=False) for item in value)

    def webhook_retry_delay(self, attempts: int) -> timedelta:
        """How long a webhook event that failed ``attempts`` times waits for its next try:
        ``POLAR_WEBHOOK_RETRY_DELAY`` doubled per failure, capped at ``…_MAX_DELAY``."""
        base = max(float(self.WEBHOOK_RETRY_DELAY), 0.0)
        cap = max(float(self.WEBHOOK_RETRY_MAX_DELAY), base)
        exponent = min(max(attempts, 1) - 1, 32)  # 2**32 × any base is past any cap
        return timedelta(seconds=min(base * 2**exponent, cap))


def normalize_timeout(timeout: Any) -> Timeout:
    """One number, or a ``(connect, read)`` pair, as floats."""
    if isinstance(timeout, (int, float)):
        return float(timeout)
    connect, read = timeout
    return (float(connect), float(read))


polar_settings = PolarSettings()
