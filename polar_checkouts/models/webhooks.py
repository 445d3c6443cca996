"""The log of verified webhook deliveries: one row per ``webhook-id``, processed once."""

from __future__ import annotations

from typing import Any, Final

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = ["DONE_OUTCOMES", "WebhookEvent", "WebhookOutcome", "WebhookWakeUp"]


class WebhookOutcome(models.TextChoices):
    """Where a recorded webhook delivery stands."""

    PENDING = "pending", _("Pending")
    PROCESSED = "processed", _("Processed")
    FAILED = "failed", _("Failed")
    IGNORED = "ignored", _("Ignored (no handler)")


#: Outcomes after which a redelivery of the same event is not processed again.
DONE_OUTCOMES: Final = frozenset({WebhookOutcome.PROCESSED, WebhookOutcome.IGNORED})


class WebhookEvent(models.Model):
    """One verified Polar webhook event, recorded once per ``webhook-id`` (API.md §10).

    Redeliveries of the event reuse the row: ``attempts`` counts processing runs, and
    ``error`` keeps the last failure until a run succeeds; ``next_attempt_at`` says when a
    failed event is due to be retried (exponential backoff, capped).
    """

    webhook_id = models.CharField(_("webhook id"), max_length=255, unique=True)
    type = models.CharField(_("event type"), max_length=255)
    payload = models.JSONField(_("payload"), default=dict)
    headers = models.JSONField(_("webhook headers"), default=dict, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    last_attempt_at = models.DateTimeField(_("last processed at"), null=True, blank=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"),
        max_length=20,
        choices=WebhookOutcome.choices,
        default=WebhookOutcome.PENDING,
    )
    error = models.TextField(_("last error"), blank=True)
    attempts = models.PositiveIntegerField(_("processing attempts"), default=0)
    # Set while the event is failed: when the retry command may process it again.
    next_attempt_at = models.DateTimeField(_("next retry at"), null=True, blank=True)
    # Not a foreign key: an event may arrive before (or without) its checkout in the cache.
    checkout_id = models.UUIDField(_("checkout id"), null=True, blank=True)
    object_id = models.CharField(_("Polar object id"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ("-received_at",)
        get_latest_by = "received_at"
        # The log is written by deliveries only: the admin views it and reprocesses.
        default_permissions = ("view", "change")
        indexes = [
            models.Index(fields=["-received_at"], name="polar_wh_received_idx"),
            models.Index(fields=["type", "-received_at"], name="polar_wh_type_idx"),
            models.Index(fields=["outcome", "-received_at"], name="polar_wh_outcome_idx"),
            models.Index(fields=["checkout_id"], name="polar_wh_checkout_idx"),
            # What the retry command and the system check look for: pending and failed
            # events, the latter by when they are due.
            models.Index(fields=["outcome", "next_attempt_at"], name="polar_wh_retry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.webhook_id}"

    @property
    def is_done(self) -> bool:
        """Processed or ignored: a redelivery answers 2xx without processing again."""
        return self.outcome in DONE_OUTCOMES

    @property
    def data(self) -> Any:
        """The event's ``data`` object (a checkout, order, subscription…)."""
        return self.payload.get("data") if isinstance(self.payload, dict) else None


class WebhookWakeUp(models.Model):
    """Whether a task that will process waiting webhook events is queued and has not started:
    one row, claimed by the delivery that enqueued that task and released by the task when it
    starts (:mod:`polar_checkouts.webhooks.handover`). Internal: not in the admin."""

    #: The one row's key.
    ROW: Final = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=ROW)
    # When the queued task was claimed; None once it started (or before any was).
    queued_at = models.DateTimeField(_("task queued at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook processing wake-up")
        verbose_name_plural = _("webhook processing wake-ups")
        default_permissions = ()

    def __str__(self) -> str:
        return f"queued at {self.queued_at}" if self.queued_at else "no task queued"
