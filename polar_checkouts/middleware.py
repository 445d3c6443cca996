"""``DatabaseUnavailableMiddleware``: a short database outage answers 503, not a 500 page.

While PostgreSQL restarts (or fails over), every view that touches the database raises
``OperationalError``/``InterfaceError``. Django would answer its 500 page and log an
error per request; this middleware answers ``503 Service Unavailable`` with
``Retry-After`` and a plain page (JSON for JSON requests) asking to retry in a moment,
which is what the outage is. Other exceptions are left to Django. Add it to
``MIDDLEWARE`` (anywhere; it only looks at exceptions raised by views).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from django.utils.translation import gettext as _

logger = logging.getLogger("polar_checkouts")

#: Seconds a client is asked to wait before retrying.
RETRY_AFTER: Final = 5


class DatabaseUnavailableMiddleware:
    """Turn a database connection failure in a view into a 503 with ``Retry-After``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Pass the request on."""
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A 503 for ``OperationalError``/``InterfaceError``; ``None`` (Django's handling)
        for anything else. No template and no context processor: they may need the
        database too."""
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.warning(
            "Database unavailable during %s %s: %s", request.method, request.path, exception
        )
        message = _("The shop is briefly unavailable. Please try again in a moment.")
        response: HttpResponse
        wants_json = "application/json" in request.headers.get("accept", "") or (
            request.headers.get("content-type", "").startswith("application/json")
        )
        if wants_json:
            response = JsonResponse({"error": "Unavailable", "detail": message}, status=503)
        else:
            page = (
                "<!doctype html><meta charset=utf-8><title>503</title>"
                f"<meta http-equiv=refresh content={RETRY_AFTER}><p>{escape(message)}</p>"
            )
            response = HttpResponse(page, status=503, content_type="text/html; charset=utf-8")
        response["Retry-After"] = str(RETRY_AFTER)
        return response
