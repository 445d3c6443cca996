"""The process-wide fake: the one ``POLAR_SERVER = "fake"`` and the mounted urls serve."""

from __future__ import annotations

import threading

from .fake import FakePolar

_default_lock = threading.Lock()
_default_fake: FakePolar | None = None


def get_default_fake() -> FakePolar:
    """The process-wide fake used by ``POLAR_SERVER = "fake"`` and the mounted urls.

    During a test that uses the ``polar_fake`` fixture, this is the test's fake.
    """
    global _default_fake
    fake = _default_fake
    if fake is None:
        with _default_lock:
            if _default_fake is None:
                _default_fake = FakePolar()
            fake = _default_fake
    return fake


def set_default_fake(fake: FakePolar | None) -> FakePolar | None:
    """Replace the process-wide fake (``None``: a new one on next use); returns the old one."""
    global _default_fake
    with _default_lock:
        previous, _default_fake = _default_fake, fake
    return previous
