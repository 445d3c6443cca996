"""The upsert machinery the cached Polar objects share (checkouts, customers, orders,
subscriptions).

A cached object is a model with Polar's id as primary key, promoted columns, the raw
``payload`` and the dates Polar keeps (:class:`PolarObject`). Its manager
(:class:`PolarObjectManager`) is its one upsert path: a row lock, insert-or-get, "newer
data wins" (the model's pure rule from :mod:`polar_checkouts.payload`), and a bulk form
with a constant number of queries per page (``COPY`` on PostgreSQL, as the checkouts'
sync writes them). The model says what is its own through three class attributes:
``polar_fields`` (the columns an upsert writes), ``parse`` (payload → column values)
and ``wins`` (stored values, incoming values → may the incoming data overwrite?). A model
with more to say overrides the hooks :meth:`PolarObject.incoming_values` (e.g. a column
that never changes once stored) and :meth:`PolarObject.refuse_insert`; a manager may name
its own ``result_class`` and pass more local facts than the shop user (see
:class:`~polar_checkouts.models.checkouts.CheckoutSessionManager`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from django.conf import settings
from django.db import IntegrityError, connections, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..payload import merge_payload, parse_polar_datetime, required_id

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

__all__ = [
    "PolarObject",
    "PolarObjectManager",
    "StoreCounts",
    "StoreResult",
    "insert_rows",
    "polar_id_field",
    "polar_link_field",
    "shop_user_field",
]

M = TypeVar("M", bound="PolarObject")


def polar_id_field(verbose_name: StrOrPromise) -> models.UUIDField[Any, Any]:
    """The primary key of a cached Polar object: Polar's own id."""
    return models.UUIDField(verbose_name, primary_key=True, editable=False)


def shop_user_field(related_name: str) -> models.ForeignKey[Any, Any]:
    """The Django user a cached Polar object belongs to.

    Null for a guest buyer; kept (set null) when the Django user is deleted, as the data
    is Polar's.
    """
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("shop user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name=related_name,
    )


def polar_link_field(
    to: str, verbose_name: StrOrPromise, related_name: str
) -> models.ForeignKey[Any, Any]:
    """A link to another cached Polar object by Polar's id, without a database constraint.

    Polar's object may name one the cache has not seen (yet), so the ``*_id`` column
    always holds Polar's id and the related row may be missing (nullable, ``DO_NOTHING``).
    """
    return models.ForeignKey(
        to,
        verbose_name=verbose_name,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name=related_name,
    )


