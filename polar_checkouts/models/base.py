"""The upsert machinery the cached Polar objects share (customers, orders, subscriptions).

A cached object is a model with Polar's id as primary key, promoted columns, the raw
``payload`` and the dates Polar keeps (:class:`PolarObject`). Its manager
(:class:`PolarObjectManager`) is its one upsert path: a row lock, insert-or-get, "newer
data wins" (the model's pure rule from :mod:`polar_checkouts.payload`), and a bulk form
with a constant number of queries per page (``COPY`` on PostgreSQL, as the checkouts'
sync writes them). The model says what is its own through three class attributes:
``polar_fields`` (the columns an upsert writes), ``parse`` (payload → column values)
and ``wins`` (stored values, incoming values → may the incoming data overwrite?).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from django.conf import settings
from django.db import IntegrityError, connections, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..payload import merge_payload, parse_polar_datetime, required_id

__all__ = [
    "PolarObject",
    "PolarObjectManager",
    "StoreCounts",
    "StoreResult",
    "insert_rows",
]

M = TypeVar("M", bound="PolarObject")


class PolarObject(models.Model):
    """Columns every cached Polar object has; subclasses add their promoted columns."""

    id = models.UUIDField(_("Polar id"), primary_key=True, editable=False)
    created_at = models.DateTimeField(_("created at (Polar)"))
    modified_at = models.DateTimeField(_("modified at (Polar)"), null=True, blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    payload = models.JSONField(_("last Polar payload"), default=dict, blank=True)
    synced_at = models.DateTimeField(_("changed from Polar at"), default=timezone.now)
    # Null for a guest buyer; kept when the Django user is deleted (the data is Polar's).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("shop user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="polar_%(class)ss",
    )

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


def _snapshot(row: PolarObject) -> dict[str, Any]:
    """The row's Polar columns except the payload (what a receiver compares against)."""
    return {name: getattr(row, name) for name in row.polar_fields if name != "payload"}


def _apply(row: PolarObject, payload: Mapping[str, Any], *, now: Any) -> bool:
    """Apply ``payload`` to ``row`` in memory when it wins; True when anything changed."""
    merged = merge_payload(row.payload, payload)
    values = type(row).parse(merged)
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


class PolarObjectManager(models.Manager[M]):
    """The one upsert path of a cached Polar object (see the module's docstring)."""

    def upsert_from_polar(
        self, payload: Mapping[str, Any], *, user_id: Any = None
    ) -> StoreResult[M]:
        """Store ``payload`` unless the cache holds newer data (the model's ``wins`` rule).

        Atomic: the row is locked (``SELECT … FOR UPDATE``) while compared and written,
        and a concurrent first insert falls back to the locked update. ``user_id`` (the
        shop user's primary key) is a local fact, recorded only when the row has none yet.
        """
        model = self.model
        object_id = required_id(payload, model.polar_name)
        now = timezone.now()
        with transaction.atomic(using=self.db):
            existing = self.select_for_update().filter(pk=object_id).first()
            if existing is None:
                row = _new_row(model, object_id, payload, now)
                row.user_id = user_id
                try:
                    with transaction.atomic(using=self.db):
                        row.save(force_insert=True, using=self.db)
                except IntegrityError:
                    # Someone else inserted it between our read and our write.
                    existing = self.select_for_update().filter(pk=object_id).first()
                    if existing is None:
                        raise
                else:
                    return StoreResult(row, created=True, changed=True, previous={})
            previous = _snapshot(existing)
            changed = _apply(existing, payload, now=now)
            fields = [*model.polar_fields, "synced_at"] if changed else []
            if user_id is not None and existing.user_id is None:
                existing.user_id = user_id
                fields.append("user")
            if fields:
                existing.save(update_fields=fields, using=self.db)
            return StoreResult(existing, created=False, changed=changed, previous=previous)

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
        counts: StoreCounts[M] = StoreCounts()
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
                user_id = user_ids.get(object_id)
                if row is None:
                    first, *rest = versions
                    row = _new_row(model, object_id, first, now)
                    row.user_id = user_id
                    # The same object twice on one page: the rule picks the winner.
                    for later in rest:
                        _apply(row, later, now=now)
                    new.append(row)
                    counts.unchanged += len(rest)
                    continue
                previous = _snapshot(row)
                # Every version is applied (no short-circuit): the rule picks the winner.
                outcomes = [_apply(row, version, now=now) for version in versions]
                applied = any(outcomes)
                claimed_user = user_id is not None and row.user_id is None
                if claimed_user:
                    row.user_id = user_id
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
                        counts.add(self.upsert_from_polar(row.payload, user_id=row.user_id))
                    new = []
            if updated:
                self.bulk_update(
                    [row for row, _ in updated], [*model.polar_fields, "synced_at", "user"]
                )
        for row in new:
            counts.add(StoreResult(row, created=True, changed=True, previous={}))
        for row, previous in updated:
            if previous:
                counts.add(StoreResult(row, created=False, changed=True, previous=previous))
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
