"""The shop's own page: the catalogue, read from Polar through the service layer."""

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from polar_checkouts import services
from polar_checkouts.exceptions import PolarError

logger = logging.getLogger(__name__)


def home(request: HttpRequest) -> HttpResponse:
    """List the products (cached briefly by the service layer) with a buy button each."""
    try:
        products = services.list_products()
        error = None
    except PolarError as exc:
        logger.warning("Catalogue unavailable: %s", exc)
        products, error = [], "The catalogue cannot be loaded right now. Please try again soon."
    recent = []
    if request.user.is_authenticated:
        recent = list(request.user.polar_checkout_sessions.all()[:5])
    return render(
        request,
        "shop/home.html",
        {
            "products": products,
            "error": error,
            "recent_checkouts": recent,
            # The fake Polar has no hosted checkout page to send customers to.
            "hosted_checkout": settings.POLAR_SERVER != "fake",
        },
    )
