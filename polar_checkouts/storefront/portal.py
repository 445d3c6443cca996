"""The customer portal link: ``polar_checkouts:customer_portal``.

A signed-in user is sent to Polar's customer portal (manage subscriptions, see orders and
invoices) through a fresh customer session; ``?next=`` (a URL of this site) is where
Polar's back link returns. A user Polar does not know yet, or Polar being unreachable,
gets a page that says so, never an error page.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ..exceptions import PolarError
from ..services.portal import NoPolarCustomer, customer_portal_url
from .limits import rate_limited

logger = logging.getLogger("polar_checkouts")
TEMPLATE = "polar_checkouts/portal_unavailable.html"


def return_url(request: HttpRequest) -> str:
    """Where Polar's portal links back to: ``?next=`` if it is this site's, else the
    login redirect URL; absolute, as Polar requires."""
    wanted = request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        wanted = str(getattr(settings, "LOGIN_REDIRECT_URL", "/") or "/")
    return request.build_absolute_uri(wanted)


@require_GET
@never_cache
@login_required
@rate_limited("portal")
def customer_portal(request: HttpRequest) -> HttpResponse:
    """Redirect the signed-in user to Polar's customer portal, signed in."""
    back = return_url(request)
    try:
        url = customer_portal_url(request.user, back)
    except NoPolarCustomer:
        return render(request, TEMPLATE, {"state": "no_customer", "back": back}, status=404)
    except PolarError as exc:
        logger.warning("Could not open a Polar customer session: %s", exc)
        response = render(request, TEMPLATE, {"state": "unavailable", "back": back}, status=503)
        response["Retry-After"] = "30"
        return response
    return HttpResponseRedirect(url)
