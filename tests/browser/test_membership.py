"""The example shop's membership, in headless Chromium, as ``scripts/demo`` runs it.

The shop runs in its own process (its own settings, SQLite, the in-process fake Polar),
on a free port. A shopper signs in, buys the monthly membership on the checkout page,
enters the members' page, cancels in the (fake) customer portal and keeps access until
the period ends; the demo's clock control moves the fake past the period's end and the
members' page locks again.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.screenshots import screenshot
from tests.browser.test_checkout_flows import fill_billing

pytestmark = pytest.mark.browser

EXAMPLE = Path(__file__).resolve().parents[2] / "example_project"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def example_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example shop served by ``runserver`` in a subprocess; yields its base URL."""
    tmp = tmp_path_factory.mktemp("example-shop")
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("POLAR_", "DJANGO_")) and key != "DATABASE_URL"
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp / 'shop.sqlite3'}",
        DJANGO_SETTINGS_MODULE="shop_site.settings",
        PYTHONPATH=str(EXAMPLE),
        SHOP_ENV_FILE=str(tmp / "no.env"),
        DEMO_ADDR=f"127.0.0.1:{port}",
    )
    manage = [sys.executable, str(EXAMPLE / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, check=True, capture_output=True)
    subprocess.run(
        [
            *manage,
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; "
            "get_user_model().objects.create_user('ada', 'ada@example.com', 'pw')",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    log = (tmp / "server.log").open("w")
    server = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/membership/", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "the example shop did not start:\n" + (tmp / "server.log").read_text()
                    ) from None
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture
def shop_page(browser: Any, example_shop: str) -> Iterator[Page]:
    """A fresh browser context on the example shop; fails on JavaScript errors."""
    context = browser.new_context(base_url=example_shop, locale="en-US")
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


def refresh_purchases(page: Page) -> None:
    """The shop's "Refresh from Polar" on Your purchases (a no-op once webhooks did it)."""
    page.goto("/purchases/")
    page.get_by_role("button", name="Refresh from Polar").click()
    expect(page.get_by_text("Your purchases are up to date.")).to_be_visible()


def test_membership_buy_enter_cancel_and_lose_access_after_the_period(shop_page: Page) -> None:
    page = shop_page
    # Signed out, the members' page asks to sign in.
    page.goto("/members/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/members/$"))
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Sign in").click()
    # Signed in without a membership: the membership's sales page.
    expect(page).to_have_url(re.compile(r"/membership/$"))

    # Buy it on the checkout page.
    page.get_by_role("button", name="Become a member").click()
    expect(page).to_have_url(re.compile(r"/checkout/polar_c_[^/]+/$"))
    expect(page.locator("[data-polar-confirm]")).to_be_enabled()
    fill_billing(page, country="FR")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", name="Thank you for your order!")).to_be_visible()

    # The members' page opens.
    refresh_purchases(page)
    expect(page.locator("[data-subscription-id]")).to_contain_text("active, renews on")
    page.get_by_role("link", name="Go to the members' page").click()
    expect(page.get_by_role("heading", name="Members only")).to_be_visible()
    expect(page.get_by_text("Your membership renews on")).to_be_visible()
    screenshot(page, "members")

    # Cancel in the customer portal, then come back to the shop.
    page.get_by_role("link", name="Manage subscription").click()
    expect(page.get_by_role("heading", name="Subscriptions")).to_be_visible()
    page.get_by_role("button", name="Cancel subscription").click()
    expect(page.get_by_text("cancels on")).to_be_visible()
    screenshot(page, "portal")
    page.get_by_role("link", name=re.compile("Back to")).click()
    expect(page).to_have_url(re.compile(r"/members/$"))

    # Cancelled at the period's end: still a member until then.
    refresh_purchases(page)
    expect(page.locator("[data-subscription-id]")).to_contain_text("cancelled, active until")
    screenshot(page, "purchases")
    page.goto("/members/")
    expect(page.get_by_text("Your membership is cancelled")).to_be_visible()

    # The fake Polar's clock passes the period's end: the membership ends, the page locks.
    page.goto("/purchases/")
    page.get_by_label("Days").fill("31")
    page.get_by_role("button", name="Advance the clock").click()
    expect(page.get_by_text("The fake Polar's clock moved 31 days forward.")).to_be_visible()
    refresh_purchases(page)
    expect(page.locator("[data-subscription-id]")).to_contain_text("canceled")
    page.goto("/members/")
    expect(page).to_have_url(re.compile(r"/membership/$"))
    expect(page.get_by_role("button", name="Become a member")).to_be_visible()
