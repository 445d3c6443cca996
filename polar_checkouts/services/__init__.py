"""The service layer: what views, the admin, commands and webhooks call.

The only place that combines the client with the models; one module per Polar object.
Every public name is importable from ``polar_checkouts.services``, as before this became
a package (views call ``services.create_checkout`` and so on through this module, which is
also what tests replace).
"""

from .checkouts import (
    ORGANIZATION_CACHE_SECONDS,
    SyncResult,
    cached_client_get,
    client_confirm,
    client_get,
    client_update,
    create_checkout,
    refresh_checkout,
    send_checkout_signals,
    send_checkout_signals_many,
    store_checkout,
    store_checkouts,
    sync_checkouts,
    update_checkout,
)
from .products import PRODUCTS_CACHE_SECONDS, clear_catalogue_cache, list_products

__all__ = [
    "ORGANIZATION_CACHE_SECONDS",
    "PRODUCTS_CACHE_SECONDS",
    "SyncResult",
    "cached_client_get",
    "clear_catalogue_cache",
    "client_confirm",
    "client_get",
    "client_update",
    "create_checkout",
    "list_products",
    "refresh_checkout",
    "send_checkout_signals",
    "send_checkout_signals_many",
    "store_checkout",
    "store_checkouts",
    "sync_checkouts",
    "update_checkout",
]
