"""A griffe extension for the API reference: docstrings written in reStructuredText's
habits render as Markdown. Sphinx roles (``:func:`get_client```,
``:class:`~polar_checkouts.client.PolarClient```) become code spans (`` `get_client` ``,
`` `PolarClient` ``); literal blocks (``.. code-block:: python`` or a paragraph ending in
``::``, then an indented block) become fenced code blocks.

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


def fence_literal_blocks(text: str) -> str:
    """``.. code-block:: python`` / ``Text::`` followed by an indented block -> a fenced
    ``python`` block (``Text:`` kept for the second form)."""
    lines = text.split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        directive = re.fullmatch(r"\s*\.\. code-block::\s*(\w*)\s*", line)
        if directive or (line.rstrip().endswith("::") and line.strip() != "::"):
            if not directive:
                out.append(line.rstrip()[:-1])
            block_start = index + 1
            while block_start < len(lines) and not lines[block_start].strip():
                block_start += 1
            end = block_start
            while end < len(lines) and (not lines[end].strip() or lines[end][:1] in " \t"):
                end += 1
            block = lines[block_start:end]
            while block and not block[-1].strip():
                block.pop()
            indent = min((len(b) - len(b.lstrip()) for b in block if b.strip()), default=0)
            if block and indent:
                language = (directive.group(1) if directive else "") or "python"
                out += ["", f"```{language}", *(b[indent:] for b in block), "```", ""]
                index = end
                continue
        out.append(line)
        index += 1
    return "\n".join(out)


class SphinxRoles(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence_literal_blocks(strip_roles(obj.docstring.value))
