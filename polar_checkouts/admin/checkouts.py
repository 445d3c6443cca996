"""The checkout cache's admin: list, detail, refresh, sync and the overview page.

The data comes from Polar, so nothing here edits it: staff with the ``view`` permission
browse; staff with ``polar_checkouts.sync_checkoutsession`` may also refresh rows and
run a sync. Every Polar call goes through :mod:`polar_checkouts.services`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from django.views.decorators.http import require_POST

from .. import services
from ..conf import polar_settings
from ..exceptions import PolarError
from ..masking import mask_secret, mask_secrets_in
from ..models import CheckoutSession, CheckoutStatus, Customer, Order, Subscription
from ..money import format_amount
from ..signals import ReceiverError
from .base import (
    OTHER_COLOUR,
    STATUS_COLOURS,
    badge,
    change_link,
    polar_dashboard_url,
)
from .customers import orders_of, subscriptions_of
from .filters import (
    CheckoutChangeList,
    CurrencyListFilter,
    ExpiredListFilter,
    ProductListFilter,
)
from .objects import MAX_REFRESH as MAX_REFRESH  # re-exported: its home before the mixin
from .objects import PolarObjectAdmin
from .overview import build_overview, overview_context


def dashboard_url(checkout: CheckoutSession) -> str | None:
    """The checkout's page in Polar's dashboard, when the server and slug are known."""
    return polar_dashboard_url(f"sales/checkouts/{checkout.pk}", checkout.payload)


def status_badge(checkout: CheckoutSession) -> str:
    """The status as a coloured pill; an open checkout past its expiry reads "Expired"."""
    status = checkout.effective_status
    label = dict(CheckoutStatus.choices).get(status, status)
    colour = STATUS_COLOURS.get(status, OTHER_COLOUR)
    pill = badge(label, colour, f"polar-status polar-status-{status}")
    if status != checkout.status:
        # Under the pill, so the column stays narrow.
        return format_html(
            '{}<small class="polar-status-note">{}</small>', pill, _("still open in Polar")
        )
    return pill


@admin.register(CheckoutSession)
class CheckoutSessionAdmin(PolarObjectAdmin):
    """Browse cached checkout sessions; refresh (the shared mixin) or sync them from Polar."""

    refresh_service = "refresh_checkout"
    refreshed_message = ngettext_lazy(
        "Refreshed %(n)d checkout session from Polar.",
        "Refreshed %(n)d checkout sessions from Polar.",
        "n",
    )
    capped_message = _("Only the first %(n)d selected checkout sessions were refreshed.")

    # Fits a 1280 px screen beside the admin's navigation and the filters: the expiry is
    # in the status ("Expired") and on the detail page, the date is written short, the
    # shop's user is shown with the customer.
    list_display = (
        "short_id",
        "status_display",
        "product_name",
        "customer",
        "total_display",
        "created_display",
    )
    list_display_links = ("short_id",)
    list_filter = (
        "status",
        ExpiredListFilter,
        CurrencyListFilter,
        ProductListFilter,
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("customer_email", "customer_name", "product_name")
    search_help_text = _("Customer email or name, product name, or an exact checkout id.")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    list_select_related = ("user",)
    #: How far back the "Sync from Polar" button reads (``None``: everything).
    sync_window: dt.timedelta | None = dt.timedelta(days=30)
    change_list_template = "admin/polar_checkouts/checkoutsession/change_list.html"
    change_form_template = "admin/polar_checkouts/checkoutsession/change_form.html"
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
                    "expires_at",
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
                    "product_price_id",
                    "amount_display",
                    "tax_display",
                    "total_display",
                )
            },
        ),
        (
            _("Customer"),
            {
                "fields": (
                    "customer_email",
                    "customer_name",
                    "customer_link",
                    "user",
                    "ip_address",
                )
            },
        ),
        (_("Orders and subscriptions"), {"fields": ("orders_display", "subscriptions_display")}),
        (
            _("Polar data"),
            {"fields": ("masked_client_secret", "metadata_display", "payload_display")},
        ),
    )
    # Every field shown is read-only: the data belongs to Polar.
    readonly_fields = tuple(flatten_fieldsets(fieldsets))

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        """The changelist with the cheap date hierarchy."""
        return CheckoutChangeList

    # -- columns -------------------------------------------------------------------------

    @admin.display(description=_("checkout"), ordering="pk")
    def short_id(self, obj: CheckoutSession) -> str:
        """The first block of the UUID: enough to tell rows apart."""
        return str(obj.pk).split("-")[0] + "…"

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, obj: CheckoutSession) -> str:
        """A coloured badge."""
        return status_badge(obj)

    @admin.display(description=_("customer"), ordering="customer_email")
    def customer(self, obj: CheckoutSession) -> str | None:
        """Email, with the name and the shop's user (when known) under it."""
        details = [
            format_html("<small>{}</small>", part)
            for part in (obj.customer_name, obj.user and _("user: %s") % obj.user)
            if part
        ]
        if not details:
            # None: the admin's own empty value ("-"), as in every other empty cell.
            return obj.customer_email or None
        return format_html(
            '<span class="polar-customer">{}{}</span>',
            self.or_empty(obj.customer_email),
            format_html_join("", "{}", ((detail,) for detail in details)),
        )

    @admin.display(description=_("created"), ordering="created_at")
    def created_display(self, obj: CheckoutSession) -> str:
        """The creation time, short ("2026-11-29 14:05", local time), the full one on hover."""
        local = timezone.localtime(obj.created_at)
        return format_html(
            # The date and the time may stack (two short lines, a narrow column).
            '<time datetime="{}" title="{}"><span class="polar-nowrap">{}</span> '
            '<span class="polar-nowrap">{}</span></time>',
            obj.created_at.isoformat(),
            date_format(local, "DATETIME_FORMAT"),
            local.strftime("%Y-%m-%d"),
            local.strftime("%H:%M"),
        )

    @admin.display(description=_("total"), ordering="total_amount")
    def total_display(self, obj: CheckoutSession) -> str:
        """``19.00 USD``, ``500 JPY``; "Free" when Polar has no amount."""
        total = format_amount(obj.total_amount, obj.currency)
        return format_html('<span class="polar-nowrap">{}</span>', total or _("Free"))

    @admin.display(description=_("amount"))
    def amount_display(self, obj: CheckoutSession) -> str:
        """The price amount before tax."""
        return self.or_empty(format_amount(obj.amount, obj.currency))

    @admin.display(description=_("tax"))
    def tax_display(self, obj: CheckoutSession) -> str:
        """Tax, once Polar has computed it."""
        return self.or_empty(format_amount(obj.tax_amount, obj.currency))

    @admin.display(description=_("Polar customer"))
    def customer_link(self, obj: CheckoutSession) -> str:
        """The Polar customer the checkout made or named, linked to its page when cached."""
        if obj.customer_id is None:
            return self.empty_value()
        customer = Customer.objects.filter(pk=obj.customer_id).only("pk", "email", "name").first()
        if customer is None:
            link = change_link(Customer, obj.customer_id, obj.customer_id, exists=False)
        else:
            link = change_link(Customer, customer.pk, customer)
        return self.or_empty(link)

    @admin.display(description=_("orders"))
    def orders_display(self, obj: CheckoutSession) -> str:
        """The orders this checkout created (the first payment of a subscription too)."""
        return self.or_empty(orders_of(Order.objects.all(), self.empty_value(), checkout=obj.pk))

    @admin.display(description=_("subscriptions"))
    def subscriptions_display(self, obj: CheckoutSession) -> str:
        """The subscription this checkout started, if it sold a recurring product."""
        return self.or_empty(subscriptions_of(Subscription.objects.all(), checkout=obj.pk))

    @admin.display(description=_("client secret"))
    def masked_client_secret(self, obj: CheckoutSession) -> str:
        """Only the prefix: the secret lets anyone act as the buyer."""
        return self.or_empty(mask_secret(obj.client_secret))

    @admin.display(description=_("on Polar"))
    def polar_link(self, obj: CheckoutSession) -> str | None:
        """A link to the checkout in Polar's dashboard (empty when it cannot be built: the
        shop owner needs no developer hint here; ``manage.py check`` gives it, I001)."""
        url = dashboard_url(obj)
        if url is None:
            # Not None: the change form's read-only fields print a None as "None" (only
            # the list turns it into the empty value); this is that same empty value.
            return self.empty_value()
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
            url,
            _("Open in Polar's dashboard"),
        )

    # -- extra pages -------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        """The sync endpoint (POST only) and the overview page, then the mixin's refresh
        endpoint and the default routes."""
        site = self.admin_site
        return [
            path(
                "sync/",
                site.admin_view(require_POST(self.sync_view)),
                name=self.route_name("sync"),
            ),
            path(
                "overview/",
                site.admin_view(self.overview_view),
                name=self.route_name("overview"),
            ),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The list, with the sync button for staff allowed to use it."""
        extra_context = {**(extra_context or {}), "can_sync": self.has_sync_permission(request)}
        return super().changelist_view(request, extra_context)

    def sync_view(self, request: HttpRequest) -> HttpResponse:
        """Copy recent checkouts from Polar, then back to the list with a summary.

        Only checkouts created within ``sync_window`` are read: a web request cannot wait
        for every page of a large account (``manage.py polar_checkouts_sync`` can).
        """
        if not self.has_sync_permission(request):
            raise PermissionDenied
        since = timezone.now() - self.sync_window if self.sync_window else None
        try:
            result = services.sync_checkouts(
                organization_id=polar_settings.ORGANIZATION_ID, since=since
            )
        except (PolarError, ReceiverError) as exc:
            self.message_user(
                request,
                _(
                    "Sync from Polar stopped: %(error)s. Checkout sessions stored before "
                    "the error were kept; try again shortly."
                )
                % {"error": mask_secrets_in(str(exc))},
                messages.ERROR,
            )
        else:
            self.message_user(
                request,
                _("Synced from Polar: %(summary)s.") % {"summary": result},
                messages.SUCCESS,
            )
        return self.redirect_to("changelist")

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        """Counts by status per day over 30 days, conversion and revenue by currency."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Checkout sessions overview"),
            **overview_context(build_overview(), str(self.get_empty_value_display())),
        }
        return TemplateResponse(
            request, "admin/polar_checkouts/checkoutsession/overview.html", context
        )
