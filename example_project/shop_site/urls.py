"""URLs of the example shop: the catalogue, the storefront, the admin (and the fake Polar)."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from shop import views

urlpatterns = [
    path("", views.home, name="home"),
    path("checkout/", include("polar_checkouts.urls")),
    path("admin/", admin.site.urls),
]

if settings.POLAR_SERVER == "fake":
    # The browser reaches the in-process fake Polar's client routes through these urls.
    urlpatterns.append(path("polar-fake/", include("polar_checkouts.testing.urls")))
