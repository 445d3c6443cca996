"""The storefront's views: start a checkout, the checkout page, its JSON endpoints, the receipt.

Views are thin: parse input, ask the adapter and :mod:`polar_checkouts.services`, render
with the builders of :mod:`.context`. Polar's errors never become a 500: pages say what
happened in the customer's words, and the JSON endpoints answer with Polar's own status
and body shape (:mod:`.responses`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import services
from ..adapter import get_adapter
from ..conf import polar_settings
from ..exceptions import (
    ExpiredCheckoutError,
    NotFoundError,
    PolarAPIError,
    PolarError,
    PolarValidationError,
    RateLimitError,
)
from ..masking import mask_secret
from ..models import CheckoutSession, CheckoutStatus
from ..payload import is_expired
from ..signals import ReceiverError
from .context import checkout_page_context, receipt_context, success_url_for
from .forms import CheckoutButtonForm
from .limits import busy_page, rate_limited
from .outage import survives_database_outage
from .payment import provider_for
from .responses import (
    CLIENT_CONFIRM_KEYS,
    CLIENT_UPDATE_KEYS,
    json_body,
    json_error,
    json_payload,
    polar_error_response,
)

logger = logging.getLogger("polar_checkouts")

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


class HttpResponseSeeOther(HttpResponseRedirect):
    """303: after a POST, the browser follows with a GET."""

    status_code = 303


def private_page(view: ViewFunc) -> ViewFunc:
    """Mark a response as private: never cached, and its URL never sent as a Referer.

    Used on every URL that holds a client secret (the credential of a checkout) or shows
    a receipt.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if kwargs.get("client_secret") in (".", ".."):
            # Browsers normalise these away but raw HTTP clients send them, and they
            # cannot be one segment of Polar's URL (the client refuses them): not found.
            raise Http404
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        response["Referrer-Policy"] = "same-origin"
        return response

    return cast(ViewFunc, wrapper)


# -- helpers -----------------------------------------------------------------------------


