"""Fault injection for the fake Polar: the next N calls answer an error or break.

:class:`Injection` is one armed fault; :func:`injected_response` and :func:`mangle` act
it out on an answer (the transports act out the socket-level part).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus

from .messages import TRANSPORT_FAULTS, FakeResponse, json_bytes

#: Body faults: a 2xx (or the given status) whose body is not what Polar sends.
BODY_FAULTS = ("malformed_json", "html", "missing_keys")
FAULTS = TRANSPORT_FAULTS + BODY_FAULTS

#: Route names usable in ``inject(route=...)``; ``"products"`` matches both product routes.
ROUTES = (
    "list",
    "create",
    "get",
    "update",
    "client_get",
    "client_update",
    "client_confirm",
    "list_products",
    "get_product",
    "products",
    "list_orders",
    "get_order",
    "list_subscriptions",
    "get_subscription",
    "list_customers",
    "get_customer",
    "get_customer_external",
    "create_customer_session",
)

#: Faults whose request reaches the fake's state before the answer is lost or mangled.
PROCESSED_FAULTS = ("timeout", "reset", "malformed_json", "missing_keys")


@dataclass
class Injection:
    """One armed fault. ``remaining`` counts down as calls consume it."""

    status: int | None = None
    fault: str | None = None
    times: int = 1
    route: str | None = None
    retry_after: float | None = None
    body: bytes | None = None
    hang: float = 2.0
    remaining: int = 0
    served: int = 0

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"Unknown fault {self.fault!r}; use one of {', '.join(FAULTS)}")
        if self.route is not None and self.route not in ROUTES:
            raise ValueError(f"Unknown route {self.route!r}; use one of {', '.join(ROUTES)}")
        if self.status is None and self.fault is None:
            raise ValueError("inject() needs a status, a fault, or both")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"Not an HTTP status: {self.status}")
        if self.times < 1:
            raise ValueError("times must be 1 or more")
        self.remaining = self.times

    def matches(self, operation: str | None) -> bool:
        """True when this injection applies to a call of ``operation``."""
        if self.remaining <= 0 or operation is None:
            return False
        if self.route is None:
            return True
        if self.route == "products":
            return operation in ("list_products", "get_product")
        return self.route == operation

    def consume(self) -> None:
        """Count one use."""
        self.remaining -= 1
        self.served += 1

    @property
    def processed(self) -> bool:
        """Whether the request still changes the fake's state (the answer is lost later)."""
        return self.fault in PROCESSED_FAULTS


def take_injection(injections: Iterable[Injection], operation: str | None) -> Injection | None:
    """The first armed injection matching ``operation``, counted as used."""
    for injection in injections:
        if injection.matches(operation):
            injection.consume()
            return injection
    return None


def injected_response(injection: Injection, operation: str | None) -> FakeResponse:
    """The answer of a call the fault stops before it is processed."""
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
        body = json_bytes({"error": phrase.replace(" ", ""), "detail": phrase})
    if body:
        headers["content-type"] = "application/json"
    return FakeResponse(status, headers, body, operation)


def mangle(injection: Injection, response: FakeResponse) -> FakeResponse:
    """The processed call's ``response`` as the fault spoils it."""
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
        response.body = json_bytes(data)
    response.fault = injection.fault
    if injection.status is not None:
        response.status = injection.status
    return response
