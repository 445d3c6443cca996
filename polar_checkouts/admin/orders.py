"""The order cache's admin: every one-time purchase and subscription payment.

Read-only. An order's page links to its customer, its subscription and the checkout
session it came from; the list shows the customer from one join (no query per row).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import Model
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from ..models import CheckoutSession, Customer, Order, OrderStatus, Subscription
from .base import OTHER_COLOUR, badge, change_link
from .filters import CurrencyListFilter, ProductIdListFilter
from .objects import CachedObjectAdmin, amount_text

#: Badge colours per order status (white text on each stays readable).
ORDER_COLOURS: dict[str, str] = {
    OrderStatus.PAID: "#15803d",
    OrderStatus.PENDING: "#b45309",
    OrderStatus.DRAFT: "#1d4ed8",
    OrderStatus.PARTIALLY_REFUNDED: "#9a3412",
    OrderStatus.REFUNDED: "#6b7280",
    OrderStatus.VOID: "#4b5563",
}


def cached(model: type[Model], pk: Any, *fields: str) -> Any:
    """The cached row ``pk`` of ``model`` (only ``fields`` loaded, when given), or
    ``None`` (Polar named one the cache has not seen)."""
    if pk is None:
        return None
    rows = model._default_manager.filter(pk=pk)
    return (rows.only(*fields) if fields else rows).first()


def customer_cell(obj: Any) -> str | None:
    """The customer of an order or subscription (joined by ``list_select_related``),
    linked to its page; its id marked "not cached" when the cache lacks it."""
    customer = obj.customer
    if customer is None:
        return change_link(Customer, obj.customer_id, obj.customer_id, exists=False)
    return change_link(Customer, customer.pk, customer.email or customer.name or customer.pk)


def customer_page_link(obj: Any) -> str | None:
    """The customer of an order or subscription, read on its own (a detail page), linked."""
    customer = cached(Customer, obj.customer_id, "pk", "email", "name")
    if customer is None:
        return change_link(Customer, obj.customer_id, obj.customer_id, exists=False)
    return change_link(Customer, customer.pk, customer)


def checkout_cell(obj: Any) -> str | None:
    """The checkout session an order or subscription came from, linked."""
    checkout = cached(CheckoutSession, obj.checkout_id, "pk")
    return change_link(CheckoutSession, obj.checkout_id, obj.checkout_id, exists=bool(checkout))


@admin.register(Order)
class OrderAdmin(CachedObjectAdmin):
    """Browse cached Polar orders; refresh them from Polar."""

    refresh_service = "refresh_order"
    refreshed_message = ngettext_lazy(
        "Refreshed %(n)d order from Polar.", "Refreshed %(n)d orders from Polar.", "n"
    )
    capped_message = _("Only the first %(n)d selected orders were refreshed.")
    dashboard_path = "sales/{id}"

    list_display = (
        "short_id",
        "status_display",
        "product_name",
        "customer_display",
        "total_display",
        "billing_reason",
        "created_at",
        "user",
    )
    list_display_links = ("short_id",)
    list_filter = (
        "status",
        "billing_reason",
        CurrencyListFilter,
        ProductIdListFilter,
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("product_name", "customer__email", "customer__name", "=customer__external_id")
    search_help_text = _(
        "Product, customer email or name, an exact external customer id, or an exact "
        "order, customer, subscription or checkout id."
    )
    uuid_search_fields = ("customer_id", "subscription_id", "checkout_id")
    list_select_related = ("customer", "user")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "status_display",
                    "billing_reason",
                    "polar_link",
                    "created_at",
                    "modified_at",
                    "paid_at",
                    "synced_at",
                )
            },
        ),
        (
            _("Product and amounts"),
            {
                "fields": (
                    "product_name",
                    "product_id",
                    "subtotal_display",
                    "discount_display",
                    "net_display",
                    "tax_display",
                    "total_display",
                    "refunded_display",
                )
            },
        ),
        (
            _("Customer, subscription and checkout"),
            {"fields": ("customer_link", "user", "subscription_link", "checkout_link")},
        ),
        (_("Signals sent"), {"fields": ("paid_notified_at", "refunded_notified_display")}),
        (_("Polar data"), {"fields": ("metadata_display", "payload_display")}),
    )
    # Every field shown is read-only: the data belongs to Polar.
    readonly_fields = tuple(flatten_fieldsets(fieldsets))

    # -- columns ------------------------------------------------------------------------------

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, obj: Order) -> str:
        """A coloured badge."""
        status = str(obj.status)
        colour = ORDER_COLOURS.get(status, OTHER_COLOUR)
        return badge(
            obj.get_status_display(), colour, f"polar-order-status polar-order-status-{status}"
        )

    @admin.display(description=_("customer"), ordering="customer__email")
    def customer_display(self, obj: Order) -> str:
        """The customer's email, linked to its page."""
        return self.or_empty(customer_cell(obj))

    @admin.display(description=_("total"), ordering="total_amount")
    def total_display(self, obj: Order) -> str:
        """``20.90 USD``, with what was refunded of it."""
        total = self.or_empty(amount_text(obj.total_amount, obj.currency))
        if obj.refunded_amount:
            return format_html(
                '<span style="white-space:nowrap">{}</span><br><small>{}</small>',
                total,
                _("refunded %(amount)s") % {"amount": obj.formatted_refunded},
            )
        return format_html('<span style="white-space:nowrap">{}</span>', total)

    @admin.display(description=_("subtotal"))
    def subtotal_display(self, obj: Order) -> str:
        """Before discount and tax."""
        return self.or_empty(amount_text(obj.subtotal_amount, obj.currency))

    @admin.display(description=_("discount"))
    def discount_display(self, obj: Order) -> str:
        """The discount applied."""
        return self.or_empty(amount_text(obj.discount_amount, obj.currency))

    @admin.display(description=_("net amount"))
    def net_display(self, obj: Order) -> str:
        """After discount, before tax."""
        return self.or_empty(amount_text(obj.net_amount, obj.currency))

    @admin.display(description=_("tax"))
    def tax_display(self, obj: Order) -> str:
        """Tax charged."""
        return self.or_empty(amount_text(obj.tax_amount, obj.currency))

    @admin.display(description=_("refunded"))
    def refunded_display(self, obj: Order) -> str:
        """Amount and tax refunded so far."""
        if not obj.refunded_amount:
            return self.or_empty(None)
        return _("%(amount)s (of which tax %(tax)s)") % {
            "amount": obj.formatted_refunded,
            "tax": self.or_empty(amount_text(obj.refunded_tax_amount, obj.currency)),
        }

    @admin.display(description=_("order_refunded sent for"))
    def refunded_notified_display(self, obj: Order) -> str:
        """The refunded amount ``order_refunded`` was last sent for."""
        return self.or_empty(amount_text(obj.refunded_notified_amount or None, obj.currency))

    # -- links to the related rows ----------------------------------------------------------------

    @admin.display(description=_("customer"))
    def customer_link(self, obj: Order) -> str:
        """The customer, linked to its page."""
        return self.or_empty(customer_page_link(obj))

    @admin.display(description=_("subscription"))
    def subscription_link(self, obj: Order) -> str:
        """The subscription this order pays for, linked (none for a one-time purchase)."""
        subscription = cached(Subscription, obj.subscription_id, "pk", "product_name", "status")
        if subscription is None:
            link = change_link(Subscription, obj.subscription_id, obj.subscription_id, exists=False)
            return self.or_empty(link)
        return self.or_empty(change_link(Subscription, subscription.pk, subscription))

    @admin.display(description=_("checkout session"))
    def checkout_link(self, obj: Order) -> str:
        """The checkout session that created the order (none for a renewal)."""
        return self.or_empty(checkout_cell(obj))
