"""Kept for imports written before the storefront became a package: see ``storefront.views``."""

from .storefront.views import checkout, client, client_confirm, create, status, success

__all__ = ["checkout", "client", "client_confirm", "create", "status", "success"]
