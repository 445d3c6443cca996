"""The service layer: what views, the admin, commands and webhooks call.

Each function wraps one or more client calls and keeps the local cache in step through
:func:`store_checkout`, the single way a Polar payload reaches ``CheckoutSession``, which
also sends the checkout signals (:func:`send_checkout_signals`, exactly once per success).
Nothing else in the package combines the client with the models.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from ..adapter import get_adapter
from ..client import MAX_PAGE_SIZE, Page, get_client, id_list
from ..exceptions import InvalidPayloadError, ReceiverError
from ..models import CheckoutSession, CheckoutStatus, UpsertCounts, UpsertResult
from ..payload import checkout_id_of, organization_id_of, parse_polar_datetime, public_checkout
from ..signals import checkout_succeeded, checkout_updated
from ..types import Checkout
from .products import list_products

logger = logging.getLogger("polar_checkouts")

#: Seconds the seller's public face (``CheckoutPublic.organization``: name, slug, avatar),
#: learnt from a client-secret answer, is remembered for pages rendered from the cache.
ORGANIZATION_CACHE_SECONDS = 60 * 60


@dataclass
class SyncResult:
    """Totals of :func:`sync_checkouts` (so far, when handed to a progress callback)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    pages: int = 0

    @property
    def rows(self) -> int:
        """Checkouts stored or found unchanged."""
        return self.created + self.updated + self.unchanged

    def __str__(self) -> str:
        return f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}"


# -- the one path into the cache ----------------------------------------------------------


def store_checkout(
    payload: Mapping[str, Any], *, user: Any = None, ip_address: str | None = None
) -> UpsertResult:
    """Upsert one Polar payload into the cache; every single-checkout service ends here.

    The checkout signals are sent in the same transaction (see :mod:`.signals`).
    """
    stored = CheckoutSession.objects.unchanged_by(payload, user=user, ip_address=ip_address)
    if stored is not None:
        # Polar said what the cache already holds: nothing to write, nothing to signal.
        return UpsertResult(stored, created=False, changed=False, previous=stored.snapshot())
    with transaction.atomic():
        result = CheckoutSession.objects.upsert_from_polar(
            payload, user=user, ip_address=ip_address
        )
        send_checkout_signals(result)
    return result


def store_checkouts(payloads: Iterable[Mapping[str, Any]]) -> UpsertCounts:
    """Upsert one page of payloads in bulk (same rule and signals as :func:`store_checkout`)."""
    with transaction.atomic():
        counts = CheckoutSession.objects.upsert_many(payloads)
        send_checkout_signals_many(counts.results)
    return counts


# -- the checkout signals, sent by the store path ----------------------------------------


def _send(signal: Signal, name: str, **kwargs: object) -> None:
    """Send a checkout signal; a receiver that raises becomes :class:`ReceiverError`."""
    try:
        signal.send(sender=CheckoutSession, **kwargs)
    except Exception as exc:
        logger.exception("A %s receiver raised; the change is rolled back and retried", name)
        raise ReceiverError(f"A {name} receiver raised {type(exc).__name__}: {exc}") from exc


def send_checkout_signals(result: UpsertResult) -> None:
    """Send ``checkout_updated`` for a stored change and ``checkout_succeeded`` the first time.

    Call it right after ``CheckoutSession.objects.upsert_from_polar`` in the same
    transaction (:func:`store_checkout` does). The success is claimed with a
    conditional ``UPDATE … WHERE succeeded_notified_at IS NULL``: of any number of
    concurrent paths, exactly one updates the row and sends the signal.
    """
    checkout = result.checkout
    with transaction.atomic(using=checkout._state.db):
        if result.changed:
            _send(
                checkout_updated,
                "checkout_updated",
                checkout=checkout,
                previous_status=result.previous_status,
            )
        if checkout.status != CheckoutStatus.SUCCEEDED or checkout.succeeded_notified_at:
            return
        now = timezone.now()
        claimed = (
            CheckoutSession.objects.using(checkout._state.db)
            .filter(pk=checkout.pk, succeeded_notified_at__isnull=True)
            .update(succeeded_notified_at=now)
        )
        if not claimed:
            # Another path claimed it first (and sends the signal there).
            return
        checkout.succeeded_notified_at = now
        logger.info("Polar checkout %s succeeded; sending checkout_succeeded", checkout.pk)
        _send(checkout_succeeded, "checkout_succeeded", checkout=checkout)


