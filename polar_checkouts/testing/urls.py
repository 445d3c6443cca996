"""URLconf serving the default fake Polar; include it, e.g. at ``polar-fake/``.

``reverse("polar_fake:api-root")`` is the base URL to give clients and browsers.
"""

from __future__ import annotations

from django.urls import path, re_path

from . import views

app_name = "polar_fake"

urlpatterns = [
    path("", views.api, name="api-root"),
    re_path(r"^(?P<path>.+)$", views.api, name="api"),
]
