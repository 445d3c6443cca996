"""HTTP client for Polar's checkout API: the seven checkout calls, products, and what
comes after a checkout (orders, subscriptions, customers, customer sessions, webhooks).

``client.py`` knows HTTP and Polar and nothing of Django models or browsers. Each call
returns Polar's decoded JSON (a dict, typed with the ``TypedDict``s in :mod:`.types`).

Retries follow one policy, expressed as a urllib3 :class:`~urllib3.util.Retry` on the
session's adapter: GET and PATCH retry on connection errors, read errors, 429 and
502/503/504 with exponential backoff and jitter; POST (``create``, ``client_confirm``)
retries only when the connection was never established, because Polar has no
idempotency keys and a blind retry makes a second checkout or a second charge attempt.

How the bytes travel is the client's **transport**: a ``requests`` adapter, or a factory
``factory(retry) -> adapter`` that receives the client's retry policy. ``None`` means the
real network (:func:`~.transport.http_transport`). Tests swap the transport, never the
client: the fake Polar (``polar_checkouts.testing``) is one transport among others, and
:func:`~.transport.default_transport` sets the one used by clients built without one. The
retry policy and the transports live in :mod:`polar_checkouts.transport`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar, cast
from urllib.parse import quote, urlencode

import requests
from requests.models import PreparedRequest
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import MaxRetryError, ProtocolError, ReadTimeoutError
from urllib3.util.retry import Retry

from . import __version__
from .exceptions import (
    APIVersionError,
    AuthenticationError,
    InvalidResponseError,
    NotFoundError,
    PolarConnectionError,
    PolarError,
    PolarTimeoutError,
    RateLimitError,
    error_from_response,
)
from .masking import mask_secret, mask_secrets_in, register_secret

# Re-exported: these lived here before the transport had a module of its own.
# PolarRetry, TransportFactory and the default-transport helpers are re-exported here (the
# "X as X" form): they lived in this module before the transport had one of its own.
from .transport import PolarRetry as PolarRetry
from .transport import (
    Transport,
    adapter_for,
    build_retry,
    get_default_transport,
)
from .transport import TransportFactory as TransportFactory
from .transport import default_transport as default_transport
from .transport import http_transport as http_transport
from .transport import set_default_transport as set_default_transport
from .types import (
    Checkout,
    CheckoutConfirm,
    CheckoutCreate,
    CheckoutPublic,
    CheckoutPublicConfirmed,
    CheckoutUpdate,
    CheckoutUpdatePublic,
    Customer,
    CustomerSession,
    Order,
    Product,
    Subscription,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger("polar_checkouts")

#: Named servers. Any other value of ``server`` is taken as a base URL.
SERVERS = {
    "production": "https://api.polar.sh",
    "sandbox": "https://sandbox-api.polar.sh",
}
#: Placeholder base URL of ``server="fake"``: never resolved on a network, it only names
#: the in-process fake, which a transport (``POLAR_TRANSPORT``) answers for.
FAKE_BASE_URL = "http://fake-polar.invalid"
DEFAULT_CHECKOUT_PATH = "/v1/checkouts/"
#: The seed era's alias of the checkout routes; without an API version it speaks the
#: seed's API (``product_id`` + ``payment_processor`` on create).
SEED_CHECKOUT_PATH = "/v1/checkouts/custom/"
#: The API version a client sends unless told otherwise: the newest Polar serves. (Not
#: Polar's own default for a request without the header, which is 2026-04 today.)
PINNED_API_VERSION = "2026-10"
#: The versions Polar's server serves today (2026-04 is its default when none is sent).
#: polar-sdk 1.0.2 also ships a 2027-01 module. Any value of the shape below may be sent:
#: one Polar does not serve is an APIVersionError at the first call.
KNOWN_API_VERSIONS = ("2026-04", "2026-10")
#: Polar's own check of the ``Polar-Version`` header.
API_VERSION_PATTERN = re.compile(r"^\d{4}-\d{2}$")
API_VERSION_HEADER = "Polar-Version"
PRODUCTS_PATH = "/v1/products/"
ORDERS_PATH = "/v1/orders/"
SUBSCRIPTIONS_PATH = "/v1/subscriptions/"
CUSTOMERS_PATH = "/v1/customers/"
CUSTOMER_SESSIONS_PATH = "/v1/customer-sessions/"
MAX_PAGE_SIZE = 100
#: Polar's webhooks API (no trailing slash on these routes).
WEBHOOK_ENDPOINTS_PATH = "/v1/webhooks/endpoints"
WEBHOOK_DELIVERIES_PATH = "/v1/webhooks/deliveries"
WEBHOOK_EVENTS_PATH = "/v1/webhooks/events/"

T = TypeVar("T")
IdFilter = str | Sequence[str] | None
Timeout = float | tuple[float, float]


#: A requests adapter, or a factory building one from the client's retry policy.
def resolve_server(server: str) -> str:
    """Turn ``"production"``, ``"sandbox"``, ``"fake"`` or a base URL into a base URL."""
    if server in SERVERS:
        return SERVERS[server]
    if server == "fake":
        return FAKE_BASE_URL
    if server.startswith(("http://", "https://")) and "?" not in server and "#" not in server:
        return server.rstrip("/")
    raise ValueError(
        f"Unknown Polar server {server!r}: use 'production', 'sandbox', 'fake' "
        "or a base URL such as 'http://127.0.0.1:8765'."
    )


def check_api_version(value: Any) -> str | None:
    """``value`` if it is ``None`` or shaped like ``"2026-10"``; else :class:`ValueError`."""
    if value is None or (isinstance(value, str) and API_VERSION_PATTERN.fullmatch(value)):
        return value
    raise ValueError(
        f"Invalid Polar API version {value!r}: use a date like {PINNED_API_VERSION!r} "
        "(YYYY-MM), or None to send no Polar-Version header."
    )


def _segment(value: str, what: str) -> str:
    # Ids and secrets become one path segment; anything that could escape it is refused
    # before a request is made (a secret taken from a URL must not reach another route).
    if not isinstance(value, str) or not value or value in (".", ".."):
        raise ValueError(f"Invalid {what}: {value!r}")
    return quote(value, safe="")


def id_list(value: IdFilter) -> list[str]:
    """One id, several, or ``None`` as a list of strings (a filter's repeated values)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


class RoutePause(Protocol):
    """Where a client keeps Polar's 429s so that calls wait them out (see :mod:`.guard`).

    ``before`` raises (a :class:`~.exceptions.PolarBusyError`) instead of letting a
    paused call be sent; ``rate_limited`` is told of each 429 Polar answers, with its
    ``Retry-After`` in seconds (``None`` when absent).
    """

    def before(self, method: str, path: str) -> None:
        """Raise if ``method path`` must not be called now."""

    def rate_limited(self, method: str, path: str, retry_after: float | None) -> None:
        """Polar answered 429 to ``method path``."""


class Page(Generic[T]):
    """One page of a list call. Iterate it for its items; ``next()`` fetches the next page."""

    __slots__ = ("_fetch", "items", "limit", "max_page", "page", "total_count")

    def __init__(
        self,
        items: list[T],
        *,
        page: int,
        limit: int,
        total_count: int,
        max_page: int,
        fetch: Callable[[int], Page[T]],
    ) -> None:
        self.items = items
        self.page = page
        self.limit = limit
        self.total_count = total_count
        self.max_page = max_page
        self._fetch = fetch

    def has_next(self) -> bool:
        """True when Polar has more pages after this one."""
        return bool(self.items) and len(self.items) >= self.limit and self.page < self.max_page

    def next(self) -> Page[T] | None:
        """The next page, or ``None`` on the last one."""
        return self._fetch(self.page + 1) if self.has_next() else None

    def all_items(self) -> Iterator[T]:
        """This page's items, then every later page's, fetched as the iteration reaches them."""
        current: Page[T] | None = self
        while current is not None:
            yield from current.items
            current = current.next()

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return (
            f"<Page {self.page}/{self.max_page} items={len(self.items)} "
            f"total_count={self.total_count}>"
        )


class PolarClient:
    """A client for Polar's checkout and product API.

    One client holds one keep-alive :class:`requests.Session` and may be shared between
    threads. ``server`` is ``"production"``, ``"sandbox"``, ``"fake"`` or a base URL;
    ``timeout`` is seconds, one number or ``(connect, read)`` (``get_client()`` passes
    ``POLAR_TIMEOUT`` normalised by :func:`polar_checkouts.conf.normalize_timeout`).
    ``transport`` is a requests adapter, or a factory ``factory(retry) -> adapter`` given
    this client's retry policy (:data:`Transport`); ``None`` is the default transport
    (:func:`default_transport`), which is the real network unless a test set another.
    ``api_version`` is sent as ``Polar-Version`` on every call (``None``: no header).
    ``pause`` is told of Polar's 429s and stops calls until ``Retry-After`` has passed
    (:class:`RoutePause`; ``get_client()`` gives the shop-wide one of :mod:`.guard`).
    """

    def __init__(
        self,
        access_token: str | None = None,
        *,
        server: str = "sandbox",
        checkout_path: str = DEFAULT_CHECKOUT_PATH,
        timeout: Timeout = (5.0, 30.0),
        max_retries: int = 3,
        transport: Transport | None = None,
        api_version: str | None = PINNED_API_VERSION,
        pause: RoutePause | None = None,
    ) -> None:
        check_api_version(api_version)
        if not checkout_path.startswith("/") or not checkout_path.endswith("/"):
            raise ValueError(
                f"checkout_path must start and end with '/', like '/v1/checkouts/': "
                f"{checkout_path!r}"
            )
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self.server = server
        self.base_url = resolve_server(server)
        self.checkout_path = checkout_path
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry = build_retry(max_retries)
        self.api_version = api_version
        #: Polar's 429s shared between calls (and processes): ``None`` keeps none.
        self.pause = pause
        #: The ``Polar-Version`` of Polar's latest answer (``None`` until one carried it).
        self.answered_api_version: str | None = None
        self._version_warned = False
        self._access_token = access_token or None
        # Whatever echoes the token back (Polar's error body, a proxy's page, a log
        # argument), the masking functions replace it from now on.
        register_secret(self._access_token)

        if self.base_url == FAKE_BASE_URL and transport is None and get_default_transport() is None:
            # Fail now, not with a DNS error at the first call.
            raise ValueError(
                'server="fake" has no network address: give the client a transport, e.g. '
                '"polar_checkouts.testing.transport.fake_transport" (get_client() does, '
                'for POLAR_SERVER = "fake")'
            )
        self.session = requests.Session()
        adapter = adapter_for(transport, self.retry)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

        common = {
            "User-Agent": f"django-polar-checkouts/{__version__}",
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",
            "Connection": "keep-alive",
        }
        if api_version is not None:
            common[API_VERSION_HEADER] = api_version
        self._public_headers: dict[str, str] = dict(common)
        self._auth_headers: dict[str, str] = dict(common)
        if self._access_token:
            self._auth_headers["Authorization"] = f"Bearer {self._access_token}"

        # requests re-reads proxy and CA settings from the environment on every call when
        # trust_env is on; resolving them once here keeps proxies working and calls fast.
        self._send_kwargs: dict[str, Any] = {
            "stream": False,
            "timeout": self.timeout,
            "verify": os.environ.get("REQUESTS_CA_BUNDLE")
            or os.environ.get("CURL_CA_BUNDLE")
            or True,
            "cert": None,
            "proxies": requests.utils.get_environ_proxies(self.base_url),
        }

    def __repr__(self) -> str:
        version = self.api_version or "no Polar-Version"
        return f"<PolarClient {self.base_url}{self.checkout_path} ({version})>"

    @property
    def seed_era(self) -> bool:
        """True on the ``/custom/`` path without an API version: the seed's create body."""
        return self.api_version is None and self.checkout_path.endswith("/custom/")

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()

    def __enter__(self) -> PolarClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -----------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, Any]] | None = None,
        body: Mapping[str, Any] | None = None,
        auth: bool = True,
        secret: str | None = None,
    ) -> Any:
        url = self.base_url + path
        shown = _scrub(path, secret)  # the path as messages and logs may show it
        if self.pause is not None:
            self.pause.before(method, path)
        if params:
            url += "?" + urlencode(params)
        headers = CaseInsensitiveDict(self._auth_headers if auth else self._public_headers)
        request = PreparedRequest()
        request.method = method
        request.url = url
        request.hooks = {"response": []}
        if body is not None:
            data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
            headers["Content-Length"] = str(len(data))
            request.body = data
        elif method in ("POST", "PATCH"):
            headers["Content-Length"] = "0"
        request.headers = headers

        start = time.perf_counter()
        adapter = self.session.get_adapter(url)
        retry: Retry = self.retry
        while True:
            try:
                response = adapter.send(request, **self._send_kwargs)
            except requests.RequestException as exc:
                raise self._transport_error(exc, method, shown, secret) from None
            try:
                content = _read_body(response)
                break
            except requests.RequestException as exc:
                # requests reads the body after urllib3's retry loop has returned, so a
                # connection that breaks mid-body is retried here, on the same budget
                # and rules (GET and PATCH only: a POST may have been processed).
                failure = exc
            try:
                retry = retry.increment(method, url, error=_read_error(failure))
            except (MaxRetryError, ProtocolError, ReadTimeoutError):
                raise self._transport_error(failure, method, shown, secret) from None
            retry.sleep()
        status = response.status_code
        answered = response.headers.get(API_VERSION_HEADER)
        if answered:
            self._note_answered_version(answered)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %s in %.1f ms",
                method,
                shown,
                status,
                (time.perf_counter() - start) * 1000,
            )

        if 200 <= status < 300:
            try:
                return json.loads(content, parse_constant=_not_json)
            except ValueError:
                raise InvalidResponseError(
                    f"Polar answered {status} to {method} {shown} with a body that is not JSON",
                    status_code=status,
                    body=_scrub(_body_excerpt(content), secret),
                ) from None
        # Scrubbed before parsing, so the message, ``detail`` and ``body`` built from it
        # never carry a credential the server echoed back.
        error = error_from_response(
            status,
            _scrub(_body_excerpt(content), secret),
            response.headers,
            method=method,
            path=shown,
        )
        if (
            isinstance(error, NotFoundError)
            and self.api_version is not None
            and not answered
            and error.error is None
        ):
            # Polar answers an API version it does not serve with a bare 404 before any
            # route runs: {"detail": "Not Found"}, no Polar-Version header. A routed 404
            # carries the header, and one that names a Polar error was routed anyway.
            raise APIVersionError(
                f"Polar does not serve API version {self.api_version!r} (it answered "
                f"{status} to {method} {shown} without a Polar-Version "
                "header): set POLAR_API_VERSION (PolarClient(api_version=...)) to a "
                f"version Polar serves, such as {PINNED_API_VERSION!r}",
                status_code=status,
                error=error.error,
                detail=error.detail,
                body=error.body,
                api_version=self.api_version,
            )
        if isinstance(error, RateLimitError) and self.pause is not None:
            self.pause.rate_limited(method, path, error.retry_after)
        if isinstance(error, AuthenticationError) and auth and not self._access_token:
            error.args = (error.args[0] + " (no access token is configured: POLAR_ACCESS_TOKEN)",)
        raise error

    def _note_answered_version(self, answered: str) -> None:
        self.answered_api_version = answered
        if self.api_version is None or answered == self.api_version or self._version_warned:
            return
        with _warn_lock:
            if self._version_warned:
                return
            self._version_warned = True
        logger.warning(
            "Polar answered with API version %r, not the %r this client asked for "
            "(POLAR_API_VERSION); its objects may not have the shape expected.",
            mask_secrets_in(answered)[:20],
            self.api_version,
        )

    def _transport_error(
        self,
        exc: requests.RequestException,
        method: str,
        path: str,
        secret: str | None = None,
    ) -> PolarError:
        where = f"{method} {self.base_url}{mask_secrets_in(path)}"
        reason: BaseException | None = exc
        # Exhausted retries arrive wrapped: ConnectionError(MaxRetryError(reason=...)).
        if exc.args and isinstance(exc.args[0], MaxRetryError):
            reason = exc.args[0].reason
        if isinstance(exc, requests.Timeout) or isinstance(reason, ReadTimeoutError):
            return PolarTimeoutError(f"Polar did not answer in time: {where}")
        detail = _scrub(str(reason or exc), secret)
        return PolarConnectionError(f"Could not reach Polar: {where}: {detail}")

    # -- response checks -------------------------------------------------------------

    @staticmethod
    def _object(data: Any, method: str, path: str, required: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(data, dict) or any(key not in data for key in required):
            missing = [k for k in required if not isinstance(data, dict) or k not in data]
            raise InvalidResponseError(
                f"Polar's answer to {method} {mask_secrets_in(path)} is not the object "
                f"expected (missing: {', '.join(missing)})",
                body=_scrub(_body_excerpt(json.dumps(data)[:2000].encode()), None),
            )
        return data

    def _page(
        self,
        path: str,
        params: list[tuple[str, Any]],
        page: int,
        limit: int,
        required: tuple[str, ...],
    ) -> Page[Any]:
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, not {limit}")
        if page < 1:
            raise ValueError(f"page must be 1 or more, not {page}")
        data = self._request("GET", path, params=[*params, ("page", page), ("limit", limit)])
        listing = self._object(data, "GET", path, ("items", "pagination"))
        items, pagination = listing["items"], listing["pagination"]
        if not isinstance(items, list) or not isinstance(pagination, dict):
            raise InvalidResponseError(f"Polar's answer to GET {path} is not a list page")
        for item in items:
            self._object(item, "GET", path, required)
        try:
            total_count = int(pagination["total_count"])
            max_page = int(pagination["max_page"])
        except (KeyError, TypeError, ValueError):
            raise InvalidResponseError(
                f"Polar's answer to GET {path} has no usable pagination"
            ) from None
        return Page(
            items,
            page=page,
            limit=limit,
            total_count=total_count,
            max_page=max_page,
            fetch=lambda p: self._page(path, params, p, limit, required),
        )

    # -- server-side checkout operations (bearer token) --------------------------------

    def list(
        self,
        *,
        organization_id: IdFilter = None,
        product_id: IdFilter = None,
        page: int = 1,
        limit: int = 10,
        sorting: str | Sequence[str] | None = None,
        status: str | Sequence[str] | None = None,
        customer_id: IdFilter = None,
        query: str | None = None,
    ) -> Page[Checkout]:
        """One page of checkout sessions, newest first unless ``sorting`` says otherwise.

        Filters take one value or a list (sent as repeated query keys). ``status``,
        ``customer_id`` and ``query`` are understood by current Polar only.
        """
        params: list[tuple[str, Any]] = []
        params += [("organization_id", v) for v in id_list(organization_id)]
        params += [("product_id", v) for v in id_list(product_id)]
        params += [("customer_id", v) for v in id_list(customer_id)]
        params += [("status", v) for v in id_list(status)]
        params += [("sorting", v) for v in id_list(sorting)]
        if query:
            params.append(("query", query))
        return cast(
            "Page[Checkout]",
            self._page(self.checkout_path, params, page, limit, ("id", "status")),
        )

    def iter_checkouts(self, **filters: Any) -> Iterator[Checkout]:
        """Yield every checkout matching ``filters`` (as for :meth:`list`), page by page."""
        filters.setdefault("limit", MAX_PAGE_SIZE)
        yield from self.list(**filters).all_items()

    def create(self, data: CheckoutCreate | Mapping[str, Any]) -> Checkout:
        """Create a checkout session (POST, 201). Never retried once it may have been sent.

        Give ``products`` (a list of product ids; ``product_id`` is taken as a list of
        one). Dated versions get ``products``; the seed era (:attr:`seed_era`) gets
        ``product_id`` and ``payment_processor``, and takes one product, no ``prices``.
        """
        path = self.checkout_path
        body = self.create_body(data)
        result = self._request("POST", path, body=body)
        return cast("Checkout", self._object(result, "POST", path, _CHECKOUT_KEYS))

    def create_body(self, data: CheckoutCreate | Mapping[str, Any]) -> dict[str, Any]:
        """The body :meth:`create` sends for ``data``, in this client's API version."""
        body = dict(data)
        products = body.pop("products", None)
        if products is not None:
            if isinstance(products, str) or not products:
                raise ValueError("products must be a non-empty list of product ids")
            products = [str(product) for product in products]
        if self.seed_era:
            if products is not None:
                if len(products) != 1 or body.get("product_id"):
                    raise ValueError(
                        "The seed-era path /v1/checkouts/custom/ without an API version sells "
                        "one product per checkout: give one product, or set an API version."
                    )
                body["product_id"] = products[0]
            if body.get("prices"):
                raise ValueError(
                    "Ad-hoc prices need a dated API version (POLAR_API_VERSION), not the seed era."
                )
            body.setdefault("payment_processor", "stripe")
            return body
        product_id = body.pop("product_id", None)
        if products is None and product_id:
            products = [str(product_id)]
        elif product_id and products is not None:
            raise ValueError("Give products or product_id, not both.")
        if products is not None:
            body = {"products": products, **body}
        return body

    def get(self, id: str) -> Checkout:
        """Fetch one checkout session by id."""
        path = self.checkout_path + _segment(id, "checkout id")
        result = self._request("GET", path)
        return cast("Checkout", self._object(result, "GET", path, _CHECKOUT_KEYS))

    def update(self, id: str, data: CheckoutUpdate | Mapping[str, Any]) -> Checkout:
        """Update an open checkout session (PATCH); only the keys given are changed."""
        path = self.checkout_path + _segment(id, "checkout id")
        result = self._request("PATCH", path, body=dict(data))
        return cast("Checkout", self._object(result, "PATCH", path, _CHECKOUT_KEYS))

    # -- client-secret operations (no Authorization header) ----------------------------

    def _client_path(self, client_secret: str) -> str:
        return self.checkout_path + "client/" + _segment(client_secret, "client secret")

    def client_get(self, client_secret: str) -> CheckoutPublic:
        """Fetch a checkout session by its client secret, as the buyer's browser would."""
        path = self._client_path(client_secret)
        result = self._request("GET", path, auth=False, secret=client_secret)
        return cast("CheckoutPublic", self._object(result, "GET", path, _CHECKOUT_KEYS))

    def client_update(
        self, client_secret: str, data: CheckoutUpdatePublic | Mapping[str, Any]
    ) -> CheckoutPublic:
        """Update the buyer's fields (email, name, address, discount code, amount)."""
        path = self._client_path(client_secret)
        result = self._request("PATCH", path, body=dict(data), auth=False, secret=client_secret)
        return cast("CheckoutPublic", self._object(result, "PATCH", path, _CHECKOUT_KEYS))

    def client_confirm(
        self, client_secret: str, data: CheckoutConfirm | Mapping[str, Any]
    ) -> CheckoutPublicConfirmed:
        """Confirm the checkout, charging through Stripe with ``confirmation_token_id``."""
        path = self._client_path(client_secret) + "/confirm"
        result = self._request("POST", path, body=dict(data), auth=False, secret=client_secret)
        return cast("CheckoutPublicConfirmed", self._object(result, "POST", path, _CHECKOUT_KEYS))

    # -- products ------------------------------------------------------------------------

    def list_products(
        self,
        *,
        organization_id: IdFilter = None,
        is_archived: bool | None = None,
        is_recurring: bool | None = None,
        query: str | None = None,
        page: int = 1,
        limit: int = 10,
        sorting: str | Sequence[str] | None = None,
    ) -> Page[Product]:
        """One page of the catalogue."""
        params: list[tuple[str, Any]] = [("organization_id", v) for v in id_list(organization_id)]
        if is_archived is not None:
            params.append(("is_archived", "true" if is_archived else "false"))
        if is_recurring is not None:
            params.append(("is_recurring", "true" if is_recurring else "false"))
        if query:
            params.append(("query", query))
        params += [("sorting", v) for v in id_list(sorting)]
        return cast("Page[Product]", self._page(PRODUCTS_PATH, params, page, limit, ("id",)))

    def iter_products(self, **filters: Any) -> Iterator[Product]:
        """Yield every product matching ``filters`` (as for :meth:`list_products`)."""
        filters.setdefault("limit", MAX_PAGE_SIZE)
        yield from self.list_products(**filters).all_items()

    def get_product(self, id: str) -> Product:
        """Fetch one product with its prices."""
        path = PRODUCTS_PATH + _segment(id, "product id")
        return cast("Product", self._object(self._request("GET", path), "GET", path, ("id",)))

    # -- orders, subscriptions, customers, customer sessions ------------------------------

    def list_orders(
        self,
        *,
        organization_id: IdFilter = None,
        product_id: IdFilter = None,
        customer_id: IdFilter = None,
        external_customer_id: IdFilter = None,
        checkout_id: IdFilter = None,
        subscription_id: IdFilter = None,
        discount_id: IdFilter = None,
        status: str | Sequence[str] | None = None,
        product_billing_type: str | Sequence[str] | None = None,
        page: int = 1,
        limit: int = 10,
        sorting: str | Sequence[str] | None = None,
    ) -> Page[Order]:
        """One page of orders, newest first unless ``sorting`` says otherwise.

        Filters take one value or a list; ``status`` is Polar's ``OrderStatus``
        (``paid``, ``refunded``, ...), ``product_billing_type`` ``one_time``/``recurring``.
        """
        params = _filters(
            organization_id=organization_id,
            product_id=product_id,
            product_billing_type=product_billing_type,
            discount_id=discount_id,
            customer_id=customer_id,
            external_customer_id=external_customer_id,
            checkout_id=checkout_id,
            subscription_id=subscription_id,
            status=status,
            sorting=sorting,
        )
        return cast("Page[Order]", self._page(ORDERS_PATH, params, page, limit, _ORDER_KEYS))

    def iter_orders(self, **filters: Any) -> Iterator[Order]:
        """Yield every order matching ``filters`` (as for :meth:`list_orders`), page by page."""
        filters.setdefault("limit", MAX_PAGE_SIZE)
        yield from self.list_orders(**filters).all_items()

    def get_order(self, id: str) -> Order:
        """Fetch one order by id (``NotFoundError`` when Polar has no such order)."""
        path = ORDERS_PATH + _segment(id, "order id")
        return cast("Order", self._object(self._request("GET", path), "GET", path, _ORDER_KEYS))

    def list_subscriptions(
        self,
        *,
        organization_id: IdFilter = None,
        product_id: IdFilter = None,
        customer_id: IdFilter = None,
        external_customer_id: IdFilter = None,
        discount_id: IdFilter = None,
        status: str | Sequence[str] | None = None,
        active: bool | None = None,
        cancel_at_period_end: bool | None = None,
        page: int = 1,
        limit: int = 10,
        sorting: str | Sequence[str] | None = None,
    ) -> Page[Subscription]:
        """One page of subscriptions (every status unless filtered).

        ``status`` is Polar's ``SubscriptionStatus`` (``active``, ``past_due``, ...);
        ``active`` is Polar's older (deprecated) filter: ``active``/``trialing`` or not.
        """
        params = _filters(
            organization_id=organization_id,
            product_id=product_id,
            customer_id=customer_id,
            external_customer_id=external_customer_id,
            discount_id=discount_id,
            status=status,
            sorting=sorting,
        )
        if active is not None:
            params.append(("active", "true" if active else "false"))
        if cancel_at_period_end is not None:
            params.append(("cancel_at_period_end", "true" if cancel_at_period_end else "false"))
        return cast(
            "Page[Subscription]",
            self._page(SUBSCRIPTIONS_PATH, params, page, limit, _SUBSCRIPTION_KEYS),
        )

    def iter_subscriptions(self, **filters: Any) -> Iterator[Subscription]:
        """Yield every subscription matching ``filters`` (as for :meth:`list_subscriptions`)."""
        filters.setdefault("limit", MAX_PAGE_SIZE)
        yield from self.list_subscriptions(**filters).all_items()

    def get_subscription(self, id: str) -> Subscription:
        """Fetch one subscription by id."""
        path = SUBSCRIPTIONS_PATH + _segment(id, "subscription id")
        result = self._request("GET", path)
        return cast("Subscription", self._object(result, "GET", path, _SUBSCRIPTION_KEYS))

    def list_customers(
        self,
        *,
        organization_id: IdFilter = None,
        email: str | None = None,
        query: str | None = None,
        active: bool | None = None,
        page: int = 1,
        limit: int = 10,
        sorting: str | Sequence[str] | None = None,
    ) -> Page[Customer]:
        """One page of customers. ``email`` is an exact match; ``query`` searches name,
        e-mail and external id; ``active``: with a trialing, active or past-due subscription."""
        params = _filters(organization_id=organization_id, sorting=sorting)
        if email:
            params.append(("email", email))
        if query:
            params.append(("query", query))
        if active is not None:
            params.append(("active", "true" if active else "false"))
        return cast("Page[Customer]", self._page(CUSTOMERS_PATH, params, page, limit, ("id",)))

    def iter_customers(self, **filters: Any) -> Iterator[Customer]:
        """Yield every customer matching ``filters`` (as for :meth:`list_customers`)."""
        filters.setdefault("limit", MAX_PAGE_SIZE)
        yield from self.list_customers(**filters).all_items()

    def get_customer(self, id: str) -> Customer:
        """Fetch one customer by Polar's id."""
        path = CUSTOMERS_PATH + _segment(id, "customer id")
        return cast("Customer", self._object(self._request("GET", path), "GET", path, ("id",)))

    def get_customer_by_external_id(self, external_id: str) -> Customer:
        """Fetch one customer by the shop's id for it (``external_id``); 404 if none."""
        path = CUSTOMERS_PATH + "external/" + _segment(external_id, "external customer id")
        return cast("Customer", self._object(self._request("GET", path), "GET", path, ("id",)))

    def create_customer_session(
        self,
        *,
        customer_id: str | None = None,
        external_customer_id: str | None = None,
        return_url: str | None = None,
    ) -> CustomerSession:
        """Open a customer session (POST, 201) for one customer, named by Polar's id or
        the shop's external id; its ``customer_portal_url`` signs the customer in to
        Polar's customer portal, which shows a back link to ``return_url``.

        An unknown customer is Polar's 422 (:class:`~.exceptions.ValidationError`).
        Like every POST, never retried once it may have been sent.
        """
        if (customer_id is None) == (external_customer_id is None):
            raise ValueError("Give exactly one of customer_id and external_customer_id.")
        body: dict[str, Any] = (
            {"customer_id": customer_id}
            if customer_id is not None
            else {"external_customer_id": external_customer_id}
        )
        if return_url is not None:
            body["return_url"] = return_url
        path = CUSTOMER_SESSIONS_PATH
        result = self._request("POST", path, body=body)
        return cast(
            "CustomerSession",
            self._object(result, "POST", path, ("token", "customer_portal_url", "customer_id")),
        )

    # -- webhook endpoints and deliveries (reconciliation, issue 14) ---------------------
    # Polar's webhooks API, for the day deliveries failed: which endpoint, is it enabled,
    # which deliveries failed, and "send this event again". Needs a token with the
    # webhooks:read scope (webhooks:write to redeliver or re-enable).

    def list_webhook_endpoints(
        self, *, organization_id: IdFilter = None, page: int = 1, limit: int = 10
    ) -> Page[WebhookEndpoint]:
        """One page of the organization's webhook endpoints."""
        params: list[tuple[str, Any]] = [("organization_id", v) for v in id_list(organization_id)]
        page_of = self._page(WEBHOOK_ENDPOINTS_PATH, params, page, limit, ("id", "url"))
        return cast("Page[WebhookEndpoint]", page_of)

    def iter_webhook_endpoints(self, **filters: Any) -> Iterator[WebhookEndpoint]:
        """Yield every webhook endpoint (filters as for :meth:`list_webhook_endpoints`)."""
        filters.setdefault("limit", MAX_PAGE_SIZE)
        yield from self.list_webhook_endpoints(**filters).all_items()

    def get_webhook_endpoint(self, id: str) -> WebhookEndpoint:
        """Fetch one webhook endpoint."""
        path = f"{WEBHOOK_ENDPOINTS_PATH}/{_segment(id, 'webhook endpoint id')}"
        data = self._object(self._request("GET", path), "GET", path, ("id", "url"))
        return cast("WebhookEndpoint", data)

    def update_webhook_endpoint(self, id: str, data: Mapping[str, Any]) -> WebhookEndpoint:
        """Change a webhook endpoint (``{"enabled": True}`` re-enables a disabled one)."""
        path = f"{WEBHOOK_ENDPOINTS_PATH}/{_segment(id, 'webhook endpoint id')}"
        answer = self._request("PATCH", path, body=dict(data))
        return cast("WebhookEndpoint", self._object(answer, "PATCH", path, ("id", "url")))

    def list_webhook_deliveries(
        self,
        *,
        endpoint_id: IdFilter = None,
        succeeded: bool | None = None,
        start_timestamp: datetime | None = None,
        end_timestamp: datetime | None = None,
        event_type: IdFilter = None,
        http_code_class: str | None = None,
        query: str | None = None,
        page: int = 1,
        limit: int = 10,
    ) -> Page[WebhookDelivery]:
        """One page of delivery attempts, newest first, each with its ``webhook_event``.

        ``succeeded=False`` lists failed attempts: an event retried successfully later
        has failed attempts too (its ``webhook_event["succeeded"]`` says how it ended).
        """
        params: list[tuple[str, Any]] = [("endpoint_id", v) for v in id_list(endpoint_id)]
        if succeeded is not None:
            params.append(("succeeded", "true" if succeeded else "false"))
        if start_timestamp is not None:
            params.append(("start_timestamp", start_timestamp.isoformat()))
        if end_timestamp is not None:
            params.append(("end_timestamp", end_timestamp.isoformat()))
        params += [("event_type", v) for v in id_list(event_type)]
        if http_code_class:
            params.append(("http_code_class", http_code_class))
        if query:
            params.append(("query", query))
        required = ("id", "succeeded", "webhook_event")
        page_of = self._page(WEBHOOK_DELIVERIES_PATH, params, page, limit, required)
        return cast("Page[WebhookDelivery]", page_of)

    def iter_webhook_deliveries(self, **filters: Any) -> Iterator[WebhookDelivery]:
        """Yield every delivery matching ``filters`` (as for :meth:`list_webhook_deliveries`)."""
        filters.setdefault("limit", MAX_PAGE_SIZE)
        yield from self.list_webhook_deliveries(**filters).all_items()

    def redeliver_webhook_event(self, id: str) -> None:
        """Ask Polar to send event ``id`` (a ``webhook-id``) again; Polar answers 202 and
        sends it soon (skipped while its endpoint is disabled)."""
        path = f"{WEBHOOK_EVENTS_PATH}{_segment(id, 'webhook event id')}/redeliver"
        self._request("POST", path)


_CHECKOUT_KEYS = ("id", "status", "client_secret")
_ORDER_KEYS = ("id", "status", "customer_id")
_SUBSCRIPTION_KEYS = ("id", "status", "customer_id")


def _filters(**filters: str | Sequence[str] | None) -> list[tuple[str, Any]]:
    """Query parameters of list filters, in the order given; lists become repeated keys."""
    return [(name, value) for name, given in filters.items() for value in id_list(given)]


def _read_error(exc: requests.RequestException) -> Exception:
    """The urllib3 read error behind a failure to read a response body."""
    if isinstance(exc, requests.Timeout) or "timed out" in str(exc):
        return ReadTimeoutError(None, "", str(exc))  # type: ignore[arg-type]
    return ProtocolError(str(exc))


def _read_body(response: requests.Response) -> bytes:
    """The whole body of ``response``, read from the socket in one call.

    ``Response.content`` reads in 10 KB chunks, which costs about a fifth of the CPU of
    decoding a 100-item list page (see BENCHMARKS.md); ``iter_content(None)`` reads it
    at once, with the same error wrapping. A body already read (by a test double, for
    instance) is taken as it is.
    """
    if response._content is False and response.raw is not None:
        body = b"".join(response.iter_content(None))
        response._content = body  # keep ``.content`` usable for anyone reading it later
        return body
    return response.content or b""


def _not_json(constant: str) -> Any:
    # Python's parser accepts NaN and Infinity; they are not JSON, and no database
    # column or JSON field can store them, so such an answer is not a usable one.
    raise ValueError(f"{constant} is not JSON")


def _scrub(text: str, secret: str | None) -> str:
    """``text`` with registered tokens, client secrets and the call's own secret masked."""
    text = mask_secrets_in(text)
    if secret and secret in text:
        text = text.replace(secret, mask_secret(secret))
    return text


def _body_excerpt(content: bytes) -> str:
    """The start of a response body as text, for error messages and exceptions."""
    return content[:20_000].decode("utf-8", errors="replace")


_client_lock = threading.Lock()
_warn_lock = threading.Lock()
_client_cache: tuple[tuple[Any, ...], PolarClient] | None = None


def get_client() -> PolarClient:
    """The client built from Django settings; rebuilt whenever those settings change.

    Its transport is ``polar_settings.transport_factory`` (``POLAR_TRANSPORT``, or the
    fake's for ``POLAR_SERVER = "fake"``), else the default transport.
    """
    global _client_cache
    # Imported here, not at the top: the client alone does not load Django (a process
    # that only talks to Polar starts faster; BENCHMARKS.md, figure b).
    from .conf import polar_settings as s

    key = (
        s.ACCESS_TOKEN,
        s.SERVER,
        s.CHECKOUT_PATH,
        s.timeout,
        s.MAX_RETRIES,
        s.transport_factory,
        s.api_version,
        # A client built under another default transport (a test's fake) is not this one.
        get_default_transport(),
    )
    cached = _client_cache
    if cached is not None and cached[0] == key:
        return cached[1]
    from .guard import CachePause

    with _client_lock:
        if _client_cache is None or _client_cache[0] != key:
            token, server, checkout_path, timeout, max_retries, transport, api_version, _ = key
            _client_cache = (
                key,
                PolarClient(
                    token,
                    server=server,
                    checkout_path=checkout_path,
                    timeout=timeout,
                    max_retries=max_retries,
                    transport=transport,
                    api_version=api_version,
                    pause=CachePause(),
                ),
            )
        return _client_cache[1]


def reset_client_cache() -> None:
    """Forget the client :func:`get_client` built; the next call builds a new one."""
    global _client_cache
    with _client_lock:
        _client_cache = None
