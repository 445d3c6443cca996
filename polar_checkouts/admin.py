"""Read-only Django admin for the checkout cache, with refresh, sync and an overview page.

The data comes from Polar, so nothing here edits it: staff with the ``view`` permission
browse; staff with ``polar_checkouts.sync_checkoutsession`` may also refresh rows and
run a sync. Every Polar call goes through :mod:`.services`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import uuid
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Max, Min, Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .admin_views import OTHER_COLOUR, STATUS_COLOURS, build_overview, overview_context
from .conf import polar_settings
from .exceptions import PolarError
from .masking import mask_secret, mask_secrets_in
from .models import CheckoutSession, CheckoutStatus, expired_condition
from .signals import ReceiverError

#: Most rows the "Refresh from Polar" action fetches in one request (one call each).
MAX_REFRESH = 100

#: Polar's dashboard, per server; other servers (fake, a base URL) have none.
DASHBOARD_URLS = {"production": "https://polar.sh", "sandbox": "https://sandbox.polar.sh"}


class EstimatedCountPaginator(Paginator):
    """Counts exactly, except an unfiltered list of a large PostgreSQL table.

    ``COUNT(*)`` over millions of rows is a sequential scan on every changelist page; for
    the unfiltered list PostgreSQL's planner estimate (``pg_class.reltuples``) is close
    enough to size the pagination. Filtered lists and small tables get exact counts.
    """

    #: Below this estimate an exact count is cheap enough.
    estimate_threshold = 50_000

    @cached_property
    def count(self) -> int:
        """The number of rows, estimated for a large unfiltered PostgreSQL table."""
        queryset = self.object_list
        if isinstance(queryset, QuerySet) and not queryset.query.where:
            counted = _postgres_count(queryset, self.estimate_threshold)
            if counted is not None:
                return counted
        return super().count


_ESTIMATE_OR_COUNT_SQL = (
    "SELECT CASE WHEN c.reltuples >= %s THEN c.reltuples::bigint "
    "ELSE (SELECT COUNT(*) FROM __table__) END "
    "FROM pg_class c WHERE c.oid = to_regclass(%s)"
)


def _postgres_count(queryset: QuerySet[Any], threshold: int) -> int | None:
    """The table's size in ONE query: the planner's estimate when it is at least
    ``threshold``, an exact ``COUNT(*)`` otherwise (so the number of queries does not
    depend on the table's size)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    table = connection.ops.quote_name(queryset.model._meta.db_table)
    with connection.cursor() as cursor:
        # reltuples is -1 (PostgreSQL 14+) or 0 when the table was never analysed: the
        # exact count is taken then too.
        # The table name is the model's own, quoted; the values are parameters.
        sql = _ESTIMATE_OR_COUNT_SQL.replace("__table__", table)
        cursor.execute(sql, [threshold, table])
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return None
    return int(row[0])


class ExpiredListFilter(admin.SimpleListFilter):
    """Expired in Polar, or still open there although ``expires_at`` has passed."""

    title = _("expired")
    parameter_name = "expired"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> Any:
        """Yes / No."""
        return (("yes", _("Yes")), ("no", _("No")))

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[CheckoutSession]
    ) -> QuerySet[CheckoutSession] | None:
        """Apply the choice with the model's own definition of expired."""
        if self.value() == "yes":
            return queryset.filter(expired_condition())
        if self.value() == "no":
            return queryset.exclude(expired_condition())
        return queryset


def distinct_values(queryset: QuerySet[Any], column: str, limit: int) -> list[str]:
    """The distinct non-empty values of an indexed text column, at most ``limit`` of them.

    ``SELECT DISTINCT`` reads every row (or every index entry); this "skip scan" asks the
    index for the next larger value once per distinct value instead, so a filter sidebar
    over a million checkouts with five currencies costs five index probes.
    """
    connection = connections[queryset.db]
    quote = connection.ops.quote_name
    table = quote(queryset.model._meta.db_table)
    col = quote(queryset.model._meta.get_field(column).column)
    # Only quoted model metadata is interpolated; values travel as parameters.
    sql = (
        f"WITH RECURSIVE skip(value, n) AS ("  # noqa: S608
        f" SELECT MIN({col}), 1 FROM {table} WHERE {col} > %s"
        f" UNION ALL"
        f" SELECT (SELECT MIN({col}) FROM {table} WHERE {col} > skip.value), n + 1"
        f" FROM skip WHERE skip.value IS NOT NULL AND n < %s"
        f") SELECT value FROM skip WHERE value IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ["", limit])
        return [row[0] for row in cursor.fetchall()]


class DistinctValueListFilter(admin.SimpleListFilter):
    """Choices are the column's distinct values, found with :func:`distinct_values`."""

    column = ""
    max_choices = 100

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> Any:
        """One choice per distinct value."""
        values = distinct_values(model_admin.get_queryset(request), self.column, self.max_choices)
        return [(value, self.label(value)) for value in values]

    def label(self, value: str) -> str:
        """How a value reads in the sidebar."""
        return value

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[CheckoutSession]
    ) -> QuerySet[CheckoutSession] | None:
        """Rows with the chosen value."""
        if self.value():
            return queryset.filter(**{self.column: self.value()})
        return queryset


