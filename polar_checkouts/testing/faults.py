"""Fault injection for the fake Polar: the next N calls answer an error or break."""

from __future__ import annotations

from dataclasses import dataclass

#: Transport faults: the adapter raises what ``requests`` raises; the server breaks the socket.
TRANSPORT_FAULTS = ("timeout", "refused", "disconnect", "reset")
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
