"""Hiding credentials in logs, error messages and admin pages."""

from __future__ import annotations

import re

CLIENT_SECRET_PREFIX = "polar_c_"
_SECRET_RE = re.compile(r"polar_c_[A-Za-z0-9_\-]+")


def mask_secret(secret: str | None) -> str:
    """Return ``polar_c_…****`` for a client secret (or ``****`` for anything else)."""
    if not secret:
        return ""
    if secret.startswith(CLIENT_SECRET_PREFIX):
        return CLIENT_SECRET_PREFIX + "…****"
    return "****"


def mask_secrets_in(text: str) -> str:
    """Mask every client secret that appears in ``text`` (a URL path, a log line)."""
    if CLIENT_SECRET_PREFIX not in text:
        return text
    return _SECRET_RE.sub(CLIENT_SECRET_PREFIX + "…****", text)