class CurrencyListFilter(DistinctValueListFilter):
    """By currency (upper case in the sidebar)."""

    title = _("currency")
    parameter_name = "currency"
    column = "currency"

    def label(self, value: str) -> str:
        """``usd`` → ``USD``."""
        return value.upper()


class ProductListFilter(DistinctValueListFilter):
    """By product name."""

    title = _("product")
    parameter_name = "product_name"
    column = "product_name"


class CheckoutChangeList(ChangeList):
    """The changelist, with a date hierarchy that never scans the whole table.

    Django lists the years (months, days) that hold rows with ``SELECT DISTINCT
    date_trunc(...)`` over every row, on every page load. Here the periods come from the
    first and last dates (two index probes), so a period without checkouts may appear.
    """

    def date_hierarchy_context(self) -> dict[str, Any]:
        """What ``admin/date_hierarchy.html`` needs: ``show``, ``back`` and ``choices``."""
        field_name = str(self.date_hierarchy)
        year_field, month_field, day_field = (
            f"{field_name}__year",
            f"{field_name}__month",
            f"{field_name}__day",
        )
        year, month, day = (self.params.get(f) for f in (year_field, month_field, day_field))

        def link(filters: dict[str, Any]) -> str:
            return str(self.get_query_string(filters, [f"{field_name}__"]))

        first, last = self._date_range(field_name)
        if not (year or month or day) and first and last and first.year == last.year:
            year = str(first.year)
            if first.month == last.month:
                month = str(first.month)
        try:
            if year and month and day:
                when = dt.date(int(year), int(month), int(day))
                return {
                    "show": True,
                    "back": {
                        "link": link({year_field: year, month_field: month}),
                        "title": capfirst(formats.date_format(when, "YEAR_MONTH_FORMAT")),
                    },
                    "choices": [{"title": capfirst(formats.date_format(when, "MONTH_DAY_FORMAT"))}],
                }
            if year and month:
                y, m = int(year), int(month)
                start = first.day if first and (first.year, first.month) == (y, m) else 1
                end = (
                    last.day
                    if last and (last.year, last.month) == (y, m)
                    else calendar.monthrange(y, m)[1]
                )
                return {
                    "show": True,
                    "back": {"link": link({year_field: year}), "title": str(year)},
                    "choices": [
                        {
                            "link": link({year_field: year, month_field: month, day_field: d}),
                            "title": capfirst(
                                formats.date_format(dt.date(y, m, d), "MONTH_DAY_FORMAT")
                            ),
                        }
                        for d in range(start, end + 1)
                    ],
                }
            if year:
                y = int(year)
                start = first.month if first and first.year == y else 1
                end = last.month if last and last.year == y else 12
                return {
                    "show": True,
                    "back": {"link": link({}), "title": _("All dates")},
                    "choices": [
                        {
                            "link": link({year_field: year, month_field: m}),
                            "title": capfirst(
                                formats.date_format(dt.date(y, m, 1), "YEAR_MONTH_FORMAT")
                            ),
                        }
                        for m in range(start, end + 1)
                    ],
                }
        except ValueError:
            # A hand-edited URL (month 13…): the list itself already reported it.
            return {"show": False}
        years = range(first.year, last.year + 1) if first and last else range(0)
        return {
            "show": True,
            "back": None,
            "choices": [{"link": link({year_field: str(y)}), "title": str(y)} for y in years],
        }

    def _date_range(self, field_name: str) -> tuple[dt.datetime | None, dt.datetime | None]:
        bounds = self.queryset.aggregate(first=Min(field_name), last=Max(field_name))
        first, last = bounds["first"], bounds["last"]
        if first is None or last is None:
            return None, None
        return timezone.localtime(first), timezone.localtime(last)


