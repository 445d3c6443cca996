"""Customers: the one path into the ``Customer`` cache, and who the shop user is.

:func:`store_customer` (and :func:`store_customers` for a page) is the single way a
customer payload reaches the cache, from ``customer.*`` events, the customer embedded in
orders and subscriptions, and the sync. :func:`user_ids_for` resolves the shop user of
orders and subscriptions from their customer's ``external_id`` (through the adapter),
their checkout, or their cached customer.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.db import transaction

from ..adapter import get_adapter
from ..client import get_client
from ..models import CheckoutSession, Customer, StoreCounts, StoreResult
from ..payload.common import required_id, uuid_or_none
from ..payload.customers import customer_part, embedded_customer, external_id_of
from .checkouts import SyncResult
from .sync import sync_pages


def _external_ids(payloads: Iterable[Mapping[str, Any]]) -> dict[uuid.UUID, str]:
    return {
        required_id(p, "customer"): p["external_id"]
        for p in payloads
        if isinstance(p.get("external_id"), str) and p["external_id"]
    }


def _users_by_external_id(external_ids: Iterable[str]) -> dict[str, Any]:
    """Primary keys of the shop users the external ids name (one adapter call)."""
    wanted = set(external_ids)
    if not wanted:
        return {}
    users = get_adapter().users_for_external_customer_ids(wanted)
    return {key: user.pk for key, user in users.items() if user is not None}


def store_customer(payload: Mapping[str, Any]) -> StoreResult[Customer]:
    """Upsert one customer (a ``Customer`` or ``CustomerState``) into the cache.

    Its shop user is the one its ``external_id`` names (adapter); recorded once.
    """
    data = customer_part(payload)
    external = _external_ids([data])
    user_ids = _users_by_external_id(external.values())
    user_id = user_ids.get(next(iter(external.values()), ""))
    result: StoreResult[Customer] = Customer.objects.upsert_from_polar(data, user_id=user_id)
    return result


def store_customers(payloads: Iterable[Mapping[str, Any]]) -> StoreCounts[Customer]:
    """Upsert a page of customers in bulk (same rule as :func:`store_customer`)."""
    data = [customer_part(p) for p in payloads]
    external = _external_ids(data)
    users = _users_by_external_id(external.values())
    user_ids = {pk: users[ext] for pk, ext in external.items() if ext in users}
    with transaction.atomic():
        counts: StoreCounts[Customer] = Customer.objects.upsert_many(data, user_ids=user_ids)
    return counts


def store_embedded_customers(payloads: Iterable[Mapping[str, Any]]) -> None:
    """Store the ``customer`` objects that orders or subscriptions embed (one per id)."""
    customers: dict[Any, Mapping[str, Any]] = {}
    for payload in payloads:
        customer = embedded_customer(payload)
        if customer is not None:
            customers.setdefault(customer["id"], customer)
    if len(customers) == 1:
        store_customer(next(iter(customers.values())))
    elif customers:
        store_customers(customers.values())


def user_ids_for(payloads: Iterable[Mapping[str, Any]]) -> dict[uuid.UUID, Any]:
    """The shop user (primary key) of each order or subscription payload, by its id.

    In order of authority: the user its customer's ``external_id`` names (the adapter),
    the user who started its checkout (when cached), the user of its cached customer.
    At most three queries for a whole page; payloads of guests are left out.
    """
    items = [(required_id(p, "object"), p) for p in payloads]
    found: dict[uuid.UUID, Any] = {}
    by_external = {pk: ext for pk, p in items if (ext := external_id_of(p))}
    users = _users_by_external_id(by_external.values())
    for pk, ext in by_external.items():
        if ext in users:
            found[pk] = users[ext]
    rest = [(pk, p) for pk, p in items if pk not in found]
    checkouts = {pk: c for pk, p in rest if (c := uuid_or_none(p.get("checkout_id")))}
    if checkouts:
        owners = dict(
            CheckoutSession.objects.filter(
                pk__in=set(checkouts.values()), user__isnull=False
            ).values_list("pk", "user_id")
        )
        for pk, checkout_id in checkouts.items():
            if checkout_id in owners:
                found[pk] = owners[checkout_id]
    rest = [(pk, p) for pk, p in rest if pk not in found]
    customers = {pk: c for pk, p in rest if (c := uuid_or_none(p.get("customer_id")))}
    if customers:
        owners = dict(
            Customer.objects.filter(pk__in=set(customers.values()), user__isnull=False).values_list(
                "pk", "user_id"
            )
        )
        for pk, customer_id in customers.items():
            if customer_id in owners:
                found[pk] = owners[customer_id]
    return found


# -- reading from Polar ----------------------------------------------------------------------


def refresh_customer(customer_id: str | uuid.UUID) -> Customer:
    """Fetch one customer from Polar and update the cache."""
    result: StoreResult[Customer] = store_customer(get_client().get_customer(str(customer_id)))
    return result.row


def sync_customers(
    *,
    progress: Callable[[SyncResult], None] | None = None,
    since: dt.datetime | None = None,
    **filters: Any,
) -> SyncResult:
    """Copy every customer matching ``filters`` (``PolarClient.list_customers``'s:
    ``email``, ``organization_id`` …) from Polar into the cache, in pages of 100 stored
    in bulk; ``since`` keeps customers created at or after it."""
    given = {key: value for key, value in filters.items() if value not in (None, [], ())}
    return sync_pages(
        get_client().list_customers,
        store_customers,
        what="customer",
        progress=progress,
        since=since,
        **given,
    )
