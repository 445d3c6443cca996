"""Forms for the storefront: what the "Buy" button posts, validated before Polar sees it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .conf import polar_settings
from .templatetags.polar_checkouts import format_money

#: Polar's largest accepted amount, in cents.
MAX_AMOUNT = 99_999_999

Catalogue = Sequence[Mapping[str, Any]]


def allowed_products() -> set[str] | None:
    """``POLAR_ALLOWED_PRODUCTS`` as a set of lower-case ids, or None when all are allowed."""
    value = polar_settings.ALLOWED_PRODUCTS
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    return {str(item).strip().lower() for item in value}


def find_price(
    catalogue: Iterable[Mapping[str, Any]],
    *,
    product_id: str | None = None,
    price_id: str | None = None,
) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
    """Find ``(product, price)`` in the catalogue; ``product_id`` selects its first price."""
    for product in catalogue:
        prices = [p for p in product.get("prices") or [] if isinstance(p, Mapping)]
        if product_id is not None and str(product.get("id", "")).lower() == product_id:
            available = [p for p in prices if not p.get("is_archived")]
            return product, (available[0] if available else None)
        if price_id is not None:
            for price in prices:
                if str(price.get("id", "")).lower() == price_id:
                    return product, price
    return None, None


class CheckoutButtonForm(forms.Form):
    """The fields of ``{% polar_checkout_button %}``: which product, and for how much.

    ``catalogue`` is a callable returning Polar's products; it is called only when a check
    needs it (a price id under ``POLAR_ALLOWED_PRODUCTS``, or a chosen amount), so a plain
    product button costs no extra request. Its Polar errors propagate to the view.
    """

    product_id = forms.UUIDField(required=False)
    price_id = forms.UUIDField(required=False)
    amount = forms.IntegerField(required=False, min_value=0, max_value=MAX_AMOUNT)
    mode = forms.ChoiceField(
        choices=[("embedded", "embedded"), ("hosted", "hosted")], required=False
    )
    next = forms.CharField(required=False, max_length=2000)

    error_messages = {
        "no_product": _("Please choose a product."),
        "unavailable": _("This product is not available."),
        "fixed_price": _("This product has a fixed price: no amount can be chosen."),
        "too_low": _("Please enter at least %(amount)s."),
        "too_high": _("Please enter at most %(amount)s."),
    }

    def __init__(
        self,
        *args: Any,
        catalogue: Callable[[], Catalogue] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._catalogue_source = catalogue
        self._catalogue: list[Mapping[str, Any]] | None = None
        self.product: Mapping[str, Any] | None = None
        self.price: Mapping[str, Any] | None = None

    def catalogue(self) -> list[Mapping[str, Any]]:
        """The catalogue, fetched at most once per form."""
        if self._catalogue is None:
            self._catalogue = list(self._catalogue_source()) if self._catalogue_source else []
        return self._catalogue

    def clean(self) -> dict[str, Any]:
        """Check the product is sellable and a chosen amount fits the price's bounds."""
        data = super().clean() or {}
        if self.errors:
            return data
        product_id = str(data["product_id"]) if data.get("product_id") else None
        price_id = str(data["price_id"]) if data.get("price_id") else None
        if (product_id is None) == (price_id is None):
            raise forms.ValidationError(self.error_messages["no_product"], code="no_product")
        data["mode"] = data.get("mode") or "embedded"

        allowed = allowed_products()
        amount = data.get("amount")
        if (price_id is not None and allowed is not None) or amount is not None:
            self.product, self.price = find_price(
                self.catalogue(), product_id=product_id, price_id=price_id
            )
        if allowed is not None:
            owner = product_id or (str(self.product.get("id", "")) if self.product else "")
            if owner.lower() not in allowed:
                raise forms.ValidationError(self.error_messages["unavailable"], code="unavailable")
        if amount is not None and self.price is not None:
            self._check_amount(amount, self.price)
        return data

    def _check_amount(self, amount: int, price: Mapping[str, Any]) -> None:
        if price.get("amount_type") != "custom":
            raise forms.ValidationError(
                {"amount": self.error_messages["fixed_price"]}, code="fixed_price"
            )
        currency = price.get("price_currency")
        minimum = price.get("minimum_amount")
        maximum = price.get("maximum_amount")
        if minimum is not None and amount < minimum:
            raise forms.ValidationError(
                {
                    "amount": forms.ValidationError(
                        self.error_messages["too_low"],
                        code="too_low",
                        params={"amount": format_money(minimum, currency)},
                    )
                }
            )
        if maximum is not None and amount > maximum:
            raise forms.ValidationError(
                {
                    "amount": forms.ValidationError(
                        self.error_messages["too_high"],
                        code="too_high",
                        params={"amount": format_money(maximum, currency)},
                    )
                }
            )
