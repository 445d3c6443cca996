"""The local cache of Polar checkout sessions.

Polar is the source of truth; :class:`CheckoutSession` keeps the last payload it sent plus
promoted, indexed columns for what a shop filters and sorts on. Every payload, whatever
its source (API response, list page, webhook), enters through one upsert path (row locks,
insert-or-get, ``COPY``): the one the cached Polar objects share
(:class:`~polar_checkouts.models.base.PolarObjectManager`), told here what a checkout adds
(its client secret never changes once stored and belongs to one checkout; the request's
IP address is recorded beside the shop user); what a payload means and whether it is newer
than the row ("newer data wins", :func:`~polar_checkouts.payload.incoming_wins`) are pure
rules in :mod:`polar_checkouts.payload`, re-exported below for the paths the docs show.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..money import format_amount
from ..payload import (
    InvalidPayloadError,
    checkout_id_of,
    checkout_wins,
    fields_from_payload,
    incoming_wins,
    is_expired,
    merge_payload,
    parse_polar_datetime,
)
from .base import (
    PolarObject,
    PolarObjectManager,
    StoreCounts,
    StoreResult,
    apply_payload,
    claim_local_facts,
    polar_id_field,
    shop_user_field,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

# The public names; the payload and money ones are re-exported for the import paths
# the docs, tests and benchmarks have used since before those modules existed.
__all__ = [
    "POLAR_FIELDS",
    "TERMINAL_STATUSES",
    "CheckoutSession",
    "CheckoutSessionManager",
    "CheckoutSessionQuerySet",
    "CheckoutStatus",
    "InvalidPayloadError",
    "UpsertCounts",
    "UpsertResult",
    "checkout_id_of",
    "expired_condition",
    "fields_from_payload",
    "format_amount",
    "incoming_wins",
    "merge_payload",
    "parse_polar_datetime",
]


class CheckoutStatus(models.TextChoices):
    """Polar's checkout statuses (API.md §5)."""

    OPEN = "open", _("Open")
    CONFIRMED = "confirmed", _("Confirmed")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


#: Statuses a checkout never leaves in Polar.
TERMINAL_STATUSES: Final = frozenset(
    {CheckoutStatus.SUCCEEDED, CheckoutStatus.FAILED, CheckoutStatus.EXPIRED}
)

#: Columns an upsert writes (everything that comes from Polar).
POLAR_FIELDS: Final = (
    "status",
    "client_secret",
    "product_id",
    "product_price_id",
    "product_name",
    "customer_id",
    "customer_email",
    "customer_name",
    "amount",
    "tax_amount",
    "total_amount",
    "currency",
    "expires_at",
    "created_at",
    "modified_at",
    "metadata",
    "payload",
)


class UpsertResult(StoreResult["CheckoutSession"]):
    """What one checkout upsert did (a :class:`StoreResult`; ``checkout`` is its row)."""

    @property
    def checkout(self) -> CheckoutSession:
        """The stored checkout (the name this result has always had)."""
        return self.row


@dataclass
class UpsertCounts(StoreCounts["CheckoutSession"]):
    """What a bulk checkout upsert did (a :class:`StoreCounts` of :class:`UpsertResult`)."""

    # The same list, typed with the checkout's result (the manager's ``result_class``).
    results: list[UpsertResult] = field(default_factory=list)  # type: ignore[assignment]


class CheckoutSessionQuerySet(models.QuerySet["CheckoutSession"]):
    """Common filters; "now" is evaluated when the method is called."""

    def open(self) -> CheckoutSessionQuerySet:
        """Open in Polar and not yet past ``expires_at``: a buyer can still pay."""
        return self.filter(status=CheckoutStatus.OPEN).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        )

    def confirmed(self) -> CheckoutSessionQuerySet:
        """Payment submitted, waiting for the processor."""
        return self.filter(status=CheckoutStatus.CONFIRMED)

    def succeeded(self) -> CheckoutSessionQuerySet:
        """Paid (or free and completed)."""
        return self.filter(status=CheckoutStatus.SUCCEEDED)

    def failed(self) -> CheckoutSessionQuerySet:
        """Payment failed after confirmation."""
        return self.filter(status=CheckoutStatus.FAILED)

    def expired(self) -> CheckoutSessionQuerySet:
        """Expired in Polar, or still ``open`` there although ``expires_at`` has passed."""
        return self.filter(expired_condition())

    def not_expired(self) -> CheckoutSessionQuerySet:
        """Everything :meth:`expired` excludes."""
        return self.exclude(expired_condition())

    def for_user(self, user: AbstractBaseUser | AnonymousUser | None) -> CheckoutSessionQuerySet:
        """The checkouts started by ``user``; none for an anonymous user."""
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(user=user)

    def for_email(self, email: str) -> CheckoutSessionQuerySet:
        """The checkouts of a customer email (case-insensitive)."""
        return self.filter(customer_email__iexact=email)

    def for_product(self, product_id: str | uuid.UUID) -> CheckoutSessionQuerySet:
        """The checkouts of one Polar product."""
        return self.filter(product_id=product_id)


