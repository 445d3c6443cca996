"""The local cache of Polar orders: one-time purchases and every subscription payment.

Orders arrive from ``order.*`` events, the API and the sync; all go through
:class:`OrderManager` (``Order.objects``), the one upsert path. The ``order_paid`` and
``order_refunded`` signals are claimed through ``paid_notified_at`` and
``refunded_notified_amount`` (``services.orders``), each by one conditional ``UPDATE``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..money import format_amount
from ..payload.orders import (
    ORDER_FIELDS,
    PAID_STATUSES,
    PURCHASED_STATUSES,
    order_fields,
    order_wins,
)
from .base import PolarObject, PolarObjectManager, polar_link_field

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

__all__ = ["Order", "OrderBillingReason", "OrderManager", "OrderQuerySet", "OrderStatus"]


class OrderStatus(models.TextChoices):
    """Polar's order statuses (``OrderStatus`` in the 2026-10 spec)."""

    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Pending")
    PAID = "paid", _("Paid")
    REFUNDED = "refunded", _("Refunded")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    VOID = "void", _("Void")


class OrderBillingReason(models.TextChoices):
    """Why Polar created the order (``OrderBillingReason``)."""

    PURCHASE = "purchase", _("Purchase")
    SUBSCRIPTION_CREATE = "subscription_create", _("New subscription")
    SUBSCRIPTION_CYCLE = "subscription_cycle", _("Renewal")
    SUBSCRIPTION_UPDATE = "subscription_update", _("Subscription change")
    SUBSCRIPTION_METER_CYCLE = "subscription_meter_cycle", _("Usage billing")


def _ids(value: str | uuid.UUID | Iterable[str | uuid.UUID]) -> list[str]:
    if isinstance(value, (str, uuid.UUID)):
        return [str(value)]
    return [str(item) for item in value]


class OrderQuerySet(models.QuerySet["Order"]):
    """Common filters of cached orders."""

    def for_user(self, user: AbstractBaseUser | AnonymousUser | None) -> OrderQuerySet:
        """The orders of ``user``; none for an anonymous user."""
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(user=user)

    def for_product(self, product_id: str | uuid.UUID | Iterable[str | uuid.UUID]) -> OrderQuerySet:
        """The orders of one Polar product (or of any of several)."""
        return self.filter(product_id__in=_ids(product_id))

    def paid(self) -> OrderQuerySet:
        """Orders that were paid, refunded ones included."""
        return self.filter(status__in=sorted(PAID_STATUSES))

    def purchased(self) -> OrderQuerySet:
        """Paid orders not fully refunded: what a purchase grants access by."""
        return self.filter(status__in=sorted(PURCHASED_STATUSES))


#: ``Order.objects``: the queryset filters plus the upsert path.
OrderManager = PolarObjectManager.from_queryset(OrderQuerySet)

#: Longest billing reason Polar declares, with room to spare.
_REASON_LENGTH: Final = 40


class Order(PolarObject):
    """A Polar order as last seen from Polar, and the shop user who placed it (if any).

    ``customer``, ``subscription`` and ``checkout`` point at the cached rows by Polar's
    ids without a database constraint: Polar's order may name one the cache has not seen
    (yet). Their ``*_id`` columns always hold Polar's id.
    """

    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices)
    billing_reason = models.CharField(
        _("billing reason"),
        max_length=_REASON_LENGTH,
        choices=OrderBillingReason.choices,
        blank=True,
    )
    subtotal_amount = models.BigIntegerField(_("subtotal"), null=True, blank=True)
    discount_amount = models.BigIntegerField(_("discount"), null=True, blank=True)
    net_amount = models.BigIntegerField(_("net amount"), null=True, blank=True)
    tax_amount = models.BigIntegerField(_("tax amount"), null=True, blank=True)
    total_amount = models.BigIntegerField(_("total amount"), null=True, blank=True)
    refunded_amount = models.BigIntegerField(_("refunded amount"), default=0)
    refunded_tax_amount = models.BigIntegerField(_("refunded tax amount"), default=0)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    product_id = models.UUIDField(_("product id"), null=True, blank=True)
    product_name = models.CharField(_("product"), max_length=255, blank=True)
    customer = polar_link_field("polar_checkouts.Customer", _("customer"), "orders")
    subscription = polar_link_field("polar_checkouts.Subscription", _("subscription"), "orders")
    checkout = polar_link_field("polar_checkouts.CheckoutSession", _("checkout"), "orders")
    # When the cache first saw the order paid (Polar's order carries no paid date).
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    # Set by the one conditional UPDATE that sends ``order_paid``.
    paid_notified_at = models.DateTimeField(
        _("order_paid sent at"), null=True, blank=True, editable=False
    )
    # The refunded amount ``order_refunded`` was last sent for (raised by a conditional UPDATE).
    refunded_notified_amount = models.BigIntegerField(
        _("order_refunded sent for"), default=0, editable=False
    )

    polar_name = "order"
    polar_fields = ORDER_FIELDS
    parse = staticmethod(order_fields)
    wins = staticmethod(order_wins)

    objects = OrderManager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ("-created_at",)
        get_latest_by = "created_at"
        default_permissions = ("view",)
        permissions = [("sync_order", _("Can refresh and sync orders from Polar"))]
        indexes = [
            models.Index(fields=["-created_at"], name="polar_or_created_idx"),
            models.Index(fields=["status", "-created_at"], name="polar_or_status_idx"),
            # has_purchased(user, product): one index lookup.
            models.Index(fields=["user", "product_id", "status"], name="polar_or_access_idx"),
            models.Index(fields=["product_id"], name="polar_or_product_idx"),
            models.Index(fields=["currency"], name="polar_or_currency_idx"),
        ]

    def __str__(self) -> str:
        label = self.product_name or str(self.id)
        return f"{label} ({self.get_status_display()})"

    @property
    def is_paid(self) -> bool:
        """The order was paid (it may have been refunded since)."""
        return self.status in PAID_STATUSES

    @property
    def grants_access(self) -> bool:
        """Paid and not fully refunded."""
        return self.status in PURCHASED_STATUSES

    @property
    def formatted_total(self) -> str:
        """The total paid, e.g. ``20.90 USD``."""
        return format_amount(self.total_amount, self.currency)

    @property
    def formatted_refunded(self) -> str:
        """The amount refunded, e.g. ``5.00 USD`` (empty when nothing was refunded)."""
        return format_amount(self.refunded_amount, self.currency) if self.refunded_amount else ""
