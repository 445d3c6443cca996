"""The package's shape, checked: no import cycles, and the fake stays inside ``testing/``.

Imports are read from the source (``ast``), so a function-level import counts like a
module-level one; imports under ``if TYPE_CHECKING:`` do not (they never run).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = "polar_checkouts"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {
    _module_name(path): path
    for path in sorted(ROOT.rglob("*.py"))
    if "migrations" not in path.parts
}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST):
    """Every node except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def imports_of(name: str) -> set[str]:
    """The package's modules that module ``name`` imports when it runs."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join([*base, node.module] if node.module else base)
            else:
                origin = node.module or ""
            # "from pkg import sub" imports the submodule; "from mod import name" the module.
            targets = [
                f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in MODULES else origin
                for alias in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t in MODULES and t != name)
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for name in sorted(GRAPH):
        if name not in index:
            visit(name)
    return result


def test_the_reader_sees_imports():
    """The checks below would pass on an empty graph: make sure it is not empty."""
    # services and models are packages; their modules import each other's packages.
    assert "polar_checkouts.models" in GRAPH["polar_checkouts.services.checkouts"]
    assert any(GRAPH[name] for name in GRAPH if name.startswith("polar_checkouts.testing."))


def test_no_import_cycles():
    assert _cycles() == []


def test_a_cycle_would_be_found():
    GRAPH["polar_checkouts.models"].add("polar_checkouts.services")
    try:
        # The cycle runs through the packages' modules too (services -> services.checkouts).
        assert any(
            {"polar_checkouts.models", "polar_checkouts.services"} <= set(component)
            for component in _cycles()
        )
    finally:
        GRAPH["polar_checkouts.models"].discard("polar_checkouts.services")


def test_only_testing_imports_testing():
    offenders = {
        name: sorted(t for t in targets if t.startswith(f"{PACKAGE}.testing"))
        for name, targets in GRAPH.items()
        if not name.startswith(f"{PACKAGE}.testing")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


STOREFRONT_FILES = [
    *sorted((ROOT / "storefront").rglob("*.py")),
    *sorted((ROOT / "static" / PACKAGE).rglob("*.js")),
    *sorted((ROOT / "templates" / PACKAGE).rglob("*.html")),
]


@pytest.mark.parametrize(
    "path", STOREFRONT_FILES, ids=[str(p.relative_to(ROOT)) for p in STOREFRONT_FILES]
)
def test_the_storefront_does_not_know_the_fake(path):
    assert not re.findall(r"(?i)fake", path.read_text())


def test_the_storefront_files_are_there():
    names = {path.name for path in STOREFRONT_FILES}
    assert {"views.py", "checkout.js", "checkout.html"} <= names