class _UpsertManager(PolarObjectManager["CheckoutSession"]):
    """The one upsert path for Polar payloads (the manager half of ``objects``)."""

    result_class = UpsertResult
    counts_class = UpsertCounts

    def upsert_from_polar(  # type: ignore[override]
        self,
        payload: Mapping[str, Any],
        *,
        user: Any = None,
        ip_address: str | None = None,
    ) -> UpsertResult:
        """Store ``payload`` unless the cache holds newer data (see :func:`incoming_wins`).

        Atomic: the row is locked (``SELECT … FOR UPDATE``) while compared and written, and
        a concurrent first insert falls back to the locked update. ``user`` and
        ``ip_address`` are local facts recorded only when the row has none yet.
        """
        result = self.store_one(payload, {"user": _signed_in(user), "ip_address": ip_address})
        assert isinstance(result, UpsertResult)
        return result

    def unchanged_by(
        self,
        payload: Mapping[str, Any],
        *,
        user: Any = None,
        ip_address: str | None = None,
    ) -> CheckoutSession | None:
        """The stored row when storing ``payload`` would change nothing, else ``None``.

        One unlocked ``SELECT``, no transaction: pages that re-read a checkout on every
        render (checkout page, status poll) need no write when Polar's answer is what the
        cache holds. Safe without the lock: data that loses to (or equals) the stored row
        still loses if a newer write lands meanwhile. A success not yet notified is never
        "unchanged", so its claim always takes the locked path.
        """
        checkout = self.filter(pk=checkout_id_of(payload)).first()
        if checkout is None:
            return None
        if checkout.status == CheckoutStatus.SUCCEEDED and checkout.succeeded_notified_at is None:
            return None
        # Both helpers only touch this (then discarded) instance when something would change.
        local = {"user": _signed_in(user), "ip_address": ip_address}
        if claim_local_facts(checkout, local):
            return None
        if apply_payload(checkout, payload, now=timezone.now()):
            return None
        return checkout

    def upsert_many(  # type: ignore[override]
        self, payloads: Iterable[Mapping[str, Any]]
    ) -> UpsertCounts:
        """Bulk :meth:`upsert_from_polar` for one page of a list: a constant number of queries.

        One ``SELECT … FOR UPDATE`` for the rows that exist, one bulk insert for the new
        ones and one ``bulk_update`` for those the incoming data wins on, in one transaction.
        """
        counts = super().upsert_many(payloads)
        assert isinstance(counts, UpsertCounts)
        return counts


def _signed_in(user: Any) -> Any:
    """``user`` when it is a signed-in user, else ``None`` (anonymous users are not stored)."""
    if user is not None and not getattr(user, "is_authenticated", False):
        return None
    return user


def expired_condition() -> Q:
    """Expired in Polar, or ``open`` there with ``expires_at`` already past (as of now)."""
    return Q(status=CheckoutStatus.EXPIRED) | Q(
        status=CheckoutStatus.OPEN, expires_at__lte=timezone.now()
    )


#: ``CheckoutSession.objects``: the queryset filters plus the upsert path.
CheckoutSessionManager = _UpsertManager.from_queryset(CheckoutSessionQuerySet)


