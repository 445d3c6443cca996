"""The fake's money rules: amounts, discounts and a deterministic tax table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .. import catalogue
from .state import CheckoutState, JsonDict

if TYPE_CHECKING:
    from .core import FakePolar


def totals(fake: FakePolar, checkout: CheckoutState) -> JsonDict:
    """Amounts and payment flags of ``checkout``: discount, net, tax, total."""
    price = fake.prices[checkout.price_id]
    amount = checkout.amount
    discount = fake.discounts.get(checkout.discount_id or "")
    discount_amount = 0
    if amount is not None and discount is not None:
        if discount["type"] == "percentage":
            discount_amount = (amount * discount["basis_points"] + 5000) // 10_000
        else:
            discount_amount = min(amount, discount["amount"])
    net = None if amount is None else amount - discount_amount
    tax = None if net is None else tax_for(net, checkout.customer_billing_address)
    total = None if net is None else net + (tax or 0)
    is_free = price["amount_type"] == "free"
    # Polar: nothing is paid now during a trial, a payment method is saved for later.
    payment_required = total is not None and total > 0 and checkout.trial_end is None
    setup_required = price["type"] == "recurring" and not is_free
    return {
        "amount": amount,
        "discount_amount": discount_amount,
        "subtotal_amount": net,
        "net_amount": net,
        "tax_amount": tax,
        "total_amount": total,
        "is_free_product_price": is_free,
        "is_discount_applicable": price["amount_type"] == "fixed",
        "is_payment_required": payment_required,
        "is_payment_setup_required": setup_required,
        "is_payment_form_required": payment_required or setup_required,
    }


def default_amount(price: JsonDict) -> int | None:
    """The amount a new checkout of ``price`` starts with (the preset for pay what you want)."""
    if price["amount_type"] == "fixed":
        return int(price["price_amount"])
    if price["amount_type"] == "custom":
        return int(price.get("preset_amount") or 1000)
    return None


def tax_for(net: int, address: Mapping[str, str | None] | None) -> int | None:
    """The fake's tax rule: VAT by country from a fixed table; unknown until an address."""
    if not address or not address.get("country"):
        return None
    country = str(address["country"]).upper()
    if country in catalogue.TAX_NEEDS_POSTAL_CODE and not (
        address.get("postal_code") and address.get("state")
    ):
        return None
    rate = catalogue.TAX_RATES.get(country, 0)
    return (net * rate + 5000) // 10_000
