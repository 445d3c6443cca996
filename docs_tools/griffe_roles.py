"""A griffe extension for the API reference: docstrings written with Sphinx roles
(``:func:`get_client```, ``:class:`~polar_checkouts.client.PolarClient```) render as code
spans in Markdown (`` `get_client` ``, `` `PolarClient` ``) instead of showing the role.

mkdocs.yml loads it by path (mkdocstrings' python handler, ``extensions``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|exc|data|mod|obj|const|ref):`~?([^`]+)`")


def strip_roles(text: str) -> str:
    """``:func:`a.b``` -> `` `a.b` ``; ``:class:`~a.b.C``` -> `` `C` `` (Sphinx's ``~``)."""

    def code(match: re.Match[str]) -> str:
        target = match.group(1)
        if match.group(0).split("`", 1)[1].startswith("~"):
            target = target.rsplit(".", 1)[-1]
        return f"`{target}`"

    return ROLE.sub(code, text)


class SphinxRoles(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = strip_roles(obj.docstring.value)
