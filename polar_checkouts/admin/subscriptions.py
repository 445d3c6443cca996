"""The subscription cache's admin: who may use what, and until when.

Read-only. A subscription's page links to its customer, the checkout session that
started it and its orders (the first payment and every renewal).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.utils import formats
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, ngettext_lazy

from ..models import Order, RecurringInterval, Subscription, SubscriptionStatus
from .base import OTHER_COLOUR, badge
from .customers import orders_of
from .filters import ProductIdListFilter
from .objects import CachedObjectAdmin, amount_text
from .orders import checkout_cell, customer_cell, customer_page_link

#: Badge colours per subscription status (white text on each stays readable).
SUBSCRIPTION_COLOURS: dict[str, str] = {
    SubscriptionStatus.ACTIVE: "#15803d",
    SubscriptionStatus.TRIALING: "#1d4ed8",
    SubscriptionStatus.PAST_DUE: "#b45309",
    SubscriptionStatus.UNPAID: "#b91c1c",
    SubscriptionStatus.CANCELED: "#6b7280",
    SubscriptionStatus.INCOMPLETE: "#4b5563",
    SubscriptionStatus.INCOMPLETE_EXPIRED: "#4b5563",
    SubscriptionStatus.PAUSED: "#7c3aed",
}


def interval_text(interval: str, count: int) -> str:
    """``per month``, ``every 3 months``, ``per year`` …; empty for no interval."""
    count = max(int(count or 1), 1)
    texts = {
        RecurringInterval.DAY: ngettext("per day", "every %(n)d days", count),
        RecurringInterval.WEEK: ngettext("per week", "every %(n)d weeks", count),
        RecurringInterval.MONTH: ngettext("per month", "every %(n)d months", count),
        RecurringInterval.YEAR: ngettext("per year", "every %(n)d years", count),
    }
    text = texts.get(interval)  # type: ignore[call-overload]
    return text % {"n": count} if text else ""


@admin.register(Subscription)
class SubscriptionAdmin(CachedObjectAdmin):
    """Browse cached Polar subscriptions; refresh them from Polar."""

    refresh_service = "refresh_subscription"
    refreshed_message = ngettext_lazy(
        "Refreshed %(n)d subscription from Polar.", "Refreshed %(n)d subscriptions from Polar.", "n"
    )
    capped_message = _("Only the first %(n)d selected subscriptions were refreshed.")
    dashboard_path = "sales/subscriptions/{id}"

    list_display = (
        "short_id",
        "status_display",
        "product_name",
        "customer_display",
        "amount_display",
        "current_period_end",
        "created_at",
        "user",
    )
    list_display_links = ("short_id",)
    list_filter = (
        "status",
        "cancel_at_period_end",
        "recurring_interval",
        ProductIdListFilter,
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("product_name", "customer__email", "customer__name", "=customer__external_id")
    search_help_text = _(
        "Product, customer email or name, an exact external customer id, or an exact "
        "subscription, customer or checkout id."
    )
    uuid_search_fields = ("customer_id", "checkout_id")
    list_select_related = ("customer", "user")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "status_display",
                    "polar_link",
                    "created_at",
                    "modified_at",
                    "started_at",
                    "synced_at",
                )
            },
        ),
        (
            _("Period and cancellation"),
            {
                "fields": (
                    "current_period_start",
                    "current_period_end",
                    "cancel_at_period_end",
                    "canceled_at",
                    "ends_at",
                    "ended_at",
                )
            },
        ),
        (_("Product and amount"), {"fields": ("product_name", "product_id", "amount_display")}),
        (
            _("Customer, checkout and orders"),
            {"fields": ("customer_link", "user", "checkout_link", "orders_display")},
        ),
        (
            _("Signals sent"),
            {"fields": ("activated_notified_at", "canceled_notified_at", "revoked_notified_at")},
        ),
        (_("Polar data"), {"fields": ("metadata_display", "payload_display")}),
    )
    # Every field shown is read-only: the data belongs to Polar.
    readonly_fields = tuple(flatten_fieldsets(fieldsets))

    # -- columns ------------------------------------------------------------------------------

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, obj: Subscription) -> str:
        """A coloured badge; a scheduled cancellation is said in words under it."""
        status = str(obj.status)
        colour = SUBSCRIPTION_COLOURS.get(status, OTHER_COLOUR)
        pill = badge(
            obj.get_status_display(),
            colour,
            f"polar-subscription-status polar-subscription-status-{status}",
        )
        if obj.cancel_at_period_end and obj.is_active:
            ends = obj.ends_at or obj.current_period_end
            note = (
                _("cancels on %(date)s") % {"date": formats.date_format(ends, "DATE_FORMAT")}
                if ends
                else _("cancels at period end")
            )
            return format_html("{}<br><small>{}</small>", pill, note)
        return pill

    @admin.display(description=_("customer"), ordering="customer__email")
    def customer_display(self, obj: Subscription) -> str:
        """The customer's email, linked to its page."""
        return self.or_empty(customer_cell(obj))

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, obj: Subscription) -> str:
        """``9.00 USD per month``; "Free" for a free subscription."""
        if obj.amount is None:
            return str(_("Free"))
        return format_html(
            '<span style="white-space:nowrap">{} {}</span>',
            self.or_empty(amount_text(obj.amount, obj.currency)),
            interval_text(obj.recurring_interval, obj.recurring_interval_count),
        )

    # -- links to the related rows ----------------------------------------------------------------

    @admin.display(description=_("customer"))
    def customer_link(self, obj: Subscription) -> str:
        """The customer, linked to its page."""
        return self.or_empty(customer_page_link(obj))

    @admin.display(description=_("checkout session"))
    def checkout_link(self, obj: Subscription) -> str:
        """The checkout session that started the subscription."""
        return self.or_empty(checkout_cell(obj))

    @admin.display(description=_("orders"))
    def orders_display(self, obj: Subscription) -> str:
        """The first payment and the renewals, newest first, linked."""
        return self.or_empty(
            orders_of(Order.objects.all(), self.empty_value(), subscription=obj.pk)
        )
