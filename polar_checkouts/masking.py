"""Hiding credentials in logs, error messages and admin pages."""

from __future__ import annotations

import logging
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


class MaskSecretsFilter(logging.Filter):
    """A logging filter that masks client secrets in a record's message.

    Client secrets travel in URL paths (``/checkout/<secret>/`` here, Polar's client
    routes there): Django logs the path of every 4xx/5xx response (``django.request``)
    and, under runserver, of every request (``django.server``); urllib3 logs the URL of
    every retry. The app attaches this filter to those loggers
    (``apps.SECRET_BEARING_LOGGERS``); add it to your own access-log handlers too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with every client secret masked; keep the record."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a broken format string is the logging module's to report
        if CLIENT_SECRET_PREFIX in message:
            record.msg = mask_secrets_in(message)
            record.args = ()
        return True
