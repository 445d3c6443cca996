"""The checkout list's sidebar filters and date drill-down, cheap on large tables.

Django's own choices come from ``SELECT DISTINCT`` over every row on every page load;
these ask an index for the first, last or next value instead.
"""

from __future__ import annotations

import calendar
import datetime as dt
import uuid
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.db import connections
from django.db.models import Max, Min, QuerySet
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from ..models import CheckoutSession, expired_condition


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


def distinct_labelled_values(
    queryset: QuerySet[Any], column: str, label_column: str, limit: int
) -> list[tuple[Any, str]]:
    """The distinct non-null values of an indexed column (of any type, UUIDs included),
    each with the ``label_column`` of one row holding it, at most ``limit`` of them.

    The same skip scan as :func:`distinct_values`, stepping with ``ORDER BY … LIMIT 1``
    (PostgreSQL has no ``MIN`` of a UUID); the label is one more index probe per value.
    """
    connection = connections[queryset.db]
    quote = connection.ops.quote_name
    opts = queryset.model._meta
    table = quote(opts.db_table)
    col = quote(opts.get_field(column).column)
    label = quote(opts.get_field(label_column).column)
    # Only quoted model metadata is interpolated; values travel as parameters.
    sql = (
        f"WITH RECURSIVE skip(value, n) AS ("  # noqa: S608
        f" SELECT (SELECT {col} FROM {table} WHERE {col} IS NOT NULL ORDER BY {col} LIMIT 1), 1"
        f" UNION ALL"
        f" SELECT (SELECT {col} FROM {table} WHERE {col} > skip.value ORDER BY {col} LIMIT 1),"
        f" n + 1 FROM skip WHERE skip.value IS NOT NULL AND n < %s"
        f") SELECT value, (SELECT {label} FROM {table} WHERE {col} = skip.value LIMIT 1)"
        f" FROM skip WHERE value IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit])
        return [(row[0], row[1] or "") for row in cursor.fetchall()]


class ProductIdListFilter(admin.SimpleListFilter):
    """By Polar product (its id, indexed), named by the product name rows carry."""

    title = _("product")
    parameter_name = "product_id"
    max_choices = 100

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> Any:
        """One choice per product id found, labelled with its name."""
        rows = distinct_labelled_values(
            model_admin.get_queryset(request), "product_id", "product_name", self.max_choices
        )
        choices = [(str(uuid.UUID(str(value))), name or str(value)) for value, name in rows]
        return sorted(choices, key=lambda choice: (choice[1].lower(), choice[0]))

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        """Rows of the chosen product; a value that is no UUID is a bad lookup."""
        if not self.value():
            return queryset
        try:
            product_id = uuid.UUID(str(self.value()))
        except ValueError:
            raise IncorrectLookupParameters(f"Not a product id: {self.value()!r}") from None
        return queryset.filter(product_id=product_id)


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


#: The cheap date hierarchy serves every cached object's list, not only checkouts'.
IndexedDateChangeList = CheckoutChangeList
