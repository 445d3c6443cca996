"""The customer cache's admin: who bought, which shop user that is, and what they bought.

Read-only. A customer's page links to its orders, subscriptions and checkout sessions
(the newest ten of each, and the whole filtered list when there are more).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from ..models import CheckoutSession, Customer, Order, Subscription
from .base import admin_url, related_links
from .objects import CachedObjectAdmin, amount_text


class DeletedListFilter(admin.SimpleListFilter):
    """Deleted in Polar or not (the row stays for the orders that name it)."""

    title = _("deleted in Polar")
    parameter_name = "deleted"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> Any:
        """Yes / No."""
        return (("yes", _("Yes")), ("no", _("No")))

    def queryset(self, request: HttpRequest, queryset: QuerySet[Customer]) -> QuerySet[Customer]:
        """Apply the choice."""
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset


def order_label(order: Order, empty: str) -> str:
    """``Monthly membership — 9.00 USD, Paid, 2026-11-01`` (``empty`` for no total)."""
    return gettext_now("%(product)s — %(total)s, %(status)s, %(date)s") % {
        "product": order.product_name or order.pk,
        "total": amount_text(order.total_amount, order.currency) or empty,
        "status": order.get_status_display(),
        "date": order.created_at.date().isoformat(),
    }


def subscription_label(subscription: Subscription) -> str:
    """``Monthly membership — Active, since 2026-11-01``."""
    return gettext_now("%(product)s — %(status)s, since %(date)s") % {
        "product": subscription.product_name or subscription.pk,
        "status": subscription.get_status_display(),
        "date": subscription.created_at.date().isoformat(),
    }


def checkout_label(checkout: CheckoutSession) -> str:
    """``Pro licence — Succeeded, 2026-11-01``."""
    return gettext_now("%(product)s — %(status)s, %(date)s") % {
        "product": checkout.product_name or checkout.pk,
        "status": checkout.get_status_display(),
        "date": checkout.created_at.date().isoformat(),
    }


#: The columns the related-row labels read (the payloads stay in the database).
ORDER_LABEL_FIELDS = ("pk", "product_name", "total_amount", "currency", "status", "created_at")
SUBSCRIPTION_LABEL_FIELDS = ("pk", "product_name", "status", "created_at")
CHECKOUT_LABEL_FIELDS = ("pk", "product_name", "status", "created_at")


def orders_of(queryset: QuerySet[Order], empty: str, **filters: Any) -> str | None:
    """Links to the newest orders matching ``filters`` (``customer=…``) and to all of them
    (``None`` when there is none); ``empty`` is the admin's empty value."""
    return related_links(
        queryset.filter(**filters).only(*ORDER_LABEL_FIELDS).order_by("-created_at"),
        lambda order: order_label(order, empty),
        all_url=admin_url(Order, "changelist", **filters),
        all_label=gettext_now("All %(n)d orders"),
    )


def subscriptions_of(queryset: QuerySet[Subscription], **filters: Any) -> str | None:
    """Links to the newest subscriptions matching ``filters`` and to all of them (``None``
    when there is none)."""
    return related_links(
        queryset.filter(**filters).only(*SUBSCRIPTION_LABEL_FIELDS).order_by("-created_at"),
        subscription_label,
        all_url=admin_url(Subscription, "changelist", **filters),
        all_label=gettext_now("All %(n)d subscriptions"),
    )


@admin.register(Customer)
class CustomerAdmin(CachedObjectAdmin):
    """Browse cached Polar customers; refresh them from Polar."""

    refresh_service = "refresh_customer"
    refreshed_message = ngettext_lazy(
        "Refreshed %(n)d customer from Polar.", "Refreshed %(n)d customers from Polar.", "n"
    )
    capped_message = _("Only the first %(n)d selected customers were refreshed.")
    dashboard_path = "customers/{id}"

    list_display = ("customer", "external_id", "user", "created_at", "is_deleted")
    list_display_links = ("customer",)
    list_filter = (DeletedListFilter, ("created_at", admin.DateFieldListFilter))
    search_fields = ("email", "name", "=external_id")
    search_help_text = _("Email or name, an exact external customer id or Polar customer id.")
    list_select_related = ("user",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "email",
                    "name",
                    "external_id",
                    "user",
                    "polar_link",
                    "created_at",
                    "modified_at",
                    "deleted_at",
                    "synced_at",
                )
            },
        ),
        (
            _("Purchases"),
            {"fields": ("orders_display", "subscriptions_display", "checkouts_display")},
        ),
        (_("Polar data"), {"fields": ("metadata_display", "payload_display")}),
    )
    # Every field shown is read-only: the data belongs to Polar.
    readonly_fields = tuple(flatten_fieldsets(fieldsets))

    @admin.display(description=_("customer"), ordering="email")
    def customer(self, obj: Customer) -> str:
        """Email, with the name under it when known."""
        if obj.name and obj.email:
            return format_html("{}<br><small>{}</small>", obj.email, obj.name)
        return obj.email or obj.name or str(obj.pk)

    @admin.display(description=_("deleted in Polar"), boolean=True)
    def is_deleted(self, obj: Customer) -> bool:
        """Deleted in Polar."""
        return obj.is_deleted

    @admin.display(description=_("orders"))
    def orders_display(self, obj: Customer) -> str:
        """The customer's newest orders, linked."""
        return self.or_empty(orders_of(Order.objects.all(), self.empty_value(), customer=obj.pk))

    @admin.display(description=_("subscriptions"))
    def subscriptions_display(self, obj: Customer) -> str:
        """The customer's newest subscriptions, linked."""
        return self.or_empty(subscriptions_of(Subscription.objects.all(), customer=obj.pk))

    @admin.display(description=_("checkout sessions"))
    def checkouts_display(self, obj: Customer) -> str:
        """The customer's newest checkout sessions, linked."""
        links = related_links(
            CheckoutSession.objects.filter(customer_id=obj.pk)
            .only(*CHECKOUT_LABEL_FIELDS)
            .order_by("-created_at"),
            checkout_label,
            all_url=admin_url(CheckoutSession, "changelist", customer_id=obj.pk),
            all_label=gettext_now("All %(n)d checkout sessions"),
        )
        return self.or_empty(links)
