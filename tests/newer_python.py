"""Test tools that the test extra installs from Python 3.11 only: polar-sdk and schemathesis.

Both need Python 3.11, so their requirements in pyproject's ``test`` extra carry
``python_version >= '3.11'``. A test that uses one imports it with :func:`import_from_311`:
on Python 3.10 the test (or the whole module, when called at module level) is skipped and
says why; from 3.11 on the import must succeed, so a broken install fails instead of
skipping quietly.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import pytest

MINIMUM = (3, 11)


def import_from_311(name: str, *, package: str) -> ModuleType:
    """Module ``name`` of the distribution ``package``; skips the test on Python < 3.11."""
    if sys.version_info < MINIMUM:
        pytest.skip(
            f"{package} needs Python 3.11+ (the test extra installs it from 3.11)",
            allow_module_level=True,
        )
    return importlib.import_module(name)
