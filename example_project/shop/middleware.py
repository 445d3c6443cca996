"""A strict Content-Security-Policy for the shop's pages, to show the storefront needs none
of ``unsafe-inline``: its script and styles are static files, its data is JSON."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

POLICY = "; ".join(
    [
        "default-src 'self'",
        # Stripe.js, only loaded on checkout pages selling through Polar's Stripe.
        "script-src 'self' https://js.stripe.com",
        "frame-src https://js.stripe.com https://hooks.stripe.com",
        # The browser talks to Polar's client routes directly (POLAR_CLIENT_CALLS=browser).
        "connect-src 'self' https://api.polar.sh https://sandbox-api.polar.sh https://api.stripe.com",
        "img-src 'self' data: https:",
        "style-src 'self'",
        "base-uri 'self'",
        "form-action 'self' https://polar.sh https://sandbox.polar.sh",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Add the policy above to every response outside the admin."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/admin/"):
            response.headers.setdefault("Content-Security-Policy", POLICY)
        return response
