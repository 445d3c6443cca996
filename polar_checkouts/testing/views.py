"""Django views serving the default fake Polar over HTTP, with CORS for browsers.

Mount ``polar_checkouts.testing.urls`` (e.g. at ``polar-fake/``) in a demo or test
project; its root (``reverse("polar_fake:api-root")``) is the fake's base URL. Only for
development and tests: the fake accepts any bearer token.
"""

from __future__ import annotations

import time

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from .default import get_default_fake

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PATCH, OPTIONS",
    "Access-Control-Max-Age": "600",
    "Access-Control-Expose-Headers": "Retry-After",
}
DEFAULT_ALLOWED_HEADERS = "Authorization, Content-Type, Accept, Polar-Version"
#: Longest a "timeout" fault keeps a Django worker busy.
MAX_HANG = 5.0


@csrf_exempt
def api(request: HttpRequest, path: str = "") -> HttpResponse:
    """Hand the raw request to the fake and return its answer, CORS-enabled."""
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        requested = request.headers.get("Access-Control-Request-Headers")
        response["Access-Control-Allow-Headers"] = requested or DEFAULT_ALLOWED_HEADERS
        return _cors(response)
    answer = get_default_fake().handle(
        request.method or "GET",
        "/" + path,
        request.META.get("QUERY_STRING", ""),
        dict(request.headers),
        request.body,
    )
    fault = answer.transport_fault
    if fault == "timeout":
        # A WSGI view cannot drop its connection: hang, then answer as a proxy would.
        time.sleep(min(answer.hang, MAX_HANG))
        return _cors(HttpResponse(status=504))
    if fault is not None:
        return _cors(HttpResponse(status=502))
    response = HttpResponse(answer.body, status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    return _cors(response) if answer.cors else response


def _cors(response: HttpResponse) -> HttpResponse:
    for name, value in CORS_HEADERS.items():
        response[name] = value
    return response
