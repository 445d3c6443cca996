"""The local cache of Polar customers: who bought, and which Django user that is.

A customer arrives from ``customer.*`` events, the API, or embedded in an order or a
subscription; all go through :class:`CustomerManager` (``Customer.objects``), the one
upsert path. ``user`` is resolved from Polar's ``external_id`` by the adapter
(``DefaultAdapter.user_for_external_customer_id``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..payload.customers import CUSTOMER_FIELDS, customer_fields, customer_wins
from .base import PolarObject, PolarObjectManager

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

__all__ = ["Customer", "CustomerManager", "CustomerQuerySet"]


class CustomerQuerySet(models.QuerySet["Customer"]):
    """Common filters of cached customers."""

    def for_user(self, user: AbstractBaseUser | AnonymousUser | None) -> CustomerQuerySet:
        """The Polar customers of ``user``; none for an anonymous user."""
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(user=user)

    def for_email(self, email: str) -> CustomerQuerySet:
        """The customers with this email (case-insensitive)."""
        return self.filter(email__iexact=email)

    def live(self) -> CustomerQuerySet:
        """Customers not deleted in Polar."""
        return self.filter(deleted_at__isnull=True)


#: ``Customer.objects``: the queryset filters plus the upsert path.
CustomerManager = PolarObjectManager.from_queryset(CustomerQuerySet)


class Customer(PolarObject):
    """A Polar customer as last seen from Polar, and the shop user it is (if any)."""

    external_id = models.CharField(
        _("external customer id"), max_length=255, blank=True, db_index=True
    )
    email = models.CharField(_("email"), max_length=320, blank=True)
    name = models.CharField(_("name"), max_length=255, blank=True)
    deleted_at = models.DateTimeField(_("deleted at (Polar)"), null=True, blank=True)

    polar_name = "customer"
    polar_fields = CUSTOMER_FIELDS
    parse = staticmethod(customer_fields)
    wins = staticmethod(customer_wins)

    objects = CustomerManager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ("-created_at",)
        get_latest_by = "created_at"
        default_permissions = ("view",)
        permissions = [("sync_customer", _("Can refresh and sync customers from Polar"))]
        indexes = [
            models.Index(fields=["-created_at"], name="polar_cu_created_idx"),
            models.Index(fields=["email"], name="polar_cu_email_idx"),
        ]

    def __str__(self) -> str:
        return self.email or self.name or str(self.id)

    @property
    def is_deleted(self) -> bool:
        """Deleted in Polar (the row is kept for the orders and subscriptions that name it)."""
        return self.deleted_at is not None
