"""The JSON side of the storefront: request bodies in, Polar-shaped answers out.

Server mode's client endpoints must answer exactly as Polar would (status and body), so
one page script serves both ``POLAR_CLIENT_CALLS`` modes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from ..countries import is_accepted_country
from ..exceptions import (
    NotOpenCheckoutError,
    PaymentError,
    PolarAPIError,
    PolarError,
    PolarValidationError,
    RateLimitError,
)
from ..httputil import declared_length
from ..signals import ReceiverError
from ..types import CheckoutConfirm, CheckoutUpdatePublic

logger = logging.getLogger("polar_checkouts")

#: Largest JSON body the client endpoints accept (a checkout update is a few hundred bytes).
MAX_JSON_BODY = 64 * 1024
#: Keys a buyer may send to ``client_update`` and ``client_confirm``: Polar's request
#: bodies as ``polar_checkouts.types`` declares them.
CLIENT_UPDATE_KEYS = frozenset(CheckoutUpdatePublic.__annotations__)
CLIENT_CONFIRM_KEYS = frozenset(CheckoutConfirm.__annotations__)


def json_error(status: int, error: str, detail: Any) -> JsonResponse:
    """A never-cached ``{"error", "detail"}`` answer, Polar's error shape."""
    response = JsonResponse({"error": error, "detail": detail}, status=status)
    add_never_cache_headers(response)
    return response


def json_payload(payload: Mapping[str, Any]) -> JsonResponse:
    """A never-cached JSON answer carrying Polar's object."""
    response = JsonResponse(dict(payload))
    add_never_cache_headers(response)
    return response


def polar_error_response(exc: PolarError | ReceiverError) -> JsonResponse:
    """Polar's answer as the browser would have got it from Polar (status and body)."""
    if isinstance(exc, RateLimitError):
        # Polar's own limit, for the whole shop: say how long, in the shopper's words.
        seconds = max(1, int(exc.retry_after + 0.999)) if exc.retry_after else None
        if seconds is None:
            busy = _("The shop is very busy right now. Please wait a minute and try again.")
        else:
            busy = _(
                "The shop is very busy right now. Please try again in %(seconds)d seconds."
            ) % {"seconds": seconds}
        response = json_error(429, "TooManyRequests", busy)
        if seconds is not None:
            response["Retry-After"] = str(seconds)
        return response
    if isinstance(exc, PolarValidationError):
        detail = [
            {key: item[key] for key in ("loc", "msg", "type") if key in item} for item in exc.errors
        ] or exc.detail
        if not detail or not isinstance(detail, (str, list)):
            # A 422 whose body is not Polar's JSON (a proxy page): still say something.
            detail = _("Please check the details you entered and try again.")
        return json_error(422, exc.error or "RequestValidationError", detail)
    default_names = {
        400: "PaymentError",
        403: "NotOpenCheckout" if isinstance(exc, NotOpenCheckoutError) else "Forbidden",
        404: "ResourceNotFound",
        410: "ExpiredCheckoutError",
    }
    if isinstance(exc, PolarAPIError) and exc.status_code in default_names:
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail else None
        if isinstance(exc, PaymentError) and detail is None:
            detail = _("The payment failed. Please try again with a different payment method.")
        return json_error(
            exc.status_code,
            exc.error or default_names[exc.status_code],
            detail or default_names[exc.status_code],
        )
    # 401, 5xx, timeouts, broken answers: the shop's problem, not the buyer's request.
    logger.error("Checkout call failed: %s", exc)
    return json_error(502, "BadGateway", _("Checkout is not available right now."))


def _validation_error(loc: list[str], msg: str, kind: str) -> JsonResponse:
    return json_error(422, "RequestValidationError", [{"loc": loc, "msg": msg, "type": kind}])


def json_body(request: HttpRequest, allowed: frozenset[str]) -> dict[str, Any] | JsonResponse:
    """The request's JSON object, or the 4xx response explaining why it is unusable."""
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return json_error(415, "UnsupportedMediaType", "Send the body as application/json.")
    try:
        raw = request.body if declared_length(request) <= MAX_JSON_BODY else None
    except RequestDataTooBig:
        raw = None
    if raw is None or len(raw) > MAX_JSON_BODY:
        return json_error(413, "PayloadTooLarge", "The request body is too large.")
    try:
        body = json.loads(raw.decode("utf-8")) if raw else {}
        # A lone surrogate ("\ud800") parses but cannot be sent on to Polar as UTF-8.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError):
        # RecursionError: nesting deeper than the parser's stack (b"[" * 50_000).
        return _validation_error(["body"], "JSON decode error", "json_invalid")
    if not isinstance(body, dict):
        return _validation_error(["body"], "Input should be a valid dictionary", "dict_type")
    extra = sorted(set(body) - allowed)
    if extra:
        return json_error(
            422,
            "RequestValidationError",
            [
                {
                    "loc": ["body", key],
                    "msg": "Extra inputs are not permitted",
                    "type": "extra_forbidden",
                }
                for key in extra
            ],
        )
    address = body.get("customer_billing_address")
    if isinstance(address, dict) and not is_accepted_country(address.get("country")):
        # Polar refuses a country outside its list too, in a developer's words; the buyer
        # reads this one next to the Country field (and no call is spent on it).
        return _validation_error(
            ["body", "customer_billing_address", "country"],
            _("Choose your country from the list."),
            "enum" if address.get("country") else "missing",
        )
    return body
