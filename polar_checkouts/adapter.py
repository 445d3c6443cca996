"""The shop's decisions, in one class a shop can subclass.

``POLAR_ADAPTER`` names the class (default :class:`DefaultAdapter`); :func:`get_adapter`
returns an instance of the configured one. Override a method to change one decision:

.. code-block:: python

    from polar_checkouts.adapter import DefaultAdapter

    class ShopAdapter(DefaultAdapter):
        def checkout_metadata(self, request, data):
            return {"cart": str(request.session.get("cart_id", ""))}

Signals stay for things that happened (``checkout_succeeded``); the adapter answers
questions the app asks before acting.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.http import HttpRequest
from django.utils import translation
from django.utils.module_loading import import_string

from .conf import IPNetwork, polar_settings

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class DefaultAdapter:
    """What a shop decides, with defaults that read the ``POLAR_*`` settings."""

    def checkout_user(self, request: HttpRequest) -> AbstractBaseUser | None:
        """The signed-in user a new checkout belongs to, or ``None`` for a guest."""
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return user

    def checkout_metadata(self, request: HttpRequest, data: Mapping[str, Any]) -> dict[str, Any]:
        """Metadata for a new checkout (a cart or order id…); ``{}`` for none.

        ``data`` is the validated button form. Raise
        :class:`django.core.exceptions.ValidationError` to refuse the purchase with its
        message. The default calls ``POLAR_CHECKOUT_METADATA`` when it is set.
        """
        hook = polar_settings.checkout_metadata
        if hook is None:
            return {}
        result = hook(request, data)
        if result is None:
            return {}
        if not isinstance(result, Mapping):
            raise TypeError(
                f"POLAR_CHECKOUT_METADATA must return a dict or None, not {type(result).__name__}"
            )
        return dict(result)

    def allowed_products(self, request: HttpRequest | None = None) -> frozenset[str] | None:
        """Lower-case ids of the products the storefront may sell; ``None``: every one.

        The default is ``POLAR_ALLOWED_PRODUCTS``.
        """
        return polar_settings.allowed_products

    def is_product_allowed(self, product_id: str, request: HttpRequest | None = None) -> bool:
        """Whether the storefront may start a checkout for ``product_id``."""
        allowed = self.allowed_products(request)
        return allowed is None or str(product_id).strip().lower() in allowed

    def prefill(self, request: HttpRequest) -> dict[str, Any]:
        """Buyer fields a new checkout starts with: the signed-in user's email and name.

        Polar may refuse a prefilled value (an email domain that cannot receive mail);
        the storefront then creates the checkout without the prefill.
        """
        user = self.checkout_user(request)
        if user is None:
            return {}
        full_name = getattr(user, "get_full_name", None)
        return {
            "customer_email": getattr(user, "email", "") or None,
            "customer_name": (full_name() if callable(full_name) else "") or None,
        }

    def checkout_locale(self, request: HttpRequest) -> str | None:
        """The ``locale`` of a new checkout, the language of Polar's pages and emails for it.

        The request's active Django language as Polar takes it (:func:`polar_locale`:
        ``pt-br`` becomes ``pt-BR``); ``None`` sends none (Polar then uses English).
        """
        return polar_locale(translation.get_language())

    def client_ip(self, request: HttpRequest) -> str | None:
        """The buyer's IP address, for Polar's tax and fraud checks and the storefront's
        per-client limits; ``None`` if unknown.

        ``REMOTE_ADDR``, unless it is one of ``POLAR_TRUSTED_PROXIES``: then
        ``X-Forwarded-For`` is read from the right, skipping the trusted proxies, and the
        first other address is the client. What is further left was written by the
        client itself and is never believed; without trusted proxies the header is
        ignored entirely.
        """
        remote = _ip(request.META.get("REMOTE_ADDR"))
        if remote is None:
            return None
        proxies = polar_settings.trusted_proxies
        if not proxies or not _within(remote, proxies):
            return str(remote)
        hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        client = remote
        for hop in reversed(hops):
            if not hop.strip():
                continue
            address = _ip(hop)
            if address is None:
                # A trusted proxy appends only what it saw: garbage here means a proxy
                # that is not the shop's wrote it, so nobody is named rather than
                # anyone.
                return None
            client = address
            if not _within(address, proxies):
                break
        return str(client)

    def external_customer_id(self, user: AbstractBaseUser) -> str | None:
        """The id Polar keeps for ``user`` as ``external_customer_id`` (its primary key).

        Override it together with :meth:`user_for_external_customer_id`, its inverse.
        """
        return None if user.pk is None else str(user.pk)

    def user_for_external_customer_id(self, external_id: str) -> AbstractBaseUser | None:
        """The shop user Polar's ``external_customer_id`` names, or ``None`` (a guest, or no
        such user). The default reads it as a primary key (the inverse of
        :meth:`external_customer_id`)."""
        return self.users_for_external_customer_ids([external_id]).get(external_id)

    def users_for_external_customer_ids(
        self, external_ids: Iterable[str]
    ) -> dict[str, AbstractBaseUser]:
        """:meth:`user_for_external_customer_id` for many ids at once (a sync's page).

        The default is one query by primary key; when a subclass overrides only
        :meth:`user_for_external_customer_id`, each id is looked up through it.
        """
        wanted = {str(value) for value in external_ids if value}
        if type(self).user_for_external_customer_id is not (
            DefaultAdapter.user_for_external_customer_id
        ):
            found = {value: self.user_for_external_customer_id(value) for value in wanted}
            return {key: user for key, user in found.items() if user is not None}
        user_model = get_user_model()
        keys: dict[Any, str] = {}
        for value in wanted:
            try:
                keys[user_model._meta.pk.to_python(value)] = value
            except (ValidationError, TypeError, ValueError):
                continue  # not a primary key of this user model: nobody
        if not keys:
            return {}
        users = user_model._default_manager.in_bulk(list(keys))
        return {keys[pk]: user for pk, user in users.items() if pk in keys}

    def past_due_has_access(self) -> bool:
        """Whether a ``past_due`` subscription (a failed renewal Polar is still retrying)
        keeps its access; the default, like Polar's own benefits, says yes."""
        return True


_LANGUAGE_CODE = re.compile(r"[a-zA-Z]{2,3}")
_REGION = re.compile(r"[a-zA-Z]{2}|[0-9]{3}")


def polar_locale(language_code: str | None) -> str | None:
    """A Django language code as the BCP 47 tag Polar's checkout ``locale`` accepts.

    Language, then a region when there is one (``fr``, ``pt-BR``, ``es-419``); a script
    or variant subtag is dropped (``zh-hans`` is ``zh``), since some Polar versions take
    only ``language[-REGION]``. ``None`` for no language or one that is not a code.
    """
    if not language_code:
        return None
    language, _, rest = language_code.replace("_", "-").partition("-")
    if not _LANGUAGE_CODE.fullmatch(language):
        return None
    region = rest.split("-", 1)[0]
    if _REGION.fullmatch(region):
        return f"{language.lower()}-{region.upper()}"
    return language.lower()


def _ip(value: str | None) -> IPAddress | None:
    """``value`` as an address (IPv4-mapped IPv6 unwrapped), or ``None``."""
    try:
        address = ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _within(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def get_adapter() -> DefaultAdapter:
    """An instance of ``POLAR_ADAPTER`` (read on each call, so ``override_settings`` works)."""
    path = polar_settings.ADAPTER
    cls = import_string(path) if isinstance(path, str) else path
    if not (isinstance(cls, type) and issubclass(cls, DefaultAdapter)):
        raise ImproperlyConfigured(
            f"POLAR_ADAPTER must name a subclass of "
            f"polar_checkouts.adapter.DefaultAdapter, not {path!r}"
        )
    return cls()
