"""HTTP routing of the fake Polar: which operation answers a method and path.

Polar's routes go to :mod:`.checkouts` and :mod:`.products`; the fake-only control
routes under ``/_fake/`` (complete a "3-D Secure" action, reset, move the clock, arm
faults, add products, list events) are here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from .. import catalogue
from ..faults import Injection
from ..messages import FakeResponse, HTTPError, json_response
from ..validation import RequestInvalid, parse_body
from . import lifecycle, orders, portal, subscriptions, webhook_api
from .checkouts import (
    client_confirm,
    client_get,
    client_update,
    complete_action,
    create_op,
    get,
    list_checkouts,
    update,
)
from .customers import create_session_op, get_customer, get_customer_external, list_customers
from .products import get_product, list_products
from .state import isoformat
from .subscriptions import get_subscription, list_subscriptions

if TYPE_CHECKING:
    from .core import FakePolar

CHECKOUT_PREFIXES = ("/v1/checkouts/custom/", "/v1/checkouts/")
PRODUCTS_PREFIX = "/v1/products/"
#: Operations of the bearer-token (server-side) routes; the others are the buyer's.
SERVER_OPERATIONS = (
    "list",
    "create",
    "get",
    "update",
    "list_products",
    "get_product",
    "list_orders",
    "get_order",
    "list_subscriptions",
    "get_subscription",
    "list_customers",
    "get_customer",
    "get_customer_external",
    "create_customer_session",
)
ORDERS_PREFIX = "/v1/orders/"
SUBSCRIPTIONS_PREFIX = "/v1/subscriptions/"
CUSTOMERS_PREFIX = "/v1/customers/"
SESSIONS_PATH = "/v1/customer-sessions/"
COLLECTIONS = (
    "/v1/checkouts",
    "/v1/products",
    "/v1/orders",
    "/v1/subscriptions",
    "/v1/customers",
    "/v1/customer-sessions",
)


def is_fake_only(path: str) -> bool:
    """Whether ``path`` is one of the fake's own routes (index, ``/_fake/``), unversioned."""
    return path in ("", "/", portal.PATH) or path.startswith("/_fake/")


def unknown_version(*args: Any) -> FakeResponse:
    """Polar's answer to a malformed or unknown ``Polar-Version``: no version, no CORS."""
    response = json_response(404, {"detail": "Not Found"})
    response.cors = False
    return response


