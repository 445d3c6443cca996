from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("checkout/", include("polar_checkouts.urls")),
    path("shop/", include("tests.browser.shop")),
    path("polar-fake/", include("polar_checkouts.testing.urls")),
]
