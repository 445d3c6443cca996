"""Polar's own rate limit, for the fake: N requests a minute per identity.

Polar limits each organization (its bearer token), else each client IP, to 500 requests
a minute in production and 100 in the sandbox, and answers 429 with an **empty body** and
``retry-after: <seconds>`` (project notes, API.md §12). The fake keys on the bearer token,
else on ``"anonymous"`` (it does not know the caller's IP), in fixed one-minute windows
on the real clock (the load run is real time, not the fake's checkout clock).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping

from .messages import FakeResponse

#: Polar's general limits per identity and minute.
PRODUCTION_PER_MINUTE = 500
SANDBOX_PER_MINUTE = 100
WINDOW_SECONDS = 60.0


class FakeRateLimiter:
    """Counts calls per identity per window; answers Polar's 429 past ``per_minute``."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be 1 or more")
        self.per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}
        #: How many calls were refused with 429, per identity.
        self.refused: dict[str, int] = {}

    @staticmethod
    def identity(headers: Mapping[str, str]) -> str:
        """Who a call counts against: its bearer token, else ``"anonymous"``."""
        authorization = headers.get("authorization", "")
        return authorization or "anonymous"

    def check(self, headers: Mapping[str, str], operation: str | None) -> FakeResponse | None:
        """Count the call; Polar's 429 if its identity is over the limit, else ``None``."""
        who = self.identity(headers)
        now = self._clock()
        with self._lock:
            start, count = self._windows.get(who, (now, 0))
            if now - start >= WINDOW_SECONDS:
                start, count = now, 0
            count += 1
            self._windows[who] = (start, count)
            if count <= self.per_minute:
                return None
            self.refused[who] = self.refused.get(who, 0) + 1
            wait = max(1, math.ceil(start + WINDOW_SECONDS - now))
        return FakeResponse(429, {"retry-after": str(wait)}, b"", operation)
