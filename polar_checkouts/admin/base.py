"""What the admins share; imports nothing else of the admin.

Every table here records what Polar said and grows without bound, so every admin is
read-only, never counts a large table exactly and never computes facet counts. Cached
objects link to each other (checkout, order, subscription, customer) with
:func:`change_link` and :func:`related_links`, and to Polar's dashboard with
:func:`polar_dashboard_url`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from ..conf import polar_settings
from ..masking import mask_secret, mask_secrets_in
from ..models import CheckoutStatus

#: Badge and chart colours, one per checkout status (readable on white, distinct for
#: most colour-vision deficiencies thanks to the differing lightness).
STATUS_COLOURS: dict[str, str] = {
    CheckoutStatus.SUCCEEDED: "#15803d",
    CheckoutStatus.CONFIRMED: "#b45309",
    CheckoutStatus.OPEN: "#1d4ed8",
    CheckoutStatus.FAILED: "#b91c1c",
    CheckoutStatus.EXPIRED: "#6b7280",
}
#: The colour of a status Polar may add later.
OTHER_COLOUR = "#7c3aed"


def badge(label: Any, colour: str, css_class: str) -> str:
    """``label`` as a coloured pill (white text on ``colour``), HTML escaped."""
    return format_html(
        '<span class="{}" style="display:inline-block;padding:1px 8px;border-radius:9px;'
        'color:#fff;background:{};font-weight:600;white-space:nowrap">{}</span>',
        css_class,
        colour,
        label,
    )


#: Polar's dashboard, per server; other servers (fake, a base URL) have none.
DASHBOARD_URLS = {"production": "https://polar.sh", "sandbox": "https://sandbox.polar.sh"}


def polar_dashboard_url(path: str, payload: Any = None) -> str | None:
    """``path`` (``sales/<order id>``…) in Polar's dashboard of the shop's organization.

    The organization's slug is ``POLAR_ORGANIZATION_SLUG``, else the one a payload
    carries (a public checkout embeds its organization); ``None`` when neither is known
    or the server has no dashboard (the fake).
    """
    base = DASHBOARD_URLS.get(str(polar_settings.SERVER))
    organization = payload.get("organization") if isinstance(payload, dict) else None
    slug = polar_settings.ORGANIZATION_SLUG or (
        organization.get("slug") if isinstance(organization, dict) else None
    )
    if not base or not slug:
        return None
    return f"{base}/dashboard/{slug}/{path}"


def dashboard_link(path: str, payload: Any = None) -> str | None:
    """A link to :func:`polar_dashboard_url` (new tab); ``None`` (Django's empty value)
    when it cannot be built: the shop owner needs no developer hint here, ``manage.py
    check`` gives it (I001)."""
    url = polar_dashboard_url(path, payload)
    if url is None:
        return None
    return format_html(
        '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
        url,
        _("Open in Polar's dashboard"),
    )


def admin_url(model: type[Model] | Model, view: str, *args: Any, **query: Any) -> str:
    """The URL of one of ``model``'s admin pages (``change``, ``changelist``), with a
    query string (``customer=<id>`` filters a list)."""
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)
    return f"{url}?{urlencode(query)}" if query else url


def change_link(model: type[Model], pk: Any, label: Any, *, exists: bool = True) -> str | None:
    """A link to the change page of ``model`` row ``pk`` reading ``label``.

    ``exists=False`` (the row's id is known but the cache has not seen the row) shows
    the label with "not cached" instead; no ``pk`` gives ``None`` (the admin shows its
    empty value: :meth:`PolarRecordAdmin.or_empty`).
    """
    if pk is None:
        return None
    if not exists:
        return format_html("{} <small>({})</small>", label, _("not cached"))
    return format_html('<a href="{}">{}</a>', admin_url(model, "change", pk), label)


def related_links(
    queryset: QuerySet[Any],
    label: Any,
    *,
    all_url: str,
    all_label: str,
    limit: int = 10,
) -> str | None:
    """The newest ``limit`` rows of ``queryset`` as a list of links to their change pages,
    and a link to all of them (``all_url``, a filtered list) when there are more.

    One query, two when there are more rows than ``limit`` (to say how many).
    ``label(row)`` is what each link reads. ``None`` when there is no row (the admin
    shows its empty value: :meth:`PolarRecordAdmin.or_empty`).
    """
    rows = list(queryset[: limit + 1])
    if not rows:
        return None
    model = queryset.model
    items = format_html_join(
        "",
        '<li><a href="{}">{}</a></li>',
        ((admin_url(model, "change", row.pk), label(row)) for row in rows[:limit]),
    )
    more = ""
    if len(rows) > limit:
        more = format_html(
            '<li><a href="{}">{}</a></li>', all_url, all_label % {"n": queryset.count()}
        )
    return format_html(
        '<ul class="polar-related" style="margin:0;padding-left:1.2em">{}{}</ul>', items, more
    )


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


def pretty_json(value: Any) -> str:
    """``value`` in an escaped ``<pre>``: text as it is, anything else as indented JSON."""
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    )
    return format_html('<pre style="white-space:pre-wrap;margin:0">{}</pre>', text)


class PolarRecordAdmin(admin.ModelAdmin):
    """Read-only admin of rows that record what Polar said (checkouts, webhook events).

    Nothing is added, changed or deleted here: the data belongs to Polar, and deleting a
    row would only hide a real checkout or the proof of a delivery. Search also matches
    ``uuid_search_field`` (and each of ``uuid_search_fields``) exactly when the term is
    a UUID. The lists stay cheap on large
    tables: an estimated count for the unfiltered list, no second full ``COUNT(*)`` and no
    per-choice facet counts (Django 5.0+).
    """

    uuid_search_field = "pk"
    #: More UUID columns an exact id search matches (an order's checkout id…).
    uuid_search_fields: tuple[str, ...] = ()
    list_per_page = 50
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    if hasattr(admin, "ShowFacets"):
        show_facets = admin.ShowFacets.NEVER

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Rows come from Polar only."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        """Read-only: the data belongs to Polar."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        """A record of what Polar said is never deleted from the admin."""
        return False

    def has_model_permission(self, request: HttpRequest, action: str) -> bool:
        """The user holds ``<app>.<action>_<model>`` (``sync``, ``change``…) on this model."""
        codename = get_permission_codename(action, self.opts)
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    def or_empty(self, value: Any) -> Any:
        """``value``, or the admin's empty value (``empty_value_display``, "-") when it is
        ``None`` or ``""``. Every display method of these admins returns through it: the
        change form prints a ``None`` from a display method as "None" (only the list turns
        it into the empty value), and the helpers here return ``None`` for "nothing"."""
        if value is None or value == "":
            return self.empty_value()
        return value

    def empty_value(self) -> str:
        """The admin's empty value as text ("-" unless the site or this admin says else)."""
        return str(self.get_empty_value_display())

    def route_name(self, view: str) -> str:
        """The URL name of one of this model's admin pages: ``<app>_<model>_<view>``."""
        return f"{self.opts.app_label}_{self.opts.model_name}_{view}"

    def redirect_to(self, view: str, *args: Any) -> HttpResponseRedirect:
        """A redirect to one of this model's admin pages (``changelist``, ``change``…)."""
        return HttpResponseRedirect(
            reverse(f"{self.admin_site.name}:{self.route_name(view)}", args=args)
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        """The ordinary search results, with the row whose UUID column equals the term."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            value = uuid.UUID(search_term.strip())
        except ValueError:
            return results, may_have_duplicates
        matches = queryset.filter(**{self.uuid_search_field: value})
        for name in self.uuid_search_fields:
            matches = matches | queryset.filter(**{name: value})
        return results | matches, may_have_duplicates
