"""Kept for imports written before the storefront became a package: see ``storefront.forms``."""

from .storefront.forms import MAX_AMOUNT, CheckoutButtonForm, find_price

__all__ = ["MAX_AMOUNT", "CheckoutButtonForm", "find_price"]
