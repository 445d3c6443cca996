"""The storefront while its database is unreachable: a page to retry, never a traceback.

A restarted or unreachable PostgreSQL makes every query raise
:class:`django.db.DatabaseError`; without this, Django answers its bare "Server Error
(500)". The storefront's views answer 503 with ``Retry-After`` instead: a page saying to
try again in a moment, or Polar's JSON error shape for the page script's calls. Nothing
is half-written (each write is one transaction, rolled back by the database). Django
drops the broken connection at the end of the request, so the next request opens a new
one: the shop recovers by itself once the database is back, without a restart
(tests/faults/test_processes.py cuts PostgreSQL under a running gunicorn).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from .limits import busy_page, log_once
from .responses import json_error

logger = logging.getLogger("polar_checkouts")

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])

#: What ``Retry-After`` suggests while the database is away: a restart takes seconds.
RETRY_AFTER_SECONDS = 10


def database_unavailable(request: HttpRequest, *, as_json: bool) -> HttpResponse:
    """The 503 answered while the database cannot be reached."""
    if not as_json:
        # busy_page opts out of Django's per-response log line too: one error line a
        # minute says the database is away (survives_database_outage), not one per request.
        return busy_page(request, "outage", RETRY_AFTER_SECONDS, status=503)
    response = json_error(
        503,
        "ServiceUnavailable",
        _("Checkout is temporarily unavailable. Please try again in %(seconds)d seconds.")
        % {"seconds": RETRY_AFTER_SECONDS},
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def survives_database_outage(*, as_json: bool = False) -> Callable[[ViewFunc], ViewFunc]:
    """Answer :func:`database_unavailable` when the view meets a :class:`DatabaseError`."""

    def decorate(view: ViewFunc) -> ViewFunc:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except DatabaseError as exc:
                log_once(
                    "database-down",
                    "The storefront cannot reach its database; answering 503: %s",
                    exc,
                    level=logging.ERROR,
                )
                return database_unavailable(request, as_json=as_json)

        return cast(ViewFunc, wrapper)

    return decorate
