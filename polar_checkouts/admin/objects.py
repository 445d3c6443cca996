"""What the cached objects' admins share.

Each is read-only (:class:`~.base.PolarRecordAdmin`); staff with
``polar_checkouts.sync_<model>`` may fetch selected rows again from Polar (an action on
the list, a button on the detail page: :class:`RefreshFromPolarMixin`, which the
checkout admin uses too). The customer, order and subscription admins also share their
list's cheap date hierarchy and columns (:class:`CachedObjectAdmin`). The fetch goes
through the model's refresh service (``services.refresh_order`` …), which stores the
answer through the one upsert path and sends the signals the new state calls for.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from django.views.decorators.http import require_POST

from .. import services
from ..exceptions import PolarError
from ..masking import mask_secrets_in
from ..money import format_amount
from ..signals import ReceiverError
from .base import PolarRecordAdmin, dashboard_link, masked_payload, pretty_json
from .filters import IndexedDateChangeList

#: Most rows the "Refresh from Polar" action fetches in one request (one call each).
MAX_REFRESH = 100


def amount_text(amount: int | None, currency: str) -> str | None:
    """``19.00 USD``, ``500 JPY``; ``None`` for no amount (the admin's empty value,
    :meth:`~.base.PolarRecordAdmin.or_empty`, is shown instead)."""
    return format_amount(amount, currency) or None


class RefreshFromPolarMixin(PolarRecordAdmin):
    """Fetch rows again from Polar: an action on the list, a button on the detail page.

    For staff with ``polar_checkouts.sync_<model>``. The fetch is the service named by
    :attr:`refresh_service`; its failures become error messages, never a 500. The success
    messages are whole sentences per model (:attr:`refreshed_message`,
    :attr:`capped_message`), which translators can word naturally.
    """

    #: The name in :mod:`polar_checkouts.services` that fetches one row again by id,
    #: looked up on each call (so it is the service layer's current function).
    refresh_service: ClassVar[str] = ""
    #: After the action; ``%(n)d`` is the number refreshed (a lazy plural keyed on ``n``).
    refreshed_message: ClassVar[Any] = ngettext_lazy(
        "Refreshed %(n)d item from Polar.", "Refreshed %(n)d items from Polar.", "n"
    )
    #: When more than :data:`MAX_REFRESH` rows were selected; ``%(n)d`` is that cap.
    capped_message: ClassVar[Any] = _("Only the first %(n)d selected items were refreshed.")

    actions = ("refresh_from_polar",)

    def has_sync_permission(self, request: HttpRequest) -> bool:
        """May refresh rows from Polar (``polar_checkouts.sync_<model>``)."""
        return self.has_model_permission(request, "sync")

    def _refresher(self) -> Callable[[Any], Any]:
        refresh: Callable[[Any], Any] = getattr(services, self.refresh_service)
        return refresh

    def _refresh_one(self, request: HttpRequest, object_id: Any) -> bool:
        """Refresh one row; a failure becomes an error message, never a 500."""
        try:
            self._refresher()(object_id)
        except (PolarError, ReceiverError) as exc:
            # ReceiverError: the shop's own receiver raised (logged with its traceback).
            self.message_user(
                request,
                _("Could not refresh %(id)s from Polar: %(error)s")
                % {"id": object_id, "error": mask_secrets_in(str(exc))},
                messages.ERROR,
            )
            return False
        return True

    @admin.action(description=_("Refresh from Polar"), permissions=["sync"])
    def refresh_from_polar(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        """Fetch each selected row again; Polar errors become messages, not a 500."""
        ids = list(queryset.values_list("pk", flat=True)[: MAX_REFRESH + 1])
        if len(ids) > MAX_REFRESH:
            ids = ids[:MAX_REFRESH]
            self.message_user(request, self.capped_message % {"n": MAX_REFRESH}, messages.WARNING)
        refreshed = sum(self._refresh_one(request, object_id) for object_id in ids)
        if refreshed:
            self.message_user(request, self.refreshed_message % {"n": refreshed}, messages.SUCCESS)

    def get_urls(self) -> list[URLPattern]:
        """The detail page's refresh endpoint (POST only), before the default routes."""
        return [
            path(
                "<uuid:object_id>/refresh/",
                self.admin_site.admin_view(require_POST(self.refresh_view)),
                name=self.route_name("refresh"),
            ),
            *super().get_urls(),
        ]

    def refresh_view(self, request: HttpRequest, object_id: uuid.UUID) -> HttpResponse:
        """The detail page's "Refresh from Polar" button for one row."""
        if not self.has_sync_permission(request):
            raise PermissionDenied
        if self._refresh_one(request, object_id):
            self.message_user(request, _("Refreshed from Polar."), messages.SUCCESS)
        return self.redirect_to("change", object_id)

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


class PolarObjectAdmin(RefreshFromPolarMixin):
    """The admin of a cached Polar object (checkout sessions included): refresh from
    Polar, and the row's Polar data (metadata, the last payload) as read-only JSON."""

    @admin.display(description=_("metadata"))
    def metadata_display(self, obj: Any) -> str:
        """Metadata as indented JSON."""
        return pretty_json(obj.metadata)

    @admin.display(description=_("last Polar payload"))
    def payload_display(self, obj: Any) -> str:
        """The whole payload as indented JSON, secrets masked, HTML escaped."""
        return pretty_json(masked_payload(obj.payload))


class CachedObjectAdmin(PolarObjectAdmin):
    """A customer's, order's or subscription's admin: list, detail, refresh from Polar."""

    #: The object's page in Polar's dashboard, ``{id}`` replaced (``sales/{id}``).
    dashboard_path: ClassVar[str] = ""

    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    change_list_template = "admin/polar_checkouts/object_change_list.html"
    change_form_template = "admin/polar_checkouts/object_change_form.html"

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        """The changelist with the date hierarchy that does not scan the table."""
        return IndexedDateChangeList

    # -- columns shared by the three ----------------------------------------------------------

    @admin.display(description=_("id"), ordering="pk")
    def short_id(self, obj: Model) -> str:
        """The first block of the UUID: enough to tell rows apart."""
        return str(obj.pk).split("-")[0] + "…"

    @admin.display(description=_("on Polar"))
    def polar_link(self, obj: Model) -> str:
        """A link to the object in Polar's dashboard (empty when it cannot be built)."""
        return self.or_empty(dashboard_link(self.dashboard_path.format(id=obj.pk)))
