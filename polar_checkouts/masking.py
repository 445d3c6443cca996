"""Hiding credentials in logs, error messages and admin pages.

Two kinds of credential are masked. Client secrets (``polar_c_…``) are recognised by
their shape wherever they appear. Access tokens have no shape of their own that would
not also match harmless text, so a client *registers* its token
(:func:`register_secret`) and every masking function of this module then replaces it
too, whatever brought it there: Polar's error body, a proxy's echo, a log argument.
"""

from __future__ import annotations

import logging
import re
import threading

CLIENT_SECRET_PREFIX = "polar_c_"
_SECRET_RE = re.compile(r"polar_c_[A-Za-z0-9_\-]+")
#: Polar's token prefixes (``polar_oat_``, ``polar_pat_``…) are kept in a masked token:
#: they say which kind of credential it was without saying which one.
_TOKEN_PREFIX_RE = re.compile(r"^polar_[a-z]+_")
#: Shorter secrets are masked whole: their last characters would say too much.
_SHOW_TAIL_FROM = 24

_registered_lock = threading.Lock()
#: Secrets to mask by value, longest first (a token containing another is masked whole).
_registered: tuple[tuple[str, str], ...] = ()


def mask_secret(secret: str | None) -> str:
    """Return ``polar_c_…****`` for a client secret (or ``****`` for anything else)."""
    if not secret:
        return ""
    if secret.startswith(CLIENT_SECRET_PREFIX):
        return CLIENT_SECRET_PREFIX + "…****"
    return "****"


def mask_token(token: str | None) -> str:
    """A recognisable, useless form of an access token: ``polar_oat_…****wxyz``.

    Its kind (Polar's prefix) and, for a long token, its last four characters stay, so a
    log reader can tell which of the shop's tokens was used; nothing else does.
    """
    if not token:
        return ""
    if token.startswith(CLIENT_SECRET_PREFIX):
        return mask_secret(token)
    match = _TOKEN_PREFIX_RE.match(token)
    prefix = match.group(0) if match and match.end() < len(token) else ""
    tail = token[-4:] if len(token) >= _SHOW_TAIL_FROM else ""
    return f"{prefix}…****{tail}"


def register_secret(secret: str | None) -> None:
    """Mask ``secret`` (an access token) in everything this module masks from now on.

    :class:`~polar_checkouts.client.PolarClient` registers its own token; register any
    other credential your code passes around. Values shorter than 8 characters are
    ignored: masking them would garble ordinary text.
    """
    global _registered
    if not secret or len(secret) < 8:
        return
    with _registered_lock:
        if any(value == secret for value, _ in _registered):
            return
        pairs = {*_registered, (secret, mask_token(secret))}
        _registered = tuple(sorted(pairs, key=lambda pair: -len(pair[0])))


def registered_secrets() -> tuple[str, ...]:
    """The secrets :func:`register_secret` was given (for tests and checks)."""
    return tuple(value for value, _ in _registered)


def mask_secrets_in(text: str) -> str:
    """Mask every client secret and every registered token that appears in ``text``."""
    for value, masked in _registered:
        if value in text:
            text = text.replace(value, masked)
    if CLIENT_SECRET_PREFIX not in text:
        return text
    return _SECRET_RE.sub(CLIENT_SECRET_PREFIX + "…****", text)


def mask_secrets_deep(value: object) -> object:
    """:func:`mask_secrets_in` applied to every string inside ``value`` (JSON-like data)."""
    if isinstance(value, str):
        return mask_secrets_in(value)
    if isinstance(value, list):
        return [mask_secrets_deep(item) for item in value]
    if isinstance(value, tuple):
        return tuple(mask_secrets_deep(item) for item in value)
    if isinstance(value, dict):
        return {mask_secrets_deep(k): mask_secrets_deep(v) for k, v in value.items()}
    return value


class MaskSecretsFilter(logging.Filter):
    """A logging filter that masks client secrets and registered tokens in a record.

    Client secrets travel in URL paths (``/checkout/<secret>/`` here, Polar's client
    routes there): Django logs the path of every 4xx/5xx response (``django.request``)
    and, under runserver, of every request (``django.server``); urllib3 logs the URL of
    every retry. The app attaches this filter to those loggers and its own
    (``apps.SECRET_BEARING_LOGGERS``); add it to your own access-log handlers too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with every secret masked; keep the record."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a broken format string is the logging module's to report
        masked = mask_secrets_in(message)
        if masked != message:
            record.msg = masked
            record.args = ()
        return True
