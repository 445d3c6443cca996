"""The fake's product routes: ``GET /v1/products/`` and ``GET /v1/products/{id}``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..messages import NOT_FOUND, FakeResponse, HTTPError, json_response
from ..validation import (
    Errors,
    list_params,
    query_bool,
    query_enum,
    query_uuids,
    uuid_value,
)
from .filters import by_ids, query_ids
from .serialise import page_of, product_json, sort_items
from .state import JsonDict

if TYPE_CHECKING:
    from .core import FakePolar

PRODUCT_SORTS = (
    "created_at",
    "-created_at",
    "name",
    "-name",
    "price_amount_type",
    "-price_amount_type",
    "price_amount",
    "-price_amount",
)
#: ``GET /v1/products/``'s id filters: query parameter -> the product's field
#: (:mod:`.filters`).
PRODUCT_FILTERS = {"id": "id", "organization_id": "organization_id"}
#: Polar's ``ProductVisibility``.
VISIBILITIES = ("draft", "private", "public")


def list_products(
    fake: FakePolar, headers: Any, params: dict[str, list[str]], body: bytes
) -> FakeResponse:
    """``GET /v1/products/``: filters, sorting and pages."""
    errors = Errors()
    wanted = query_ids(errors, params, PRODUCT_FILTERS)
    is_archived = query_bool(errors, params, "is_archived")
    is_recurring = query_bool(errors, params, "is_recurring")
    benefit_ids = query_uuids(errors, params, "benefit_id")
    visibilities = query_enum(errors, params, "visibility", VISIBILITIES, indexed=True)
    listing = list_params(errors, params, PRODUCT_SORTS, "created_at")
    errors.raise_if_any()
    products = by_ids(fake, list(fake.products.values()), PRODUCT_FILTERS, wanted)
    if is_archived is not None:
        products = [p for p in products if p["is_archived"] == is_archived]
    if is_recurring is not None:
        products = [p for p in products if p["is_recurring"] == is_recurring]
    if benefit_ids:
        # The fake's products grant no benefits.
        products = []
    if visibilities:
        products = [p for p in products if p.get("visibility", "public") in visibilities]
    if listing.query:
        products = [p for p in products if listing.query in p["name"].lower()]

    def sort_value(product: JsonDict, name: str) -> Any:
        price = fake.prices[product["price_ids"][0]]
        if name == "price_amount_type":
            return price["amount_type"]
        if name == "price_amount":
            return price.get("price_amount") or price.get("preset_amount") or 0
        return product[name]

    sort_items(products, listing.sorting, sort_value)
    items = [product_json(fake, p["id"]) for p in products]
    return json_response(200, page_of(items, listing.page, listing.limit))


def get_product(fake: FakePolar, product_id: str) -> FakeResponse:
    """``GET /v1/products/{id}``."""
    errors = Errors()
    value = uuid_value(errors, ("path", "id"), product_id)
    errors.raise_if_any()
    if value not in fake.products:
        raise HTTPError(404, NOT_FOUND)
    return json_response(200, product_json(fake, value))
