"""What the storefront's pages show, built from Polar's checkout payload.

Pure builders (a payload in, a template context or script config out), so the views only
fetch and render. Every amount goes through :mod:`polar_checkouts.money`.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import countries, money
from ..client import resolve_server
from ..conf import polar_settings
from ..models import CheckoutSession
from ..payload import parse_polar_datetime
from .payment import UNAVAILABLE, PaymentProvider

#: How often, and how long, the page's script polls the status after a confirm.
POLL_INTERVAL_MS = 1000
POLL_MAX_ATTEMPTS = 90


def success_url_for(checkout_id: Any) -> str:
    """This app's success page for one checkout (a relative URL)."""
    return reverse("polar_checkouts:success") + f"?checkout_id={checkout_id}"


def amount_lines(checkout: Mapping[str, Any]) -> dict[str, Any]:
    """The summary's amounts in minor units: price, discount, tax, total, and the currency."""
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
        "currency": currency_of(checkout),
    }


def currency_of(checkout: Mapping[str, Any]) -> str:
    """The checkout's currency (lower case, as Polar writes it); its price's, or USD."""
    price = checkout.get("product_price") or {}
    return str(checkout.get("currency") or price.get("price_currency") or "usd").lower()


def is_free(checkout: Mapping[str, Any]) -> bool:
    """True for a free product's checkout (no price, no tax, nothing to pay)."""
    price = checkout.get("product_price") or {}
    return bool(
        checkout.get("is_free_product_price")
        or price.get("amount_type") == "free"
        or checkout.get("amount") is None
    )


def summary_context(payload: Mapping[str, Any]) -> dict[str, Any]:
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
        "is_free": is_free(payload),
        "lines": amount_lines(payload),
        "discount_name": discount.get("code") or discount.get("name") or "",
    }


#: The address parts of the checkout form, in Polar's ``billing_address_fields`` names.
ADDRESS_PARTS = ("country", "line1", "line2", "postal_code", "city", "state")
#: What Polar asks for when a checkout does not say (a country, the rest optional).
DEFAULT_ADDRESS_MODES = {
    part: "required" if part == "country" else "optional" for part in ADDRESS_PARTS
}


def address_fields_context(checkout: Mapping[str, Any]) -> dict[str, dict[str, bool]]:
    """Per address part: ``shown`` (Polar does not disable it) and ``required`` (Polar's mode).

    Polar says, per checkout, which parts are ``required``, ``optional`` or ``disabled``
    (``billing_address_fields``); the country is always required when an address is sent.
    """
    given = checkout.get("billing_address_fields")
    modes = dict(DEFAULT_ADDRESS_MODES)
    if isinstance(given, Mapping):
        modes.update({k: v for k, v in given.items() if k in modes and isinstance(v, str)})
    modes["country"] = "required"
    return {
        part: {"shown": mode != "disabled", "required": mode == "required"}
        for part, mode in modes.items()
    }


def country_context(checkout: Mapping[str, Any]) -> dict[str, Any]:
    """The country ``<select>``: Polar's accepted countries named in the active language,
    and the one to preselect (Polar's geolocated guess or the buyer's earlier choice)."""
    address = checkout.get("customer_billing_address")
    given = address.get("country") if isinstance(address, Mapping) else None
    chosen = countries.normalise_country(given)
    return {
        "countries": countries.country_choices(),
        "country": chosen if countries.is_accepted_country(chosen) else "",
    }


def custom_amount_context(checkout: Mapping[str, Any]) -> dict[str, Any]:
    """The pay-what-you-want input: whether it shows, its value, bounds and step.

    Values are major units for ``<input type="number">`` (``"15.00"``, ``"500"`` for yen);
    bounds are ``""`` when the price has none.
    """
    price = checkout.get("product_price") or {}
    currency = currency_of(checkout)
    return {
        "is_custom_price": price.get("amount_type") == "custom",
        "amount_input": money.input_value(checkout.get("amount"), currency),
        "amount_min": money.input_value(price.get("minimum_amount"), currency),
        "amount_max": money.input_value(price.get("maximum_amount"), currency),
        "amount_step": money.input_step(currency),
        "amount_hint": amount_bounds_text(price, currency),
    }


