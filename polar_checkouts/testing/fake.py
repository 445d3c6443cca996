"""The fake Polar: an in-memory, thread-safe Polar checkout API.

:class:`FakePolar` keeps products, prices, discounts and checkout sessions, and answers
HTTP-shaped calls through one entry point, :meth:`FakePolar.handle`. The requests adapter,
the Django views and the standalone server all call it, so there is one implementation
of Polar's behaviour (``/work/shared/polar/API.md`` in the project notes):

* the seven checkout routes under ``/v1/checkouts/`` and ``/v1/checkouts/custom/``, and
  ``GET /v1/products/`` and ``/v1/products/{id}``;
* the status machine ``open -> confirmed -> succeeded | failed``, ``open -> expired``;
* amounts, a 10 % discount code, a deterministic tax rule, Polar's 4xx bodies;
* fault injection and Standard Webhooks deliveries;
* fake-only routes under ``/_fake/`` (complete a "3-D Secure" action, reset, move the
  clock, inject faults) that a browser or another process can call.
"""

from __future__ import annotations

import copy
import json
import math
import secrets
import string
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial
from http import HTTPStatus
from operator import attrgetter
from typing import Any
from urllib.parse import parse_qs, unquote

from . import catalogue
from .faults import TRANSPORT_FAULTS, Injection
from .validation import (
    CLIENT_UPDATE_FIELDS,
    CONFIRM_FIELDS,
    CREATE_FIELDS,
    MISSING,
    NON_NULLABLE_ON_CREATE,
    UPDATE_FIELDS,
    Errors,
    RequestInvalid,
    parse_fields,
    query_bool,
    query_enum,
    query_ints,
    query_uuids,
    uuid_value,
)
from .webhooks import Sender, WebhookEndpoint, WebhookEvent, http_sender

#: Where checkout pages of the fake live (``Checkout.url``); never resolved on a network.
DEFAULT_FRONTEND_URL = "http://fake-polar.invalid"
CHECKOUT_PREFIXES = ("/v1/checkouts/custom/", "/v1/checkouts/")
PRODUCTS_PREFIX = "/v1/products/"
SERVER_OPERATIONS = ("list", "create", "get", "update", "list_products", "get_product")
CHECKOUT_SORTS = ("created_at", "-created_at", "expires_at", "-expires_at", "status", "-status")
PRODUCT_SORTS = (
    "created_at",
    "-created_at",
    "name",
    "-name",
    "price_amount_type",
    "-price_amount_type",
    "price_amount",
    "-price_amount",
)
STATUSES = ("open", "expired", "confirmed", "succeeded", "failed")
MAX_LIMIT = 100
#: The error name of the service's own 422s (schema errors are "RequestValidationError").
BUSINESS_ERROR = "PolarRequestValidationError"

JsonDict = dict[str, Any]
Observer = Callable[["RecordedRequest", "FakeResponse"], None]


