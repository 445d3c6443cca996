"""The storefront's URLs: ``path("checkout/", include("polar_checkouts.urls"))``.

``client/<secret>`` and ``client/<secret>/confirm`` mirror Polar's client routes so the
page's script only swaps its base URL between ``POLAR_CLIENT_CALLS`` modes.
"""

from django.urls import path

from . import webhooks
from .storefront import portal, views

app_name = "polar_checkouts"

urlpatterns = [
    path("webhook/", webhooks.webhook_view, name="webhook"),
    path("create/", views.create, name="create"),
    path("success/", views.success, name="success"),
    path("portal/", portal.customer_portal, name="customer_portal"),
    path("client/<str:client_secret>", views.client, name="client"),
    path("client/<str:client_secret>/confirm", views.client_confirm, name="client-confirm"),
    path("<str:client_secret>/status/", views.status, name="status"),
    path("<str:client_secret>/", views.checkout, name="checkout"),
]