def amount_bounds_text(price: Mapping[str, Any], currency: str) -> str:
    """The pay-what-you-want bounds in money: "From $5.00 to $1,000.00", "At least $5.00"."""
    low = money.format_money(price.get("minimum_amount") or None, currency)
    high = money.format_money(price.get("maximum_amount"), currency)
    if low and high:
        return _("From %(minimum)s to %(maximum)s") % {"minimum": low, "maximum": high}
    if low:
        return _("At least %(minimum)s") % {"minimum": low}
    if high:
        return _("At most %(maximum)s") % {"maximum": high}
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
    return _("Pay %(amount)s") % {"amount": money.format_money(total, currency_of(checkout))}


def hosted_checkout_url(checkout: Mapping[str, Any]) -> str:
    """Polar's own page for this checkout (its ``url``), for a browser without JavaScript;
    ``""`` when Polar sent none (or something that is not a web address)."""
    url = checkout.get("url")
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else ""


def add_interval(day: datetime.date, interval: str, count: int) -> datetime.date:
    """``day`` plus ``count`` days, weeks, months or years (the 31st becomes the month's last)."""
    if interval == "day":
        return day + datetime.timedelta(days=count)
    if interval == "week":
        return day + datetime.timedelta(weeks=count)
    months = count * (12 if interval == "year" else 1)
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return day.replace(year=year, month=month, day=min(day.day, last_day))


def renewal_text(checkout: Mapping[str, Any], today: datetime.date | None = None) -> str:
    """For a subscription: when it renews and how to cancel; ``""`` for anything else."""
    price = checkout.get("product_price") or {}
    product = checkout.get("product") or {}
    interval = price.get("recurring_interval") or product.get("recurring_interval")
    if interval not in ("day", "week", "month", "year"):
        return ""
    count = product.get("recurring_interval_count") or price.get("recurring_interval_count") or 1
    count = count if isinstance(count, int) and count > 0 else 1
    every = {
        "day": ngettext("every day", "every %(count)d days", count),
        "week": ngettext("every week", "every %(count)d weeks", count),
        "month": ngettext("every month", "every %(count)d months", count),
        "year": ngettext("every year", "every %(count)d years", count),
    }[interval] % {"count": count}
    trial_end = parse_polar_datetime(checkout.get("trial_end"))
    start = today or timezone.localdate()
    renews_on = trial_end.date() if trial_end else add_interval(start, interval, count)
    return " ".join(
        [
            _("Renews automatically %(every)s, next on %(date)s, until you cancel.")
            % {"every": every, "date": formats.date_format(renews_on, "DATE_FORMAT")},
            _(
                "You can cancel at any time from the link in your order email; you keep "
                "access until the end of the period you paid for."
            ),
        ]
    )


def script_strings() -> dict[str, str]:
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
        "authFailed": _("The authentication was not completed. Please try again."),
        "calculatedLater": _("Calculated from your address"),
        "discountRemoved": _("Discount removed."),
        "discountApplied": _("Discount applied."),
        "perMonth": _("/ month"),
        "perYear": _("/ year"),
        "updating": _("Updating…"),
        # The summary while the amount typed is outside the price's bounds.
        "taxDependsOnAmount": _("Depends on the amount"),
        # %(amount)s is a formatted amount ("$2.00 + tax").
        "plusTax": _("%(amount)s + tax"),
        # Field errors, in the shopper's words (Polar's own messages are for developers).
        "emailMissing": _("Enter your email address."),
        "emailInvalid": _("Enter a valid email address, such as name@example.com."),
        "nameMissing": _("Enter the name on the card."),
        "countryMissing": _("Choose your country."),
        "countryInvalid": _("Choose your country from the list."),
        "line1Missing": _("Enter your address."),
        "postalCodeMissing": _("Enter your postal code."),
        "postalCodeInvalid": _("Enter a valid postal code for your country."),
        "cityMissing": _("Enter your city."),
        "stateMissing": _("Enter your state or region."),
        "stateInvalid": _("Enter a valid state or region for your country."),
        "addressIncomplete": _(
            "Enter your postal code and state or region, so that tax can be calculated."
        ),
        "addressInvalid": _("Check your address: tax cannot be calculated for it."),
        "fieldMissing": _("This field is required."),
        "fieldInvalid": _("Check this field."),
        "amountMissing": _("Enter an amount."),
        "amountInvalid": _("Enter the amount in numbers."),
        # %(amount)s is a formatted amount in the checkout's currency ("$5.00").
        "amountTooLow": _("Enter at least %(amount)s."),
        "amountTooHigh": _("Enter at most %(amount)s."),
        "amountRefused": _("This amount cannot be accepted. Please enter another one."),
        "discountInvalid": _("This discount code is not valid or has expired."),
    }


