"""Per-client limits: one visitor cannot spend the shop's Polar quota.

Every storefront view a visitor can call and that reaches Polar or the database is
limited per client, with django-ratelimit's counters (:func:`django_ratelimit.core.get_usage`)
in Django's cache, so a limit holds across processes and nodes when the cache is shared
(Redis, Memcached; ``RATELIMIT_USE_CACHE`` names the alias, ``"default"`` unless set).
Only the app's views and urls are needed: no middleware, no extra app.

A client is the signed-in user, else the adapter's :meth:`~..adapter.DefaultAdapter.client_ip`
(``X-Forwarded-For`` believed only from ``POLAR_TRUSTED_PROXIES``); IPv6 addresses count
per /64 (``RATELIMIT_IPV6_MASK``), as one host usually holds a whole /64. The rates are
``POLAR_RATE_LIMITS`` (:data:`~..conf.DEFAULT_RATE_LIMITS`).

Over the limit, the view is not run (so nothing is sent to Polar) and the answer is a
429 with ``Retry-After``: a page for pages, Polar's ``{"error", "detail"}`` shape for
the page script's JSON calls.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.cache import caches
from django.core.checks import CheckMessage, Error, Warning, register
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_ratelimit.core import get_usage

from ..adapter import get_adapter
from ..conf import DEFAULT_RATE_LIMITS, polar_settings
from .responses import json_error

logger = logging.getLogger("polar_checkouts")

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])

#: The storefront's limited views, by the key of ``POLAR_RATE_LIMITS``.
SCOPES = tuple(DEFAULT_RATE_LIMITS)
GROUP_PREFIX = "polar_checkouts."


@dataclass(frozen=True)
class Limited:
    """A request over its client's limit: which scope, and when the window ends."""

    scope: str
    rate: str
    retry_after: int


def limits_cache_alias() -> str:
    """The cache alias holding the counters (django-ratelimit's ``RATELIMIT_USE_CACHE``)."""
    return str(getattr(settings, "RATELIMIT_USE_CACHE", "default"))


def client_key(group: str, request: HttpRequest) -> str:
    """Who a request counts against: ``user:<pk>`` when signed in, else ``ip:<address>``.

    Its signature is django-ratelimit's key callable's.
    """
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False) and user.pk is not None:
        return f"user:{user.pk}"
    address = get_adapter().client_ip(request) or request.META.get("REMOTE_ADDR") or "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return f"ip:{address[:64]}"
    if parsed.version == 6:
        mask = int(getattr(settings, "RATELIMIT_IPV6_MASK", 64))
        return f"ip:{ipaddress.ip_network(f'{parsed}/{mask}', strict=False).network_address}/{mask}"
    return f"ip:{parsed}"


def check_limit(request: HttpRequest, scope: str) -> Limited | None:
    """Count this request against its client's ``scope`` limit; the :class:`Limited` if over.

    A cache that fails is not the visitor's fault: the request goes through and one
    warning a minute says so (limits fail open, sales go on).
    """
    rate = polar_settings.rate_limits.get(scope)
    if not rate:
        return None
    try:
        usage = get_usage(
            request, group=GROUP_PREFIX + scope, key=client_key, rate=rate, increment=True
        )
    except Exception as exc:  # the cache backend's own errors (Redis down…) vary
        log_once("cache-down", "Rate limits not enforced: the cache failed: %s", exc)
        return None
    if usage is None or not usage["should_limit"]:
        return None
    if usage["time_left"] < 0:
        # django-ratelimit could not count (a cache that lost the key): let it through.
        log_once("cache-lost", "Rate limits not enforced: the cache did not count")
        return None
    retry_after = max(int(usage["time_left"]), 1)
    key = client_key(GROUP_PREFIX + scope, request)
    log_once(
        f"over:{scope}:{key}",
        "Client %s is over its %s limit (%s); answering 429 for %d s",
        key,
        scope,
        rate,
        retry_after,
        ttl=retry_after,
        level=logging.INFO,
    )
    return Limited(scope, rate, retry_after)


def log_once(
    what: str, message: str, *args: Any, ttl: int = 60, level: int = logging.WARNING
) -> None:
    """Log ``message`` once per ``ttl`` seconds across processes, not once per request
    (``what`` names the occasion; the cache keeps the record, else this process)."""
    digest = hashlib.sha256(what.encode()).hexdigest()[:32]
    try:
        first = caches[limits_cache_alias()].add(f"polar_checkouts:logged:{digest}", 1, ttl)
    except Exception:
        # The shared cache is what failed: fall back to once per process.
        now = time.monotonic()
        first = now - _logged_here.get(digest, -float(ttl)) >= ttl
        if first:
            _logged_here[digest] = now
    if first:
        logger.log(level, message, *args)


#: When this process last logged each message whose shared record the cache could not keep.
_logged_here: dict[str, float] = {}


