"""Run the ```python blocks of the documentation (docs/**/*.md and README.md), on Sybil.

How a page's blocks run (the rules doc authors follow are in docs/... PLAN-notes and in the
module docstring of tests/docs/test_snippets.py):

* Every block whose fence info starts with ``python`` runs, in page order, visible
  (```` ```python ````, ```` ```python title="shop/polar.py" ````) or invisible
  (``<!-- invisible-code-block: python ... -->``, for setup and checks the reader needn't see).
* Untitled blocks share one namespace per page, which starts with ``polar_fake`` (the page's
  fake Polar, the ``polar_fake`` fixture) and ``fixture`` (``fixture("client")`` is any
  pytest fixture of the page's test).
* A block with ``title="shop/polar.py"`` is that file: it runs as module ``shop.polar`` (its
  package ``shop`` made on the way), so later blocks import from it and dotted paths such as
  ``POLAR_ADAPTER = "shop.polar.ShopAdapter"`` resolve. A titled block replaces the module
  (it is the whole file) unless its first line is ``# add to the end of shop/polar.py``,
  which runs it in the module as it stands; an untitled block may start with that line too.
  The modules are removed from ``sys.modules`` when the page's test ends.
* A block that defines ``test_*`` functions has them called, each with a reset fake and its
  arguments taken from the page's fixtures by name, as pytest would.
* Doctest-style blocks (starting with ``>>>``) are checked as doctests.
"""

from __future__ import annotations

import inspect
import re
import sys
import types
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from django.dispatch import Signal
from sybil import Document, Example, Region
from sybil.evaluators.doctest import DocTestEvaluator
from sybil.parsers.abstract import AbstractCodeBlockParser
from sybil.parsers.abstract.doctest import DocTestStringParser
from sybil.parsers.markdown.lexers import DirectiveInHTMLCommentLexer, FencedCodeBlockLexer

ROOT = Path(__file__).resolve().parents[2]

#: Where titled blocks' modules pretend to live (``__file__``); nothing is written there.
PROJECT_DIR = ROOT / "build" / "doc-project"

TITLE = re.compile(r'title="(?P<title>[^"]+)"')
APPEND = re.compile(r"^#\s*add to the end of\s+(?P<path>\S+\.py)\b")


def documents() -> list[Path]:
    """Every page whose Python blocks run: README.md and docs/**/*.md."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def fences(path: Path) -> Iterator[tuple[int, int, str]]:
    """(first line, last line, info string) of every fenced block of a page, for the
    harness's own checks (no Python block may escape it)."""
    opening: tuple[int, str, str] | None = None
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = re.match(r"\s*(?:[-*+]\s+|\d+[.)]\s+)?(`{3,}|~{3,})(.*)$", line)
        if not match:
            continue
        fence, info = match.group(1), match.group(2).strip()
        if opening is None:
            opening = (number, fence, info)
        elif fence[0] == opening[1][0] and len(fence) >= len(opening[1]) and not info:
            yield opening[0], number, opening[2]
            opening = None
    if opening is not None:
        yield opening[0], opening[0], opening[2]


def fence_problems(path: Path) -> list[str]:
    """Python blocks of a page the harness would not run: another spelling of the language
    (```py, ```python3, ```pycon…) or a ```python fence the parser did not find."""
    blocks = list(fences(path))
    problems = [
        f"line {first}: write ```python, not ```{info}"
        for first, _, info in blocks
        if info.split(" ", 1)[0].lower() in {"py", "py3", "python3", "pycon", "ipython"}
        or (info.lower().startswith("python") and not info.startswith("python"))
    ]
    document = parse(path)
    lines = [document.text.count("\n", 0, example.region.start) + 1 for example in document]
    problems += [
        f"line {first}: this python block is not run"
        for first, last, info in blocks
        if info.split(" ", 1)[0] == "python" and not any(first <= n <= last for n in lines)
    ]
    return problems


