"""Real-browser fixtures: Debian's Chromium driven by Playwright against ``live_server``.

One browser for all of them, a fresh context (cookies, storage) per test. Every HTML
page is served with a strict Content-Security-Policy (added by a Playwright route), and
a test fails if the page breaks it or logs a JavaScript error. A failing test leaves a
screenshot in ``test-artifacts/``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# What a careful shop would send: no inline script or style, no third-party origin but
# Stripe.js (the fake Polar is mounted on the same origin).
STRICT_CSP = (
    "default-src 'self'; script-src 'self' https://js.stripe.com; style-src 'self'; "
    "connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'"
)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def chromium_path() -> str:
    """Debian's Chromium (``CHROMIUM`` overrides); Playwright's own download is not used."""
    candidates = [os.environ.get("CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"]
    for candidate in candidates:
        if candidate and os.path.exists(candidate):
            return candidate
    pytest.fail(
        "Chromium is missing: run scripts/bootstrap, or apt-get install chromium "
        "(the browser tests use Debian's package, not `playwright install`)."
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Generator[None, Any, Any]:
    """Keep each phase's report on the item, so fixtures can see whether the test failed."""
    report: Any = yield
    setattr(item, "report_" + report.when, report)
    return report


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One headless Chromium for all the browser tests (they all live in this package)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread while it is
    # started; the ORM calls the tests make are still synchronous, so Django's async
    # guard must stand aside until Playwright stops (then it is restored for the rest).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def shop(settings, polar_fake, live_server):
    """The test project on a live server, selling through the in-process fake Polar."""
    settings.POLAR_SERVER = "fake"
    settings.POLAR_CLIENT_CALLS = "browser"
    settings.POLAR_ACCESS_TOKEN = "polar_oat_fake"
    return polar_fake


class PageProblems:
    """What went wrong in the page: CSP violations, script errors, failed requests."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, text: str) -> None:
        self.messages.append(text)


@pytest.fixture
def page(request, browser, live_server) -> Iterator[Any]:
    """A new browser context and page on the live server, with a strict CSP on documents."""
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(15_000)
    problems = PageProblems()

    def add_csp(route: Any) -> None:
        # Django's admin is not ours to hold to this policy.
        if route.request.resource_type != "document" or "/admin/" in route.request.url:
            route.continue_()
            return
        response = route.fetch(max_redirects=0)
        headers = {**response.headers, "content-security-policy": STRICT_CSP}
        route.fulfill(response=response, headers=headers)

    context.route(re.compile(r"^" + re.escape(live_server.url) + r"/"), add_csp)
    page = context.new_page()
    page.on("pageerror", lambda error: problems.add(f"JavaScript error: {error}"))

    def console(message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            problems.add(f"CSP violation: {text}")
        elif message.type == "error" and "status of 4" not in text and "status of 5" not in text:
            # 4xx/5xx answers are logged by Chromium on purpose-made errors (a declined
            # card is a 400); the tests check what the page shows for those.
            problems.add(f"console error: {text}")

    page.on("console", console)
    page.problems = problems
    yield page
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        except Exception as exc:  # the page may be gone; the test's own error matters more
            print(f"could not save a screenshot: {exc}")
    context.close()
    assert not problems.messages, "\n".join(problems.messages)
