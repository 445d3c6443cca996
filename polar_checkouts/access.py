"""May this user see this page? Access checks on the cached subscriptions and orders.

Each check is one indexed query on the cache that webhooks (and the sync) keep current;
none calls Polar. Anonymous users (and ``None``) have no access.

* :func:`has_active_subscription` — an ``active`` or ``trialing`` subscription (to a
  product, or to any of several). Polar keeps a subscription cancelled at the period's
  end ``active`` until it revokes it, so access lasts until then. ``past_due`` (a failed
  renewal Polar is still retrying) keeps access unless the adapter's
  ``past_due_has_access()`` says otherwise.
* :func:`active_subscriptions` — those subscriptions, as a queryset.
* :func:`has_purchased` — a paid order for the product that is not fully refunded
  (one-time purchases and subscription payments alike).

For views: the :func:`subscription_required` decorator and the
:class:`SubscriptionRequiredMixin`; for templates the ``has_active_subscription`` and
``has_purchased`` filters of ``{% load polar_checkouts %}``.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url

from .adapter import get_adapter
from .models import Order, Subscription, SubscriptionQuerySet
from .payload.orders import PURCHASED_STATUSES
from .payload.subscriptions import ACTIVE_STATUSES, PAST_DUE

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser | None

__all__ = [
    "SubscriptionRequiredMixin",
    "access_statuses",
    "active_subscriptions",
    "has_active_subscription",
    "has_purchased",
    "subscription_required",
]

ProductIds = str | uuid.UUID | Iterable[str | uuid.UUID]


def access_statuses() -> list[str]:
    """The subscription statuses that give access now (``past_due`` per the adapter)."""
    statuses = set(ACTIVE_STATUSES)
    if get_adapter().past_due_has_access():
        statuses.add(PAST_DUE)
    return sorted(statuses)


def _product_ids(product_id: ProductIds) -> list[uuid.UUID]:
    """Product ids as UUIDs; a value that is not one is a mistake in the shop's code."""
    values = [product_id] if isinstance(product_id, (str, uuid.UUID)) else list(product_id)
    try:
        return [
            value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)) for value in values
        ]
    except (TypeError, ValueError, AttributeError):
        raise ValueError(f"A Polar product id is a UUID, not {product_id!r}") from None


def _signed_in(user: AnyUser) -> bool:
    return user is not None and bool(user.is_authenticated)


def _pk(user: AnyUser) -> Any:
    return getattr(user, "pk", None)


def active_subscriptions(
    user: AnyUser, product_id: ProductIds | None = None
) -> SubscriptionQuerySet:
    """The subscriptions that give ``user`` access now (of a product, if given); lazy."""
    queryset: SubscriptionQuerySet = Subscription.objects.all()
    if not _signed_in(user):
        return queryset.none()
    queryset = queryset.filter(user_id=_pk(user), status__in=access_statuses())
    if product_id is not None:
        queryset = queryset.filter(product_id__in=_product_ids(product_id))
    return queryset


def has_active_subscription(user: AnyUser, product_id: ProductIds | None = None) -> bool:
    """Whether ``user`` has a subscription giving access now (to ``product_id``, or to any
    of several ids, or to anything when ``None``). One query; none for anonymous users."""
    if not _signed_in(user):
        return False
    return active_subscriptions(user, product_id).exists()


def has_purchased(user: AnyUser, product_id: ProductIds) -> bool:
    """Whether ``user`` paid for ``product_id`` (or any of several) and was not fully
    refunded. One query; ``False`` for anonymous users."""
    if not _signed_in(user):
        return False
    return (
        Order.objects.filter(
            user_id=_pk(user),
            product_id__in=_product_ids(product_id),
            status__in=sorted(PURCHASED_STATUSES),
        )
        .only("pk")
        .exists()
    )


def _denied(request: HttpRequest, redirect_url: str | None, login_url: str | None) -> HttpResponse:
    if not _signed_in(getattr(request, "user", None)):
        return redirect_to_login(request.get_full_path(), login_url)
    if redirect_url:
        return redirect(resolve_url(redirect_url))
    raise PermissionDenied("An active subscription is required to see this page.")


def subscription_required(
    view: Callable[..., HttpResponse] | None = None,
    *,
    product_id: ProductIds | None = None,
    redirect_url: str | None = None,
    login_url: str | None = None,
) -> Any:
    """A view decorator: only users with an active subscription (to ``product_id``) pass.

    Anonymous users are sent to the login page (``login_url``, else ``LOGIN_URL``);
    signed-in users without access to ``redirect_url`` (a URL or URL name, e.g. the
    pricing page), or get a 403 when it is not given. Use it bare or with arguments::

        @subscription_required(product_id=MEMBERSHIP, redirect_url="pricing")
        def members(request): ...
    """
    if product_id is not None:
        _product_ids(product_id)  # a wrong id fails when the module loads, not per request

    def decorate(func: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(func)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if has_active_subscription(getattr(request, "user", None), product_id):
                return func(request, *args, **kwargs)
            return _denied(request, redirect_url, login_url)

        return wrapped

    return decorate(view) if view is not None else decorate


class SubscriptionRequiredMixin:
    """A class-based-view mixin doing what :func:`subscription_required` does.

    Set ``subscription_product_id`` (one id, several, or ``None`` for any subscription),
    ``subscription_redirect_url`` and ``login_url`` on the view; put the mixin first.
    """

    subscription_product_id: ProductIds | None = None
    subscription_redirect_url: str | None = None
    login_url: str | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Refuse users without access before the view runs."""
        if not has_active_subscription(
            getattr(request, "user", None), self.subscription_product_id
        ):
            return _denied(request, self.subscription_redirect_url, self.login_url)
        response: HttpResponse = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        return response
