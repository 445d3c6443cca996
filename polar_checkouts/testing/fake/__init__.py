"""The fake Polar: an in-memory, thread-safe Polar checkout API (see :mod:`.core`).

A module per idea: :mod:`.core` (the state machine, :class:`FakePolar`), :mod:`.routes`
(HTTP routing and the ``/_fake/`` control routes), :mod:`.checkouts` and
:mod:`.products` (Polar's operations), :mod:`.orders` (what a payment creates),
:mod:`.serialise` (JSON shapes), :mod:`.filters` (the list routes' id filters),
:mod:`.pricing` (amounts and tax) and :mod:`.state` (the stored checkout).
"""

from __future__ import annotations

from ..messages import FakeResponse, RecordedRequest
from .core import DEFAULT_FRONTEND_URL, FakePolar

__all__ = ["DEFAULT_FRONTEND_URL", "FakePolar", "FakeResponse", "RecordedRequest"]