def isoformat(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``, as Polar writes datetimes."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _token(prefix: str, length: int = 48) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class FakeResponse:
    """An answer of the fake: status, headers and raw body.

    ``fault`` names an injected fault the transport must act out (``"timeout"``,
    ``"refused"``, ``"disconnect"``, ``"reset"``) or that mangled the body.
    """

    status: int
    headers: dict[str, str]
    body: bytes
    operation: str | None = None
    fault: str | None = None
    hang: float = 0.0

    def json(self) -> Any:
        """The decoded body."""
        return json.loads(self.body)

    @property
    def transport_fault(self) -> str | None:
        """The transport fault to act out, if any."""
        return self.fault if self.fault in TRANSPORT_FAULTS else None


@dataclass
class RecordedRequest:
    """A call that reached the fake, with the operation it was routed to."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    operation: str | None
    status: int = 0
    fault: str | None = None

    def json(self) -> Any:
        """The decoded request body."""
        return json.loads(self.body) if self.body else None


@dataclass
class _Checkout:
    id: str
    created_at: datetime
    expires_at: datetime
    client_secret: str
    product_id: str
    price_id: str
    amount: int | None
    currency: str | None
    modified_at: datetime | None = None
    status: str = "open"
    success_url: str | None = None
    embed_origin: str | None = None
    discount_id: str | None = None
    allow_discount_codes: bool = True
    customer_id: str | None = None
    customer_name: str | None = None
    customer_email: str | None = None
    customer_ip_address: str | None = None
    customer_billing_address: dict[str, str | None] | None = None
    customer_tax_id: str | None = None
    payment_processor_metadata: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    customer_metadata: dict[str, Any] = field(default_factory=dict)
    custom_field_data: dict[str, Any] = field(default_factory=dict)
    subscription_id: str | None = None
    customer_session_token: str | None = None
    settle: tuple[str, datetime] | None = None
    pending_action: bool = False
    order_id: str | None = None
    product_ids: list[str] = field(default_factory=list)


class _HTTPError(Exception):
    def __init__(self, status: int, payload: Any, headers: Mapping[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.payload = payload
        self.headers = dict(headers or {})


def _error(status: int, error: str, detail: str) -> _HTTPError:
    return _HTTPError(status, {"error": error, "detail": detail})


_NOT_FOUND = {"error": "ResourceNotFound", "detail": "Not found"}


class FakePolar:
    """An in-memory Polar. Thread-safe; every public method may be called from any thread.

    ``success_delay`` is how many seconds (on the fake's clock) a confirmed payment takes
    to succeed or fail; ``checkout_ttl`` how long a checkout stays open;
    ``expired_status`` what client routes answer for an expired checkout (410 as today's
    Polar, 404 as in the seed era).
    """

    #: Called with every (request, response) of every instance; tests hook spec checks here.
    global_observers: list[Observer] = []

    def __init__(
        self,
        *,
        seed: bool = True,
        success_delay: float = 0.0,
        checkout_ttl: timedelta = timedelta(hours=1),
        expired_status: int = 410,
        frontend_url: str = DEFAULT_FRONTEND_URL,
        publishable_key: str = catalogue.PUBLISHABLE_KEY,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        webhook_delivery: str = "sync",
        webhook_sender: Sender | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self.success_delay = success_delay
        self.checkout_ttl = checkout_ttl
        self.expired_status = expired_status
        self.frontend_url = frontend_url.rstrip("/")
        self.publishable_key = publishable_key
        self.observers: list[Observer] = []
        self._seed = seed
        self._offset = timedelta(0)
        self.webhook: WebhookEndpoint | None = None
        self.webhook_delivery = "sync"
        self._worker: threading.Thread | None = None
        self._worker_stop = threading.Event()
        self._reset_state()
        if webhook_url and webhook_secret:
            self.configure_webhooks(
                webhook_url, webhook_secret, delivery=webhook_delivery, sender=webhook_sender
            )

    # -- state ----------------------------------------------------------------------------

    def _reset_state(self) -> None:
        self.products: dict[str, JsonDict] = {}
        self.prices: dict[str, JsonDict] = {}
        self.discounts: dict[str, JsonDict] = {}
        self._checkouts: dict[str, _Checkout] = {}
        self._by_secret: dict[str, str] = {}
        self._order: list[str] = []
        self.customers: dict[str, JsonDict] = {}
        self.orders: dict[str, JsonDict] = {}
        self.subscriptions: dict[str, JsonDict] = {}
        self.injections: list[Injection] = []
        self.requests: list[RecordedRequest] = []
        self.sleeps: list[float] = []
        self.events: list[WebhookEvent] = []
        if self._seed:
            self._seed_catalogue()

    def reset(self) -> None:
        """Forget every checkout, request, fault and event; re-seed the catalogue."""
        with self._lock:
            self._offset = timedelta(0)
            self._reset_state()

    def _seed_catalogue(self) -> None:
        for item in catalogue.SEED_PRODUCTS:
            self.add_product(
                item["name"],
                description=item["description"],
                amount_type=item["amount_type"],
                price_amount=item.get("price_amount"),
                minimum_amount=item.get("minimum_amount"),
                maximum_amount=item.get("maximum_amount"),
                preset_amount=item.get("preset_amount"),
                recurring_interval=item.get("recurring_interval"),
                product_id=item["id"],
                price_id=item["price_id"],
                created_at=catalogue.SEEDED_AT,
            )
        self.add_discount(
            catalogue.DISCOUNT_CODE,
            basis_points=catalogue.DISCOUNT_BASIS_POINTS,
            name="Welcome, 10 % off",
            discount_id=catalogue.DISCOUNT_ID,
        )

    def now(self) -> datetime:
        """The fake's clock: the real UTC time plus every :meth:`advance_time`."""
        return datetime.now(timezone.utc) + self._offset

    def advance_time(self, seconds: float) -> None:
        """Move the fake's clock forward: expiries and delayed payment outcomes happen."""
        with self._lock:
            self._offset += timedelta(seconds=seconds)
            self._tick()
        self._after_call()

    def add_product(
        self,
        name: str,
        *,
        amount_type: str = "fixed",
        price_amount: int | None = None,
        currency: str = "usd",
        recurring_interval: str | None = None,
        minimum_amount: int | None = None,
        maximum_amount: int | None = None,
        preset_amount: int | None = None,
        description: str | None = None,
        product_id: str | None = None,
        price_id: str | None = None,
        organization_id: str = catalogue.ORGANIZATION_ID,
        is_archived: bool = False,
        created_at: datetime | None = None,
    ) -> JsonDict:
        """Add a product with one price and return it as Polar's ``Product`` JSON.

        ``amount_type`` is ``"fixed"`` (needs ``price_amount``), ``"custom"`` (pay what
        you want, optional min/max/preset) or ``"free"``; ``recurring_interval``
        (``"month"``/``"year"``) makes it a subscription.
        """
        if amount_type not in ("fixed", "custom", "free"):
            raise ValueError("amount_type must be 'fixed', 'custom' or 'free'")
        if amount_type == "fixed" and (price_amount is None or price_amount < 50):
            raise ValueError("A fixed price needs price_amount >= 50 (cents)")
        if recurring_interval not in (None, "month", "year"):
            raise ValueError("recurring_interval must be None, 'month' or 'year'")
        with self._lock:
            created = created_at or self.now()
            product_id = product_id or str(uuid.uuid4())
            price: JsonDict = {
                "created_at": isoformat(created),
                "modified_at": None,
                "id": price_id or str(uuid.uuid4()),
                "amount_type": amount_type,
                "is_archived": is_archived,
                "product_id": product_id,
                "type": "recurring" if recurring_interval else "one_time",
            }
            if recurring_interval:
                price["recurring_interval"] = recurring_interval
                # Today's Polar moved the interval to the product and flags such prices.
                price["legacy"] = True
            price["source"] = "catalog"
            price["tax_behavior"] = None
            if amount_type == "fixed":
                price["price_currency"] = currency.lower()
                price["price_amount"] = price_amount
            elif amount_type == "custom":
                price["price_currency"] = currency.lower()
                price["minimum_amount"] = minimum_amount
                price["maximum_amount"] = maximum_amount
                price["preset_amount"] = preset_amount
            self.prices[price["id"]] = price
            self.products[product_id] = {
                "created_at": isoformat(created),
                "modified_at": None,
                "id": product_id,
                "name": name,
                "description": description,
                "is_recurring": bool(recurring_interval),
                "is_archived": is_archived,
                "organization_id": organization_id,
                "metadata": {},
                "price_ids": [price["id"]],
                # Keys of today's Polar (API 2026-04), so current SDKs can decode products.
                "visibility": "public",
                "recurring_interval": recurring_interval,
                "recurring_interval_count": 1 if recurring_interval else None,
                "trial_interval": None,
                "trial_interval_count": None,
                "meter_interval": None,
                "meter_interval_count": None,
            }
            return self._product_json(product_id)

    def archive_product(self, product_id: str) -> None:
        """Archive a product and its prices: new checkouts for it get 422."""
        with self._lock:
            product = self.products[product_id]
            product["is_archived"] = True
            product["modified_at"] = isoformat(self.now())
            for price_id in product["price_ids"]:
                self.prices[price_id]["is_archived"] = True

    def add_discount(
        self,
        code: str | None,
        *,
        basis_points: int | None = None,
        amount: int | None = None,
        currency: str = "usd",
        name: str | None = None,
        duration: str = "once",
        discount_id: str | None = None,
    ) -> JsonDict:
        """Add a percentage (``basis_points``) or fixed (``amount`` cents) discount."""
        if (basis_points is None) == (amount is None):
            raise ValueError("Give exactly one of basis_points and amount")
        discount: JsonDict = {
            "duration": duration,
            "type": "percentage" if basis_points is not None else "fixed",
            "id": discount_id or str(uuid.uuid4()),
            "name": name or code or "Discount",
            "code": code,
        }
        if basis_points is not None:
            discount["basis_points"] = basis_points
        else:
            discount["amount"] = amount
            discount["currency"] = currency.lower()
        if duration == "repeating":
            discount["duration_in_months"] = 3
        with self._lock:
            self.discounts[discount["id"]] = discount
        return dict(discount)

    def inject(
        self,
        status: int | None = None,
        *,
        fault: str | None = None,
        times: int = 1,
        route: str | None = None,
        retry_after: float | None = None,
        body: bytes | None = None,
        hang: float = 2.0,
    ) -> Injection:
        """Make the next ``times`` calls (of ``route``, or any) answer ``status`` or break.

        ``fault`` is one of ``timeout`` (answer never comes: the request was processed),
        ``refused`` (connection refused: nothing processed), ``disconnect`` (connection
        dropped before answering: nothing processed), ``reset`` (connection reset in the
        middle of the body: processed), ``malformed_json``, ``html`` or ``missing_keys``.
        ``retry_after`` adds a ``Retry-After`` header (use it with 429 or 503).
        """
        injection = Injection(
            status=status,
            fault=fault,
            times=times,
            route=route,
            retry_after=retry_after,
            body=body,
            hang=hang,
        )
        with self._lock:
            self.injections.append(injection)
        return injection

    def clear_faults(self) -> None:
        """Disarm every injected fault."""
        with self._lock:
            self.injections.clear()

    def calls(self, operation: str | None = None) -> list[RecordedRequest]:
        """The calls that reached the fake, optionally only those of one operation."""
        with self._lock:
            return [r for r in self.requests if operation is None or r.operation == operation]

    def checkout(self, checkout_id: str) -> JsonDict:
        """A checkout as the server-side ``get`` returns it (``KeyError`` if unknown)."""
        with self._lock:
            self._tick()
            result = self._checkout_json(self._checkouts[checkout_id])
        self._after_call()
        return result

    def checkouts(self) -> list[JsonDict]:
        """Every checkout, oldest first, as the server-side API returns them."""
        with self._lock:
            self._tick()
            result = [self._checkout_json(self._checkouts[i]) for i in self._order]
        self._after_call()
        return result

    def create_checkout(self, data: Mapping[str, Any] | None = None, **fields: Any) -> JsonDict:
        """Create a checkout directly (no HTTP, no faults); raises ``ValueError`` on a 422."""
        body = {**(data or {}), **fields}
        with self._lock:
            try:
                result = self._create(_json_bytes(body))
            except RequestInvalid as exc:
                raise ValueError(json.dumps(exc.errors)) from None
        self._after_call()
        return result

    def complete_action(self, client_secret: str, *, succeed: bool = True) -> JsonDict:
        """Finish the buyer's "3-D Secure" step of a ``requires_action`` confirmation."""
        with self._lock:
            result = self._complete_action(client_secret, succeed)
        self._after_call()
        return result

    # -- webhooks ---------------------------------------------------------------------

    def configure_webhooks(
        self,
        url: str,
        secret: str,
        *,
        delivery: str = "sync",
        sender: Sender | None = None,
        max_attempts: int = 5,
        backoff: float = 1.0,
        timeout: float = 10.0,
    ) -> WebhookEndpoint:
        """Deliver events to ``url``, signed with ``secret``.

        ``delivery`` is ``"sync"`` (right after the call that caused the event, outside the
        lock), ``"manual"`` (only on :meth:`deliver_webhooks`) or ``"background"`` (a
        worker thread, with real waits between retries). ``sender`` replaces the HTTP POST,
        e.g. with Django's test client. Failed deliveries are retried up to
        ``max_attempts`` times, ``backoff * 2**n`` seconds apart on the fake's clock.
        """
        if delivery not in ("sync", "manual", "background"):
            raise ValueError("delivery must be 'sync', 'manual' or 'background'")
        endpoint = WebhookEndpoint(
            url=url,
            secret=secret,
            max_attempts=max_attempts,
            backoff=backoff,
            timeout=timeout,
            sender=sender or http_sender,
        )
        with self._lock:
            self.webhook = endpoint
            self.webhook_delivery = delivery
        if delivery == "background":
            self._start_worker()
        return endpoint

    def deliver_webhooks(self, *, ignore_schedule: bool = False) -> list[WebhookEvent]:
        """Attempt every pending event that is due (or all, with ``ignore_schedule``)."""
        with self._lock:
            endpoint = self.webhook
            if endpoint is None:
                return []
            now = self.now()
            due = [
                e
                for e in self.events
                if e.state == "pending"
                and (ignore_schedule or e.next_attempt_at is None or e.next_attempt_at <= now)
            ]
            for event in due:
                event.state = "sending"
        for event in due:
            # The receiver may call the fake back (a webhook handler refreshing the
            # checkout), so the lock is not held while it runs.
            endpoint.attempt(event, now)
            if event.state == "sending":
                event.state = "pending"
        return due

    def _start_worker(self) -> None:
        if self._worker is not None and self._worker.is_alive():
            return
        self._worker_stop.clear()

        def run() -> None:
            while not self._worker_stop.wait(0.1):
                self.deliver_webhooks()

        self._worker = threading.Thread(target=run, name="fake-polar-webhooks", daemon=True)
        self._worker.start()

    def close(self) -> None:
        """Stop the background webhook worker, if any."""
        self._worker_stop.set()
        if self._worker is not None:
            self._worker.join(timeout=5)
            self._worker = None

    def _emit(self, type: str, data: JsonDict) -> None:
        now = self.now()
        event = WebhookEvent(id=str(uuid.uuid4()), type=type, timestamp=now, data=data)
        event.body = _json_bytes({"type": type, "timestamp": isoformat(now), "data": data})
        event.state = "pending" if self.webhook is not None else "not_sent"
        self.events.append(event)

    def _after_call(self) -> None:
        if self.webhook is not None and self.webhook_delivery == "sync":
            self.deliver_webhooks()

    # -- the HTTP entry point ---------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: str = "",
        headers: Mapping[str, str] | None = None,
        body: bytes | None = b"",
    ) -> FakeResponse:
        """Answer one HTTP call. ``path`` starts at the API root (``/v1/...``)."""
        method = method.upper()
        if "?" in path:
            path, _, extra = path.partition("?")
            query = f"{query}&{extra}" if query else extra
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        params = parse_qs(query, keep_blank_values=True)
        body = body or b""
        operation, handler = self._route(method, path)
        with self._lock:
            injection = self._take_injection(operation)
            if injection is not None and not injection.processed:
                response = self._injected_response(injection, operation)
            else:
                self._tick()
                response = self._dispatch(operation, handler, lowered, params, body)
                if injection is not None:
                    response = self._mangle(injection, response)
            record = RecordedRequest(
                method=method,
                path=path,
                query=params,
                headers=lowered,
                body=body,
                operation=operation,
                status=response.status,
                fault=response.fault,
            )
            if response.fault != "refused":
                self.requests.append(record)
        self._after_call()
        for observer in (*FakePolar.global_observers, *self.observers):
            observer(record, response)
        return response

    def _route(self, method: str, path: str) -> tuple[str | None, Callable[..., FakeResponse]]:
        def not_found(*args: Any) -> FakeResponse:
            return self._plain(404, {"detail": "Not Found"})

        def not_allowed(*args: Any) -> FakeResponse:
            return self._plain(405, {"detail": "Method Not Allowed"})

        def pick(
            table: dict[str, tuple[str, Callable[..., FakeResponse]]],
        ) -> tuple[str | None, Callable[..., FakeResponse]]:
            if method in table:
                return table[method]
            return None, not_allowed

        if method == "OPTIONS":
            return None, lambda *a: FakeResponse(204, {}, b"")
        if path in ("", "/"):
            return pick({"GET": ("index", lambda *a: self._index())})
        # FastAPI redirects a collection path without its slash. ("/v1/checkouts/custom"
        # without one is not redirected: it is the checkout whose id is "custom", a 422.)
        if path in ("/v1/checkouts", "/v1/products"):
            return None, lambda *a: FakeResponse(307, {"location": path + "/"}, b"")
        if path.startswith("/_fake/"):
            return self._fake_route(method, path[len("/_fake/") :])
        if path.startswith(PRODUCTS_PREFIX):
            rest = path[len(PRODUCTS_PREFIX) :]
            if rest == "":
                return pick({"GET": ("list_products", self._list_products)})
            if "/" not in rest:
                product_id = unquote(rest)
                return pick({"GET": ("get_product", lambda *a: self._get_product(product_id))})
            return None, not_found
        prefix = next((p for p in CHECKOUT_PREFIXES if path.startswith(p)), None)
        if prefix is None:
            return None, not_found
        rest = path[len(prefix) :]
        if rest == "":
            return pick({"GET": ("list", self._list), "POST": ("create", self._create_op)})
        if rest.startswith("client/"):
            tail = rest[len("client/") :]
            if tail and "/" not in tail:
                secret = unquote(tail)
                return pick(
                    {
                        "GET": ("client_get", lambda *a: self._client_get(secret)),
                        "PATCH": ("client_update", lambda h, q, b: self._client_update(secret, b)),
                    }
                )
            if tail.endswith("/confirm") and tail.count("/") == 1:
                secret = unquote(tail[: -len("/confirm")])
                return pick(
                    {"POST": ("client_confirm", lambda h, q, b: self._client_confirm(secret, b))}
                )
            return None, (not_allowed if tail == "" else not_found)
        if "/" not in rest:
            checkout_id = unquote(rest)
            return pick(
                {
                    "GET": ("get", lambda *a: self._get(checkout_id)),
                    "PATCH": ("update", lambda h, q, b: self._update(checkout_id, b)),
                }
            )
        return None, not_found

    def _fake_route(self, method: str, rest: str) -> tuple[str | None, Callable[..., FakeResponse]]:
        parts = rest.split("/")

        def post_only(fn: Callable[..., FakeResponse]) -> Callable[..., FakeResponse]:
            if method != "POST":
                return lambda *a: self._plain(405, {"detail": "Method Not Allowed"})
            return fn

        if len(parts) == 3 and parts[0] == "actions" and parts[2] in ("complete", "fail"):
            secret, succeed = unquote(parts[1]), parts[2] == "complete"
            return None, post_only(
                lambda *a: self._plain(200, self._complete_action(secret, succeed))
            )
        if rest == "reset":
            return None, post_only(lambda *a: self._fake_reset())
        if rest == "advance-time":
            return None, post_only(lambda h, q, b: self._fake_advance(b))
        if rest == "faults":
            return None, post_only(lambda h, q, b: self._fake_inject(b))
        if rest == "products":
            return None, post_only(lambda h, q, b: self._fake_add_product(b))
        if rest == "events" and method == "GET":
            return None, lambda *a: self._plain(
                200,
                [
                    {
                        "id": e.id,
                        "type": e.type,
                        "state": e.state,
                        "attempts": len(e.attempts),
                        "payload": e.payload(),
                    }
                    for e in self.events
                ],
            )
        return None, lambda *a: self._plain(404, {"detail": "Not Found"})

    def _dispatch(
        self,
        operation: str | None,
        handler: Callable[..., FakeResponse],
        headers: dict[str, str],
        params: dict[str, list[str]],
        body: bytes,
    ) -> FakeResponse:
        try:
            if operation in SERVER_OPERATIONS:
                auth = headers.get("authorization", "")
                scheme, _, token = auth.partition(" ")
                if scheme.lower() != "bearer" or not token.strip():
                    raise _HTTPError(
                        401,
                        {"error": "Unauthorized", "detail": "Unauthorized"},
                        {"www-authenticate": 'Bearer realm="polar"'},
                    )
            response = handler(headers, params, body)
        except RequestInvalid as exc:
            response = self._plain(422, {"error": exc.error, "detail": exc.errors})
        except _HTTPError as exc:
            response = self._plain(exc.status, exc.payload, exc.headers)
        response.operation = operation
        return response

    @staticmethod
    def _plain(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> FakeResponse:
        return FakeResponse(
            status, {"content-type": "application/json", **(headers or {})}, _json_bytes(payload)
        )

    # -- faults -------------------------------------------------------------------------

    def _take_injection(self, operation: str | None) -> Injection | None:
        for injection in self.injections:
            if injection.matches(operation):
                injection.consume()
                return injection
        return None

    def _injected_response(self, injection: Injection, operation: str | None) -> FakeResponse:
        headers: dict[str, str] = {}
        if injection.retry_after is not None:
            headers["retry-after"] = f"{injection.retry_after:g}"
        if injection.fault in ("refused", "disconnect"):
            return FakeResponse(0, headers, b"", operation, injection.fault)
        if injection.fault == "html":
            status = injection.status or 200
            page = injection.body or (
                b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
                b"<body><h1>Bad gateway</h1><p>The upstream server is unavailable.</p>"
                b"</body></html>"
            )
            return FakeResponse(
                status,
                {**headers, "content-type": "text/html; charset=utf-8"},
                page,
                operation,
                "html",
            )
        status = injection.status or 500
        if injection.body is not None:
            body = injection.body
        elif status == 429:
            body = b""  # Polar's limiter answers 429 with an empty body.
        else:
            phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
            body = _json_bytes({"error": phrase.replace(" ", ""), "detail": phrase})
        if body:
            headers["content-type"] = "application/json"
        return FakeResponse(status, headers, body, operation)

    def _mangle(self, injection: Injection, response: FakeResponse) -> FakeResponse:
        if injection.fault in ("timeout", "reset"):
            response.fault = injection.fault
            response.hang = injection.hang
            return response
        if injection.fault == "malformed_json":
            response.body = response.body[: max(len(response.body) // 2, 1)]
        elif injection.fault == "missing_keys":
            data = json.loads(response.body) if response.body else {}
            if isinstance(data, dict):
                for key in ("id", "status", "client_secret", "items", "pagination"):
                    data.pop(key, None)
            response.body = _json_bytes(data)
        response.fault = injection.fault
        if injection.status is not None:
            response.status = injection.status
        return response

    # -- time-driven transitions -----------------------------------------------------------

    def _touch(self, checkout: _Checkout) -> None:
        now = self.now()
        previous = checkout.modified_at or checkout.created_at
        # Strictly increasing, so "newer modified_at wins" never sees a tie.
        checkout.modified_at = max(now, previous + timedelta(microseconds=1))

    def _tick(self) -> None:
        now = self.now()
        for checkout_id in self._order:
            checkout = self._checkouts[checkout_id]
            if checkout.status == "open" and checkout.expires_at <= now:
                checkout.status = "expired"
                self._touch(checkout)
                data = self._checkout_json(checkout)
                self._emit("checkout.updated", data)
                self._emit("checkout.expired", data)
            elif (
                checkout.status == "confirmed"
                and checkout.settle is not None
                and checkout.settle[1] <= now
            ):
                outcome = checkout.settle[0]
                checkout.settle = None
                checkout.status = outcome
                if checkout.payment_processor_metadata.get("intent_status"):
                    checkout.payment_processor_metadata["intent_status"] = (
                        "succeeded" if outcome == "succeeded" else "requires_payment_method"
                    )
                self._touch(checkout)
                self._emit("checkout.updated", self._checkout_json(checkout))
                if outcome == "succeeded":
                    order = self._create_order(checkout)
                    self._emit("order.created", order)
                    self._emit("order.paid", order)

    # -- lookups -----------------------------------------------------------------------------

    def _find(self, checkout_id: str) -> _Checkout:
        errors = Errors()
        value = uuid_value(errors, ("path", "id"), checkout_id)
        errors.raise_if_any()
        checkout = self._checkouts.get(value or "")
        if checkout is None:
            raise _HTTPError(404, _NOT_FOUND)
        return checkout

    def _find_by_secret(self, client_secret: str) -> _Checkout:
        checkout_id = self._by_secret.get(client_secret)
        if checkout_id is None:
            raise _HTTPError(404, _NOT_FOUND)
        checkout = self._checkouts[checkout_id]
        if checkout.status == "expired":
            if self.expired_status == 404:
                raise _HTTPError(404, _NOT_FOUND)
            raise _error(
                self.expired_status, "ExpiredCheckoutError", "This checkout session has expired."
            )
        return checkout

    @staticmethod
    def _require_open(checkout: _Checkout) -> None:
        if checkout.status != "open":
            raise _error(
                403, "NotOpenCheckout", f"Checkout {checkout.id} is not open: {checkout.status}"
            )

    # -- operations -----------------------------------------------------------------------

    def _index(self) -> FakeResponse:
        return self._plain(
            200,
            {
                "name": "Fake Polar",
                "organization_id": catalogue.ORGANIZATION_ID,
                "checkout_paths": list(CHECKOUT_PREFIXES),
                "products": [
                    {"id": p["id"], "name": p["name"], "price_ids": p["price_ids"]}
                    for p in self.products.values()
                ],
                "discount_codes": [d["code"] for d in self.discounts.values() if d["code"]],
                "confirmation_tokens": list(catalogue.TOKENS),
            },
        )

    def _list(self, headers: Any, params: dict[str, list[str]], body: bytes) -> FakeResponse:
        errors = Errors()
        organization_ids = query_uuids(errors, params, "organization_id")
        product_ids = query_uuids(errors, params, "product_id")
        customer_ids = query_uuids(errors, params, "customer_id")
        statuses = query_enum(errors, params, "status", STATUSES)
        sorting = query_enum(errors, params, "sorting", CHECKOUT_SORTS) or ["-created_at"]
        page = query_ints(errors, params, "page", 1)
        limit = query_ints(errors, params, "limit", 10)
        errors.raise_if_any()
        assert page is not None
        assert limit is not None
        query = (params.get("query") or [""])[-1].lower()
        items = [self._checkouts[i] for i in self._order]
        if organization_ids:
            items = [
                c
                for c in items
                if self.products[c.product_id]["organization_id"] in organization_ids
            ]
        if product_ids:
            items = [c for c in items if c.product_id in product_ids]
        if customer_ids:
            items = [c for c in items if c.customer_id in customer_ids]
        if statuses:
            items = [c for c in items if c.status in statuses]
        if query:
            items = [c for c in items if query in (c.customer_email or "").lower()]
        # Python's sort is stable: apply the keys from last to first.
        for key in reversed(sorting):
            name = key.lstrip("-")
            items.sort(key=attrgetter(name), reverse=key.startswith("-"))
        return self._plain(200, self._page([self._checkout_json(c) for c in items], page, limit))

    @staticmethod
    def _page(items: list[JsonDict], page: int, limit: int) -> JsonDict:
        limit = min(limit, MAX_LIMIT)
        start = (page - 1) * limit
        return {
            "items": items[start : start + limit],
            "pagination": {"total_count": len(items), "max_page": math.ceil(len(items) / limit)},
        }

    def _create_op(self, headers: Any, params: Any, body: bytes) -> FakeResponse:
        return self._plain(201, self._create(body))

    def _create(self, body: bytes) -> JsonDict:
        data = self._body(body)
        # Schema first, as FastAPI does: its errors come alone, named RequestValidationError.
        errors = Errors()
        selection = self._selection(errors, data)
        processor = data.get("payment_processor", MISSING)
        if processor is not MISSING and processor != "stripe":
            errors.add(
                ("body", "payment_processor"),
                "Input should be 'stripe'",
                "literal_error",
                processor,
                {"expected": "'stripe'"},
            )
        fields = parse_fields(errors, data, CREATE_FIELDS, non_nullable=NON_NULLABLE_ON_CREATE)
        errors.raise_if_any()
        # Then the service's rules: PolarRequestValidationError, again all together.
        price = self._selected_price(errors, selection)
        now = self.now()
        checkout = _Checkout(
            id=str(uuid.uuid4()),
            created_at=now,
            expires_at=now + self.checkout_ttl,
            client_secret=_token("polar_c_"),
            product_id=price["product_id"] if price else "",
            price_id=price["id"] if price else "",
            amount=_default_amount(price) if price else None,
            currency=price.get("price_currency") if price else None,
        )
        checkout.payment_processor_metadata = {"publishable_key": self.publishable_key}
        offered = selection[2] if selection[0] == "products" else []
        checkout.product_ids = [i for i in offered if i in self.products] or [checkout.product_id]
        if price is not None:
            self._apply(errors, checkout, fields, public=False)
        for key in ("customer_id", "subscription_id"):
            value = fields.get(key)
            if value is None:
                continue
            if key == "customer_id" and value in {c["id"] for c in self.customers.values()}:
                checkout.customer_id = value
                customer = next(c for c in self.customers.values() if c["id"] == value)
                checkout.customer_email = checkout.customer_email or customer["email"]
                checkout.customer_name = checkout.customer_name or customer["name"]
            else:
                what = "Customer" if key == "customer_id" else "Subscription"
                errors.add(("body", key), f"{what} does not exist.", "value_error", value)
        errors.raise_if_any(BUSINESS_ERROR)
        assert price is not None
        success_url = fields.get("success_url")
        checkout.success_url = (
            success_url.replace("{CHECKOUT_ID}", checkout.id) if success_url else None
        )
        self._checkouts[checkout.id] = checkout
        self._by_secret[checkout.client_secret] = checkout.id
        self._order.append(checkout.id)
        result = self._checkout_json(checkout)
        self._emit("checkout.created", result)
        return result

    def _selection(self, errors: Errors, data: JsonDict) -> tuple[str, str | None, list[str]]:
        """What a create sells: ``("price"|"product"|"products", first id, all ids)``.

        ``products`` (a list of ids) is the only variant documented by today's Polar; the
        checkout offers them all and starts on the first.
        """
        for key, kind in (("product_price_id", "price"), ("product_id", "product")):
            if key in data:
                value = uuid_value(errors, ("body", key), data[key])
                return kind, value, [value] if value else []
        if "products" not in data:
            errors.add(
                ("body", "CheckoutProductCreate", "product_id"), "Field required", "missing", data
            )
            errors.add(
                ("body", "CheckoutPriceCreate", "product_price_id"),
                "Field required",
                "missing",
                data,
            )
            return "product", None, []
        products = data["products"]
        if not isinstance(products, list):
            errors.add(("body", "products"), "Input should be a valid list", "list_type", products)
            return "products", None, []
        if not products:
            errors.add(
                ("body", "products"),
                "List should have at least 1 item after validation, not 0",
                "too_short",
                products,
                {"field_type": "List", "min_length": 1, "actual_length": 0},
            )
            return "products", None, []
        ids = [uuid_value(errors, ("body", "products", i), item) for i, item in enumerate(products)]
        valid = [i for i in ids if i is not None]
        return "products", valid[0] if valid else None, valid

    def _selected_price(
        self, errors: Errors, selection: tuple[str, str | None, list[str]]
    ) -> JsonDict | None:
        """The price a create sells, or ``None`` after recording why not."""
        kind, first, ids = selection
        if kind == "price":
            price = self.prices.get(first or "")
            loc: tuple[str | int, ...] = ("body", "product_price_id")
            if price is None:
                errors.add(loc, "Price does not exist.", "value_error", first)
            elif price["is_archived"]:
                errors.add(loc, "Price is archived.", "value_error", first)
            else:
                return price
            return None
        found = None
        for index, product_id in enumerate(ids):
            loc = ("body", "product_id") if kind == "product" else ("body", "products", index)
            product = self.products.get(product_id)
            if product is None:
                errors.add(loc, "Product does not exist.", "value_error", product_id)
            elif product["is_archived"]:
                errors.add(loc, "Product is archived.", "value_error", product_id)
            elif found is None:
                found = product
        if found is None:
            return None
        prices = [self.prices[i] for i in found["price_ids"] if not self.prices[i]["is_archived"]]
        return prices[0] if prices else None

    def _get(self, checkout_id: str) -> FakeResponse:
        return self._plain(200, self._checkout_json(self._find(checkout_id)))

    def _edited_copy(
        self, checkout: _Checkout, body: bytes, allowed: Any, *, public: bool
    ) -> tuple[_Checkout, dict[str, Any]]:
        """``checkout`` with the request's fields applied, as a copy: a 422 (or, for a
        confirm, a declined card) leaves the stored checkout untouched. Shape errors come
        first and alone, then the open check, then the business rules, as Polar does."""
        errors = Errors()
        fields = parse_fields(errors, self._body(body), allowed)
        errors.raise_if_any()
        self._require_open(checkout)
        work = copy.deepcopy(checkout)
        self._apply(errors, work, fields, public=public)
        errors.raise_if_any(BUSINESS_ERROR)
        return work, fields

    def _update(self, checkout_id: str, body: bytes) -> FakeResponse:
        work, fields = self._edited_copy(self._find(checkout_id), body, UPDATE_FIELDS, public=False)
        if "success_url" in fields:
            url = fields["success_url"]
            work.success_url = url.replace("{CHECKOUT_ID}", work.id) if url else None
        return self._plain(200, self._commit(work))

    def _client_get(self, client_secret: str) -> FakeResponse:
        return self._plain(
            200, self._checkout_json(self._find_by_secret(client_secret), public=True)
        )

    def _client_update(self, client_secret: str, body: bytes) -> FakeResponse:
        checkout = self._find_by_secret(client_secret)
        work, _ = self._edited_copy(checkout, body, CLIENT_UPDATE_FIELDS, public=True)
        self._commit(work)
        return self._plain(200, self._checkout_json(work, public=True))

    def _client_confirm(self, client_secret: str, body: bytes) -> FakeResponse:
        checkout = self._find_by_secret(client_secret)
        work, fields = self._edited_copy(checkout, body, CONFIRM_FIELDS, public=True)
        errors = Errors()
        totals = self._totals(work)
        price = self.prices[work.price_id]
        form_required = totals["is_payment_form_required"]
        if not work.customer_email:
            errors.add(("body", "customer_email"), "Field is required.", "missing", None)
        if form_required:
            if not work.customer_name:
                errors.add(("body", "customer_name"), "Field is required.", "missing", None)
            if not work.customer_billing_address:
                errors.add(
                    ("body", "customer_billing_address"), "Field is required.", "missing", None
                )
            elif totals["is_payment_required"] and totals["tax_amount"] is None:
                errors.add(
                    ("body", "customer_billing_address"),
                    "Tax cannot be computed for this address: a postal code and a state "
                    "are required.",
                    "value_error",
                    work.customer_billing_address,
                )
        if price["amount_type"] == "custom" and work.amount is None:
            errors.add(("body", "amount"), "Amount is required.", "missing", None)
        if price["is_archived"]:
            errors.add(
                ("body", "product_price_id"), "Price is archived.", "value_error", price["id"]
            )
        token = fields.get("confirmation_token_id")
        if form_required and not token:
            errors.add(
                ("body", "confirmation_token_id"),
                "Confirmation token is required.",
                "missing",
                None,
            )
        errors.raise_if_any(BUSINESS_ERROR)
        if form_required and token == catalogue.TOKEN_DECLINED:
            raise _error(
                400,
                "PaymentError",
                "The payment failed: Your card was declined. "
                "Please try again with a different payment method.",
            )
        if form_required and token not in catalogue.TOKENS:
            raise _error(
                400,
                "PaymentError",
                f"The payment failed: No such confirmation token: {token!r}. The fake Polar "
                f"understands {', '.join(catalogue.TOKENS)}.",
            )
        customer = self._customer_for(work)
        work.customer_id = customer["id"]
        metadata = dict(work.payment_processor_metadata)
        metadata["customer_id"] = customer["stripe_id"]
        settle_at = self.now() + timedelta(seconds=self.success_delay)
        if form_required:
            kind = "pi" if totals["is_payment_required"] else "seti"
            intent = uuid.uuid4().hex[:24]
            metadata["intent_client_secret"] = f"{kind}_fake{intent}_secret_{uuid.uuid4().hex[:24]}"
            if token == catalogue.TOKEN_REQUIRES_ACTION:
                metadata["intent_status"] = "requires_action"
                work.pending_action = True
            elif token == catalogue.TOKEN_FAILED:
                metadata["intent_status"] = "processing"
                work.settle = ("failed", settle_at)
            else:
                metadata["intent_status"] = "succeeded"
                work.settle = ("succeeded", settle_at)
        else:
            work.settle = ("succeeded", settle_at)
        work.payment_processor_metadata = metadata
        work.status = "confirmed"
        work.customer_session_token = _token("polar_cst_")
        self._commit(work)
        result = self._checkout_json(work, public=True)
        result["customer_session_token"] = work.customer_session_token
        return self._plain(200, result)

    def _complete_action(self, client_secret: str, succeed: bool) -> JsonDict:
        checkout_id = self._by_secret.get(client_secret)
        if checkout_id is None:
            raise _HTTPError(404, _NOT_FOUND)
        checkout = self._checkouts[checkout_id]
        if not checkout.pending_action or checkout.status != "confirmed":
            raise _error(
                409, "NoPendingAction", f"Checkout {checkout.id} has no payment action to complete."
            )
        checkout.pending_action = False
        checkout.payment_processor_metadata["intent_status"] = (
            "processing" if succeed else "requires_payment_method"
        )
        checkout.settle = (
            "succeeded" if succeed else "failed",
            self.now() + timedelta(seconds=self.success_delay),
        )
        return self._checkout_json(checkout, public=True)

    def _list_products(
        self, headers: Any, params: dict[str, list[str]], body: bytes
    ) -> FakeResponse:
        errors = Errors()
        ids = query_uuids(errors, params, "id")
        organization_ids = query_uuids(errors, params, "organization_id")
        is_archived = query_bool(errors, params, "is_archived")
        is_recurring = query_bool(errors, params, "is_recurring")
        sorting = query_enum(errors, params, "sorting", PRODUCT_SORTS) or ["created_at"]
        page = query_ints(errors, params, "page", 1)
        limit = query_ints(errors, params, "limit", 10)
        errors.raise_if_any()
        assert page is not None
        assert limit is not None
        query = (params.get("query") or [""])[-1].lower()
        products = list(self.products.values())
        if ids:
            products = [p for p in products if p["id"] in ids]
        if organization_ids:
            products = [p for p in products if p["organization_id"] in organization_ids]
        if is_archived is not None:
            products = [p for p in products if p["is_archived"] == is_archived]
        if is_recurring is not None:
            products = [p for p in products if p["is_recurring"] == is_recurring]
        if query:
            products = [p for p in products if query in p["name"].lower()]

        def sort_value(product: JsonDict, name: str) -> Any:
            price = self.prices[product["price_ids"][0]]
            if name == "price_amount_type":
                return price["amount_type"]
            if name == "price_amount":
                return price.get("price_amount") or price.get("preset_amount") or 0
            return product[name]

        for key in reversed(sorting):
            name = key.lstrip("-")
            products.sort(key=partial(sort_value, name=name), reverse=key.startswith("-"))
        return self._plain(
            200, self._page([self._product_json(p["id"]) for p in products], page, limit)
        )

    def _get_product(self, product_id: str) -> FakeResponse:
        errors = Errors()
        value = uuid_value(errors, ("path", "id"), product_id)
        errors.raise_if_any()
        if value not in self.products:
            raise _HTTPError(404, _NOT_FOUND)
        return self._plain(200, self._product_json(value))

    # -- fake-only routes -----------------------------------------------------------------

    def _fake_reset(self) -> FakeResponse:
        self._offset = timedelta(0)
        self._reset_state()
        return self._plain(200, {"reset": True})

    def _fake_advance(self, body: bytes) -> FakeResponse:
        data = self._body(body)
        seconds = data.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise RequestInvalid(
                [
                    {
                        "loc": ["body", "seconds"],
                        "msg": "Input should be a number of seconds (0 or more)",
                        "type": "value_error",
                        "input": seconds,
                    }
                ]
            )
        self._offset += timedelta(seconds=seconds)
        self._tick()
        return self._plain(200, {"now": isoformat(self.now())})

    def _fake_inject(self, body: bytes) -> FakeResponse:
        data = self._body(body)
        allowed = {"status", "fault", "times", "route", "retry_after", "hang"}
        try:
            injection = Injection(**{k: v for k, v in data.items() if k in allowed})
        except (TypeError, ValueError) as exc:
            raise RequestInvalid(
                [{"loc": ["body"], "msg": str(exc), "type": "value_error", "input": data}]
            ) from None
        self.injections.append(injection)
        return self._plain(201, {"armed": injection.times, "route": injection.route})

    def _fake_add_product(self, body: bytes) -> FakeResponse:
        data = self._body(body)
        allowed = {
            "name",
            "amount_type",
            "price_amount",
            "currency",
            "recurring_interval",
            "minimum_amount",
            "maximum_amount",
            "preset_amount",
            "description",
        }
        kwargs = {k: v for k, v in data.items() if k in allowed}
        try:
            product = self.add_product(str(kwargs.pop("name", "New product")), **kwargs)
        except (TypeError, ValueError) as exc:
            raise RequestInvalid(
                [{"loc": ["body"], "msg": str(exc), "type": "value_error", "input": data}]
            ) from None
        return self._plain(201, product)

    # -- updates --------------------------------------------------------------------------

    @staticmethod
    def _body(body: bytes) -> JsonDict:
        try:
            data = json.loads(body or b"null")
        except ValueError as exc:
            raise RequestInvalid(
                [
                    {
                        "loc": ["body", getattr(exc, "pos", 0)],
                        "msg": "JSON decode error",
                        "type": "json_invalid",
                        "input": {},
                        "ctx": {"error": getattr(exc, "msg", str(exc))},
                    }
                ]
            ) from None
        if data is None:
            raise RequestInvalid(
                [{"loc": ["body"], "msg": "Field required", "type": "missing", "input": None}]
            )
        if not isinstance(data, dict):
            raise RequestInvalid(
                [
                    {
                        "loc": ["body"],
                        "msg": (
                            "Input should be a valid dictionary or object to extract fields from"
                        ),
                        "type": "model_attributes_type",
                        "input": data,
                    }
                ]
            )
        return data

    def _apply(self, errors: Errors, work: _Checkout, fields: JsonDict, *, public: bool) -> None:
        """Apply parsed fields to ``work`` (a copy), recording business-rule errors."""
        if fields.get("product_price_id") is not None:
            price = self.prices.get(fields["product_price_id"])
            loc = ("body", "product_price_id")
            if price is None:
                errors.add(loc, "Price does not exist.", "value_error", fields["product_price_id"])
            elif price["product_id"] != work.product_id:
                errors.add(loc, "Price does not belong to the product.", "value_error", price["id"])
            elif price["is_archived"]:
                errors.add(loc, "Price is archived.", "value_error", price["id"])
            else:
                work.price_id = price["id"]
                work.amount = _default_amount(price)
                work.currency = price.get("price_currency")
        price = self.prices[work.price_id]
        if fields.get("amount") is not None and price["amount_type"] == "custom":
            amount = fields["amount"]
            minimum, maximum = price.get("minimum_amount"), price.get("maximum_amount")
            if minimum is not None and amount < minimum:
                errors.add(
                    ("body", "amount"),
                    f"Input should be greater than or equal to {minimum}",
                    "greater_than_equal",
                    amount,
                    {"ge": minimum},
                )
            elif maximum is not None and amount > maximum:
                errors.add(
                    ("body", "amount"),
                    f"Input should be less than or equal to {maximum}",
                    "less_than_equal",
                    amount,
                    {"le": maximum},
                )
            else:
                work.amount = amount
        for key in ("customer_name", "customer_billing_address", "customer_ip_address"):
            if key in fields:
                setattr(work, key, fields[key])
        if "customer_email" in fields and not (work.customer_id and not public):
            work.customer_email = fields["customer_email"]
        if "customer_tax_id" in fields:
            work.customer_tax_id = fields["customer_tax_id"]
        if work.customer_tax_id and not work.customer_billing_address:
            errors.add(
                ("body", "customer_tax_id"),
                "Country is required to validate tax ID.",
                "value_error",
                work.customer_tax_id,
            )
        if fields.get("custom_field_data"):
            work.custom_field_data = fields["custom_field_data"]
        for key in ("metadata", "customer_metadata"):
            if key in fields:
                setattr(work, key, fields[key] or {})
        if "allow_discount_codes" in fields and fields["allow_discount_codes"] is not None:
            work.allow_discount_codes = fields["allow_discount_codes"]
        if "embed_origin" in fields:
            work.embed_origin = fields["embed_origin"]
        if "discount_id" in fields:
            discount_id = fields["discount_id"]
            if discount_id is None:
                work.discount_id = None
            elif discount_id not in self.discounts:
                errors.add(
                    ("body", "discount_id"), "Discount does not exist.", "value_error", discount_id
                )
            elif price["amount_type"] != "fixed":
                errors.add(
                    ("body", "discount_id"),
                    "Discount is not applicable to this product price.",
                    "value_error",
                    discount_id,
                )
            else:
                work.discount_id = discount_id
        if "discount_code" in fields and work.allow_discount_codes:
            code = fields["discount_code"]
            if code is None:
                work.discount_id = None
            else:
                found = next(
                    (
                        d
                        for d in self.discounts.values()
                        if d["code"] and d["code"].upper() == code.upper()
                    ),
                    None,
                )
                if found is None or price["amount_type"] != "fixed":
                    errors.add(
                        ("body", "discount_code"),
                        "This discount code does not exist or is no longer available.",
                        "value_error",
                        code,
                    )
                else:
                    work.discount_id = found["id"]
        if price["amount_type"] != "fixed":
            # Seed-era Polar applies discounts to fixed prices only.
            work.discount_id = None

    def _commit(self, work: _Checkout) -> JsonDict:
        self._touch(work)
        self._checkouts[work.id] = work
        result = self._checkout_json(work)
        self._emit("checkout.updated", result)
        return result

    def _customer_for(self, work: _Checkout) -> JsonDict:
        email = (work.customer_email or "").lower()
        customer = self.customers.get(email)
        if customer is None:
            customer = {
                "id": str(uuid.uuid4()),
                "stripe_id": "cus_fake" + uuid.uuid4().hex[:14],
                "created_at": isoformat(self.now()),
                "email": work.customer_email,
            }
            self.customers[email] = customer
        customer["name"] = work.customer_name
        customer["billing_address"] = work.customer_billing_address
        return customer

    # -- JSON ---------------------------------------------------------------------------

    def _price_json(self, price_id: str) -> JsonDict:
        return dict(self.prices[price_id])

    def _product_json(self, product_id: str) -> JsonDict:
        product = dict(self.products[product_id])
        price_ids = product.pop("price_ids")
        product["prices"] = [self._price_json(i) for i in price_ids]
        product["benefits"] = []
        product["medias"] = []
        product["attached_custom_fields"] = []
        return product

    def _totals(self, checkout: _Checkout) -> JsonDict:
        price = self.prices[checkout.price_id]
        amount = checkout.amount
        discount = self.discounts.get(checkout.discount_id or "")
        discount_amount = 0
        if amount is not None and discount is not None:
            if discount["type"] == "percentage":
                discount_amount = (amount * discount["basis_points"] + 5000) // 10_000
            else:
                discount_amount = min(amount, discount["amount"])
        net = None if amount is None else amount - discount_amount
        tax = None if net is None else _tax(net, checkout.customer_billing_address)
        total = None if net is None else net + (tax or 0)
        is_free = price["amount_type"] == "free"
        payment_required = total is not None and total > 0
        setup_required = price["type"] == "recurring" and not is_free
        return {
            "amount": amount,
            "discount_amount": discount_amount,
            "subtotal_amount": net,
            "net_amount": net,
            "tax_amount": tax,
            "total_amount": total,
            "is_free_product_price": is_free,
            "is_discount_applicable": price["amount_type"] == "fixed",
            "is_payment_required": payment_required,
            "is_payment_setup_required": setup_required,
            "is_payment_form_required": payment_required or setup_required,
        }

    def _checkout_json(self, checkout: _Checkout, *, public: bool = False) -> JsonDict:
        totals = self._totals(checkout)
        product = self._product_json(checkout.product_id)
        discount = self.discounts.get(checkout.discount_id or "")
        data: JsonDict = {
            "id": checkout.id,
            "created_at": isoformat(checkout.created_at),
            "modified_at": isoformat(checkout.modified_at) if checkout.modified_at else None,
            "payment_processor": "stripe",
            "status": checkout.status,
            "client_secret": checkout.client_secret,
            "url": f"{self.frontend_url}/checkout/{checkout.client_secret}",
            "expires_at": isoformat(checkout.expires_at),
            "success_url": checkout.success_url
            or f"{self.frontend_url}/checkout/{checkout.client_secret}/confirmation",
            "embed_origin": checkout.embed_origin,
            "amount": totals["amount"],
            "discount_amount": totals["discount_amount"],
            "net_amount": totals["net_amount"],
            "tax_amount": totals["tax_amount"],
            "currency": checkout.currency,
            "subtotal_amount": totals["subtotal_amount"],
            "total_amount": totals["total_amount"],
            "organization_id": product["organization_id"],
            "product_id": checkout.product_id,
            "product_price_id": checkout.price_id,
            "discount_id": checkout.discount_id,
            "allow_discount_codes": checkout.allow_discount_codes,
            "is_discount_applicable": totals["is_discount_applicable"],
            "is_free_product_price": totals["is_free_product_price"],
            "is_payment_required": totals["is_payment_required"],
            "is_payment_setup_required": totals["is_payment_setup_required"],
            "is_payment_form_required": totals["is_payment_form_required"],
            "customer_id": checkout.customer_id,
            "customer_name": checkout.customer_name,
            "customer_email": checkout.customer_email,
            "customer_ip_address": checkout.customer_ip_address,
            "customer_billing_address": copy.copy(checkout.customer_billing_address),
            "customer_tax_id": checkout.customer_tax_id,
            "payment_processor_metadata": dict(checkout.payment_processor_metadata),
            "metadata": dict(checkout.metadata),
            "customer_metadata": dict(checkout.customer_metadata),
            "external_customer_id": None,
            "customer_billing_name": None,
            "is_business_customer": False,
            "require_billing_address": False,
            "billing_address_fields": {
                "country": "required",
                "state": "optional",
                "city": "optional",
                "postal_code": "optional",
                "line1": "optional",
                "line2": "optional",
            },
            "return_url": None,
            "tax_behavior": None,
            "payment_method_type": None,
            "allow_trial": None,
            "active_trial_interval": None,
            "active_trial_interval_count": None,
            "trial_end": None,
            "trial_interval": None,
            "trial_interval_count": None,
            "units": None,
            "min_units": None,
            "max_units": None,
            "products": [self._product_json(i) for i in checkout.product_ids or [product["id"]]],
            "prices": {
                i: self._product_json(i)["prices"] for i in checkout.product_ids or [product["id"]]
            },
            "product": product,
            "product_price": self._price_json(checkout.price_id),
            "discount": dict(discount) if discount else None,
            "subscription_id": checkout.subscription_id,
            "attached_custom_fields": [],
            "custom_field_data": dict(checkout.custom_field_data),
        }
        if public:
            for key in ("metadata", "customer_metadata", "subscription_id"):
                del data[key]
            data["organization"] = self._organization_json()
        return data

    @staticmethod
    def _organization_json() -> JsonDict:
        return {
            "created_at": isoformat(catalogue.SEEDED_AT),
            "modified_at": None,
            "id": catalogue.ORGANIZATION_ID,
            "name": catalogue.ORGANIZATION_NAME,
            "slug": catalogue.ORGANIZATION_SLUG,
            "avatar_url": None,
            "bio": None,
            "company": None,
            "blog": None,
            "location": None,
            "email": None,
            "twitter_username": None,
            "pledge_minimum_amount": 2000,
            "pledge_badge_show_amount": True,
            "default_upfront_split_to_contributors": None,
            "profile_settings": None,
            "feature_settings": None,
            # The slimmer CheckoutOrganization of today's Polar has these two at the top.
            "proration_behavior": "prorate",
            "allow_customer_updates": True,
            "subscription_settings": {
                "allow_multiple_subscriptions": False,
                "allow_customer_updates": True,
                "proration_behavior": "prorate",
            },
        }

    def _discount_json(self, discount: JsonDict) -> JsonDict:
        """The full ``Discount`` object (orders carry it; checkouts a slimmer one)."""
        return {
            **discount,
            "created_at": isoformat(catalogue.SEEDED_AT),
            "modified_at": None,
            "metadata": {},
            "starts_at": None,
            "ends_at": None,
            "max_redemptions": None,
            "redemptions_count": sum(
                1 for o in self.orders.values() if o["discount_id"] == discount["id"]
            ),
            "organization_id": catalogue.ORGANIZATION_ID,
        }

    def _create_order(self, checkout: _Checkout) -> JsonDict:
        totals = self._totals(checkout)
        price = self._price_json(checkout.price_id)
        product = self._product_json(checkout.product_id)
        customer = next(c for c in self.customers.values() if c["id"] == checkout.customer_id)
        now = isoformat(self.now())
        subscription = None
        if price["type"] == "recurring":
            subscription = {
                "metadata": dict(checkout.metadata),
                "created_at": now,
                "modified_at": None,
                "id": str(uuid.uuid4()),
                "amount": totals["net_amount"],
                "currency": checkout.currency,
                "recurring_interval": price["recurring_interval"],
                "status": "active",
                "current_period_start": now,
                "current_period_end": isoformat(self.now() + timedelta(days=30)),
                "cancel_at_period_end": False,
                "started_at": now,
                "ended_at": None,
                "customer_id": customer["id"],
                "product_id": checkout.product_id,
                "price_id": checkout.price_id,
                "discount_id": checkout.discount_id,
                "checkout_id": checkout.id,
                "canceled_at": None,
                "ends_at": None,
                "customer_cancellation_reason": None,
                "customer_cancellation_comment": None,
                "user_id": customer["id"],
            }
            self.subscriptions[subscription["id"]] = subscription
            checkout.subscription_id = subscription["id"]
        discount = self.discounts.get(checkout.discount_id or "")
        order = {
            "created_at": now,
            "modified_at": None,
            "id": str(uuid.uuid4()),
            "status": "paid",
            "paid": True,
            "metadata": dict(checkout.metadata),
            "custom_field_data": dict(checkout.custom_field_data),
            "amount": totals["net_amount"] or 0,
            "subtotal_amount": totals["amount"] or 0,
            "discount_amount": totals["discount_amount"],
            "net_amount": totals["net_amount"] or 0,
            "tax_amount": totals["tax_amount"] or 0,
            "total_amount": totals["total_amount"] or 0,
            "refunded_amount": 0,
            "refunded_tax_amount": 0,
            "currency": checkout.currency or "usd",
            "billing_reason": "subscription_create" if subscription else "purchase",
            "billing_address": copy.copy(checkout.customer_billing_address),
            "customer_id": customer["id"],
            "product_id": checkout.product_id,
            "product_price_id": checkout.price_id,
            "discount_id": checkout.discount_id,
            "subscription_id": subscription["id"] if subscription else None,
            "checkout_id": checkout.id,
            "customer": {
                "created_at": customer["created_at"],
                "modified_at": None,
                "id": customer["id"],
                "metadata": {},
                "email": customer["email"],
                "email_verified": False,
                "name": customer["name"],
                "billing_address": copy.copy(customer["billing_address"]),
                "tax_id": None,
                "organization_id": product["organization_id"],
                "avatar_url": "https://www.gravatar.com/avatar/00000000000000000000000000000000",
            },
            "user_id": customer["id"],
            "user": {
                "id": customer["id"],
                "email": customer["email"],
                "public_name": (customer["name"] or customer["email"] or "?")[:1],
            },
            "product": {
                k: v
                for k, v in product.items()
                if k not in ("prices", "benefits", "medias", "attached_custom_fields", "metadata")
            },
            "product_price": price,
            "discount": self._discount_json(discount) if discount else None,
            "subscription": subscription,
        }
        self.orders[order["id"]] = order
        checkout.order_id = order["id"]
        return order


def _default_amount(price: JsonDict) -> int | None:
    if price["amount_type"] == "fixed":
        return int(price["price_amount"])
    if price["amount_type"] == "custom":
        return int(price.get("preset_amount") or 1000)
    return None


def _tax(net: int, address: Mapping[str, str | None] | None) -> int | None:
    """The fake's tax rule: VAT by country from a fixed table; unknown until an address."""
    if not address or not address.get("country"):
        return None
    country = str(address["country"]).upper()
    if country in catalogue.TAX_NEEDS_POSTAL_CODE and not (
        address.get("postal_code") and address.get("state")
    ):
        return None
    rate = catalogue.TAX_RATES.get(country, 0)
    return (net * rate + 5000) // 10_000
