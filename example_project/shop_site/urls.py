"""URLs of the example shop: the catalogue, the buyer's purchases, the members' page,
sign-in, the storefront, the admin (and the fake Polar)."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from shop import views

urlpatterns = [
    path("", views.home, name="home"),
    path("purchases/", views.purchases, name="purchases"),
    path("purchases/refresh/", views.refresh_purchases, name="refresh-purchases"),
    path("downloads/<str:product_id>/", views.download, name="download"),
    path("membership/", views.join, name="join"),
    path("members/", views.members, name="members"),
    path("demo/clock/", views.fake_clock, name="fake-clock"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="shop/login.html"),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("checkout/", include("polar_checkouts.urls")),
    path("admin/", admin.site.urls),
]

if settings.POLAR_SERVER == "fake":
    # The browser reaches the in-process fake Polar's client routes through these urls.
    urlpatterns.append(path("polar-fake/", include("polar_checkouts.testing.urls")))