def _safe_back_url(request: HttpRequest) -> str:
    """Where the customer came from (``next``, then the Referer) when it is this site."""
    given = request.POST.get("next") if request.method == "POST" else request.GET.get("next")
    for candidate in (given, request.META.get("HTTP_REFERER")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return "/"


def _customer_message(exc: PolarError | ReceiverError) -> str:
    """What to tell a customer about a Polar error (details go to the log, not the page)."""
    if isinstance(exc, RateLimitError):
        return _("Too many attempts. Please wait a minute and try again.")
    if isinstance(exc, PolarValidationError):
        fields = exc.field_errors()
        if "amount" in fields:
            return _("Please choose an amount within the allowed range.")
        return _("This product cannot be bought right now. Please try again later.")
    if isinstance(exc, ReceiverError) or (
        isinstance(exc, PolarAPIError) and exc.status_code < 500 and exc.status_code != 429
    ):
        return _("Checkout is not available right now. Please try again later.")
    return _("Our payment provider cannot be reached right now. Please try again in a minute.")


def _log_failure(message: str, exc: BaseException) -> None:
    """Log a failed Polar call; Polar's 429 is logged once for the shop by the guard."""
    if isinstance(exc, RateLimitError):
        # The first 429 was logged as a warning where the pause began (guard.py); a
        # line per refused shopper would flood the log exactly when Polar is busiest.
        logger.debug(message, exc)
    else:
        logger.warning(message, exc)


def _polar_busy(request: HttpRequest, exc: RateLimitError) -> HttpResponse:
    """The "busy, try again in N seconds" page for Polar's own limit (503, Retry-After)."""
    seconds = max(1, int((exc.retry_after or 0) + 0.999)) if exc.retry_after else 60
    return busy_page(request, "polar", seconds, status=503)


def _throttle_open(key: str) -> bool:
    """True when a refresh from Polar is due for ``key`` (at most one per interval)."""
    interval = polar_settings.STATUS_REFRESH_INTERVAL
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return cache.add(f"polar_checkouts:refresh:{digest}", 1, timeout=interval)


def _fresh_key(client_secret: str) -> str:
    digest = hashlib.sha256(client_secret.encode()).hexdigest()[:32]
    return f"polar_checkouts:fresh:{digest}"


def _mark_fresh(client_secret: str) -> None:
    """Let the first view of a just-created checkout's page render from the cache."""
    seconds = polar_settings.checkout_fresh_seconds
    if seconds > 0:
        cache.set(_fresh_key(client_secret), 1, timeout=seconds)


def _claim_fresh(client_secret: str) -> bool:
    """True once per :func:`_mark_fresh`: later views (a reload) ask Polar again.

    One view only because in ``browser`` mode the page's script updates the checkout in
    Polar directly: after the first view the cache may not know what the buyer typed.
    """
    if polar_settings.checkout_fresh_seconds <= 0:
        return False
    return bool(cache.delete(_fresh_key(client_secret)))


def _fail(request: HttpRequest, message: str) -> HttpResponse:
    messages.error(request, message, fail_silently=True)
    return HttpResponseSeeOther(_safe_back_url(request))


# -- create --------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    """Start a checkout for the posted product(s) and send the customer to pay for it.

    A ``GET`` (a bookmarked or reloaded form target) starts nothing: it goes back to the
    page the button was on (a safe ``next``, else the Referer), or to the site's root.
    Only a ``POST`` counts against the client's limit.
    """
    if request.method != "POST":
        return HttpResponseRedirect(_safe_back_url(request))
    return _create(request)


@survives_database_outage()
@rate_limited("create")
def _create(request: HttpRequest) -> HttpResponse:
    form = CheckoutButtonForm(request.POST, catalogue=services.list_products, request=request)
    try:
        valid = form.is_valid()
    except PolarError as exc:
        _log_failure("Polar catalogue unavailable while starting a checkout: %s", exc)
        if isinstance(exc, RateLimitError):
            return _polar_busy(request, exc)
        return _fail(request, _customer_message(exc))
    if not valid:
        problems = [str(m) for field_errors in form.errors.values() for m in field_errors]
        return _fail(request, " ".join(problems) or _("This product is not available."))
    data = form.cleaned_data
    adapter = get_adapter()
    try:
        metadata = adapter.checkout_metadata(request, data)
    except ValidationError as exc:
        # The shop refuses the purchase (empty cart, sold out…): show its reason.
        return _fail(request, " ".join(exc.messages))

    prefill = adapter.prefill(request)
    products = data["products"]
    kwargs: dict[str, Any] = {
        # One product is the shorthand; several are offered together (the buyer picks).
        "product_id": products[0] if len(products) == 1 else None,
        "product_price_id": str(data["price_id"]) if data.get("price_id") else None,
        "amount": data.get("amount"),
        **({"products": products} if len(products) > 1 else {}),
        "success_url": request.build_absolute_uri(reverse("polar_checkouts:success"))
        + "?checkout_id={CHECKOUT_ID}",
        "metadata": metadata or None,
        # Polar's own pages and emails for this checkout speak the shopper's language.
        "locale": adapter.checkout_locale(request),
        "user": adapter.checkout_user(request),
        "ip_address": adapter.client_ip(request),
    }
    try:
        try:
            checkout = services.create_checkout(**kwargs, **prefill)
        except PolarValidationError as exc:
            # Polar checks an email's domain can receive mail; an account email that
            # fails that (a local test domain) must not block the purchase: the
            # customer can type another one on the checkout page.
            if not any(prefill.values()) or not (
                set(exc.field_errors()) & {"customer_email", "customer_name"}
            ):
                raise
            checkout = services.create_checkout(**kwargs)
    except (PolarError, ReceiverError) as exc:
        _log_failure("Could not create a Polar checkout: %s", exc)
        if isinstance(exc, RateLimitError):
            return _polar_busy(request, exc)
        return _fail(request, _customer_message(exc))

    url = checkout.payload.get("url")
    if (
        data["mode"] == "hosted"
        and isinstance(url, str)
        and url.startswith(("https://", "http://"))
    ):
        return HttpResponseSeeOther(url)
    if not checkout.client_secret:
        # Polar always sends one; without it there is no page to pay on.
        logger.error("Polar created checkout %s without a client secret", checkout.id)
        return _fail(request, _("Checkout is not available right now. Please try again later."))
    # The create's answer is in the cache: the page it redirects to need not ask again.
    _mark_fresh(checkout.client_secret)
    return HttpResponseSeeOther(reverse("polar_checkouts:checkout", args=[checkout.client_secret]))


# -- the checkout page -----------------------------------------------------------------------


def _closed(request: HttpRequest, state: str, status: int, **context: Any) -> HttpResponse:
    return render(
        request,
        "polar_checkouts/checkout_closed.html",
        {"state": state, **context},
        status=status,
    )


@private_page
@require_GET
@survives_database_outage()
@rate_limited("checkout")
def checkout(request: HttpRequest, client_secret: str) -> HttpResponse:
    """The checkout page for one session: summary, buyer fields, payment and confirm.

    Right after the create (``POLAR_CHECKOUT_FRESH_SECONDS``), the page renders from the
    create's answer in the cache; otherwise, and for a checkout no longer open there,
    Polar is asked.
    """
    data = None
    if _claim_fresh(client_secret):
        data = services.cached_client_get(
            client_secret, max_age=polar_settings.checkout_fresh_seconds
        )
    try:
        if data is None:
            data = services.client_get(client_secret)
    except NotFoundError:
        return _closed(request, "unknown", 404)
    except ExpiredCheckoutError:
        return _closed(request, "expired", 410)
    except (PolarError, ReceiverError) as exc:
        if isinstance(exc, RateLimitError):
            logger.debug("Checkout page for %s paused: %s", mask_secret(client_secret), exc)
            return _polar_busy(request, exc)
        logger.warning("Checkout page for %s unavailable: %s", mask_secret(client_secret), exc)
        return _closed(request, "unavailable", 503)

    status = data.get("status")
    success_url = success_url_for(data.get("id"))
    if is_expired(status, data.get("expires_at")):
        return _closed(request, "expired", 410)
    if status in (CheckoutStatus.CONFIRMED, CheckoutStatus.SUCCEEDED):
        return _closed(request, "completed", 200, success_url=success_url)
    if status == CheckoutStatus.FAILED:
        return _closed(request, "failed", 200, success_url=success_url)
    if status != CheckoutStatus.OPEN:
        return _closed(request, "unavailable", 503)

    context = checkout_page_context(request, client_secret, data, provider_for(data))
    return render(request, "polar_checkouts/checkout.html", context)


# -- JSON endpoints ------------------------------------------------------------------------


@private_page
@require_http_methods(["GET", "PATCH"])
@survives_database_outage(as_json=True)
@rate_limited("client", as_json=True)
def client(request: HttpRequest, client_secret: str) -> HttpResponse:
    """Server mode's ``GET``/``PATCH client/<secret>``: Polar's client_get/client_update."""
    if request.method == "GET":
        return _relay(lambda: services.client_get(client_secret))
    body = json_body(request, CLIENT_UPDATE_KEYS)
    if isinstance(body, JsonResponse):
        return body
    return _relay(lambda: services.client_update(client_secret, body))


@private_page
@require_POST
@survives_database_outage(as_json=True)
@rate_limited("client", as_json=True)
def client_confirm(request: HttpRequest, client_secret: str) -> HttpResponse:
    """Server mode's ``POST client/<secret>/confirm``: Polar's client_confirm."""
    body = json_body(request, CLIENT_CONFIRM_KEYS)
    if isinstance(body, JsonResponse):
        return body
    return _relay(lambda: services.client_confirm(client_secret, body))


def _relay(call: Callable[[], Mapping[str, Any]]) -> JsonResponse:
    """Polar's answer to ``call``, or its error in Polar's shape."""
    try:
        return json_payload(call())
    except (PolarError, ReceiverError) as exc:
        return polar_error_response(exc)


@private_page
@require_GET
@survives_database_outage(as_json=True)
@rate_limited("status", as_json=True)
def status(request: HttpRequest, client_secret: str) -> HttpResponse:
    """The checkout's status for the page's script, refreshed from Polar at a bounded rate.

    At most one Polar read per checkout every ``POLAR_STATUS_REFRESH_INTERVAL`` seconds;
    in between, and once the cache holds a final status, the cached row answers.
    """
    cached = CheckoutSession.objects.filter(client_secret=client_secret).first()
    # A final status (stored by a webhook, the confirm or an earlier read) never changes.
    final = cached is not None and cached.is_terminal
    refresh_due = not final and _throttle_open("status:" + client_secret)
    if cached is None or refresh_due:
        try:
            data = services.client_get(client_secret)
        except NotFoundError:
            return json_error(404, "ResourceNotFound", "Not found")
        except ExpiredCheckoutError:
            return json_error(410, "ExpiredCheckoutError", "This checkout session has expired.")
        except ReceiverError:
            # The shop's fulfilment code failed (logged where it raised); the webhook's
            # retry will run it again. The buyer sees what the cache knows.
            if cached is None:
                return json_error(503, "Unavailable", _("Please try again in a moment."))
        except PolarError as exc:
            if cached is None:
                return polar_error_response(exc)
            _log_failure("Status refresh failed, answering from the cache: %s", exc)
        else:
            return _status_answer(data.get("id"), data.get("status"))
    assert cached is not None
    return _status_answer(str(cached.id), cached.effective_status)


def _status_answer(checkout_id: Any, status: Any) -> JsonResponse:
    return json_payload(
        {"id": checkout_id, "status": status, "success_url": success_url_for(checkout_id)}
    )


# -- success -------------------------------------------------------------------------------


@private_page
@require_GET
@survives_database_outage()
@rate_limited("success")
def success(request: HttpRequest) -> HttpResponse:
    """The receipt, or an honest "still processing" page: the state comes from Polar.

    The ``checkout_id`` in the query string only says which checkout to look up.
    """
    raw_id = request.GET.get("checkout_id", "")
    try:
        checkout_id = uuid.UUID(raw_id)
    except ValueError:
        return render(request, "polar_checkouts/success.html", {"state": "unknown"}, status=404)

    checkout: CheckoutSession | None = CheckoutSession.objects.filter(pk=checkout_id).first()
    # A terminal status is final; anything else is re-read from Polar, at a bounded rate.
    final = checkout is not None and checkout.is_terminal
    refresh_due = not final and _throttle_open(f"success:{checkout_id}")
    if checkout is None or refresh_due:
        try:
            checkout = services.refresh_checkout(checkout_id)
        except NotFoundError:
            return render(request, "polar_checkouts/success.html", {"state": "unknown"}, status=404)
        except (PolarError, ReceiverError) as exc:
            # ReceiverError: the shop's fulfilment code failed (logged where it raised) and
            # runs again on Polar's webhook retry; the buyer sees what the cache knows.
            if isinstance(exc, RateLimitError):
                logger.debug("Could not refresh checkout %s: %s", checkout_id, exc)
                if checkout is None:
                    return _polar_busy(request, exc)
            else:
                logger.warning("Could not refresh checkout %s: %s", checkout_id, exc)
            if checkout is None:
                return render(
                    request, "polar_checkouts/success.html", {"state": "unavailable"}, status=503
                )
    state = {
        CheckoutStatus.SUCCEEDED: "succeeded",
        CheckoutStatus.CONFIRMED: "processing",
        CheckoutStatus.FAILED: "failed",
        CheckoutStatus.EXPIRED: "expired",
    }.get(cast(CheckoutStatus, checkout.effective_status), "open")
    context = {"state": state, **receipt_context(checkout)}
    context["config"] = {
        "refreshMs": 2000,
        "maxRefreshes": 30,
        "checkoutId": str(checkout.id),
        "takingLonger": _("This is taking longer than usual. You can safely check back later."),
    }
    return render(request, "polar_checkouts/success.html", context)


__all__ = [
    "checkout",
    "client",
    "client_confirm",
    "create",
    "status",
    "success",
]
