"""The documentation's screenshots are made by the browser tests, never by hand.

Every ``docs/screenshots/*.png`` is written by a ``screenshot(page, "<name>")`` call in
``tests/browser`` (see ``tests/browser/screenshots.py``), every such call's picture is
shown by some page of the docs, every picture a page shows exists, and each stays small
enough not to bloat the repository.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

from tests.browser.screenshots import NAME, SCREENSHOTS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: The largest picture the docs may carry, in bytes, and its largest width in pixels.
MAX_BYTES = 250_000
MAX_WIDTH = 1280

CALL = re.compile(r"""\bscreenshot\(\s*page\s*,\s*["']([^"']+)["']""")
EMBED = re.compile(r"!\[[^\]]*\]\(([^)\s]*screenshots/[^)\s]+\.png)\)")


def taken_by_tests() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests" / "browser").rglob("*.py"):
        names.update(CALL.findall(path.read_text()))
    return names


def embeds() -> dict[Path, set[Path]]:
    """For each page of the docs, the screenshot files its images point at."""
    found: dict[Path, set[Path]] = {}
    for page in DOCS.rglob("*.md"):
        targets = {(page.parent / link).resolve() for link in EMBED.findall(page.read_text())}
        if targets:
            found[page] = targets
    return found


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_every_screenshot_is_taken_by_a_browser_test():
    files = {path.stem for path in SCREENSHOTS.glob("*.png")}
    taken = taken_by_tests()
    assert all(NAME.match(name) for name in taken), taken
    assert files, "no screenshots: run the browser tests"
    assert not files - taken, f"screenshots no browser test takes (made by hand?): {files - taken}"
    assert not taken - files, f"taken by the browser tests, not committed: {taken - files}"


def test_the_docs_show_every_screenshot_and_only_existing_ones():
    shown = set().union(*embeds().values())
    missing = sorted(str(path.relative_to(ROOT)) for path in shown if not path.is_file())
    assert not missing, f"pages show pictures that do not exist: {missing}"
    unused = {path.resolve() for path in SCREENSHOTS.glob("*.png")} - shown
    assert not unused, f"screenshots no page shows: {sorted(p.name for p in unused)}"


def test_screenshots_stay_small():
    for path in SCREENSHOTS.glob("*.png"):
        width, _ = png_size(path)
        assert width <= MAX_WIDTH, f"{path.name} is {width} px wide"
        assert path.stat().st_size <= MAX_BYTES, f"{path.name} is {path.stat().st_size} bytes"