class PolarObject(models.Model):
    """Columns every cached Polar object has; subclasses add their promoted columns."""

    id = polar_id_field(_("Polar id"))
    created_at = models.DateTimeField(_("created at (Polar)"))
    modified_at = models.DateTimeField(_("modified at (Polar)"), null=True, blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    payload = models.JSONField(_("last Polar payload"), default=dict, blank=True)
    synced_at = models.DateTimeField(_("changed from Polar at"), default=timezone.now)
    user = shop_user_field("polar_%(class)ss")

    #: What the object is called in messages ("order").
    polar_name: ClassVar[str] = "object"
    #: Columns an upsert writes (everything that comes from Polar).
    polar_fields: ClassVar[tuple[str, ...]] = ()

    class Meta:
        abstract = True

    @staticmethod
    def parse(payload: Mapping[str, Any]) -> dict[str, Any]:
        """The promoted column values of a merged payload (a pure rule of ``payload/``)."""
        raise NotImplementedError

    @staticmethod
    def wins(stored: Mapping[str, Any], incoming: Mapping[str, Any]) -> bool:
        """ "Newer data wins": may values parsed from an incoming payload overwrite stored ones?"""
        raise NotImplementedError

    def polar_values(self) -> dict[str, Any]:
        """The row's columns that come from Polar, as ``parse`` returns them."""
        return {name: getattr(self, name) for name in self.polar_fields}

    def snapshot(self) -> dict[str, Any]:
        """The Polar columns except the payload (what a receiver compares against)."""
        return {name: getattr(self, name) for name in self.polar_fields if name != "payload"}

    def incoming_values(self, merged: Mapping[str, Any]) -> dict[str, Any]:
        """The column values a merged payload would give this row (``parse`` by default).

        Override for a column the row keeps once stored whatever Polar sends.
        """
        return type(self).parse(merged)

    @classmethod
    def refuse_insert(cls, manager: models.Manager[Any], row: PolarObject) -> None:
        """Called when inserting ``row`` failed and no row with its id exists: raise a
        clearer error than the database's when the cause is known (default: nothing)."""


@dataclass(frozen=True)
class StoreResult(Generic[M]):
    """What one upsert did. ``changed`` is False when the payload was stale or identical;
    ``previous`` holds the Polar columns as they were before (``{}`` for a new row)."""

    row: M
    created: bool
    changed: bool
    previous: Mapping[str, Any]

    @property
    def previous_status(self) -> str | None:
        """The stored status before this upsert (``None`` for a new row)."""
        status = self.previous.get("status")
        return status if isinstance(status, str) else None


@dataclass
class StoreCounts(Generic[M]):
    """What a bulk upsert did; ``results`` lists the rows created or changed, in order."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    results: list[StoreResult[M]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Payloads processed."""
        return self.created + self.updated + self.unchanged

    def add(self, result: StoreResult[M]) -> None:
        """Count one result (changed ones are kept in :attr:`results`)."""
        if result.created:
            self.created += 1
        elif result.changed:
            self.updated += 1
        else:
            self.unchanged += 1
            return
        self.results.append(result)


def apply_payload(row: PolarObject, payload: Mapping[str, Any], *, now: Any) -> bool:
    """Apply ``payload`` to ``row`` in memory when it wins; True when anything changed."""
    merged = merge_payload(row.payload, payload)
    values = row.incoming_values(merged)
    if not type(row).wins(row.polar_values(), values):
        return False
    # Polar never changes an object's creation date; keep ours if the payload lacked one.
    if parse_polar_datetime(merged.get("created_at")) is None:
        values["created_at"] = row.created_at
    if all(getattr(row, name) == values[name] for name in row.polar_fields):
        return False
    for name in row.polar_fields:
        setattr(row, name, values[name])
    row.synced_at = now
    return True


def _new_row(model: type[M], object_id: uuid.UUID, payload: Mapping[str, Any], now: Any) -> M:
    return model(id=object_id, synced_at=now, **model.parse(merge_payload(None, payload)))


def claim_local_facts(row: PolarObject, local: Mapping[str, Any]) -> list[str]:
    """Record local facts (field name → value: the shop user, …) the row has none of yet.

    A fact is a field of this shop, not of Polar: the first value seen stays. Returns
    the names of the fields set.
    """
    fields = []
    for name, value in local.items():
        if value is None or value == "":
            continue
        field_ = row._meta.get_field(name)
        if getattr(row, field_.attname) in (None, ""):  # type: ignore[union-attr]
            setattr(row, name, value)
            fields.append(field_.name)
    return fields


class PolarObjectManager(models.Manager[M]):
    """The one upsert path of a cached Polar object (see the module's docstring)."""

    #: What an upsert returns; a model's manager may name a subclass with friendlier names.
    result_class: type[StoreResult[Any]] = StoreResult
    #: What a bulk upsert returns (its ``results`` are ``result_class`` instances).
    counts_class: type[StoreCounts[Any]] = StoreCounts

    def upsert_from_polar(
        self, payload: Mapping[str, Any], *, user_id: Any = None
    ) -> StoreResult[M]:
        """Store ``payload`` unless the cache holds newer data (the model's ``wins`` rule).

        Atomic: the row is locked (``SELECT … FOR UPDATE``) while compared and written,
        and a concurrent first insert falls back to the locked update. ``user_id`` (the
        shop user's primary key) is a local fact, recorded only when the row has none yet.
        """
        return self.store_one(payload, {"user_id": user_id})

    def store_one(self, payload: Mapping[str, Any], local: Mapping[str, Any]) -> StoreResult[M]:
        """:meth:`upsert_from_polar` with any local facts (field name → value; see
        :func:`claim_local_facts`), for a model's manager that records more than the user."""
        model = self.model
        object_id = required_id(payload, model.polar_name)
        now = timezone.now()
        with transaction.atomic(using=self.db):
            existing = self.select_for_update().filter(pk=object_id).first()
            if existing is None:
                row = _new_row(model, object_id, payload, now)
                claim_local_facts(row, local)
                try:
                    with transaction.atomic(using=self.db):
                        row.save(force_insert=True, using=self.db)
                except IntegrityError:
                    # Someone else inserted it between our read and our write.
                    existing = self.select_for_update().filter(pk=object_id).first()
                    if existing is None:
                        model.refuse_insert(self, row)
                        raise
                else:
                    return self.result_class(row, created=True, changed=True, previous={})
            previous = existing.snapshot()
            changed = apply_payload(existing, payload, now=now)
            fields = [*model.polar_fields, "synced_at"] if changed else []
            fields += claim_local_facts(existing, local)
            if fields:
                existing.save(update_fields=fields, using=self.db)
            return self.result_class(existing, created=False, changed=changed, previous=previous)

    def upsert_many(
        self,
        payloads: Iterable[Mapping[str, Any]],
        *,
        user_ids: Mapping[uuid.UUID, Any] | None = None,
    ) -> StoreCounts[M]:
        """Bulk :meth:`upsert_from_polar` for one page of a list: a constant number of queries.

        One ``SELECT … FOR UPDATE`` for the rows that exist, one bulk insert for the new
        ones and one ``bulk_update`` for the changed ones, in one transaction. ``user_ids``
        maps an object id to its shop user's primary key (recorded where the row has none).
        """
        model = self.model
        user_ids = user_ids or {}
        counts: StoreCounts[M] = self.counts_class()
        by_id: dict[uuid.UUID, list[Mapping[str, Any]]] = {}
        for payload in payloads:
            by_id.setdefault(required_id(payload, model.polar_name), []).append(payload)
        if not by_id:
            return counts
        now = timezone.now()
        with transaction.atomic(using=self.db):
            # Locked in id order, so two concurrent syncs of overlapping pages cannot deadlock.
            locked = self.select_for_update().filter(pk__in=list(by_id)).order_by("pk")
            existing = {row.pk: row for row in locked}
            new: list[M] = []
            updated: list[tuple[M, dict[str, Any]]] = []
            for object_id, versions in by_id.items():
                row = existing.get(object_id)
                local = {"user_id": user_ids.get(object_id)}
                if row is None:
                    first, *rest = versions
                    row = _new_row(model, object_id, first, now)
                    claim_local_facts(row, local)
                    # The same object twice on one page: the rule picks the winner.
                    for later in rest:
                        apply_payload(row, later, now=now)
                    new.append(row)
                    counts.unchanged += len(rest)
                    continue
                previous = row.snapshot()
                # Every version is applied (no short-circuit): the rule picks the winner.
                outcomes = [apply_payload(row, version, now=now) for version in versions]
                applied = any(outcomes)
                claimed_user = bool(claim_local_facts(row, local))
                if applied or claimed_user:
                    updated.append((row, previous if applied else {}))
                counts.unchanged += len(versions) - (1 if applied else 0)
            if new:
                try:
                    with transaction.atomic(using=self.db):
                        insert_rows(self, new)
                except IntegrityError:
                    # A concurrent writer inserted some of them first: take the careful
                    # path for this page's new rows (rare, so per row is fine).
                    for row in new:
                        counts.add(self.store_one(row.payload, {"user_id": row.user_id}))
                    new = []
            if updated:
                self.bulk_update(
                    [row for row, _ in updated], [*model.polar_fields, "synced_at", "user"]
                )
        for row in new:
            counts.add(self.result_class(row, created=True, changed=True, previous={}))
        for row, previous in updated:
            if previous:
                counts.add(self.result_class(row, created=False, changed=True, previous=previous))
        return counts


def insert_rows(manager: models.Manager[Any], rows: list[Any]) -> None:
    """Insert new rows: with ``COPY`` on PostgreSQL through psycopg 3, ``bulk_create`` else.

    A page of Polar objects is mostly JSON payloads; PostgreSQL parses a multi-row
    ``INSERT`` of them several times slower than the same rows streamed with ``COPY`` (see
    BENCHMARKS.md, figure d). A duplicate key fails the whole ``COPY`` as it fails the
    ``INSERT``: an :class:`IntegrityError` the caller handles.
    """
    connection = connections[manager.db]
    if connection.vendor == "postgresql":
        model = manager.model
        columns = list(model._meta.concrete_fields)
        quote = connection.ops.quote_name
        sql = "COPY {} ({}) FROM STDIN".format(
            quote(model._meta.db_table), ", ".join(quote(str(f.column)) for f in columns)
        )
        with connection.cursor() as cursor:
            raw = cursor.cursor
            if hasattr(raw, "copy"):  # psycopg 3 (psycopg2 has no COPY of Python rows)
                # Logged like any statement, so query counts and DEBUG logs stay true.
                logged = cursor.debug_sql(sql) if hasattr(cursor, "debug_sql") else nullcontext()
                with logged, connection.wrap_database_errors, raw.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(
                            [f.get_db_prep_save(f.pre_save(row, True), connection) for f in columns]
                        )
                for row in rows:
                    row._state.adding = False
                    row._state.db = manager.db
                return
    manager.bulk_create(rows)
