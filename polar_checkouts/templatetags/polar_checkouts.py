"""Template tags for shops: ``{% load polar_checkouts %}``.

``{% polar_checkout_button product_id %}`` (or ``products="id1,id2"``, or a list) renders a
plain POST form (works without JavaScript) that starts a checkout; ``polar_money`` and
``polar_price`` format amounts through :mod:`polar_checkouts.money` (per currency, in the
active language); ``has_active_subscription``, ``has_purchased`` and
``polar_active_subscriptions`` ask :mod:`polar_checkouts.access` (one query each).
Nothing here calls Polar: rendering a button never costs a network round trip.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django import template
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from .. import access, money

register = template.Library()

#: How the button hands the customer over: this app's page, or Polar's hosted page.
BUTTON_MODES = ("embedded", "hosted")


def _as_uuid(value: Any, what: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except (TypeError, ValueError, AttributeError):
        raise template.TemplateSyntaxError(
            f"polar_checkout_button: {what} must be a UUID, not {value!r}"
        ) from None


def _product_ids(value: Any) -> list[str]:
    """``products=``: ids separated by commas, or a list of ids (or of product dicts)."""
    items = (
        [part.strip() for part in value.split(",")] if isinstance(value, str) else list(value or [])
    )
    ids = [
        _as_uuid(item.get("id") if isinstance(item, Mapping) else item, "each product")
        for item in items
        if not (isinstance(item, str) and not item.strip())
    ]
    if not ids:
        raise template.TemplateSyntaxError("polar_checkout_button: products= is empty")
    return list(dict.fromkeys(ids))


@register.simple_tag(takes_context=True)
def polar_checkout_button(
    context: template.Context,
    product_id: Any = None,
    *,
    products: Any = None,
    price_id: Any = None,
    label: str | None = None,
    amount: Any = None,
    mode: str = "embedded",
    css_class: str = "",
    next: str | None = None,
    template_name: str = "polar_checkouts/button.html",
) -> SafeString:
    """Render the "Buy" form for a product (or one price of it) as a POST to ``create``.

    The first argument is a product id, or a product of the catalogue: then the default
    label fits its price ("Get it free", "Subscribe", "Buy now").

    ``products`` offers several products in one checkout (the buyer picks one; the first
    is selected): ``"id1,id2"`` or a list of ids or product dicts. ``amount`` (in the
    currency's minor unit: cents, whole yen…) pre-sets a pay-what-you-want amount;
    ``mode="hosted"`` sends the customer to Polar's own page. The form carries the CSRF
    token of ``context["request"]``.
    """
    product: Mapping[str, Any] | None = None
    if isinstance(product_id, Mapping):
        # A product of the catalogue: its id, and a label that fits its first price.
        product, product_id = product_id, product_id.get("id")
        if product_id is None:
            raise template.TemplateSyntaxError("polar_checkout_button: the product has no id")
    given = [value for value in (product_id, products, price_id) if value is not None]
    if len(given) != 1:
        raise template.TemplateSyntaxError(
            "polar_checkout_button needs exactly one of a product id, products= or price_id="
        )
    if mode not in BUTTON_MODES:
        raise template.TemplateSyntaxError(
            f"polar_checkout_button: mode must be one of {', '.join(BUTTON_MODES)}, not {mode!r}"
        )
    if amount not in (None, ""):
        try:
            amount = int(amount)
        except (TypeError, ValueError):
            raise template.TemplateSyntaxError(
                "polar_checkout_button: amount must be a whole number in the currency's minor "
                f"unit (cents), not {amount!r}"
            ) from None
    else:
        amount = None
    request = context.get("request")
    if next is None and request is not None:
        next = request.get_full_path()
    button_context = {
        "action": reverse("polar_checkouts:create"),
        "product_id": _as_uuid(product_id, "the product id") if product_id is not None else "",
        "products": _product_ids(products) if products is not None else [],
        "price_id": _as_uuid(price_id, "price_id") if price_id is not None else "",
        "label": label if label is not None else buy_label(polar_first_price(product)),
        "amount": amount,
        "mode": mode,
        "css_class": css_class,
        "next": next or "",
    }
    return render_to_string(template_name, button_context, request=request)


def is_free_price(price: Mapping[str, Any] | None) -> bool:
    """A free price: ``amount_type`` "free" (up to API 2026-04), or a fixed price of 0."""
    if not price:
        return False
    amount_type = price.get("amount_type")
    return amount_type == "free" or (amount_type == "fixed" and price.get("price_amount") == 0)


def buy_label(price: Mapping[str, Any] | None) -> str:
    """The button's text for a price: "Get it free", "Subscribe", or "Buy now"."""
    if is_free_price(price):
        return _("Get it free")
    if price and (price.get("type") == "recurring" or price.get("recurring_interval")):
        return _("Subscribe")
    return _("Buy now")


@register.filter
def polar_buy_label(product: Any) -> str:
    """``{{ product|polar_buy_label }}``: "Get it free", "Subscribe" or "Buy now"."""
    return buy_label(polar_first_price(product))


@register.filter
def polar_money(amount: Any, currency: str | None = "usd") -> str:
    """``{{ amount|polar_money:currency }}``: a minor-unit amount as a shopper reads it."""
    if amount in (None, ""):
        return ""
    try:
        return money.format_money(int(amount), currency)
    except (TypeError, ValueError):
        return ""


def describe_price(price: Mapping[str, Any] | None) -> str:
    """A short human description of a Polar price: "$19.00", "$9.00 / month", "Free"…"""
    if not price:
        return ""
    amount_type = price.get("amount_type")
    currency = price.get("price_currency")
    if is_free_price(price):
        text = _("Free")
    elif amount_type == "custom":
        minimum = price.get("minimum_amount")
        if minimum:
            text = _("Pay what you want (from %(amount)s)") % {
                "amount": money.format_money(minimum, currency)
            }
        else:
            text = _("Pay what you want")
    else:
        text = money.format_money(price.get("price_amount"), currency)
    interval = price.get("recurring_interval")
    if price.get("type") == "recurring" or interval:
        if interval == "year":
            text = _("%(price)s / year") % {"price": text}
        elif interval == "month":
            text = _("%(price)s / month") % {"price": text}
    return text


@register.filter
def polar_price(price: Any) -> str:
    """``{{ price|polar_price }}``: describe a price dict (fixed, pay what you want, free)."""
    return describe_price(price if isinstance(price, Mapping) else None)


@register.filter
def polar_first_price(product: Any) -> Mapping[str, Any] | None:
    """``{{ product|polar_first_price }}``: the first price Polar would sell for a product."""
    if not isinstance(product, Mapping):
        return None
    for price in product.get("prices") or []:
        if isinstance(price, Mapping) and not price.get("is_archived"):
            return price
    return None


# -- access checks (polar_checkouts.access): {% if user|has_active_subscription %} ---------


@register.filter
def has_active_subscription(user: Any, product_id: Any = None) -> bool:
    """``{% if user|has_active_subscription %}`` or ``…|has_active_subscription:"<product id>"``
    (several ids separated by commas): one query, ``False`` for anonymous users."""
    return access.has_active_subscription(user, _access_ids(product_id))


@register.filter
def has_purchased(user: Any, product_id: Any) -> bool:
    """``{% if user|has_purchased:"<product id>" %}``: paid and not fully refunded."""
    ids = _access_ids(product_id)
    if ids is None:
        raise template.TemplateSyntaxError("has_purchased needs a product id")
    return access.has_purchased(user, ids)


@register.simple_tag
def polar_active_subscriptions(user: Any, product_id: Any = None) -> list[Any]:
    """``{% polar_active_subscriptions user as subscriptions %}``: the ones giving access."""
    return list(access.active_subscriptions(user, _access_ids(product_id)))


def _access_ids(value: Any) -> list[str] | None:
    """The product ids an access filter was given (text with commas, a UUID, a list)."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        values: list[Any] = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, uuid.UUID):
        values = [value]
    else:
        values = list(value)
    try:
        return [str(uuid.UUID(str(item))) for item in values]
    except (TypeError, ValueError, AttributeError):
        raise template.TemplateSyntaxError(
            f"Polar access filters: a product id is a UUID, not {value!r}"
        ) from None
