"""The storefront: start a checkout, the checkout page, its JSON endpoints, the receipt.

Views are thin: parse input, call :mod:`polar_checkouts.services`, render. Polar's errors
never become a 500: pages say what happened in the customer's words, and the JSON
endpoints answer with Polar's own status and body shape so one script serves both
``POLAR_CLIENT_CALLS`` modes.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import services
from .client import resolve_server
from .conf import polar_settings
from .exceptions import (
    ExpiredCheckoutError,
    NotFoundError,
    NotOpenCheckoutError,
    PaymentError,
    PolarAPIError,
    PolarError,
    PolarValidationError,
    RateLimitError,
)
from .forms import CheckoutButtonForm
from .masking import mask_secret
from .models import CheckoutSession, CheckoutStatus, parse_polar_datetime
from .signals import ReceiverError
from .templatetags.polar_checkouts import CURRENCY_SYMBOLS, format_money

logger = logging.getLogger("polar_checkouts")

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])

#: Largest JSON body the client endpoints accept (a checkout update is a few hundred bytes).
MAX_JSON_BODY = 64 * 1024
#: Keys a buyer may send to ``client_update`` (API.md §3.3); confirm adds the token.
CLIENT_UPDATE_KEYS = frozenset(
    {
        "custom_field_data",
        "product_price_id",
        "amount",
        "customer_name",
        "customer_email",
        "customer_billing_address",
        "customer_tax_id",
        "discount_code",
    }
)
CLIENT_CONFIRM_KEYS = CLIENT_UPDATE_KEYS | {"confirmation_token_id"}
#: Fake Polar's test confirmation tokens, offered instead of Stripe's Payment Element.
FAKE_PAYMENT_TOKENS = (
    ("ctoken_fake_succeeded", gettext_lazy("Card succeeds")),
    ("ctoken_fake_declined", gettext_lazy("Card is declined")),
    ("ctoken_fake_requires_action", gettext_lazy("Card asks for authentication (3-D Secure)")),
    ("ctoken_fake_failed", gettext_lazy("Payment fails after confirmation")),
)


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


def _client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy sets
    # it, and a project behind one rewrites REMOTE_ADDR in a middleware it trusts.
    value = request.META.get("REMOTE_ADDR") or ""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _safe_back_url(request: HttpRequest) -> str:
    """Where the customer came from (``next``, then the Referer) when it is this site."""
    for candidate in (request.POST.get("next"), request.META.get("HTTP_REFERER")):
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


def _metadata(request: HttpRequest, data: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata from the project's ``POLAR_CHECKOUT_METADATA`` hook (a callable or path)."""
    hook = polar_settings.CHECKOUT_METADATA
    if not hook:
        return {}
    if isinstance(hook, str):
        hook = import_string(hook)
    result = hook(request, data)
    if result is None:
        return {}
    if not isinstance(result, Mapping):
        raise TypeError(
            f"POLAR_CHECKOUT_METADATA must return a dict or None, not {type(result).__name__}"
        )
    return dict(result)


def _throttle_open(key: str) -> bool:
    """True when a refresh from Polar is due for ``key`` (at most one per interval)."""
    interval = polar_settings.STATUS_REFRESH_INTERVAL
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return cache.add(f"polar_checkouts:refresh:{digest}", 1, timeout=interval)


def _is_past(value: Any) -> bool:
    when = parse_polar_datetime(value)
    return when is not None and when <= timezone.now()


def success_url_for(request: HttpRequest, checkout_id: Any) -> str:
    """This app's success page for one checkout (a relative URL)."""
    return reverse("polar_checkouts:success") + f"?checkout_id={checkout_id}"


# -- create --------------------------------------------------------------------------------


def _fail(request: HttpRequest, message: str) -> HttpResponse:
    messages.error(request, message, fail_silently=True)
    return HttpResponseSeeOther(_safe_back_url(request))