def module_name(title: str) -> str:
    """``shop/polar.py`` -> ``shop.polar``; refuses what is not a Python file's path."""
    if not title.endswith(".py") or title.startswith("/") or ".." in title:
        raise ValueError(f"a python block's title must be a relative .py path, not {title!r}")
    parts = title[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(part.isidentifier() for part in parts):
        raise ValueError(f"{title!r} does not name an importable module")
    return ".".join(parts)


class Page:
    """What the blocks of one page share: its namespace and the modules its titles made."""

    def __init__(self, namespace: dict[str, Any], fixture: Callable[[str], Any]) -> None:
        self.namespace = namespace
        self.fixture = fixture
        self.modules: dict[str, types.ModuleType] = {}

    def module(self, title: str, *, fresh: bool) -> types.ModuleType:
        name = module_name(title)
        if name in self.modules and not fresh:
            return self.modules[name]
        if name not in self.modules and name in sys.modules:
            raise ValueError(f"{title!r} would hide the installed module {name!r}")
        # The packages on the way (``shop`` for ``shop.polar``).
        parts = name.split(".")
        for depth in range(1, len(parts)):
            package = ".".join(parts[:depth])
            if package not in self.modules:
                if package in sys.modules:
                    raise ValueError(f"{title!r} would hide the installed package {package!r}")
                self._install(package, Path(*parts[:depth], "__init__.py"), is_package=True)
        return self._install(name, Path(title), is_package=title.endswith("__init__.py"))

    def _install(self, name: str, relative: Path, *, is_package: bool) -> types.ModuleType:
        module = types.ModuleType(name)
        module.__file__ = str(PROJECT_DIR / relative)
        module.__package__ = name if is_package else name.rpartition(".")[0]
        if is_package:
            module.__path__ = []
        self.modules[name] = module
        sys.modules[name] = module
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(self.modules[parent], child, module)
        return module

    def close(self) -> None:
        for name in self.modules:
            sys.modules.pop(name, None)
        self.modules.clear()


class Block:
    """One ```python block: its source (a Sybil lexeme) and its title, if any."""

    def __init__(self, source: Any, title: str | None) -> None:
        self.source = source
        self.title = title


def run_block(example: Example) -> None:
    """The evaluator of every non-doctest block (see the module docstring)."""
    __tracebackhide__ = True
    page: Page = example.namespace["__page__"]
    block: Block = example.parsed
    source = str(block.source)
    append = APPEND.match(source.lstrip())
    if append and block.title and append.group("path") != block.title:
        raise ValueError(f"block titled {block.title!r} says it adds to {append.group('path')!r}")
    target = block.title or (append.group("path") if append else None)
    if target is None:
        namespace = example.namespace
    else:
        module = page.module(target, fresh=append is None)
        namespace = module.__dict__
    before = dict(namespace)
    line = example.line + block.source.line_offset
    code = compile("\n" * line + source, example.path, "exec", dont_inherit=True)
    exec(code, namespace)
    namespace.pop("__builtins__", None)
    for name, value in list(namespace.items()):
        if name.startswith("test_") and inspect.isfunction(value) and before.get(name) is not value:
            call_test(page, value)


def call_test(page: Page, function: Callable[..., Any]) -> None:
    """Call a ``test_*`` function a block defined, as pytest would: a fresh fake, and each
    argument the page's fixture of that name."""
    __tracebackhide__ = True
    fake = page.namespace["polar_fake"]
    fake.reset()
    from polar_checkouts.services import clear_catalogue_cache

    clear_catalogue_cache()
    arguments = {name: page.fixture(name) for name in inspect.signature(function).parameters}
    function(**arguments)


class PythonBlockParser(AbstractCodeBlockParser):
    """Sybil's Markdown code-block parser, but for every fence whose info string starts with
    ``python`` (``python title="shop/settings.py"`` included: Material's syntax), and for
    ``<!-- invisible-code-block: python -->`` comments."""

    language = "python"

    def __init__(self) -> None:
        super().__init__(
            [
                FencedCodeBlockLexer(
                    language=r".+", mapping={"language": "arguments", "source": "source"}
                ),
                DirectiveInHTMLCommentLexer(
                    directive=r"(invisible-)?code(-block)?", arguments=".+"
                ),
            ]
        )
        self.doctests = DocTestStringParser(DocTestEvaluator())

    def __call__(self, document: Document) -> Iterable[Region]:
        for region in self.lexers(document):
            info = str(region.lexemes["arguments"]).strip()
            words = info.split(None, 1)
            if not words or words[0] != self.language:
                continue
            source = region.lexemes["source"]
            if str(source).startswith(">>>"):
                for doctest_region in self.doctests(source, document.path):
                    doctest_region.adjust(region, source)
                    yield doctest_region
                continue
            title = TITLE.search(words[1]) if len(words) > 1 else None
            region.parsed = Block(source, title.group("title") if title else None)
            region.evaluator = run_block
            yield region


def parse(path: Path) -> Document:
    return Document.parse(str(path), PythonBlockParser())


@contextmanager
def page_namespace(
    document: Document, polar_fake: Any, fixture: Callable[[str], Any]
) -> Iterator[Page]:
    """Prepare a page's namespace; remove the modules its titled blocks made afterwards."""
    page = Page(document.namespace, fixture)
    path = Path(document.path).resolve()
    relative = path.relative_to(ROOT) if path.is_relative_to(ROOT) else Path(path.name)
    name = relative.with_suffix("").as_posix()
    document.namespace.update(
        polar_fake=polar_fake,
        fixture=fixture,
        __page__=page,
        # What functions and classes the blocks define give as their __module__.
        __name__="docs_page." + name.replace("/", ".").replace("-", "_"),
    )
    connected: list[tuple[Any, Any, Any]] = []
    original_connect = Signal.connect

    def connect(
        signal: Signal,
        receiver: Any,
        sender: Any = None,
        weak: bool = True,
        dispatch_uid: Any = None,
    ) -> None:
        connected.append((signal, receiver, dispatch_uid))
        original_connect(signal, receiver, sender=sender, weak=weak, dispatch_uid=dispatch_uid)

    try:
        # Receivers a page connects (``@receiver(checkout_succeeded)``) stay connected for
        # the page only: no other test meets them.
        with mock.patch.object(Signal, "connect", connect):
            yield page
    finally:
        for signal, receiver, dispatch_uid in connected:
            signal.disconnect(receiver, dispatch_uid=dispatch_uid)
        page.close()
