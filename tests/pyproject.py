"""The project's pyproject.toml as a dict, on every supported Python.

``tomllib`` arrived in Python 3.11; on 3.10 its source, ``tomli`` (a test requirement
there), reads the file the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 (tox's py310-* environments)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