def route(
    fake: FakePolar, method: str, path: str
) -> tuple[str | None, Callable[..., FakeResponse]]:
    """The operation name (``None`` for fake-only routes) and handler of ``method path``."""

    def not_found(*args: Any) -> FakeResponse:
        return json_response(404, {"detail": "Not Found"})

    def not_allowed(*args: Any) -> FakeResponse:
        return method_not_allowed(("GET", "POST", "PATCH"))

    def pick(
        table: dict[str, tuple[str, Callable[..., FakeResponse]]],
    ) -> tuple[str | None, Callable[..., FakeResponse]]:
        # Starlette answers HEAD wherever GET is routed (FakePolar.handle drops the body).
        wanted = "GET" if method == "HEAD" else method
        if wanted in table:
            return table[wanted]
        allowed = [*table, "HEAD"] if "GET" in table else list(table)
        return None, lambda *a: method_not_allowed(allowed)

    if method == "OPTIONS":
        return None, lambda *a: FakeResponse(204, {}, b"")
    if path in ("", "/"):
        return pick({"GET": ("index", lambda *a: index(fake))})
    # FastAPI redirects a collection path without its slash. ("/v1/checkouts/custom"
    # without one is not redirected: it is the checkout whose id is "custom", a 422.)
    if path in COLLECTIONS:
        return None, lambda *a: FakeResponse(307, {"location": path + "/"}, b"")
    if path.startswith("/_fake/"):
        return control_route(fake, method, path[len("/_fake/") :])
    if path.startswith("/v1/webhooks/"):
        return webhook_api.route(fake, method, path) or (None, not_found)
    if path == portal.PATH:
        return pick(
            {
                "GET": ("portal", lambda h, q, b: portal.page(fake, q)),
                "POST": ("portal", lambda h, q, b: portal.act(fake, b)),
            }
        )
    for base, name, lister, getter in (
        (ORDERS_PREFIX, "order", orders.list_orders, orders.get_order),
        (SUBSCRIPTIONS_PREFIX, "subscription", list_subscriptions, get_subscription),
    ):
        if path.startswith(base):
            rest = path[len(base) :]
            if rest == "":
                return pick({"GET": (f"list_{name}s", partial(lister, fake))})
            if "/" not in rest:
                found = unquote(rest)
                return pick({"GET": (f"get_{name}", partial(_get, getter, fake, found))})
            return None, not_found
    if path.startswith(CUSTOMERS_PREFIX):
        rest = path[len(CUSTOMERS_PREFIX) :]
        if rest == "":
            return pick({"GET": ("list_customers", partial(list_customers, fake))})
        if rest.startswith("external/") and rest.count("/") == 1:
            external = unquote(rest[len("external/") :])
            return pick(
                {
                    "GET": (
                        "get_customer_external",
                        partial(_get, get_customer_external, fake, external),
                    )
                }
            )
        if "/" not in rest:
            found = unquote(rest)
            return pick({"GET": ("get_customer", partial(_get, get_customer, fake, found))})
        return None, not_found
    if path == SESSIONS_PATH:
        return pick({"POST": ("create_customer_session", partial(create_session_op, fake))})
    if path.startswith(PRODUCTS_PREFIX):
        rest = path[len(PRODUCTS_PREFIX) :]
        if rest == "":
            return pick({"GET": ("list_products", partial(list_products, fake))})
        if "/" not in rest:
            product_id = unquote(rest)
            return pick({"GET": ("get_product", lambda *a: get_product(fake, product_id))})
        return None, not_found
    prefix = next((p for p in CHECKOUT_PREFIXES if path.startswith(p)), None)
    if prefix is None:
        return None, not_found
    rest = path[len(prefix) :]
    if rest == "":
        return pick(
            {
                "GET": ("list", partial(list_checkouts, fake)),
                "POST": ("create", partial(create_op, fake)),
            }
        )
    if rest.startswith("client/"):
        tail = rest[len("client/") :]
        if tail and "/" not in tail:
            secret = unquote(tail)
            return pick(
                {
                    "GET": ("client_get", lambda *a: client_get(fake, secret)),
                    "PATCH": ("client_update", lambda h, q, b: client_update(fake, secret, b)),
                }
            )
        if tail.endswith("/confirm") and tail.count("/") == 1:
            secret = unquote(tail[: -len("/confirm")])
            return pick(
                {"POST": ("client_confirm", lambda h, q, b: client_confirm(fake, secret, b))}
            )
        return None, (not_allowed if tail == "" else not_found)
    if "/" not in rest:
        checkout_id = unquote(rest)
        return pick(
            {
                "GET": ("get", lambda *a: get(fake, checkout_id)),
                "PATCH": ("update", lambda h, q, b: update(fake, checkout_id, b)),
            }
        )
    return None, not_found


def _get(
    getter: Callable[[FakePolar, str], FakeResponse], fake: FakePolar, key: str, *args: Any
) -> FakeResponse:
    return getter(fake, key)


