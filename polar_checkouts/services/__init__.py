"""The service layer: what views, the admin, commands and webhooks call.

The only place that combines the client with the models; one module per Polar object
(``checkouts``, ``customers``, ``orders``, ``subscriptions``, ``products``).
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
from .customers import (
    refresh_customer,
    store_customer,
    store_customers,
    sync_customers,
    user_ids_for,
)
from .orders import refresh_order, send_order_signals, store_order, store_orders, sync_orders
from .products import PRODUCTS_CACHE_SECONDS, clear_catalogue_cache, list_products
from .subscriptions import (
    refresh_subscription,
    send_subscription_signals,
    store_subscription,
    store_subscriptions,
    sync_subscriptions,
)

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
    "refresh_customer",
    "refresh_order",
    "refresh_subscription",
    "send_checkout_signals",
    "send_checkout_signals_many",
    "send_order_signals",
    "send_subscription_signals",
    "store_checkout",
    "store_checkouts",
    "store_customer",
    "store_customers",
    "store_order",
    "store_orders",
    "store_subscription",
    "store_subscriptions",
    "sync_checkouts",
    "sync_customers",
    "sync_orders",
    "sync_subscriptions",
    "update_checkout",
    "user_ids_for",
]