def masked_payload(value: Any, key: str = "") -> Any:
    """A copy of a payload safe to show: secrets and tokens masked, even inside URLs."""
    if isinstance(value, dict):
        return {k: masked_payload(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [masked_payload(item, key) for item in value]
    if isinstance(value, str):
        lowered = key.lower()
        if "secret" in lowered or "token" in lowered:
            return mask_secret(value)
        return mask_secrets_in(value)
    return value


def dashboard_url(checkout: CheckoutSession) -> str | None:
    """The checkout's page in Polar's dashboard, when the server and slug are known."""
    base = DASHBOARD_URLS.get(str(polar_settings.SERVER))
    organization = checkout.payload.get("organization")
    slug = polar_settings.ORGANIZATION_SLUG or (
        organization.get("slug") if isinstance(organization, dict) else None
    )
    if not base or not slug:
        return None
    return f"{base}/dashboard/{slug}/sales/checkouts/{checkout.pk}"


def status_badge(checkout: CheckoutSession) -> str:
    """The status as a coloured pill; an open checkout past its expiry reads "Expired"."""
    status = checkout.effective_status
    label = dict(CheckoutStatus.choices).get(status, status)
    if status != checkout.status:
        label = _("Expired (open in Polar)")
    return format_html(
        '<span class="polar-status polar-status-{}" style="display:inline-block;'
        "padding:1px 8px;border-radius:9px;color:#fff;background:{};font-weight:600;"
        'white-space:nowrap">{}</span>',
        status,
        STATUS_COLOURS.get(status, OTHER_COLOUR),
        label,
    )


class PolarRecordAdmin(admin.ModelAdmin):
    """Read-only admin of rows that record what Polar said (checkouts, webhook events).

    Nothing is added, changed or deleted here: the data belongs to Polar, and deleting a
    row would only hide a real checkout or the proof of a delivery. Search also matches
    ``uuid_search_field`` exactly when the term is a UUID.
    """

    uuid_search_field = "pk"

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Rows come from Polar only."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        """Read-only: the data belongs to Polar."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        """A record of what Polar said is never deleted from the admin."""
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        """The ordinary search results, with the row whose UUID column equals the term."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            value = uuid.UUID(search_term.strip())
        except ValueError:
            return results, may_have_duplicates
        return results | queryset.filter(**{self.uuid_search_field: value}), may_have_duplicates


@admin.register(CheckoutSession)
class CheckoutSessionAdmin(PolarRecordAdmin):
    """Browse cached checkout sessions; refresh or sync them from Polar."""

    list_display = (
        "short_id",
        "status_display",
        "product_name",
        "customer",
        "total_display",
        "created_at",
        "expires_at",
        "user",
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
    list_per_page = 50
    show_full_result_count = False
    # Facet counts (Django 5.0+) run one COUNT per filter choice on every page load.
    if hasattr(admin, "ShowFacets"):
        show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    actions = ("refresh_from_polar",)
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
            {"fields": ("customer_email", "customer_name", "customer_id", "user", "ip_address")},
        ),
        (
            _("Polar data"),
            {"fields": ("masked_client_secret", "metadata_display", "payload_display")},
        ),
    )
    readonly_fields = (
        "id",
        "status_display",
        "polar_link",
        "created_at",
        "modified_at",
        "expires_at",
        "synced_at",
        "product_name",
        "product_id",
        "product_price_id",
        "amount_display",
        "tax_display",
        "total_display",
        "customer_email",
        "customer_name",
        "customer_id",
        "user",
        "ip_address",
        "masked_client_secret",
        "metadata_display",
        "payload_display",
    )

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        """The changelist with the cheap date hierarchy."""
        return CheckoutChangeList

    # -- permissions: read-only (see PolarRecordAdmin), plus the custom sync permission --

    def _refresh_one(self, request: HttpRequest, checkout_id: Any) -> bool:
        """Refresh one checkout; a failure becomes an error message, never a 500."""
        try:
            services.refresh_checkout(checkout_id)
        except (PolarError, ReceiverError) as exc:
            # ReceiverError: the shop's own receiver raised (logged with its traceback).
            self.message_user(
                request,
                _("Could not refresh %(id)s from Polar: %(error)s")
                % {"id": checkout_id, "error": mask_secrets_in(str(exc))},
                messages.ERROR,
            )
            return False
        return True

    def has_sync_permission(self, request: HttpRequest) -> bool:
        """May refresh rows and run a sync (``polar_checkouts.sync_checkoutsession``)."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.sync_{opts.model_name}")

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
    def customer(self, obj: CheckoutSession) -> str:
        """Email, with the name under it when known."""
        if obj.customer_name:
            return format_html("{}<br><small>{}</small>", obj.customer_email, obj.customer_name)
        return obj.customer_email or "—"

    @admin.display(description=_("total"), ordering="total_amount")
    def total_display(self, obj: CheckoutSession) -> str:
        """``19.00 USD``; "Free" when Polar has no amount."""
        return format_html(
            '<span style="white-space:nowrap">{}</span>', obj.formatted_total or _("Free")
        )

    @admin.display(description=_("amount"))
    def amount_display(self, obj: CheckoutSession) -> str:
        """The price amount before tax."""
        return obj.formatted_amount or "—"

    @admin.display(description=_("tax"))
    def tax_display(self, obj: CheckoutSession) -> str:
        """Tax, once Polar has computed it."""
        return obj.formatted_tax or "—"

    @admin.display(description=_("client secret"))
    def masked_client_secret(self, obj: CheckoutSession) -> str:
        """Only the prefix: the secret lets anyone act as the buyer."""
        return mask_secret(obj.client_secret) or "—"

    @admin.display(description=_("on Polar"))
    def polar_link(self, obj: CheckoutSession) -> str:
        """A link to the checkout in Polar's dashboard."""
        url = dashboard_url(obj)
        if url is None:
            return str(_("Set POLAR_ORGANIZATION_SLUG to link to Polar's dashboard."))
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
            url,
            _("Open in Polar's dashboard"),
        )

    @admin.display(description=_("metadata"))
    def metadata_display(self, obj: CheckoutSession) -> str:
        """Metadata as indented JSON."""
        return pretty_json(obj.metadata)

    @admin.display(description=_("last Polar payload"))
    def payload_display(self, obj: CheckoutSession) -> str:
        """The whole payload as indented JSON, secrets masked, HTML escaped."""
        return pretty_json(masked_payload(obj.payload))

    # -- actions ---------------------------------------------------------------------------

    @admin.action(description=_("Refresh from Polar"), permissions=["sync"])
    def refresh_from_polar(self, request: HttpRequest, queryset: QuerySet[CheckoutSession]) -> None:
        """Fetch each selected checkout again; Polar errors become messages, not a 500."""
        ids = list(queryset.values_list("pk", flat=True)[: MAX_REFRESH + 1])
        if len(ids) > MAX_REFRESH:
            ids = ids[:MAX_REFRESH]
            self.message_user(
                request,
                _("Only the first %(n)d selected checkout sessions were refreshed.")
                % {"n": MAX_REFRESH},
                messages.WARNING,
            )
        refreshed = sum(self._refresh_one(request, checkout_id) for checkout_id in ids)
        if refreshed:
            self.message_user(
                request,
                ngettext(
                    "Refreshed %(n)d checkout session from Polar.",
                    "Refreshed %(n)d checkout sessions from Polar.",
                    refreshed,
                )
                % {"n": refreshed},
                messages.SUCCESS,
            )

    # -- extra pages -------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        """The sync endpoint and the overview page, before the default routes."""
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "sync/",
                self.admin_site.admin_view(self.sync_view),
                name="{}_{}_sync".format(*info),
            ),
            path(
                "overview/",
                self.admin_site.admin_view(self.overview_view),
                name="{}_{}_overview".format(*info),
            ),
            path(
                "<uuid:object_id>/refresh/",
                self.admin_site.admin_view(self.refresh_view),
                name="{}_{}_refresh".format(*info),
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
        """POST only: copy recent checkouts from Polar, then back to the list with a summary.

        Only checkouts created within ``sync_window`` are read: a web request cannot wait
        for every page of a large account (``manage.py polar_checkouts_sync`` can).
        """
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
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
        info = self.opts.app_label, self.opts.model_name
        return HttpResponseRedirect(reverse("admin:{}_{}_changelist".format(*info)))

    def refresh_view(self, request: HttpRequest, object_id: uuid.UUID) -> HttpResponse:
        """POST only: the detail page's "Refresh from Polar" button for one checkout."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_sync_permission(request):
            raise PermissionDenied
        if self._refresh_one(request, object_id):
            self.message_user(request, _("Refreshed from Polar."), messages.SUCCESS)
        info = self.opts.app_label, self.opts.model_name
        return HttpResponseRedirect(reverse("admin:{}_{}_change".format(*info), args=[object_id]))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The detail page, with a refresh button for staff allowed to use it."""
        extra_context = {**(extra_context or {}), "can_sync": self.has_sync_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        """Counts by status per day over 30 days, conversion and revenue by currency."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Checkout sessions overview"),
            **overview_context(build_overview()),
        }
        return TemplateResponse(
            request, "admin/polar_checkouts/checkoutsession/overview.html", context
        )


def pretty_json(value: Any) -> str:
    """``value`` in an escaped ``<pre>``: text as it is, anything else as indented JSON."""
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    )
    return format_html('<pre style="white-space:pre-wrap;margin:0">{}</pre>', text)


# The webhook event log's admin lives in its own module; importing it registers it.
from . import admin_webhooks  # noqa: E402, F401
