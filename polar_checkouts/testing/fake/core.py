"""The fake Polar's state machine: :class:`FakePolar`.

:class:`FakePolar` keeps products, prices, discounts and checkout sessions, and answers
HTTP-shaped calls through one entry point, :meth:`FakePolar.handle`. The requests
transport, the Django views and the standalone server all call it, so there is one
implementation of Polar's behaviour (``/work/shared/polar/API.md`` in the project notes):

* the seven checkout routes under ``/v1/checkouts/`` and ``/v1/checkouts/custom/``, and
  ``GET /v1/products/`` and ``/v1/products/{id}`` (:mod:`.routes`, :mod:`.checkouts`,
  :mod:`.products`);
* the status machine ``open -> confirmed -> succeeded | failed``, ``open -> expired``
  (here: the clock, :meth:`FakePolar.tick`);
* amounts, a 10 % discount code, a deterministic tax rule (:mod:`.pricing`), Polar's
  JSON shapes (:mod:`.serialise`), orders (:mod:`.orders`) and 4xx bodies;
* the ``Polar-Version`` header read as Polar reads it, and every shape in the version
  asked for (:mod:`..versions`, :mod:`.serialise`);
* fault injection (:mod:`..faults`) and Standard Webhooks deliveries (:mod:`..webhooks`);
* fake-only routes under ``/_fake/`` (complete a "3-D Secure" action, reset, move the
  clock, inject faults) that a browser or another process can call.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, cast
from urllib.parse import parse_qs

from .. import catalogue, versions
from ..faults import Injection, injected_response, mangle, take_injection
from ..messages import FakeResponse, RecordedRequest, json_bytes
from ..ratelimit import FakeRateLimiter
from ..validation import RequestInvalid
from ..webhooks import Sender, SentWebhook, WebhookEndpoint, http_sender
from . import checkouts, customers, lifecycle, orders, subscriptions, trials, webhook_api
from .routes import dispatch, is_fake_only, route, unknown_version
from .serialise import checkout_json, price_json, product_json
from .state import CheckoutState, JsonDict, isoformat

logger = logging.getLogger("polar_checkouts.testing")

#: Seconds between two looks of the background webhook worker for retries come due.
WORKER_POLL = 0.1

#: Where checkout pages of the fake live (``Checkout.url``); never resolved on a network.
DEFAULT_FRONTEND_URL = "http://fake-polar.invalid"

Observer = Callable[[RecordedRequest, FakeResponse], None]


class FakePolar:
    """An in-memory Polar. Thread-safe; every public method may be called from any thread.

    ``success_delay`` is how many seconds (on the fake's clock) a confirmed payment takes
    to succeed or fail; ``checkout_ttl`` how long a checkout stays open;
    ``expired_status`` what client routes answer for an expired checkout (410 as today's
    Polar, 404 as in the seed era). ``latency`` is how many real seconds every call to a
    Polar route waits before it is answered (a network round trip; ``self.sleep`` waits).
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
        rate_limit: int | None = None,
        portal_url: str | None = None,
        latency: float = 0.0,
    ) -> None:
        self._lock = threading.RLock()
        #: Polar's own limit (requests a minute per token), off unless asked for.
        self.rate_limiter: FakeRateLimiter | None = (
            FakeRateLimiter(rate_limit) if rate_limit else None
        )
        #: Base URL of the fake's customer portal page (``customer_portal_url`` is
        #: ``{portal_url}/{organization slug}/portal?...``); ``None``: ``frontend_url``.
        self.portal_url = portal_url.rstrip("/") if portal_url else None
        self.latency = latency
        #: How the latency is waited (tests record it instead of sleeping).
        self.sleep: Callable[[float], None] = time.sleep
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
        #: The ``api_version`` of webhook payloads (Polar's default version).
        self.webhook_api_version = versions.DEFAULT_API_VERSION
        self._worker: threading.Thread | None = None
        self._worker_stop = threading.Event()
        self._worker_wake = threading.Event()
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
        self.states: dict[str, CheckoutState] = {}
        self.ids_by_secret: dict[str, str] = {}
        self.creation_order: list[str] = []
        #: Customers, orders, subscriptions and refunds by id (the stored records; their
        #: JSON is built by customers.customer_json, orders.order_json, ...).
        self.customers: dict[str, JsonDict] = {}
        self.orders: dict[str, JsonDict] = {}
        self.subscriptions: dict[str, JsonDict] = {}
        self.refunds: dict[str, JsonDict] = {}
        #: Customer sessions by token.
        self.customer_sessions: dict[str, JsonDict] = {}
        #: Renewal payments still to fail, per subscription id (fail_renewals).
        self.renewal_failures: dict[str, int] = {}
        self.injections: list[Injection] = []
        self.requests: list[RecordedRequest] = []
        self.sleeps: list[float] = []
        self.events: list[SentWebhook] = []
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
            self.move_clock(seconds)
        self._after_call()

    def move_clock(self, seconds: float) -> None:
        """Move the clock with the lock held; webhooks go out after the caller's call."""
        self._offset += timedelta(seconds=seconds)
        self.tick()

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
        trial_interval: str | None = None,
        trial_interval_count: int | None = None,
    ) -> JsonDict:
        """Add a product with one price and return it as Polar's ``Product`` JSON.

        ``amount_type`` is ``"fixed"`` (needs ``price_amount``), ``"custom"`` (pay what
        you want, optional min/max/preset) or ``"free"``; ``recurring_interval``
        (``"month"``/``"year"``) makes it a subscription. ``trial_interval``
        (``"day"``/``"week"``/``"month"``/``"year"``) with ``trial_interval_count`` (1 to
        1000) gives a subscription a free trial (see :mod:`.trials`).
        """
        if amount_type not in ("fixed", "custom", "free"):
            raise ValueError("amount_type must be 'fixed', 'custom' or 'free'")
        if amount_type == "fixed" and (price_amount is None or price_amount < 50):
            raise ValueError("A fixed price needs price_amount >= 50 (cents)")
        if recurring_interval not in (None, "month", "year"):
            raise ValueError("recurring_interval must be None, 'month' or 'year'")
        trials.check_trial(trial_interval, trial_interval_count)
        if trial_interval is not None and not recurring_interval:
            raise ValueError("Only a recurring product can have a trial")
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
                "trial_interval": trial_interval,
                "trial_interval_count": trial_interval_count,
                "meter_interval": None,
                "meter_interval_count": None,
            }
            return product_json(self, product_id)

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
            # Today's Polar: the amount per currency (amount/currency are deprecated).
            discount["amounts"] = {currency.lower(): amount}
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
            self.tick()
            result = checkout_json(self, self.states[checkout_id])
        self._after_call()
        return result

    def checkouts(self) -> list[JsonDict]:
        """Every checkout, oldest first, as the server-side API returns them."""
        with self._lock:
            self.tick()
            result = [checkout_json(self, self.states[i]) for i in self.creation_order]
        self._after_call()
        return result

    def create_checkout(self, data: Mapping[str, Any] | None = None, **fields: Any) -> JsonDict:
        """Create a checkout directly (no HTTP, no faults); raises ``ValueError`` on a 422."""
        body = {**(data or {}), **fields}
        with self._lock:
            try:
                result = checkouts.create(self, json_bytes(body))
            except RequestInvalid as exc:
                raise ValueError(json.dumps(exc.errors)) from None
        self._after_call()
        return result

    def complete_action(self, client_secret: str, *, succeed: bool = True) -> JsonDict:
        """Finish the buyer's "3-D Secure" step of a ``requires_action`` confirmation."""
        with self._lock:
            result = checkouts.complete_action(self, client_secret, succeed)
        self._after_call()
        return result

    # -- after the checkout: customers, orders, subscriptions ------------------------------

    def _control(self, action: Callable[[], Any]) -> Any:
        with self._lock:
            self.tick()
            result = action()
        self._after_call()
        return result

    def customer(self, customer_id: str) -> JsonDict:
        """A customer as ``GET /v1/customers/{id}`` returns it (``KeyError`` if unknown)."""
        return cast("JsonDict", self._control(lambda: customers.customer_json(self, customer_id)))

    def order(self, order_id: str) -> JsonDict:
        """An order as ``GET /v1/orders/{id}`` returns it (``KeyError`` if unknown)."""
        return cast("JsonDict", self._control(lambda: orders.order_json(self, order_id)))

    def subscription(self, subscription_id: str) -> JsonDict:
        """A subscription as ``GET /v1/subscriptions/{id}`` returns it (``KeyError``)."""
        return cast(
            "JsonDict",
            self._control(lambda: subscriptions.subscription_json(self, subscription_id)),
        )

    def create_customer_session(
        self,
        *,
        customer_id: str | None = None,
        external_customer_id: str | None = None,
        return_url: str | None = None,
    ) -> JsonDict:
        """A customer session, as ``POST /v1/customer-sessions/`` makes it (``ValueError``
        with Polar's 422 body for an unknown customer)."""
        data: JsonDict = (
            {"customer_id": customer_id}
            if customer_id is not None
            else {"external_customer_id": external_customer_id}
        )
        if return_url is not None:
            data["return_url"] = return_url

        def create() -> JsonDict:
            try:
                return customers.create_session(self, data)
            except RequestInvalid as exc:
                raise ValueError(json.dumps(exc.errors)) from None

        return cast("JsonDict", self._control(create))

    def cancel_subscription(
        self,
        subscription_id: str,
        *,
        at_period_end: bool = True,
        reason: str | None = None,
        comment: str | None = None,
    ) -> JsonDict:
        """Cancel a subscription at its period's end (it stays ``active`` until then, with
        ``cancel_at_period_end`` and ``ends_at``) or, ``at_period_end=False``, now."""
        return cast(
            "JsonDict",
            self._control(
                lambda: lifecycle.cancel(
                    self,
                    subscription_id,
                    at_period_end=at_period_end,
                    reason=reason,
                    comment=comment,
                )
            ),
        )

    def uncancel_subscription(self, subscription_id: str) -> JsonDict:
        """Undo a cancellation at the period's end (``subscription.uncanceled``)."""
        return cast("JsonDict", self._control(lambda: lifecycle.uncancel(self, subscription_id)))

    def revoke_subscription(self, subscription_id: str) -> JsonDict:
        """End a subscription now: ``canceled``, ``subscription.revoked``."""
        return cast("JsonDict", self._control(lambda: lifecycle.revoke(self, subscription_id)))

    def fail_renewals(self, subscription_id: str, times: int = 1) -> None:
        """Make the next ``times`` renewal payments fail: the renewal's order stays
        ``pending`` and the subscription goes ``past_due`` until :meth:`recover_subscription`."""
        self._control(lambda: lifecycle.fail_renewals(self, subscription_id, times))

    def recover_subscription(self, subscription_id: str) -> JsonDict:
        """The failed renewal is paid: the order ``paid``, the subscription ``active``."""
        return cast("JsonDict", self._control(lambda: lifecycle.recover(self, subscription_id)))

    def renew_subscription(self, subscription_id: str) -> JsonDict:
        """Move the clock to the subscription's period end: it renews (or ends)."""
        with self._lock:
            end = subscriptions.parse_time(
                self.subscriptions[subscription_id]["current_period_end"]
            )
            self.move_clock(max(0.0, (end - self.now()).total_seconds()))
            result = subscriptions.subscription_json(self, subscription_id)
        self._after_call()
        return result

    def refund_order(
        self,
        order_id: str,
        amount: int | None = None,
        *,
        reason: str = "customer_request",
        comment: str | None = None,
    ) -> JsonDict:
        """Refund ``amount`` cents (default: all that is left) of a paid order; returns
        Polar's ``Refund`` (``refund.created``, ``order.updated``, ``order.refunded``)."""
        return cast(
            "JsonDict",
            self._control(
                lambda: orders.refund_order(self, order_id, amount, reason=reason, comment=comment)
            ),
        )

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
        worker thread, woken after each call, with real waits between retries; it also
        runs the clock, so payments settle and checkouts expire without a call).
        ``sender`` replaces the HTTP POST, e.g. with Django's test client. Failed
        deliveries are retried up to ``max_attempts`` times, ``backoff * 2**n`` seconds
        apart on the fake's clock.
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

    def deliver_webhooks(self, *, ignore_schedule: bool = False) -> list[SentWebhook]:
        """Attempt every pending event that is due (or all, with ``ignore_schedule``)."""
        with self._lock:
            endpoint = self.webhook
            if endpoint is None:
                return []
            now = self.now()
            due = [
                e
                for e in self.events
                if webhook_api.is_due(e, now, ignore_schedule=ignore_schedule)
            ]
            if not endpoint.enabled:
                # Polar's send job finds the endpoint disabled: the event is skipped.
                for event in due:
                    webhook_api.skip(event)
                return []
            for event in due:
                event.state = "sending"
        sent = []
        for event in due:
            with self._lock:
                if not endpoint.enabled or event.skipped:  # disabled meanwhile
                    webhook_api.skip(event)
                    continue
            # The receiver may call the fake back (a webhook handler refreshing the
            # checkout), so the lock is not held while it runs.
            endpoint.attempt(event, now)
            sent.append(event)
            if event.state == "sending":
                event.state = "pending"
            with self._lock:
                webhook_api.note_outcome(self, endpoint, event)
        return sent

    def _start_worker(self) -> None:
        if self._worker is not None and self._worker.is_alive():
            return
        self._worker_stop.clear()

        def run() -> None:
            while not self._worker_stop.is_set():
                # Woken when a call has emitted events; the short timeout picks up
                # retries as they come due on the fake's clock.
                self._worker_wake.wait(WORKER_POLL)
                self._worker_wake.clear()
                if self._worker_stop.is_set():
                    break
                try:
                    with self._lock:
                        # Polar's clock runs on its own: payments settle, checkouts expire
                        # and their events go out without waiting for the next call.
                        self.tick()
                    self.deliver_webhooks()
                except Exception:
                    # One broken round must not end deliveries for the process's life.
                    logger.exception("Fake Polar: a webhook delivery round failed")

        self._worker = threading.Thread(target=run, name="fake-polar-webhooks", daemon=True)
        self._worker.start()

    def close(self) -> None:
        """Stop the background webhook worker, if any."""
        self._worker_stop.set()
        self._worker_wake.set()
        if self._worker is not None:
            self._worker.join(timeout=5)
            self._worker = None

    def emit(self, type: str, data: JsonDict) -> None:
        """Record a webhook event (delivered after the current call, if configured).

        Polar does not version webhook payloads: whatever version the call that caused
        the event asked for, the event carries today's shapes and ``api_version`` (which
        polar-sdk 1.x requires), :attr:`webhook_api_version`.
        """
        now = self.now()
        with versions.serving(self.webhook_api_version):
            if type.startswith("checkout.") and data.get("id") in self.states:
                data = checkout_json(self, self.states[data["id"]])
            elif type.startswith("order.") and data.get("product_price_id") in self.prices:
                data = {**data, "product_price": price_json(self, data["product_price_id"])}
        event = SentWebhook(id=str(uuid.uuid4()), type=type, timestamp=now, data=data)
        event.body = json_bytes(
            {
                "type": type,
                "timestamp": isoformat(now),
                "api_version": self.webhook_api_version,
                "data": data,
            }
        )
        event.state = "pending" if self.webhook is not None else "not_sent"
        self.events.append(event)

    def _after_call(self) -> None:
        if self.webhook is None:
            return
        if self.webhook_delivery == "sync":
            self.deliver_webhooks()
        elif self.webhook_delivery == "background":
            # The call has answered (the lock is released): the worker sends its events.
            self._worker_wake.set()

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
        operation, handler = route(self, method, path)
        version = versions.SEED_ERA
        routed = not is_fake_only(path)
        if routed and self.latency > 0:
            # Outside the lock: concurrent calls wait side by side, as on a network.
            self.sleep(self.latency)
        if routed:
            try:
                version = versions.resolve(lowered.get("polar-version", "").strip(" \t"), path)
            except versions.UnknownVersion:
                # Polar's version middleware answers before any route (and before CORS).
                operation, handler = None, unknown_version
        with self._lock, versions.serving(version):
            injection = (
                None if handler is unknown_version else take_injection(self.injections, operation)
            )
            limited = (
                self.rate_limiter.check(lowered, operation)
                if self.rate_limiter is not None and routed and handler is not unknown_version
                else None
            )
            if handler is unknown_version:
                response = unknown_version()
            elif limited is not None:
                response = limited
            elif injection is not None and not injection.processed:
                response = injected_response(injection, operation)
            else:
                self.tick()
                response = dispatch(operation, handler, lowered, params, body)
                if injection is not None:
                    response = mangle(injection, response)
            if method == "HEAD":
                # Starlette answers HEAD as GET, with the GET's length and no body.
                response.headers["content-length"] = str(len(response.body))
                response.body = b""
            if routed and handler is not unknown_version:
                response.headers[versions.VERSION_HEADER] = version or versions.DEFAULT_API_VERSION
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

    # -- time-driven transitions -----------------------------------------------------------

    def touch(self, checkout: CheckoutState) -> None:
        """Stamp ``modified_at`` on a changed checkout."""
        now = self.now()
        previous = checkout.modified_at or checkout.created_at
        # Strictly increasing, so "newer modified_at wins" never sees a tie.
        checkout.modified_at = max(now, previous + timedelta(microseconds=1))

    def tick(self) -> None:
        """Apply what the clock says happened: expiries and delayed payment outcomes."""
        now = self.now()
        for checkout_id in self.creation_order:
            checkout = self.states[checkout_id]
            if checkout.status == "open" and checkout.expires_at <= now:
                checkout.status = "expired"
                self.touch(checkout)
                data = checkout_json(self, checkout)
                self.emit("checkout.updated", data)
                self.emit("checkout.expired", data)
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
                self.touch(checkout)
                self.emit("checkout.updated", checkout_json(self, checkout))
                if outcome == "succeeded":
                    lifecycle.checkout_succeeded(self, checkout)
        lifecycle.renew_due(self)
