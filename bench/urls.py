"""URLs for the benchmarks: the app's own, the admin, and a trivial view to compare with."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def trivial(request: HttpRequest) -> HttpResponse:
    """The baseline: a Django view that does nothing but answer."""
    return HttpResponse(b"ok", content_type="text/plain")


def trivial_post(request: HttpRequest) -> HttpResponse:
    """The POST baseline for the webhook figure: reads the body, answers 202."""
    request.body  # noqa: B018 - read it, as the webhook view does
    return HttpResponse(b"", status=202)


trivial_post.csrf_exempt = True  # type: ignore[attr-defined]


def insert_one(request: HttpRequest) -> HttpResponse:
    """The floor of a durable receipt (figure g, redone): insert the body as one row and
    commit (autocommit), then answer. The table is bench.webhook_inbox's."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_floor_row (body) VALUES (%s)", [request.body.decode()])
    return HttpResponse(b"", status=200)


insert_one.csrf_exempt = True  # type: ignore[attr-defined]

urlpatterns = [
    path("trivial/", trivial, name="trivial"),
    path("trivial-post/", trivial_post, name="trivial-post"),
    path("insert-one/", insert_one, name="insert-one"),
    path("admin/", admin.site.urls),
    path("checkout/", include("polar_checkouts.urls")),
]
