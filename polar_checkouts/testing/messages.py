"""What passes between a caller and the fake Polar: answers, recorded requests, errors.

An answer is HTTP-shaped (status, headers, raw body) so every way in (the requests
transport, the Django views, the standalone server) serves the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Transport faults: the transport raises what ``requests`` raises; the server breaks the
#: socket. (The other faults mangle the body; see :mod:`.faults`.)
TRANSPORT_FAULTS = ("timeout", "refused", "disconnect", "reset")

#: Polar's body for an unknown id or client secret.
NOT_FOUND = {"error": "ResourceNotFound", "detail": "Not found"}


def json_bytes(data: Any) -> bytes:
    """Compact UTF-8 JSON, as Polar sends it."""
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
    #: False for answers Polar sends before its CORS middleware (the unknown-version 404).
    cors: bool = True

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


class HTTPError(Exception):
    """Raised by an operation to answer ``status`` with the JSON ``payload``."""

    def __init__(self, status: int, payload: Any, headers: Mapping[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.payload = payload
        self.headers = dict(headers or {})


def error(status: int, name: str, detail: str) -> HTTPError:
    """Polar's ``{"error", "detail"}`` error body, to raise."""
    return HTTPError(status, {"error": name, "detail": detail})


def json_response(
    status: int, payload: Any, headers: Mapping[str, str] | None = None
) -> FakeResponse:
    """A JSON answer."""
    return FakeResponse(
        status, {"content-type": "application/json", **(headers or {})}, json_bytes(payload)
    )
