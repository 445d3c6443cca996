"""Polar's API versions, as the fake reads the ``Polar-Version`` header.

Polar's server (``server/polar/kit/versioning.py``) reads ``Polar-Version: YYYY-MM``
(``^(\\d{4})-(\\d{2})$``, compared as a year and a month), uses its default when the header
is absent or empty, answers an unknown or malformed version with a bare 404
``{"detail": "Not Found"}`` before any route (so without ``Polar-Version`` and without
CORS headers), and stamps ``Polar-Version: <resolved>`` on every other answer.

The fake adds one era Polar no longer serves: the seed's, ``/v1/checkouts/custom/``
without the header, with the shapes the seed's SDK (polar-sdk 0.10.0) decodes
(:data:`SEED_ERA`). How a version changes what the fake serves is in :mod:`.fake.serialise`.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterator
from contextlib import contextmanager

#: The versions the fake serves: Polar's two (2026-04, 2026-10) and the one polar-sdk
#: 1.0.2 ships a module for (2027-01; its checkout, product and webhook shapes are those
#: of 2026-10, it changes only license keys and seat-based prices, which the fake has not).
API_VERSIONS = ("2026-04", "2026-10", "2027-01")
#: What Polar resolves a request without ``Polar-Version`` (or with an empty one) to.
DEFAULT_API_VERSION = "2026-04"
#: The header, as Polar spells it.
VERSION_HEADER = "Polar-Version"
#: The seed era: ``/v1/checkouts/custom/`` without the header (``None`` as a version).
SEED_ERA: str | None = None
SEED_PREFIX = "/v1/checkouts/custom/"

_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")
_KNOWN = {tuple(int(part) for part in v.split("-")): v for v in API_VERSIONS}
_ACTIVE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "fake_polar_api_version", default=SEED_ERA
)


class UnknownVersion(Exception):
    """The ``Polar-Version`` of a request is malformed or not served: Polar answers 404."""


def resolve(raw: str | None, path: str) -> str | None:
    """The version a request asks for (``None``: the seed era); ``UnknownVersion`` if none."""
    if not raw:
        return SEED_ERA if path.startswith(SEED_PREFIX) else DEFAULT_API_VERSION
    match = _PATTERN.fullmatch(raw)
    # Like Polar: int() of each part, so "2026-10" and any other digits naming it agree.
    key = (int(match.group(1)), int(match.group(2))) if match else None
    if key is None or key not in _KNOWN:
        raise UnknownVersion(raw)
    return _KNOWN[key]


def active() -> str | None:
    """The version being answered (``None``: the seed era, also outside any request)."""
    return _ACTIVE.get()


def is_dated(version: str | None) -> bool:
    """Whether ``version`` is one of Polar's dated versions (not the seed era)."""
    return version is not None


@contextmanager
def serving(version: str | None) -> Iterator[None]:
    """Serialise everything inside as ``version`` does (thread- and task-local)."""
    token = _ACTIVE.set(version)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