def send_checkout_signals_many(results: Sequence[UpsertResult]) -> None:
    """:func:`send_checkout_signals` for a page of results, with constant database work.

    A sync stores pages of up to 100 checkouts: one savepoint for the page and one locked
    ``SELECT`` plus one ``UPDATE`` claim every newly succeeded checkout of it, instead of
    a savepoint and an ``UPDATE`` per row.
    """
    if not results:
        return
    db = results[0].checkout._state.db
    with transaction.atomic(using=db):
        for result in results:
            if result.changed:
                _send(
                    checkout_updated,
                    "checkout_updated",
                    checkout=result.checkout,
                    previous_status=result.previous_status,
                )
        candidates = {
            result.checkout.pk: result.checkout
            for result in results
            if result.checkout.status == CheckoutStatus.SUCCEEDED
            and not result.checkout.succeeded_notified_at
        }
        if not candidates:
            return
        # The rows are locked until commit, so what this SELECT finds unclaimed no other
        # path can claim in between.
        claimable = list(
            CheckoutSession.objects.using(db)
            .select_for_update()
            .filter(pk__in=list(candidates), succeeded_notified_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not claimable:
            return
        now = timezone.now()
        CheckoutSession.objects.using(db).filter(pk__in=claimable).update(succeeded_notified_at=now)
        for pk in claimable:
            checkout = candidates[pk]
            checkout.succeeded_notified_at = now
            logger.info("Polar checkout %s succeeded; sending checkout_succeeded", pk)
            _send(checkout_succeeded, "checkout_succeeded", checkout=checkout)


# -- server-side operations ----------------------------------------------------------------


def create_checkout(
    *,
    products: Sequence[str] | None = None,
    product_id: str | None = None,
    product_price_id: str | None = None,
    prices: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    amount: int | None = None,
    currency: str | None = None,
    external_customer_id: str | None = None,
    customer_id: str | None = None,
    allow_discount_codes: bool | None = None,
    discount_id: str | None = None,
    require_billing_address: bool | None = None,
    locale: str | None = None,
    return_url: str | None = None,
    seats: int | None = None,
    allow_trial: bool | None = None,
    trial_interval: str | None = None,
    trial_interval_count: int | None = None,
    custom_field_data: Mapping[str, Any] | None = None,
    customer_email: str | None = None,
    customer_name: str | None = None,
    success_url: str | None = None,
    metadata: Mapping[str, str | int | bool] | None = None,
    user: Any = None,
    ip_address: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> CheckoutSession:
    """Create a checkout session in Polar and cache it, tied to ``user`` and the request IP.

    Give ``products`` (the buyer may pick one of them; the first is selected), or
    ``product_id`` for one, or ``product_price_id`` (deprecated by Polar: on a dated API
    version it is sent as its product and currency, found in the cached catalogue, and
    as ``product_price_id`` only when they cannot name it). ``prices`` maps
    a product id to ad-hoc prices (dated API versions only); the other keywords are
    Polar's create fields of the same name, sent only when given. ``ip_address`` is also
    sent as ``customer_ip_address``. ``extra`` adds any other ``CheckoutCreate`` keys.
    A signed-in ``user`` is sent as ``external_customer_id`` (the adapter's
    ``external_customer_id(user)``) unless a customer is named otherwise (dated API
    versions only: the seed era's create has no such field).
    The client shapes the body for its API version (the seed era gets ``product_id``).
    """
    chosen = [given for given in (products, product_id, product_price_id) if given]
    if len(chosen) != 1:
        raise ValueError("Give exactly one of products, product_id and product_price_id.")
    if products is not None and isinstance(products, str):
        raise ValueError("products is a list of product ids, not one string.")
    client = get_client()
    if product_price_id and not client.seed_era:
        # Dated versions document products (the price picked by currency), not the
        # deprecated product_price_id, which is kept only when nothing else names the price.
        selling = _products_for_price(str(product_price_id), currency)
        if selling is not None:
            product_price_id = None
            product_id, currency = selling
    if (
        external_customer_id is None
        and customer_id is None
        and getattr(user, "is_authenticated", False)
        and "external_customer_id" not in (extra or {})
        and not client.seed_era  # the seed era's create has no such field
    ):
        # Polar cannot change a customer's external id later: a signed-in buyer's first
        # checkout must carry it, so orders, subscriptions and the portal find the user.
        external_customer_id = get_adapter().external_customer_id(user)
    body: dict[str, Any] = dict(extra or {})
    offered = list(products or ([product_id] if product_id else []))
    if offered:
        # Polar wants unique ids; the first one is the product selected by default.
        body["products"] = list(dict.fromkeys(str(p) for p in offered))
    optional = {
        "product_price_id": product_price_id,
        "amount": amount,
        "currency": currency,
        "external_customer_id": external_customer_id,
        "customer_id": customer_id,
        "allow_discount_codes": allow_discount_codes,
        "discount_id": discount_id,
        "require_billing_address": require_billing_address,
        "locale": locale,
        "return_url": return_url,
        "seats": seats,
        "allow_trial": allow_trial,
        "trial_interval": trial_interval,
        "trial_interval_count": trial_interval_count,
        "customer_email": customer_email,
        "customer_name": customer_name,
        "success_url": success_url,
        "customer_ip_address": ip_address,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    if prices:
        body["prices"] = {
            str(key): [dict(price) for price in value] for key, value in prices.items()
        }
    if custom_field_data:
        body["custom_field_data"] = dict(custom_field_data)
    if metadata:
        body["metadata"] = dict(metadata)
    payload = client.create(body)
    return store_checkout(payload, user=user, ip_address=ip_address).checkout


def _products_for_price(price_id: str, currency: str | None) -> tuple[str, str | None] | None:
    """``(product id, currency)`` that make Polar's dated create sell catalogue price
    ``price_id``: its product, in its currency, when it is the product's first price in
    that currency (the one Polar's price set picks). ``None`` when no such pair exists (a
    price not in the catalogue, or a legacy product with several prices in one currency).
    """
    for product in list_products():
        prices = [p for p in product.get("prices") or [] if not p.get("is_archived")]
        price = next((p for p in prices if str(p.get("id")) == price_id), None)
        if price is None:
            continue
        in_currency = price.get("price_currency") or currency
        if currency is not None and in_currency != currency:
            return None
        first = next(p for p in prices if (p.get("price_currency") or currency) == in_currency)
        return (str(product["id"]), in_currency) if first is price else None
    return None


def refresh_checkout(checkout_id: str | uuid.UUID) -> CheckoutSession:
    """Fetch one checkout from Polar and update the cache."""
    payload = get_client().get(str(checkout_id))
    return store_checkout(payload).checkout


def update_checkout(checkout_id: str | uuid.UUID, data: Mapping[str, Any]) -> CheckoutSession:
    """Update an open checkout in Polar (PATCH semantics) and cache the answer."""
    payload = get_client().update(str(checkout_id), data)
    return store_checkout(payload).checkout


# -- client-secret operations (what the buyer's browser may do) -------------------------


def client_get(client_secret: str) -> dict[str, Any]:
    """Polar's public view of a checkout; the cache is updated with what it carries."""
    payload = dict(get_client().client_get(client_secret))
    _store_public(payload)
    return payload


def client_update(client_secret: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Update the buyer's fields in Polar; returns Polar's public payload and caches it."""
    payload = dict(get_client().client_update(client_secret, data))
    _store_public(payload)
    return payload


def cached_client_get(client_secret: str, *, max_age: float) -> dict[str, Any] | None:
    """What :func:`client_get` would answer, from the cache, when it can stand in for Polar.

    Only for a checkout the cache heard about from Polar at most ``max_age`` seconds ago
    (``synced_at``: a create, a read, a webhook) and that is still open; the answer holds
    the keys of Polar's ``CheckoutPublic`` only. ``None`` (ask Polar) otherwise, or when
    the seller's organization is not known yet (a server-side payload lacks it).
    """
    if max_age <= 0:
        return None
    checkout = CheckoutSession.objects.filter(client_secret=client_secret).first()
    if checkout is None or not checkout.is_open:
        return None
    if timezone.now() - checkout.synced_at > dt.timedelta(seconds=max_age):
        return None
    payload = checkout.payload or {}
    organization = None
    if not isinstance(payload.get("organization"), Mapping):
        organization_id = organization_id_of(payload)
        if organization_id is not None:
            organization = cache.get(_organization_key(organization_id))
    return public_checkout(payload, organization)


def _organization_key(organization_id: str) -> str:
    return f"polar_checkouts:organization:{organization_id}"


def _store_public(payload: Mapping[str, Any]) -> UpsertResult:
    """Store a client-secret answer, and remember the organization it shows."""
    organization = payload.get("organization")
    organization_id = organization_id_of(payload)
    if isinstance(organization, Mapping) and organization_id is not None:
        # add, not set: one cache write an hour per organization, not one per call.
        cache.add(
            _organization_key(organization_id), dict(organization), ORGANIZATION_CACHE_SECONDS
        )
    return store_checkout(payload)


def client_confirm(client_secret: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Confirm (pay) the checkout; returns Polar's answer (with ``customer_session_token``).

    The token is handed back to the caller but never stored in the cache.
    """
    payload = dict(get_client().client_confirm(client_secret, data))
    _store_public(payload)
    return payload


# -- sync ----------------------------------------------------------------------------------


def sync_checkouts(
    *,
    progress: Callable[[SyncResult], None] | None = None,
    since: dt.datetime | None = None,
    status: str | Sequence[str] | None = None,
    product_id: str | Sequence[str] | None = None,
    organization_id: str | Sequence[str] | None = None,
    sorting: str | None = None,
    **filters: Any,
) -> SyncResult:
    """Copy every checkout matching the filters from Polar into the cache, page by page.

    Pages of 100 are stored in bulk, each in its own transaction, so a Polar error part
    way keeps the pages already stored and is then raised. ``since`` keeps checkouts
    created at or after it (paging stops once Polar's newest-first list goes past it).
    ``status`` is sent to Polar (current servers filter on it) and applied here too,
    since seed-era servers ignore it. ``progress`` is called after every page.
    """
    statuses = set(id_list(status))
    query: dict[str, Any] = dict(filters)
    if statuses:
        query["status"] = sorted(statuses)
    if product_id:
        query["product_id"] = product_id
    if organization_id:
        query["organization_id"] = organization_id
    if sorting:
        query["sorting"] = sorting
    newest_first = sorting in (None, "-created_at")

    result = SyncResult()
    page: Page[Checkout] | None = get_client().list(page=1, limit=MAX_PAGE_SIZE, **query)
    while page is not None:
        items = list(page.items)
        keep = []
        reached_since = False
        for item in items:
            try:
                checkout_id_of(item)
            except InvalidPayloadError:
                # One malformed row must not stop the sync of every other checkout.
                logger.warning("Skipping a Polar checkout without a valid id: %r", item.get("id"))
                continue
            created = parse_polar_datetime(item.get("created_at"))
            if since is not None and created is not None and created < since:
                reached_since = True
                continue
            if statuses and item.get("status") not in statuses:
                continue
            keep.append(item)
        counts = store_checkouts(keep)
        result.created += counts.created
        result.updated += counts.updated
        result.unchanged += counts.unchanged
        result.pages += 1
        if progress is not None:
            progress(result)
        if reached_since and newest_first:
            break
        page = page.next()
    logger.info("Polar checkout sync: %s in %d page(s)", result, result.pages)
    return result
