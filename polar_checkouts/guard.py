"""The shop-wide pause after Polar's own 429: every process waits out ``Retry-After``.

Polar limits each organization (500 requests a minute in production, 100 in the
sandbox) and answers 429 with ``Retry-After``. Once one process of the shop has been told
to wait, asking again from any process only burns more of the quota and fills the logs.
:class:`CachePause` keeps the pause in Django's cache (the limits' cache,
``RATELIMIT_USE_CACHE``), so it holds for every process and node that shares it:

* before each call, :meth:`CachePause.before` raises
  :class:`~.exceptions.PolarBusyError` (a :class:`~.exceptions.RateLimitError`) while
  the route is paused: no request is sent;
* after a 429, :meth:`CachePause.rate_limited` pauses the route until ``Retry-After``
  has passed and logs **one** warning (the process that starts the pause logs it; the
  others, and every refused call, log at DEBUG).

A route is a method and Polar's path with ids and secrets replaced by ``{}``
(``GET /v1/checkouts/{}``), so one checkout's 429 pauses reads of every checkout.
:func:`~.client.get_client` installs the pause on the client; the storefront, the admin's
refresh and sync and the management commands all go through it.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time

from django.conf import settings
from django.core.cache import BaseCache, caches

from .exceptions import PolarBusyError

logger = logging.getLogger("polar_checkouts")

#: The pause when Polar's 429 carries no usable ``Retry-After``: its window is a minute.
DEFAULT_PAUSE_SECONDS = 60.0
#: The longest pause kept: Polar's confirm zone blocks for 30 minutes; more is a mistake.
MAX_PAUSE_SECONDS = 3600.0
#: Path segments kept in a route: words and the API's version (``v1``); ids go.
_WORD = re.compile(r"^(?:[a-z][a-z_\-]*|v\d+)$")


def route_of(method: str, path: str) -> str:
    """``"GET /v1/checkouts/{}"``: ``method`` and ``path`` with ids and secrets as ``{}``."""
    path = path.split("?", 1)[0]
    parts = [part if not part or _WORD.match(part) else "{}" for part in path.split("/")]
    return f"{method.upper()} {'/'.join(parts)}"


class CachePause:
    """Pauses of Polar routes after a 429, in a Django cache shared by the shop's processes."""

    def __init__(self, alias: str | None = None) -> None:
        self.alias = alias

    @property
    def cache(self) -> BaseCache:
        """The cache holding the pauses (``RATELIMIT_USE_CACHE``, else ``"default"``)."""
        alias = self.alias or getattr(settings, "RATELIMIT_USE_CACHE", "default")
        return caches[str(alias)]

    @staticmethod
    def _key(route: str) -> str:
        return "polar_checkouts:polar-paused:" + hashlib.sha256(route.encode()).hexdigest()[:32]

    def remaining(self, route: str) -> float:
        """Seconds the route stays paused (0 when it is not)."""
        try:
            until = self.cache.get(self._key(route))
        except Exception:  # a cache that fails must not stop sales: no pause known
            return 0.0
        if until is None:
            return 0.0
        return max(0.0, float(until) - time.time())

    def before(self, method: str, path: str) -> None:
        """Raise :class:`PolarBusyError` instead of calling a paused route."""
        route = route_of(method, path)
        wait = self.remaining(route)
        if wait > 0:
            logger.debug("Not calling %s: Polar asked to wait %.0f s more", route, wait)
            raise PolarBusyError(
                f"Polar asked this shop to slow down: not calling {route} for another {wait:.0f} s",
                retry_after=wait,
                status_code=429,
            )

    def rate_limited(self, method: str, path: str, retry_after: float | None) -> None:
        """Pause the route for ``retry_after`` seconds (Polar's 429); warn once for all."""
        route = route_of(method, path)
        seconds = retry_after if retry_after and retry_after > 0 else DEFAULT_PAUSE_SECONDS
        seconds = min(seconds, MAX_PAUSE_SECONDS)
        until = time.time() + seconds
        key = self._key(route)
        timeout = int(seconds) + 1
        try:
            started = self.cache.add(key, until, timeout)
            if not started:
                # Already paused by another process: lengthen it if Polar now asks more.
                current = self.cache.get(key)
                if current is None or float(current) < until:
                    self.cache.set(key, until, timeout)
        except Exception as exc:
            logger.warning(
                "Polar answered 429 to %s and the pause could not be kept: %s", route, exc
            )
            return
        if started:
            logger.warning(
                "Polar answered 429 (rate limit) to %s: every process of the shop pauses "
                "this route for %.0f s (Retry-After)",
                route,
                seconds,
            )
        else:
            logger.debug("Polar answered 429 to %s again; paused %.0f s", route, seconds)