class CheckoutSession(PolarObject):
    """A Polar checkout session as last seen from Polar, plus who started it here."""

    # The columns every cached Polar object has are the base's (created_at, modified_at,
    # metadata, payload, synced_at); the id's label and the user's related name are the
    # checkout's own, as they were before the base existed.
    id = polar_id_field(_("Polar checkout id"))
    status = models.CharField(_("status"), max_length=20, choices=CheckoutStatus.choices)
    # Null (not "") when Polar sent none, so the unique constraint ignores it.
    client_secret = models.CharField(
        _("client secret"), max_length=255, unique=True, null=True, blank=True
    )
    product_id = models.UUIDField(_("product id"), null=True, blank=True)
    product_price_id = models.UUIDField(_("product price id"), null=True, blank=True)
    product_name = models.CharField(_("product"), max_length=255, blank=True)
    customer_id = models.UUIDField(_("Polar customer id"), null=True, blank=True, db_index=True)
    customer_email = models.CharField(_("customer email"), max_length=320, blank=True)
    customer_name = models.CharField(_("customer name"), max_length=255, blank=True)
    amount = models.BigIntegerField(_("amount"), null=True, blank=True)
    tax_amount = models.BigIntegerField(_("tax amount"), null=True, blank=True)
    total_amount = models.BigIntegerField(_("total amount"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    user = shop_user_field("polar_checkout_sessions")
    ip_address = models.GenericIPAddressField(_("request IP address"), null=True, blank=True)
    # Set by the one conditional UPDATE that sends ``checkout_succeeded`` (signals.py).
    succeeded_notified_at = models.DateTimeField(
        _("checkout_succeeded sent at"), null=True, blank=True, editable=False
    )

    polar_name = "checkout"
    polar_fields = POLAR_FIELDS
    parse = staticmethod(fields_from_payload)
    wins = staticmethod(checkout_wins)

    objects = CheckoutSessionManager()

    class Meta:
        verbose_name = _("checkout session")
        verbose_name_plural = _("checkout sessions")
        ordering = ("-created_at",)
        get_latest_by = "created_at"
        # Read-only in the admin: only viewing, plus refreshing/syncing from Polar.
        default_permissions = ("view",)
        permissions = [("sync_checkoutsession", _("Can refresh and sync checkouts from Polar"))]
        indexes = [
            models.Index(fields=["-created_at"], name="polar_cs_created_idx"),
            models.Index(fields=["status", "-created_at"], name="polar_cs_status_created_idx"),
            models.Index(fields=["customer_email"], name="polar_cs_email_idx"),
            models.Index(fields=["product_id"], name="polar_cs_product_idx"),
            models.Index(fields=["product_name"], name="polar_cs_product_name_idx"),
            models.Index(fields=["expires_at"], name="polar_cs_expires_idx"),
            models.Index(fields=["currency"], name="polar_cs_currency_idx"),
        ]

    def incoming_values(self, merged: Mapping[str, Any]) -> dict[str, Any]:
        """The payload's column values, keeping the client secret once stored.

        A checkout's client secret is fixed when Polar creates it: once stored it never
        changes, so an update can never take a secret another cached checkout holds.
        """
        values = fields_from_payload(merged)
        values["client_secret"] = self.client_secret or values["client_secret"]
        return values

    @classmethod
    def refuse_insert(cls, manager: models.Manager[Any], row: PolarObject) -> None:
        """Raise :class:`InvalidPayloadError` when another cached checkout holds ``row``'s
        secret: Polar gives every checkout its own, and a payload claiming another one's is
        not data the cache can hold (its page is refused whole)."""
        secret = getattr(row, "client_secret", None)
        if secret and manager.filter(client_secret=secret).exclude(pk=row.pk).exists():
            raise InvalidPayloadError(
                f"Checkout {row.pk} carries the client secret of another cached checkout"
            )

    def __str__(self) -> str:
        label = self.product_name or str(self.id)
        return f"{label} ({self.get_status_display()})"

    @property
    def is_expired(self) -> bool:
        """Expired in Polar, or still ``open`` there with ``expires_at`` in the past."""
        return is_expired(self.status, self.expires_at)

    @property
    def is_open(self) -> bool:
        """A buyer can still pay: open in Polar and not past ``expires_at``."""
        return self.status == CheckoutStatus.OPEN and not self.is_expired

    @property
    def is_paid(self) -> bool:
        """The checkout succeeded."""
        return self.status == CheckoutStatus.SUCCEEDED

    @property
    def is_terminal(self) -> bool:
        """Polar will not change this checkout's status any more."""
        return self.status in TERMINAL_STATUSES

    @property
    def effective_status(self) -> str:
        """The status, with an open checkout past ``expires_at`` reported as expired."""
        return CheckoutStatus.EXPIRED if self.is_expired else self.status

    @property
    def formatted_amount(self) -> str:
        """The price amount, e.g. ``19.00 USD`` (empty for a free price)."""
        return format_amount(self.amount, self.currency)

    @property
    def formatted_tax(self) -> str:
        """The tax amount, e.g. ``1.90 USD`` (empty until Polar computes it)."""
        return format_amount(self.tax_amount, self.currency)

    @property
    def formatted_total(self) -> str:
        """The total to pay, e.g. ``20.90 USD`` (empty for a free price)."""
        return format_amount(self.total_amount, self.currency)
