"""What the "Buy" button posts, validated before Polar sees it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .. import money
from ..adapter import get_adapter

#: Polar's largest accepted amount, in the currency's minor unit.
MAX_AMOUNT = 99_999_999
#: Most products one button offers (the buyer picks one of them on Polar's checkout).
MAX_PRODUCTS = 20


class ProductIdsField(forms.Field):
    """One or more product ids: repeated ``product_id`` inputs, each a UUID.

    Cleans to the unique ids, lower-case, in the order given (the first is the product
    Polar selects by default); empty without a value.
    """

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        # Only a tampered or outdated button sends a bad id: the shopper is told the
        # product cannot be bought, not about UUIDs.
        "invalid": _("This product is not available."),
        "too_many": _("Too many products."),
    }

    def to_python(self, value: Any) -> list[str]:
        if value in (None, "", [], ()):
            return []
        values = [value] if isinstance(value, (str, uuid.UUID)) else list(value)
        if len(values) > MAX_PRODUCTS:
            raise forms.ValidationError(self.error_messages["too_many"], code="too_many")
        ids: list[str] = []
        for item in values:
            try:
                ids.append(str(uuid.UUID(str(item).strip())))
            except ValueError:
                raise forms.ValidationError(
                    self.error_messages["invalid"], code="invalid"
                ) from None
        return list(dict.fromkeys(ids))


Catalogue = Sequence[Mapping[str, Any]]


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
    """The fields of ``{% polar_checkout_button %}``: which products, and for how much.

    ``product_id`` may be repeated: the buyer picks one of the products on the checkout
    (the first is selected). ``cleaned_data["products"]`` lists them all;
    ``cleaned_data["product_id"]`` is the first, as a UUID, as before.

    ``amount`` is in the currency's minor unit (cents, whole yen…), as Polar counts it.
    ``catalogue`` is a callable returning Polar's products; it is called only when a check
    needs it (a price id while the adapter limits the products, or a chosen amount), so a
    plain product button costs no extra request. Its Polar errors propagate to the view.
    Which products may be sold is the adapter's decision (``allowed_products``).
    """

    product_id = ProductIdsField(required=False)
    price_id = forms.UUIDField(
        required=False, error_messages={"invalid": _("This product is not available.")}
    )
    amount = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_AMOUNT,
        error_messages={"invalid": _("Please enter the amount as a number.")},
    )
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
        request: HttpRequest | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
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
        products: list[str] = data.get("product_id") or []
        product_id = products[0] if products else None
        price_id = str(data["price_id"]) if data.get("price_id") else None
        if (product_id is None) == (price_id is None):
            raise forms.ValidationError(self.error_messages["no_product"], code="no_product")
        data["products"] = products
        data["product_id"] = uuid.UUID(product_id) if product_id else None
        data["mode"] = data.get("mode") or "embedded"

        adapter = get_adapter()
        limited = adapter.allowed_products(self.request) is not None
        amount = data.get("amount")
        if (price_id is not None and limited) or amount is not None:
            self.product, self.price = find_price(
                self.catalogue(), product_id=product_id, price_id=price_id
            )
        owners = products or [str(self.product.get("id", "")) if self.product else ""]
        # A price's product is only looked up when the adapter limits the products.
        for owner in owners:
            if (owner or limited) and not (
                owner and adapter.is_product_allowed(owner, self.request)
            ):
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
            self._out_of_bounds("too_low", minimum, currency)
        if maximum is not None and amount > maximum:
            self._out_of_bounds("too_high", maximum, currency)

    def _out_of_bounds(self, code: str, bound: int, currency: str | None) -> None:
        message = forms.ValidationError(
            self.error_messages[code],
            code=code,
            params={"amount": money.format_money(bound, currency)},
        )
        raise forms.ValidationError({"amount": message})
