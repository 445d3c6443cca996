"""Small request helpers shared by the storefront's and the webhook's views."""

from __future__ import annotations

from django.http import HttpRequest


def declared_length(request: HttpRequest) -> int:
    """The request's ``Content-Length`` as a number (0 when absent or unreadable)."""
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0
