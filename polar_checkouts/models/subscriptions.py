"""The local cache of Polar subscriptions: who may use what, right now.

Subscriptions arrive from ``subscription.*`` events, embedded in orders, from the API
and the sync; all go through :class:`SubscriptionManager` (``Subscription.objects``), the
one upsert path. The lifecycle signals are claimed through ``activated_notified_at``,
``canceled_notified_at`` and ``revoked_notified_at`` (``services.subscriptions``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..money import format_amount
from ..payload.subscriptions import (
    ACTIVE_STATUSES,
    SUBSCRIPTION_FIELDS,
    is_revoked,
    subscription_fields,
    subscription_wins,
)
from .base import PolarObject, PolarObjectManager, polar_link_field

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

__all__ = [
    "RecurringInterval",
    "Subscription",
    "SubscriptionManager",
    "SubscriptionQuerySet",
    "SubscriptionStatus",
]


class SubscriptionStatus(models.TextChoices):
    """Polar's subscription statuses (``SubscriptionStatus`` in the 2026-10 spec)."""

    INCOMPLETE = "incomplete", _("Incomplete")
    INCOMPLETE_EXPIRED = "incomplete_expired", _("Incomplete, expired")
    TRIALING = "trialing", _("Trialing")
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Past due")
    CANCELED = "canceled", _("Canceled")
    UNPAID = "unpaid", _("Unpaid")
    PAUSED = "paused", _("Paused")


class RecurringInterval(models.TextChoices):
    """How often a subscription renews (``RecurringInterval``)."""

    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")
    YEAR = "year", _("Year")


class SubscriptionQuerySet(models.QuerySet["Subscription"]):
    """Common filters of cached subscriptions."""

    def for_user(self, user: AbstractBaseUser | AnonymousUser | None) -> SubscriptionQuerySet:
        """The subscriptions of ``user``; none for an anonymous user."""
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(user=user)

    def for_product(
        self, product_id: str | uuid.UUID | Iterable[str | uuid.UUID]
    ) -> SubscriptionQuerySet:
        """The subscriptions of one Polar product (or of any of several)."""
        if isinstance(product_id, (str, uuid.UUID)):
            return self.filter(product_id=product_id)
        return self.filter(product_id__in=[str(item) for item in product_id])

    def active(self) -> SubscriptionQuerySet:
        """``active`` or ``trialing`` (cancelled at period end included, until revoked)."""
        return self.filter(status__in=sorted(ACTIVE_STATUSES))


#: ``Subscription.objects``: the queryset filters plus the upsert path.
SubscriptionManager = PolarObjectManager.from_queryset(SubscriptionQuerySet)


class Subscription(PolarObject):
    """A Polar subscription as last seen from Polar, and the shop user it belongs to.

    ``customer`` and ``checkout`` point at the cached rows by Polar's ids without a
    database constraint (Polar may name one the cache has not seen yet).
    """

    status = models.CharField(_("status"), max_length=20, choices=SubscriptionStatus.choices)
    amount = models.BigIntegerField(_("amount"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    recurring_interval = models.CharField(
        _("renews every"), max_length=10, choices=RecurringInterval.choices, blank=True
    )
    recurring_interval_count = models.PositiveIntegerField(_("interval count"), default=1)
    current_period_start = models.DateTimeField(_("period start"), null=True, blank=True)
    current_period_end = models.DateTimeField(_("period end"), null=True, blank=True)
    cancel_at_period_end = models.BooleanField(_("cancels at period end"), default=False)
    canceled_at = models.DateTimeField(_("canceled at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    product_id = models.UUIDField(_("product id"), null=True, blank=True)
    product_name = models.CharField(_("product"), max_length=255, blank=True)
    customer = polar_link_field("polar_checkouts.Customer", _("customer"), "subscriptions")
    checkout = polar_link_field("polar_checkouts.CheckoutSession", _("checkout"), "subscriptions")
    # Each set by the one conditional UPDATE that sends the signal of that name.
    activated_notified_at = models.DateTimeField(
        _("subscription_activated sent at"), null=True, blank=True, editable=False
    )
    canceled_notified_at = models.DateTimeField(
        _("subscription_canceled sent at"), null=True, blank=True, editable=False
    )
    revoked_notified_at = models.DateTimeField(
        _("subscription_revoked sent at"), null=True, blank=True, editable=False
    )

    polar_name = "subscription"
    polar_fields = SUBSCRIPTION_FIELDS
    parse = staticmethod(subscription_fields)
    wins = staticmethod(subscription_wins)

    objects = SubscriptionManager()

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ("-created_at",)
        get_latest_by = "created_at"
        default_permissions = ("view",)
        permissions = [("sync_subscription", _("Can refresh and sync subscriptions from Polar"))]
        indexes = [
            models.Index(fields=["-created_at"], name="polar_su_created_idx"),
            models.Index(fields=["status", "-created_at"], name="polar_su_status_idx"),
            # has_active_subscription(user[, product]): one index lookup either way.
            models.Index(fields=["user", "status"], name="polar_su_user_status_idx"),
            models.Index(fields=["user", "product_id", "status"], name="polar_su_access_idx"),
            models.Index(fields=["product_id", "status"], name="polar_su_product_idx"),
            models.Index(fields=["current_period_end"], name="polar_su_period_end_idx"),
        ]

    def __str__(self) -> str:
        label = self.product_name or str(self.id)
        return f"{label} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        """``active`` or ``trialing`` (a cancellation at period end keeps it active)."""
        return self.status in ACTIVE_STATUSES

    @property
    def is_canceled(self) -> bool:
        """A cancellation is scheduled or made (``canceled_at`` set), or it was revoked."""
        return self.canceled_at is not None or self.is_revoked

    @property
    def is_revoked(self) -> bool:
        """Polar revoked it: access has ended."""
        return is_revoked(self.status)

    @property
    def formatted_amount(self) -> str:
        """The recurring amount, e.g. ``9.00 USD``."""
        return format_amount(self.amount, self.currency)
