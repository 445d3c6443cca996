"""The checkout admin as a shop owner sees it, in Chromium at desktop and phone widths.

The object tools (Django's own links and this app's POST buttons) look alike, the list
fits a 1280 px screen, empty cells read the same everywhere, and the overview's chart
stays readable on a phone.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.admin.helpers import store
from tests.browser.screenshots import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIST = "/admin/polar_checkouts/checkoutsession/"


def log_in(page: Page) -> None:
    get_user_model().objects.create_superuser("boss", "boss@example.com", "s3cret-pass")
    page.goto("/admin/login/?next=" + LIST)
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("s3cret-pass")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(LIST) + "$"))


def fill_the_cache() -> None:
    now = timezone.now()
    for i in range(12):
        created = now - dt.timedelta(hours=i * 7)
        store(
            status=["succeeded", "open", "failed", "expired"][i % 4],
            created_at=created,
            expires_at=created + dt.timedelta(minutes=30),
            customer_email=f"customer.with.a.long.address.{i}@example-company.com",
            customer_name="Ada Augusta King, Countess of Lovelace" if i % 2 else None,
            total_amount=[1900, 250000, 500, None][i % 4],
            currency=["usd", "eur", "jpy", "usd"][i % 4],
        )
    store(customer_email=None, customer_name=None, created_at=now - dt.timedelta(days=4))


def box(locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None
    return found


def test_the_list_fits_1280_pixels_and_its_tools_line_up(page, settings):
    settings.POLAR_SERVER = "fake"
    fill_the_cache()
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page)
    expect(page.locator("#result_list tbody tr")).to_have_count(13)
    # No sideways scrolling: neither the page nor the table's own box.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280
    widths = page.evaluate(
        "() => { const t = document.querySelector('.results');"
        " return [t.scrollWidth, t.clientWidth]; }"
    )
    assert widths[0] <= widths[1], widths
    # "Sync from Polar" (a POST button) looks like Django's own "Overview" link beside it.
    link = page.locator(".object-tools a", has_text="Overview")
    button = page.get_by_role("button", name="Sync from Polar")
    link_box, button_box = box(link), box(button)
    assert abs(link_box["height"] - button_box["height"]) <= 1, (link_box, button_box)
    assert abs(link_box["y"] - button_box["y"]) <= 1, (link_box, button_box)
    for prop in ("fontSize", "fontFamily", "textTransform", "borderRadius", "paddingTop"):
        assert link.evaluate(f"(e) => getComputedStyle(e).{prop}") == button.evaluate(
            f"(e) => getComputedStyle(e).{prop}"
        ), prop
    # One rendering of an empty value: Django's own.
    cells = page.locator("#result_list tbody td").all_inner_texts()
    assert "—" not in "".join(cells)
    assert "-" in [text.strip() for text in cells]
    screenshot(page, "admin-checkouts", viewport=None)


def test_the_detail_page_has_no_developer_hint_and_aligned_tools(page, settings):
    settings.POLAR_SERVER = "sandbox"
    settings.POLAR_ORGANIZATION_SLUG = None
    checkout = store(customer_email="ada@example.com")
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page)
    page.goto(f"{LIST}{checkout.pk}/change/")
    expect(page.locator("body")).not_to_contain_text("POLAR_ORGANIZATION_SLUG")
    button = page.get_by_role("button", name="Refresh from Polar")
    history = page.locator(".object-tools a", has_text="History")
    assert abs(box(history)["height"] - box(button)["height"]) <= 1
    assert abs(box(history)["y"] - box(button)["y"]) <= 1


@pytest.mark.parametrize("width", [390, 1280])
def test_the_overview_chart_is_readable_on_a_phone(page, settings, width):
    settings.POLAR_SERVER = "fake"
    fill_the_cache()
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page)
    page.goto(LIST + "overview/")
    label = page.locator(".polar-chart text").first
    expect(label).to_be_visible()
    # Drawn at 11 px: shrunk to fit 390 px it would be about 5 px.
    assert box(label)["height"] >= 10
    # Only the chart's own box scrolls sideways, not the page.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    expect(page.locator("#polar-conversion")).to_have_text(re.compile(r"^\d+(\.\d)?%$"))
    # The first list is the checkouts' (the subscriptions' one follows it, issue 13).
    expect(page.locator(".polar-kpis").first).to_contain_text("tax included")
    if width == 1280:
        screenshot(page, "admin-overview", viewport=None)
