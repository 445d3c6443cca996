"""Read-only admin for the webhook event log, with a "Process again" action.

Staff with the ``view`` permission browse deliveries; staff with
``polar_checkouts.change_webhookevent`` may also re-run processing of events that failed
or never finished.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, Min, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..models import CheckoutSession, WebhookEvent, WebhookOutcome
from ..webhooks import due_condition, process_event
from .base import PolarRecordAdmin, badge, masked_payload, pretty_json

#: Most events the "Process again" action runs in one request.
MAX_REPROCESS = 100

OUTCOME_COLOURS: dict[str, str] = {
    WebhookOutcome.PENDING: "#6b7280",
    WebhookOutcome.PROCESSED: "#15803d",
    WebhookOutcome.FAILED: "#b91c1c",
    WebhookOutcome.IGNORED: "#92400e",
}


def inbox_counts() -> dict[str, Any]:
    """Events waiting: ``pending``, ``failed``, ``due`` (failed, retry due now) and
    ``next_retry`` (the earliest scheduled retry), in one query."""
    failed = Q(outcome=WebhookOutcome.FAILED)
    counts = WebhookEvent.objects.filter(
        outcome__in=[WebhookOutcome.PENDING, WebhookOutcome.FAILED]
    ).aggregate(
        pending=Count("pk", filter=Q(outcome=WebhookOutcome.PENDING)),
        failed=Count("pk", filter=failed),
        due=Count("pk", filter=failed & due_condition()),
        next_retry=Min("next_attempt_at", filter=failed),
    )
    return counts


@admin.register(WebhookEvent)
class WebhookEventAdmin(PolarRecordAdmin):
    """Every verified Polar delivery: what came, when, and how processing went."""

    list_display = (
        "webhook_id",
        "type",
        "outcome_display",
        "received_at",
        "processed_at",
        "attempts",
        "next_attempt_at",
        "error_summary",
        "checkout_id",
    )
    list_filter = ("outcome", "type", ("received_at", admin.DateFieldListFilter))
    search_fields = ("=webhook_id", "=object_id")
    search_help_text = _("An exact webhook id, Polar object id or checkout id.")
    date_hierarchy = "received_at"
    ordering = ("-received_at",)
    actions = ("process_again",)
    fields = (
        "webhook_id",
        "type",
        "outcome_display",
        "attempts",
        "received_at",
        "last_attempt_at",
        "processed_at",
        "next_attempt_at",
        "checkout_link",
        "object_id",
        "error_display",
        "headers_display",
        "payload_display",
    )
    readonly_fields = fields

    # -- permissions: read-only (see PolarRecordAdmin), plus "process again" for staff who
    # may change events

    def has_process_permission(self, request: HttpRequest) -> bool:
        """May re-run processing (``polar_checkouts.change_webhookevent``)."""
        return self.has_model_permission(request, "change")

    # -- columns -----------------------------------------------------------------------

    @admin.display(description=_("outcome"), ordering="outcome")
    def outcome_display(self, obj: WebhookEvent) -> str:
        """A coloured badge."""
        outcome = str(obj.outcome)
        colour = OUTCOME_COLOURS.get(outcome, OUTCOME_COLOURS[WebhookOutcome.PENDING])
        return badge(obj.get_outcome_display(), colour, f"polar-outcome polar-outcome-{outcome}")

    @admin.display(description=_("checkout"))
    def checkout_link(self, obj: WebhookEvent) -> str | None:
        """The cached checkout session, linked when it is in the cache."""
        if obj.checkout_id is None:
            # Shown on the change form too, which prints a None as "None".
            return str(self.get_empty_value_display())
        if CheckoutSession.objects.filter(pk=obj.checkout_id).exists():
            url = reverse("admin:polar_checkouts_checkoutsession_change", args=[obj.checkout_id])
            return format_html('<a href="{}">{}</a>', url, obj.checkout_id)
        return format_html("{} <small>({})</small>", obj.checkout_id, _("not cached"))

    @admin.display(description=_("error"))
    def error_summary(self, obj: WebhookEvent) -> str | None:
        """The last line of the last failure (the exception), shortened."""
        lines = [line for line in obj.error.splitlines() if line.strip()]
        if not lines:
            return None
        return Truncator(lines[-1].strip()).chars(80)

    @admin.display(description=_("last error"))
    def error_display(self, obj: WebhookEvent) -> str | None:
        """The traceback of the last failed attempt."""
        if not obj.error:
            return str(self.get_empty_value_display())  # not None: the form prints "None"
        return pretty_json(obj.error)

    @admin.display(description=_("webhook headers"))
    def headers_display(self, obj: WebhookEvent) -> str:
        """The Standard Webhooks headers the delivery came with."""
        return pretty_json(obj.headers)

    @admin.display(description=_("payload"))
    def payload_display(self, obj: WebhookEvent) -> str:
        """The event as indented JSON, secrets masked, HTML escaped."""
        return pretty_json(masked_payload(obj.payload))

    # Search also finds the events of one checkout by its id.
    uuid_search_field = "checkout_id"

    # -- the list ---------------------------------------------------------------------------

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The list, with how many events wait: pending, failed, due now, the next retry."""
        extra_context = {**(extra_context or {}), "inbox": inbox_counts()}
        return super().changelist_view(request, extra_context)

    # -- actions --------------------------------------------------------------------------

    @admin.action(description=_("Process again"), permissions=["process"])
    def process_again(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        """Re-run processing of the selected failed or pending events (done ones are skipped)."""
        pending = queryset.filter(outcome__in=[WebhookOutcome.FAILED, WebhookOutcome.PENDING])
        ids = list(pending.order_by("received_at").values_list("pk", flat=True)[:MAX_REPROCESS])
        skipped = queryset.count() - len(ids)
        processed = failed = 0
        for pk in ids:
            event = process_event(pk)
            if event.outcome == WebhookOutcome.FAILED:
                failed += 1
            elif event.is_done:
                processed += 1
        if processed:
            self.message_user(
                request,
                ngettext(
                    "Processed %(n)d webhook event.", "Processed %(n)d webhook events.", processed
                )
                % {"n": processed},
                messages.SUCCESS,
            )
        if failed:
            self.message_user(
                request,
                ngettext(
                    "%(n)d webhook event failed again; see its error.",
                    "%(n)d webhook events failed again; see their errors.",
                    failed,
                )
                % {"n": failed},
                messages.ERROR,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(n)d event was skipped: only failed or pending events are processed again.",
                    "%(n)d events were skipped: only failed or pending events are processed again.",
                    skipped,
                )
                % {"n": skipped},
                messages.WARNING,
            )