@require_POST
def create(request: HttpRequest) -> HttpResponse:
    """Start a checkout for the posted product and send the customer to pay for it."""
    form = CheckoutButtonForm(request.POST, catalogue=services.list_products)
    try:
        valid = form.is_valid()
    except PolarError as exc:
        logger.warning("Polar catalogue unavailable while starting a checkout: %s", exc)
        return _fail(request, _customer_message(exc))
    if not valid:
        problems = [str(m) for field_errors in form.errors.values() for m in field_errors]
        return _fail(request, " ".join(problems) or _("This product is not available."))
    data = form.cleaned_data
    try:
        metadata = _metadata(request, data)
    except ValidationError as exc:
        # The hook refuses the purchase (empty cart, sold out…): show its reason.
        return _fail(request, " ".join(exc.messages))

    user = getattr(request, "user", None)
    if user is not None and not user.is_authenticated:
        user = None
    prefill: dict[str, Any] = {}
    if user is not None:
        prefill["customer_email"] = getattr(user, "email", "") or None
        full_name = getattr(user, "get_full_name", None)
        prefill["customer_name"] = (full_name() if callable(full_name) else "") or None
    kwargs: dict[str, Any] = {
        "product_id": str(data["product_id"]) if data.get("product_id") else None,
        "product_price_id": str(data["price_id"]) if data.get("price_id") else None,
        "amount": data.get("amount"),
        "success_url": request.build_absolute_uri(reverse("polar_checkouts:success"))
        + "?checkout_id={CHECKOUT_ID}",
        "metadata": metadata or None,
        "user": user,
        "ip_address": _client_ip(request),
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
        logger.warning("Could not create a Polar checkout: %s", exc)
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
    return HttpResponseSeeOther(reverse("polar_checkouts:checkout", args=[checkout.client_secret]))


# -- the checkout page -----------------------------------------------------------------------


def _fake_api_root() -> str | None:
    try:
        return reverse("polar_fake:api-root")
    except NoReverseMatch:
        return None


def client_calls_config(request: HttpRequest) -> dict[str, Any]:
    """Where the page's script sends client calls, and whether it is the fake Polar."""
    server = polar_settings.SERVER
    fake = server == "fake"
    fake_root = _fake_api_root() if fake else None
    mode = polar_settings.CLIENT_CALLS
    if fake and fake_root is None:
        # The in-process fake is only reachable by a browser through its mounted urls.
        mode = "server"
    if mode == "server":
        base = reverse("polar_checkouts:client", args=["-"])[:-1]
    elif fake:
        base = cast(str, fake_root).rstrip("/") + polar_settings.CHECKOUT_PATH + "client/"
    else:
        base = resolve_server(server) + polar_settings.CHECKOUT_PATH + "client/"
    return {
        "mode": "server" if mode == "server" else "browser",
        "base": base,
        "fake": fake,
        "fakeRoot": fake_root,
    }


def payment_provider(checkout: Mapping[str, Any]) -> str:
    """``"fake"``, ``"stripe"`` or ``"unavailable"``: how this checkout takes payment."""
    key = (checkout.get("payment_processor_metadata") or {}).get("publishable_key") or ""
    if polar_settings.SERVER == "fake" or str(key).startswith("pk_fake_"):
        return "fake"
    if key:
        return "stripe"
    return "unavailable"


def _closed(request: HttpRequest, state: str, status: int, **context: Any) -> HttpResponse:
    return render(
        request,
        "polar_checkouts/checkout_closed.html",
        {"state": state, **context},
        status=status,
    )


def _amount_lines(checkout: Mapping[str, Any]) -> dict[str, Any]:
    amount = checkout.get("amount")
    subtotal = checkout.get("net_amount", checkout.get("subtotal_amount"))
    discount_amount = checkout.get("discount_amount")
    if discount_amount is None and amount is not None and subtotal is not None:
        discount_amount = amount - subtotal
    return {
        "amount": amount,
        "discount_amount": discount_amount or 0,
        "tax_amount": checkout.get("tax_amount"),
        "total_amount": checkout.get("total_amount"),
        "currency": checkout.get("currency") or "usd",
    }


def _summary_context(payload: Mapping[str, Any]) -> dict[str, Any]:
    """What the order summary shows: product, price, interval, discount and amounts."""
    price = payload.get("product_price") or {}
    discount = payload.get("discount") or {}
    product = payload.get("product")
    if not product and payload.get("products"):
        # Current Polar may leave ``product`` null and list the products instead.
        product = payload["products"][0]
    return {
        "product": product or {},
        "price": price,
        "interval": price.get("recurring_interval"),
        "lines": _amount_lines(payload),
        "discount_name": discount.get("code") or discount.get("name") or "",
    }


def _major(cents: Any) -> str:
    # For <input type="number">, which always uses a dot whatever the locale.
    if cents is None or isinstance(cents, bool):
        return ""
    try:
        return f"{int(cents) / 100:.2f}"
    except (TypeError, ValueError):
        return ""


def confirm_label(checkout: Mapping[str, Any]) -> str:
    """The confirm button's text: "Pay $19.00", "Subscribe" or "Get it for free"."""
    if not checkout.get("is_payment_form_required"):
        return _("Get it for free")
    price = checkout.get("product_price") or {}
    if price.get("type") == "recurring" or price.get("recurring_interval"):
        return _("Subscribe")
    total = checkout.get("total_amount")
    if total is None:
        return _("Pay")
    return _("Pay %(amount)s") % {"amount": format_money(total, checkout.get("currency"))}


def _strings() -> dict[str, str]:
    """The script's messages, translated here (the page carries them as JSON)."""
    return {
        "free": _("Free"),
        "pay": _("Pay"),
        "payAmount": _("Pay %(amount)s"),
        "subscribe": _("Subscribe"),
        "getFree": _("Get it for free"),
        "processing": _("Processing…"),
        "waiting": _("Payment received, finishing up…"),
        "networkError": _("Connection problem. Please check your connection and try again."),
        "genericError": _("Something went wrong. Please try again."),
        "notOpen": _("This checkout is no longer open."),
        "expired": _("This checkout has expired. Please start again."),
        "rateLimited": _("Too many attempts. Please wait a minute and try again."),
        "paymentUnavailable": _("Payment is not available for this checkout."),
        "chooseTestPayment": _("Choose a test payment."),
        "authFailed": _("The authentication was not completed. Please try again."),
        "calculatedLater": _("Calculated from your address"),
        "discountRemoved": _("Discount removed."),
        "discountApplied": _("Discount applied."),
        "perMonth": _("/ month"),
        "perYear": _("/ year"),
    }


@private_page
@require_GET
def checkout(request: HttpRequest, client_secret: str) -> HttpResponse:
    """The checkout page for one session: summary, buyer fields, payment and confirm."""
    try:
        data = services.client_get(client_secret)
    except NotFoundError:
        return _closed(request, "unknown", 404)
    except ExpiredCheckoutError:
        return _closed(request, "expired", 410)
    except (PolarError, ReceiverError) as exc:
        logger.warning("Checkout page for %s unavailable: %s", mask_secret(client_secret), exc)
        return _closed(request, "unavailable", 503)

    status = data.get("status")
    success_url = success_url_for(request, data.get("id"))
    if status == CheckoutStatus.EXPIRED or (
        status == CheckoutStatus.OPEN and _is_past(data.get("expires_at"))
    ):
        return _closed(request, "expired", 410)
    if status in (CheckoutStatus.CONFIRMED, CheckoutStatus.SUCCEEDED):
        return _closed(request, "completed", 200, success_url=success_url)
    if status == CheckoutStatus.FAILED:
        return _closed(request, "failed", 200, success_url=success_url)
    if status != CheckoutStatus.OPEN:
        return _closed(request, "unavailable", 503)

    provider = payment_provider(data)
    config = {
        "clientSecret": client_secret,
        "client": client_calls_config(request),
        "csrfToken": get_token(request),
        "statusUrl": reverse("polar_checkouts:status", args=[client_secret]),
        "successUrl": success_url,
        "payment": {
            "provider": provider,
            "publishableKey": (data.get("payment_processor_metadata") or {}).get("publishable_key"),
        },
        "currencySymbols": CURRENCY_SYMBOLS,
        "pollIntervalMs": 1000,
        "pollMaxAttempts": 90,
        "checkout": data,
        "strings": _strings(),
    }
    price = data.get("product_price") or {}
    context = {
        **_summary_context(data),
        "checkout": data,
        "address": data.get("customer_billing_address") or {},
        "provider": provider,
        "load_stripe": provider == "stripe",
        "fake_tokens": FAKE_PAYMENT_TOKENS,
        "is_custom_price": price.get("amount_type") == "custom",
        "amount_major": _major(data.get("amount")),
        "amount_min": _major(price.get("minimum_amount")),
        "amount_max": _major(price.get("maximum_amount")),
        "confirm_label": confirm_label(data),
        "expires_at": parse_polar_datetime(data.get("expires_at")),
        "config": config,
        "success_url": success_url,
    }
    return render(request, "polar_checkouts/checkout.html", context)


# -- JSON endpoints ------------------------------------------------------------------------


def _json_error(status: int, error: str, detail: Any) -> JsonResponse:
    response = JsonResponse({"error": error, "detail": detail}, status=status)
    add_never_cache_headers(response)
    return response


def polar_error_response(exc: PolarError | ReceiverError) -> JsonResponse:
    """Polar's answer as the browser would have got it from Polar (status and body)."""
    if isinstance(exc, RateLimitError):
        response = _json_error(
            429, "TooManyRequests", _("Too many attempts. Please wait a minute and try again.")
        )
        if exc.retry_after is not None:
            response["Retry-After"] = str(int(exc.retry_after + 0.999))
        return response
    if isinstance(exc, PolarValidationError):
        detail = [
            {key: item[key] for key in ("loc", "msg", "type") if key in item} for item in exc.errors
        ] or exc.detail
        if not detail or not isinstance(detail, (str, list)):
            # A 422 whose body is not Polar's JSON (a proxy page): still say something.
            detail = _("Please check the details you entered and try again.")
        return _json_error(422, exc.error or "RequestValidationError", detail)
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
        return _json_error(
            exc.status_code,
            exc.error or default_names[exc.status_code],
            detail or default_names[exc.status_code],
        )
    # 401, 5xx, timeouts, broken answers: the shop's problem, not the buyer's request.
    logger.error("Checkout call failed: %s", exc)
    return _json_error(502, "BadGateway", _("Checkout is not available right now."))


def _json_body(request: HttpRequest, allowed: frozenset[str]) -> dict[str, Any] | JsonResponse:
    """The request's JSON object, or the 4xx response explaining why it is unusable."""
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return _json_error(415, "UnsupportedMediaType", "Send the body as application/json.")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_JSON_BODY:
        return _json_error(413, "PayloadTooLarge", "The request body is too large.")
    try:
        raw = request.body
    except RequestDataTooBig:
        return _json_error(413, "PayloadTooLarge", "The request body is too large.")
    if len(raw) > MAX_JSON_BODY:
        return _json_error(413, "PayloadTooLarge", "The request body is too large.")
    try:
        body = json.loads(raw.decode("utf-8")) if raw else {}
        # A lone surrogate ("\ud800") parses but cannot be sent on to Polar as UTF-8.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError):
        # RecursionError: nesting deeper than the parser's stack (b"[" * 50_000).
        return _json_error(
            422,
            "RequestValidationError",
            [{"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"}],
        )
    if not isinstance(body, dict):
        return _json_error(
            422,
            "RequestValidationError",
            [{"loc": ["body"], "msg": "Input should be a valid dictionary", "type": "dict_type"}],
        )
    extra = sorted(set(body) - allowed)
    if extra:
        return _json_error(
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
    return body


def _json_payload(payload: Mapping[str, Any]) -> JsonResponse:
    response = JsonResponse(dict(payload))
    add_never_cache_headers(response)
    return response


@private_page
@require_http_methods(["GET", "PATCH"])
def client(request: HttpRequest, client_secret: str) -> HttpResponse:
    """Server mode's ``GET``/``PATCH client/<secret>``: Polar's client_get/client_update."""
    try:
        if request.method == "GET":
            return _json_payload(services.client_get(client_secret))
        body = _json_body(request, CLIENT_UPDATE_KEYS)
        if isinstance(body, JsonResponse):
            return body
        return _json_payload(services.client_update(client_secret, body))
    except (PolarError, ReceiverError) as exc:
        return polar_error_response(exc)


@private_page
@require_POST
def client_confirm(request: HttpRequest, client_secret: str) -> HttpResponse:
    """Server mode's ``POST client/<secret>/confirm``: Polar's client_confirm."""
    body = _json_body(request, CLIENT_CONFIRM_KEYS)
    if isinstance(body, JsonResponse):
        return body
    try:
        return _json_payload(services.client_confirm(client_secret, body))
    except (PolarError, ReceiverError) as exc:
        return polar_error_response(exc)


@private_page
@require_GET
def status(request: HttpRequest, client_secret: str) -> HttpResponse:
    """The checkout's status for the page's script, refreshed from Polar at a bounded rate.

    At most one Polar read per checkout every ``POLAR_STATUS_REFRESH_INTERVAL`` seconds;
    in between, the cached row answers.
    """
    cached = CheckoutSession.objects.filter(client_secret=client_secret).first()
    refresh_due = _throttle_open("status:" + client_secret)
    if cached is None or refresh_due:
        try:
            data = services.client_get(client_secret)
        except NotFoundError:
            return _json_error(404, "ResourceNotFound", "Not found")
        except ExpiredCheckoutError:
            return _json_error(410, "ExpiredCheckoutError", "This checkout session has expired.")
        except ReceiverError:
            # The shop's fulfilment code failed (logged where it raised); the webhook's
            # retry will run it again. The buyer sees what the cache knows.
            if cached is None:
                return _json_error(503, "Unavailable", _("Please try again in a moment."))
        except PolarError as exc:
            if cached is None:
                return polar_error_response(exc)
            logger.warning("Status refresh failed, answering from the cache: %s", exc)
        else:
            return _json_payload(
                {
                    "id": data.get("id"),
                    "status": data.get("status"),
                    "success_url": success_url_for(request, data.get("id")),
                }
            )
    assert cached is not None
    return _json_payload(
        {
            "id": str(cached.id),
            "status": cached.effective_status,
            "success_url": success_url_for(request, cached.id),
        }
    )


# -- success -------------------------------------------------------------------------------


def _receipt_context(checkout: CheckoutSession) -> dict[str, Any]:
    payload = checkout.payload or {}
    return {
        **_summary_context(payload),
        "session": checkout,
        "paid_at": checkout.modified_at or checkout.created_at,
    }


@private_page
@require_GET
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
    context = {"state": state, **_receipt_context(checkout)}
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
