"""``DatabaseUnavailableMiddleware``: a database outage answers 503, anything else is Django's."""

from __future__ import annotations

import json

import pytest
from django.db import InterfaceError, OperationalError
from django.test import RequestFactory

from polar_checkouts.middleware import DatabaseUnavailableMiddleware


def view_raising(exc: Exception):
    def view(request):
        raise exc

    return view


@pytest.mark.parametrize("exc", [OperationalError("server closed"), InterfaceError("closed")])
def test_a_database_outage_is_a_503_page_with_retry_after(exc):
    request = RequestFactory().get("/checkout/polar_c_x/")
    middleware = DatabaseUnavailableMiddleware(view_raising(exc))
    response = middleware.process_exception(request, exc)
    assert response is not None
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/html")
    assert b"try again in a moment" in response.content


def test_a_json_request_gets_a_json_503():
    request = RequestFactory().post(
        "/checkout/client/x", data="{}", content_type="application/json"
    )
    exc = OperationalError("server closed")
    response = DatabaseUnavailableMiddleware(view_raising(exc)).process_exception(request, exc)
    assert response is not None
    assert response.status_code == 503
    assert json.loads(response.content)["error"] == "Unavailable"


def test_other_exceptions_are_left_to_django():
    request = RequestFactory().get("/")
    exc = ValueError("a bug")
    assert DatabaseUnavailableMiddleware(view_raising(exc)).process_exception(request, exc) is None
