"""The shop's ``POLAR_CHECKOUT_METADATA`` hook: what each new checkout carries to Polar."""

from typing import Any

from django.http import HttpRequest


def checkout_metadata(request: HttpRequest, data: dict[str, Any]) -> dict[str, Any]:
    """Tag checkouts with the shop and, for signed-in customers, their user id.

    A real shop would add its cart or order id here; raising ``ValidationError`` refuses
    the checkout with that message (for example when the cart is empty).
    """
    metadata: dict[str, Any] = {"source": "example-shop"}
    if request.user.is_authenticated:
        metadata["shop_user_id"] = request.user.pk
    return metadata
