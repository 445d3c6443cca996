"""Screenshots for the documentation, taken by the browser tests as they pass a page.

``screenshot(page, "checkout")`` writes ``docs/screenshots/checkout.png`` each time the
test runs, so the pictures in the docs show the pages as they are today and are never
made by hand. Only the viewport is taken unless a test asks for the full page, to keep
the files small. Files are replaced atomically, so parallel test workers never leave a
half-written picture.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

#: The size of every picture in the docs unless a test says otherwise.
VIEWPORT = {"width": 1200, "height": 800}

NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def screenshot(
    page: Any,
    name: str,
    *,
    viewport: dict[str, int] | None = VIEWPORT,
    full_page: bool = False,
) -> Path:
    """Save what ``page`` shows as ``docs/screenshots/<name>.png``; return the path.

    ``viewport`` resizes the page first (``None`` keeps the test's own size);
    ``full_page`` takes the whole page rather than the viewport. The docs embed the file
    as ``screenshots/<name>.png``.
    """
    if not NAME.match(name):
        raise ValueError(f"screenshot names are lower-case words and dashes, not {name!r}")
    if viewport is not None:
        page.set_viewport_size(viewport)
    # No blinking caret or running transition in the picture.
    png = page.screenshot(animations="disabled", caret="hide", type="png", full_page=full_page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / f"{name}.png"
    fd, tmp = tempfile.mkstemp(dir=SCREENSHOTS, prefix=f".{name}-", suffix=".png")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(png)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would follow the file into git checkouts
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
