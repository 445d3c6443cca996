"""Every error the app raises on purpose. Each one is a :class:`PolarError`.

Most come from the Polar client (an HTTP exchange that went wrong); the rest from the
app's own rules: a payload that cannot be stored, a webhook delivery refused, a signal
receiver that raised. Some also keep a standard base callers rely on
(:class:`InvalidPayloadError` is a :class:`ValueError`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .masking import mask_secrets_deep, mask_secrets_in


class PolarError(Exception):
    """Base class of every error this package raises on purpose.

    Its message never carries a credential: client secrets and every registered access
    token (:func:`~polar_checkouts.masking.register_secret`) are masked as it is built,
    so ``str``, ``repr`` and ``args`` are safe to log and to send to an error tracker.
    """

    def __init__(self, *args: Any) -> None:
        super().__init__(*(mask_secrets_in(a) if isinstance(a, str) else a for a in args))


class InvalidPayloadError(PolarError, ValueError):
    """A Polar payload that cannot be used (no checkout ``id``, no object); nothing is stored."""


class ReceiverError(PolarError):
    """A receiver of a checkout signal raised; the change it was sent for was rolled back.

    The original exception is its ``__cause__`` and was logged with its traceback.
    """


class WebhookRejected(PolarError):
    """A webhook delivery refused before it is recorded. ``reason`` goes to the log only.

    ``status`` is the HTTP status the endpoint answers with (401 for a bad signature,
    400 for a body that is not an event).
    """

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class PolarConnectionError(PolarError):
    """Polar could not be reached, or the connection broke mid-response."""


class PolarTimeoutError(PolarError):
    """Polar did not answer in time. For a POST the request may still have been processed."""


class InvalidResponseError(PolarError):
    """A success status whose body is not the JSON expected (HTML, truncated, missing keys)."""

    def __init__(self, message: str, *, status_code: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = mask_secrets_in(body)


class PolarAPIError(PolarError):
    """Polar answered with an error status.

    ``error`` is Polar's error name (``"NotOpenCheckout"``, …) when the body carries one,
    ``detail`` its message (or the list of validation problems), ``body`` the raw text.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error: str | None = None,
        detail: Any = None,
        body: str = "",
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error = mask_secrets_in(error) if isinstance(error, str) else error
        self.detail = mask_secrets_deep(detail)
        self.body = mask_secrets_in(body)


class PaymentError(PolarAPIError):
    """400: the payment processor declined the payment; the checkout stays open."""


class AuthenticationError(PolarAPIError):
    """401: no access token, or an invalid, expired or revoked one."""


class ForbiddenError(PolarAPIError):
    """403: the token lacks a scope, or Polar forbids the action."""


class NotOpenCheckoutError(ForbiddenError):
    """403 ``NotOpenCheckout``: the checkout is no longer open (confirmed, succeeded, …)."""


class NotFoundError(PolarAPIError):
    """404: no such checkout, product or client secret (seed-era Polar: also expired ones)."""


class APIVersionError(PolarAPIError):
    """404 without ``Polar-Version``: Polar does not serve the API version sent.

    A configuration error (``POLAR_API_VERSION``), not a missing checkout: it is not a
    :class:`NotFoundError`. ``api_version`` is the version that was sent.
    """

    def __init__(self, message: str, *, api_version: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.api_version = api_version


class ExpiredCheckoutError(PolarAPIError):
    """410: the checkout session has expired."""


class PolarValidationError(PolarAPIError):
    """422: Polar rejected the request's data. ``errors`` lists ``{loc, msg, type}`` dicts."""

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The validation problems, each with ``loc``, ``msg`` and ``type``."""
        if isinstance(self.detail, list):
            return [item for item in self.detail if isinstance(item, dict)]
        return []

    def field_errors(self) -> dict[str, list[str]]:
        """Messages keyed by field name (``loc`` without its ``body``/``query`` prefix)."""
        fields: dict[str, list[str]] = {}
        for item in self.errors:
            loc = [str(part) for part in item.get("loc") or []]
            if loc and loc[0] in ("body", "query", "path"):
                loc = loc[1:]
            key = ".".join(loc) or "__all__"
            fields.setdefault(key, []).append(str(item.get("msg", "Invalid value.")))
        return fields


class RateLimitError(PolarAPIError):
    """429: too many requests. ``retry_after`` is the wait Polar asked for, in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class PolarBusyError(RateLimitError):
    """Not sent: Polar answered 429 to this route lately, and ``retry_after`` seconds of
    the pause it asked for remain (shared by every process of the shop,
    :mod:`polar_checkouts.guard`)."""


class ServerError(PolarAPIError):
    """5xx: Polar (or a proxy in front of it) failed."""


_BY_STATUS: dict[int, type[PolarAPIError]] = {
    400: PaymentError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    410: ExpiredCheckoutError,
    422: PolarValidationError,
    429: RateLimitError,
}


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        # An HTTP date; Polar sends seconds, so a date is rare enough to compute lazily.
        from datetime import datetime, timezone
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    return max(seconds, 0.0)


def _describe(detail: Any) -> str:
    if isinstance(detail, list):
        parts = []
        for item in detail[:5]:
            if isinstance(item, dict):
                loc = ".".join(str(p) for p in item.get("loc") or [])
                parts.append(f"{loc}: {item.get('msg', '')}".strip(": "))
            else:
                parts.append(str(item))
        if len(detail) > 5:
            parts.append(f"and {len(detail) - 5} more")
        return "; ".join(parts)
    return str(detail)


def error_from_response(
    status_code: int,
    text: str,
    headers: Mapping[str, str],
    *,
    method: str,
    path: str,
) -> PolarAPIError:
    """Build the :class:`PolarAPIError` subclass for an error response.

    The class depends on the status alone (an HTML 502 from a proxy is still a
    :class:`ServerError`); the body only adds ``error`` and ``detail`` when it is JSON.
    ``path`` must already have any client secret masked.
    """
    error: str | None = None
    detail: Any = None
    try:
        payload = json.loads(text) if text else None
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        raw_error = payload.get("error")
        error = raw_error if isinstance(raw_error, str) else None
        detail = payload.get("detail", payload.get("error_description"))

    if status_code >= 500:
        cls: type[PolarAPIError] = ServerError
    elif status_code == 403 and error == "NotOpenCheckout":
        cls = NotOpenCheckoutError
    else:
        cls = _BY_STATUS.get(status_code, PolarAPIError)

    summary = f"Polar answered {status_code} to {method} {path}"
    if error:
        summary += f" ({error})"
    if detail not in (None, "", []):
        summary += f": {_describe(detail)}"
    elif status_code >= 500:
        summary += ": Polar is having trouble; try again shortly"
    kwargs: dict[str, Any] = {
        "status_code": status_code,
        "error": error,
        "detail": detail,
        "body": text,
    }
    if cls is RateLimitError:
        retry_after = _parse_retry_after(headers.get("Retry-After"))
        if retry_after is not None:
            summary += f" (retry after {retry_after:g} s)"
        return RateLimitError(summary, retry_after=retry_after, **kwargs)
    return cls(summary, **kwargs)