def too_many_requests(request: HttpRequest, limited: Limited, *, as_json: bool) -> HttpResponse:
    """The 429 for a client over its limit: JSON for the page's script, else a page."""
    seconds = limited.retry_after
    if not as_json:
        return busy_page(request, "client", seconds, status=429)
    response = json_error(
        429,
        "TooManyRequests",
        _("Too many requests. Please wait %(seconds)d seconds and try again.")
        % {"seconds": seconds},
    )
    response["Retry-After"] = str(seconds)
    response._has_been_logged = True  # type: ignore[attr-defined]  # see busy_page
    return response


def busy_page(request: HttpRequest, reason: str, seconds: int, *, status: int) -> HttpResponse:
    """The "try again in N seconds" page: ``reason`` is ``"client"`` (this visitor's limit)
    or ``"polar"`` (Polar's limit for the whole shop). Sets ``Retry-After``."""
    response = render(
        request,
        "polar_checkouts/too_many_requests.html",
        {"reason": reason, "retry_after": seconds, "retry_url": retry_url(request)},
        status=status,
    )
    response["Retry-After"] = str(seconds)
    add_never_cache_headers(response)
    # Django's request logger writes a line per 4xx/5xx answer: during a flood, or while
    # Polar makes the whole shop wait, that is a line per refused request. The limits log
    # once per client and window, the pause once per 429 (guard.py); this opts out of
    # the rest (the flag django.utils.log.log_response checks; tested in test_limits).
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def retry_url(request: HttpRequest) -> str:
    """Where "Try again" leads: this page for a GET, else the page the form was on
    (its ``next`` field, else the Referer, when either is this site; else ``/``)."""
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    for candidate in (request.POST.get("next"), request.META.get("HTTP_REFERER")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return "/"


def rate_limited(scope: str, *, as_json: bool = False) -> Callable[[ViewFunc], ViewFunc]:
    """Decorate a view with the per-client limit ``scope`` (a key of ``POLAR_RATE_LIMITS``).

    Put it inside the method check (``require_POST``…) so refused methods do not count.
    ``as_json`` answers the 429 as JSON, for views the page's script calls.
    """
    if scope not in SCOPES:
        raise ValueError(f"Unknown rate-limit scope {scope!r}; use one of {', '.join(SCOPES)}")

    def decorate(view: ViewFunc) -> ViewFunc:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            limited = check_limit(request, scope)
            if limited is not None:
                return too_many_requests(request, limited, as_json=as_json)
            return view(request, *args, **kwargs)

        return cast(ViewFunc, wrapper)

    return decorate


#: Cache backends whose counters are not shared between processes (or not kept at all).
PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache": "keeps its counters in one process",
    "django.core.cache.backends.dummy.DummyCache": "keeps nothing",
}
_RATE_RE = re.compile(r"^\d+/\d*[smhd]?$")


@register("polar_checkouts")
def check_limits(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``POLAR_RATE_LIMITS`` and ``POLAR_TRUSTED_PROXIES`` usable (E201, E202); warn when
    the limits' cache is not shared between processes (W201)."""
    messages: list[CheckMessage] = []
    try:
        limits = polar_settings.rate_limits
    except (TypeError, ValueError) as exc:
        limits = {}
        messages.append(
            Error(f"POLAR_RATE_LIMITS must be a dict: {exc}", id="polar_checkouts.E201")
        )
    unknown = sorted(set(limits) - set(SCOPES))
    bad = sorted(f"{k}={v!r}" for k, v in limits.items() if v and not _RATE_RE.match(v))
    if unknown or bad:
        messages.append(
            Error(
                "POLAR_RATE_LIMITS has "
                + "; ".join(
                    part
                    for part in (
                        f"unknown keys {', '.join(unknown)}" if unknown else "",
                        f"unusable rates {', '.join(bad)}" if bad else "",
                    )
                    if part
                ),
                hint=f"Keys are {', '.join(SCOPES)}; values a rate like '10/m' (ten a "
                "minute; s, m, h, d) or None for no limit.",
                id="polar_checkouts.E201",
            )
        )
    try:
        polar_settings.trusted_proxies  # noqa: B018  (parsing is the check)
    except (TypeError, ValueError) as exc:
        messages.append(
            Error(
                f"POLAR_TRUSTED_PROXIES must list IP addresses or networks: {exc}",
                hint="For example ['10.0.0.1', '10.1.0.0/16']: your reverse proxies' addresses.",
                id="polar_checkouts.E202",
            )
        )
    backend = settings.CACHES.get(limits_cache_alias(), {}).get("BACKEND", "")
    if any(limits.values()) and backend in PER_PROCESS_CACHES and not settings.DEBUG:
        messages.append(
            Warning(
                f"The storefront's per-client limits count in the {limits_cache_alias()!r} "
                f"cache, which {PER_PROCESS_CACHES[backend]}: with several processes or "
                "nodes a client gets the limit once per process.",
                hint="Point RATELIMIT_USE_CACHE (or CACHES['default']) at a shared cache "
                "such as Redis or Memcached.",
                id="polar_checkouts.W201",
            )
        )
    return messages


__all__ = [
    "SCOPES",
    "Limited",
    "busy_page",
    "check_limit",
    "client_key",
    "rate_limited",
    "too_many_requests",
]