def control_route(
    fake: FakePolar, method: str, rest: str
) -> tuple[str | None, Callable[..., FakeResponse]]:
    """The fake-only routes under ``/_fake/``, for browsers, scripts and other processes."""
    parts = rest.split("/")

    def post_only(fn: Callable[..., FakeResponse]) -> Callable[..., FakeResponse]:
        if method != "POST":
            return lambda *a: method_not_allowed(["POST"])
        return fn

    if len(parts) == 3 and parts[0] == "actions" and parts[2] in ("complete", "fail"):
        secret, succeed = unquote(parts[1]), parts[2] == "complete"
        return None, post_only(
            lambda *a: json_response(200, complete_action(fake, secret, succeed))
        )
    if rest == "reset":
        return None, post_only(lambda *a: control_reset(fake))
    if rest == "advance-time":
        return None, post_only(lambda h, q, b: control_advance(fake, b))
    if rest == "faults":
        return None, post_only(lambda h, q, b: control_inject(fake, b))
    if rest == "products":
        return None, post_only(lambda h, q, b: control_add_product(fake, b))
    if rest == "rate-limit" and method in ("GET", "HEAD"):
        limiter = fake.rate_limiter
        return None, lambda *a: json_response(
            200,
            {
                "per_minute": limiter.per_minute if limiter else None,
                "refused": sum(limiter.refused.values()) if limiter else 0,
            },
        )
    if len(parts) == 3 and parts[0] == "subscriptions" and parts[2] in SUBSCRIPTION_CONTROLS:
        subscription_id, action = unquote(parts[1]), parts[2]
        return None, post_only(
            lambda h, q, b: control_subscription(fake, subscription_id, action, b)
        )
    if len(parts) == 3 and parts[0] == "orders" and parts[2] == "refund":
        order_id = unquote(parts[1])
        return None, post_only(lambda h, q, b: control_refund(fake, order_id, b))
    if rest == "events" and method in ("GET", "HEAD"):
        return None, lambda *a: json_response(
            200,
            [
                {
                    "id": e.id,
                    "type": e.type,
                    "state": e.state,
                    "attempts": len(e.attempts),
                    "payload": e.payload(),
                }
                for e in fake.events
            ],
        )
    return None, lambda *a: json_response(404, {"detail": "Not Found"})


def method_not_allowed(allowed: list[str] | tuple[str, ...]) -> FakeResponse:
    """Starlette's 405: JSON, with the route's methods in ``Allow``."""
    return json_response(405, {"detail": "Method Not Allowed"}, {"allow": ", ".join(allowed)})


def dispatch(
    operation: str | None,
    handler: Callable[..., FakeResponse],
    headers: dict[str, str],
    params: dict[str, list[str]],
    body: bytes,
) -> FakeResponse:
    """Run ``handler`` (checking the bearer token of server routes); errors become answers."""
    try:
        if operation in SERVER_OPERATIONS or operation in webhook_api.WEBHOOK_OPERATIONS:
            auth = headers.get("authorization", "")
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise HTTPError(
                    401,
                    {"error": "Unauthorized", "detail": "Unauthorized"},
                    {"www-authenticate": 'Bearer realm="polar"'},
                )
        response = handler(headers, params, body)
    except RequestInvalid as exc:
        response = json_response(422, {"error": exc.error, "detail": exc.errors})
    except HTTPError as exc:
        response = json_response(exc.status, exc.payload, exc.headers)
    response.operation = operation
    return response


def index(fake: FakePolar) -> FakeResponse:
    """``GET /``: the fake's catalogue, discount codes and confirmation tokens."""
    return json_response(
        200,
        {
            "name": "Fake Polar",
            "organization_id": catalogue.ORGANIZATION_ID,
            "checkout_paths": list(CHECKOUT_PREFIXES),
            "products": [
                {"id": p["id"], "name": p["name"], "price_ids": p["price_ids"]}
                for p in fake.products.values()
            ],
            "discount_codes": [d["code"] for d in fake.discounts.values() if d["code"]],
            "confirmation_tokens": list(catalogue.TOKENS),
        },
    )


def control_reset(fake: FakePolar) -> FakeResponse:
    """``POST /_fake/reset``: forget everything, re-seed."""
    fake.reset()
    return json_response(200, {"reset": True})


def control_advance(fake: FakePolar, body: bytes) -> FakeResponse:
    """``POST /_fake/advance-time`` ``{"seconds": n}``: move the clock."""
    data = parse_body(body)
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
    fake.move_clock(seconds)
    return json_response(200, {"now": isoformat(fake.now())})


