"""docs/quickstart.md as a list of steps a program can follow (the d17b/r17 contract).

The page's fenced blocks are the steps, in order:

- a block with a title (Material's ```` ```python title="shop/settings.py" ````) writes that
  file: the whole file, or, when its first line is ``# add to the end of <file>`` (``{# ... #}``
  in a template), the block is appended to it;
- a ```` ```console ```` block holds shell commands, one per ``$ `` prompt (a line ending in
  ``\\`` continues on the next);
- other blocks are illustrations and are not followed, nor is anything inside an HTML
  comment (``<!-- invisible-code-block: ... -->``, which only the snippet tests run).

Plain prose is kept with each step, so a test can find what the reader is told to open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

#: A fenced block: its info string (language and attributes) and its body.
FENCE = re.compile(
    r"^(?P<fence>```+)(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S
)
COMMENT = re.compile(r"<!--.*?-->", re.S)
TITLE = re.compile(r"""title=(?:"([^"]*)"|'([^']*)')""")
#: The first line that makes a block an addition to a file, not the whole file.
APPEND = re.compile(
    r"^\s*(?:#|\{#|<!--|//)\s*add to the end of\s+(?P<path>\S+?)\s*(?:#\}|-->)?\s*$"
)


@dataclass
class WriteFile:
    path: str
    content: str
    append: bool


@dataclass
class Commands:
    commands: list[str]
    #: What the page shows each command printing (``""`` when it shows nothing).
    outputs: list[str] = field(default_factory=list)
    #: The prose after this block, up to the next block (what the reader does next).
    after: str = ""


@dataclass
class Quickstart:
    steps: list[WriteFile | Commands] = field(default_factory=list)

    @property
    def commands(self) -> list[str]:
        return [c for step in self.steps if isinstance(step, Commands) for c in step.commands]


def console_commands(body: str) -> list[str]:
    """The commands of a console block: the ``$ `` lines, with their continuations."""
    return [command for command, _ in console_session(body)]


def console_session(body: str) -> list[tuple[str, str]]:
    """Each command of a console block with the output shown under it."""
    session: list[tuple[str, str]] = []
    current: str | None = None
    output: list[str] = []

    def done() -> None:
        if current is not None:
            session.append((current, "\n".join(output)))

    for line in body.splitlines():
        if current is not None and current.endswith("\\"):
            current = current[:-1].rstrip() + " " + line.strip()
        elif line.startswith("$ "):
            done()
            current, output = line[2:].strip(), []
        elif current is not None:
            output.append(line)
    done()
    return session


def parse(text: str) -> Quickstart:
    # What the reader cannot see is not a step (the snippet harness's invisible blocks).
    text = COMMENT.sub("", text)
    quickstart = Quickstart()
    matches = list(FENCE.finditer(text))
    for index, match in enumerate(matches):
        info = match.group("info").strip()
        language = info.split()[0] if info else ""
        body = match.group("body")
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        prose = text[match.end() : end]
        title = TITLE.search(info)
        if language == "console":
            session = console_session(body)
            quickstart.steps.append(
                Commands([c for c, _ in session], [o for _, o in session], after=prose)
            )
        elif title:
            path = title.group(1) or title.group(2)
            first = body.partition("\n")[0]
            appended = APPEND.match(first)
            if appended and appended.group("path") != path:
                raise ValueError(f"the block titled {path!r} says it adds to {appended['path']!r}")
            quickstart.steps.append(WriteFile(path, body, append=bool(appended)))
    return quickstart


def read(path: Path) -> Quickstart:
    return parse(path.read_text(encoding="utf-8"))