def client_calls_config(
    request: HttpRequest, provider: PaymentProvider | None = None
) -> dict[str, str]:
    """Where the page's script sends Polar's client calls: ``{"mode", "base"}``.

    ``POLAR_CLIENT_CALLS = "browser"`` sends them to the API root of
    :func:`browser_api_root`; when the browser cannot reach one, this app's own
    ``client/`` endpoints carry them instead (``"server"`` mode).
    """
    if polar_settings.client_calls == "browser":
        root = browser_api_root(request, provider)
        if root is not None:
            base = root.rstrip("/") + polar_settings.CHECKOUT_PATH + "client/"
            return {"mode": "browser", "base": base}
    return {"mode": "server", "base": reverse("polar_checkouts:client", args=["-"])[:-1]}


def browser_api_root(request: HttpRequest, provider: PaymentProvider | None = None) -> str | None:
    """The Polar API root a browser calls, or ``None`` when a browser cannot reach it.

    Asked in order: the payment provider's ``browser_api_root(request)``, then the
    transport's (``POLAR_TRANSPORT``); a transport without one is out of a browser's
    reach. Without a transport, the Polar of ``POLAR_SERVER``.
    """
    transport = polar_settings.transport_factory
    for source in (provider, transport):
        hook = getattr(source, "browser_api_root", None)
        if callable(hook):
            root: str | None = hook(request)
            return root
    if transport is not None:
        return None
    return resolve_server(polar_settings.SERVER)


def payment_config(
    request: HttpRequest, checkout: Mapping[str, Any], provider: PaymentProvider | None
) -> dict[str, Any]:
    """The page config's ``payment`` object; ``{"provider": "unavailable"}`` without one."""
    if provider is None:
        return {"provider": UNAVAILABLE}
    return provider.page_config(request, checkout)


def checkout_page_context(
    request: HttpRequest,
    client_secret: str,
    checkout: Mapping[str, Any],
    provider: PaymentProvider | None,
) -> dict[str, Any]:
    """The checkout page's template context, its script's config (``config``) included."""
    success_url = success_url_for(checkout.get("id"))
    payment = payment_config(request, checkout, provider)
    config = {
        "clientSecret": client_secret,
        "client": client_calls_config(request, provider),
        "csrfToken": get_token(request),
        "statusUrl": reverse("polar_checkouts:status", args=[client_secret]),
        "successUrl": success_url,
        "payment": payment,
        "money": money.script_context(currency_of(checkout)),
        "pollIntervalMs": POLL_INTERVAL_MS,
        "pollMaxAttempts": POLL_MAX_ATTEMPTS,
        "checkout": dict(checkout),
        "strings": script_strings(),
    }
    return {
        **summary_context(checkout),
        **custom_amount_context(checkout),
        **country_context(checkout),
        "address_fields": address_fields_context(checkout),
        "checkout": checkout,
        "address": checkout.get("customer_billing_address") or {},
        "provider": payment["provider"],
        "payment": payment,
        "payment_provider": provider,
        "payment_template": provider.template_name if provider is not None else None,
        "confirm_label": confirm_label(checkout),
        "hosted_url": hosted_checkout_url(checkout),
        "renewal": renewal_text(checkout),
        "expires_at": parse_polar_datetime(checkout.get("expires_at")),
        "config": config,
        "success_url": success_url,
    }


def receipt_context(checkout: CheckoutSession) -> dict[str, Any]:
    """The success page's summary of a cached checkout."""
    payload = checkout.payload or {}
    return {
        **summary_context(payload),
        "session": checkout,
        "paid_at": checkout.modified_at or checkout.created_at,
    }
