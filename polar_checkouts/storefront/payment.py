"""Payment providers: how a checkout page takes the card, one class per provider.

A provider is a template (included by the checkout page inside its ``payment`` block)
plus a script of its own, with a little configuration for that script. The page asks
:func:`provider_for` which provider serves a checkout; ``POLAR_PAYMENT_PROVIDERS``
lists the candidates in order and the first whose :meth:`PaymentProvider.applies_to`
says yes wins. No candidate: the page says payment is unavailable.

A provider may also define ``browser_api_root(request) -> str | None``: where a browser
reaches Polar's client routes for its checkouts (``None``: a browser cannot reach them,
so the page sends its calls through this app). It is asked before the transport's; see
:func:`polar_checkouts.storefront.context.browser_api_root`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.module_loading import import_string

from ..conf import polar_settings

#: ``config.payment.provider`` when no provider can take the payment.
UNAVAILABLE = "unavailable"


class PaymentProvider:
    """One way to pay on the checkout page; subclass it and list it in the setting."""

    #: ``config.payment.provider`` for the page's script, and its registry key there.
    name: str = ""
    #: Included by ``checkout.html`` inside its ``payment`` block.
    template_name: str = ""

    def applies_to(self, checkout: Mapping[str, Any]) -> bool:
        """Whether this provider can take the payment of ``checkout`` (Polar's payload)."""
        raise NotImplementedError

    def script_config(self, request: HttpRequest, checkout: Mapping[str, Any]) -> dict[str, Any]:
        """What the provider's script needs, as JSON-ready data (``provider`` is added)."""
        return {}

    def page_config(self, request: HttpRequest, checkout: Mapping[str, Any]) -> dict[str, Any]:
        """The page config's ``payment`` object: :meth:`script_config` plus the name."""
        return {**self.script_config(request, checkout), "provider": self.name}


def publishable_key(checkout: Mapping[str, Any]) -> str:
    """The Stripe publishable key Polar gives a checkout (``""`` when it has none)."""
    metadata = checkout.get("payment_processor_metadata") or {}
    if not isinstance(metadata, Mapping):
        return ""
    return str(metadata.get("publishable_key") or "")


class StripeProvider(PaymentProvider):
    """Stripe's Payment Element, for the checkouts Polar processes through Stripe."""

    name = "stripe"
    template_name = "polar_checkouts/payment/stripe.html"

    def applies_to(self, checkout: Mapping[str, Any]) -> bool:
        """Polar gave this checkout a Stripe publishable key."""
        return bool(publishable_key(checkout))

    def script_config(self, request: HttpRequest, checkout: Mapping[str, Any]) -> dict[str, Any]:
        """Stripe.js needs the publishable key."""
        return {"publishableKey": publishable_key(checkout) or None}


def load_provider(path: Any) -> PaymentProvider:
    """An instance of the provider class named by ``path`` (a dotted path or the class)."""
    cls = import_string(path) if isinstance(path, str) else path
    if not (isinstance(cls, type) and issubclass(cls, PaymentProvider)):
        raise ImproperlyConfigured(
            "POLAR_PAYMENT_PROVIDERS must list subclasses of "
            f"polar_checkouts.storefront.payment.PaymentProvider, not {path!r}"
        )
    return cls()


def payment_providers() -> list[PaymentProvider]:
    """The configured providers, in order (read on each call: ``override_settings`` works)."""
    return [load_provider(path) for path in polar_settings.payment_providers]


def provider_for(checkout: Mapping[str, Any]) -> PaymentProvider | None:
    """The first configured provider that can take ``checkout``'s payment, or ``None``."""
    for provider in payment_providers():
        if provider.applies_to(checkout):
            return provider
    return None
