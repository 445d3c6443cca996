"""The product catalogue: the organization's products, cached briefly."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache

from ..client import get_client
from ..conf import polar_settings

#: Seconds the product catalogue is cached by :func:`list_products`.
PRODUCTS_CACHE_SECONDS = 60


def _catalogue_key() -> str:
    organization_id = polar_settings.ORGANIZATION_ID
    return f"polar_checkouts:products:{polar_settings.SERVER}:{organization_id or '-'}"


def clear_catalogue_cache() -> None:
    """Forget the cached catalogue, so the next :func:`list_products` asks Polar."""
    cache.delete(_catalogue_key())


def list_products() -> list[dict[str, Any]]:
    """The organization's products that are not archived, cached for a minute."""
    organization_id = polar_settings.ORGANIZATION_ID
    key = _catalogue_key()
    products = cache.get(key)
    if products is None:
        products = [
            dict(product)
            for product in get_client().iter_products(
                organization_id=organization_id, is_archived=False
            )
        ]
        cache.set(key, products, PRODUCTS_CACHE_SECONDS)
    return list(products)