def control_inject(fake: FakePolar, body: bytes) -> FakeResponse:
    """``POST /_fake/faults``: arm a fault (the fields of ``FakePolar.inject``)."""
    data = parse_body(body)
    allowed = {"status", "fault", "times", "route", "retry_after", "hang"}
    try:
        injection = Injection(**{k: v for k, v in data.items() if k in allowed})
    except (TypeError, ValueError) as exc:
        raise RequestInvalid(
            [{"loc": ["body"], "msg": str(exc), "type": "value_error", "input": data}]
        ) from None
    fake.injections.append(injection)
    return json_response(201, {"armed": injection.times, "route": injection.route})


def control_add_product(fake: FakePolar, body: bytes) -> FakeResponse:
    """``POST /_fake/products``: add a product (the fields of ``add_product``)."""
    data = parse_body(body)
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
        "trial_interval",
        "trial_interval_count",
    }
    kwargs = {k: v for k, v in data.items() if k in allowed}
    try:
        product = fake.add_product(str(kwargs.pop("name", "New product")), **kwargs)
    except (TypeError, ValueError) as exc:
        raise RequestInvalid(
            [{"loc": ["body"], "msg": str(exc), "type": "value_error", "input": data}]
        ) from None
    return json_response(201, product)


#: ``POST /_fake/subscriptions/{id}/<action>``: the subscription controls.
SUBSCRIPTION_CONTROLS = ("cancel", "uncancel", "revoke", "fail-renewals", "recover", "renew")


def _invalid(message: str, data: Any) -> RequestInvalid:
    return RequestInvalid([{"loc": ["body"], "msg": message, "type": "value_error", "input": data}])


def control_subscription(
    fake: FakePolar, subscription_id: str, action: str, body: bytes
) -> FakeResponse:
    """``POST /_fake/subscriptions/{id}/cancel`` ``{"at_period_end": true, "reason": ...}``,
    ``/uncancel``, ``/revoke``, ``/fail-renewals`` ``{"times": 1}``, ``/recover`` and
    ``/renew`` (move the clock to the period's end): the answer is the subscription."""
    data = parse_body(body) if body.strip() else {}
    if subscription_id not in fake.subscriptions:
        raise HTTPError(404, {"error": "ResourceNotFound", "detail": "Not found"})
    try:
        if action == "cancel":
            at_period_end = data.get("at_period_end", True)
            if not isinstance(at_period_end, bool):
                raise ValueError("at_period_end must be true or false")
            lifecycle.cancel(
                fake,
                subscription_id,
                at_period_end=at_period_end,
                reason=data.get("reason"),
                comment=data.get("comment"),
            )
        elif action == "uncancel":
            lifecycle.uncancel(fake, subscription_id)
        elif action == "revoke":
            lifecycle.revoke(fake, subscription_id)
        elif action == "fail-renewals":
            times = data.get("times", 1)
            if isinstance(times, bool) or not isinstance(times, int):
                raise ValueError("times must be a whole number")
            lifecycle.fail_renewals(fake, subscription_id, times)
        elif action == "recover":
            lifecycle.recover(fake, subscription_id)
        else:
            end = fake.subscriptions[subscription_id]["current_period_end"]
            seconds = (subscriptions.parse_time(end) - fake.now()).total_seconds()
            fake.move_clock(max(0.0, seconds))
    except ValueError as exc:
        raise _invalid(str(exc), data) from None
    return json_response(200, subscriptions.subscription_json(fake, subscription_id))


def control_refund(fake: FakePolar, order_id: str, body: bytes) -> FakeResponse:
    """``POST /_fake/orders/{id}/refund`` ``{"amount": cents?, "reason": ...}``: 201 with
    Polar's ``Refund``."""
    data = parse_body(body) if body.strip() else {}
    if order_id not in fake.orders:
        raise HTTPError(404, {"error": "ResourceNotFound", "detail": "Not found"})
    try:
        refund = orders.refund_order(
            fake,
            order_id,
            data.get("amount"),
            reason=data.get("reason", "customer_request"),
            comment=data.get("comment"),
        )
    except ValueError as exc:
        raise _invalid(str(exc), data) from None
    return json_response(201, refund)
