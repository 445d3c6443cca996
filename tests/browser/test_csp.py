"""The checkout page works under a strict Content-Security-Policy, with zero violations.

Unlike the other browser tests (which run against the fake mounted on the shop's own
origin), Polar here is another origin, as in production: the standalone fake Polar on
its own loopback port, allowed by ``connect-src`` and nothing else. The policy forbids
inline scripts and styles and every third-party origin but Stripe.js. Violations are
caught by a ``securitypolicyviolation`` listener injected before the page's own script
and in the console (Chromium's ``report-uri`` requests cannot be intercepted, so the
policy sends none). A deliberate violation at the end proves the listener would have
seen one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from polar_checkouts.models import CheckoutSession
from polar_checkouts.testing import PRODUCT_ONE_TIME_ID, FakePolar
from polar_checkouts.testing.server import FakePolarServer
from tests.browser.test_checkout_flows import expect_receipt, fill_billing, start_checkout

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push({
    directive: event.violatedDirective, blocked: event.blockedURI, sample: event.sample,
  });
});
"""


def strict_policy(polar_origin: str) -> str:
    """What a careful shop sends with its checkout page."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' https://js.stripe.com",
            "frame-src https://js.stripe.com",
            f"connect-src 'self' {polar_origin}",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


@pytest.fixture
def polar_elsewhere(settings) -> Iterator[FakePolarServer]:
    """The fake Polar on its own origin; the shop calls it over HTTP like the real one."""
    server = FakePolarServer(FakePolar()).start()
    settings.POLAR_SERVER = server.base_url
    settings.POLAR_ACCESS_TOKEN = "polar_oat_csp_test"
    # Not POLAR_SERVER = "fake", so the fake's test-payment provider is listed by hand.
    settings.POLAR_PAYMENT_PROVIDERS = [
        "polar_checkouts.testing.payment.FakePaymentProvider",
        "polar_checkouts.storefront.payment.StripeProvider",
    ]
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def csp_page(browser, live_server, polar_elsewhere) -> Iterator[Any]:
    """A page whose documents carry the strict policy; records violations and the console."""
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(15_000)
    policy = strict_policy(polar_elsewhere.base_url)
    console: list[str] = []

    def add_policy(route: Any) -> None:
        if route.request.resource_type != "document":
            route.continue_()
            return
        response = route.fetch(max_redirects=0)
        route.fulfill(
            response=response,
            headers={**response.headers, "content-security-policy": policy},
        )

    context.route(re.compile(r"^" + re.escape(live_server.url) + r"/"), add_policy)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    page.console_lines = console
    page.policy = policy
    yield page
    context.close()


def violations(page: Any) -> list[dict[str, Any]]:
    return list(page.evaluate("() => window.__cspViolations || []"))


@pytest.mark.parametrize("calls", ["browser", "server"])
def test_purchase_under_a_strict_policy_has_no_violation(
    csp_page, settings, polar_elsewhere, calls
):
    settings.POLAR_CLIENT_CALLS = calls
    page = csp_page
    polar_requests: list[str] = []
    page.on(
        "request",
        lambda r: (
            polar_requests.append(r.url) if r.url.startswith(polar_elsewhere.base_url) else None
        ),
    )

    start_checkout(page, PRODUCT_ONE_TIME_ID)
    assert page.evaluate("() => document.readyState") == "complete"
    fill_billing(page)
    page.get_by_label("Card succeeds").check()
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    checkout_id = expect_receipt(page)

    assert CheckoutSession.objects.get(pk=checkout_id).status == "succeeded"
    # In browser mode the page really talked to Polar's origin (allowed by connect-src).
    assert bool(polar_requests) == (calls == "browser")
    assert violations(page) == []
    csp_lines = [line for line in page.console_lines if "Content Security Policy" in line]
    assert csp_lines == []
    errors = [line for line in page.console_lines if line.startswith(("error", "pageerror"))]
    assert errors == []

    # The listeners work: an inline style attribute is a violation under this policy.
    page.evaluate(
        "() => { const d = document.createElement('div');"
        " d.setAttribute('style', 'color: red'); document.body.appendChild(d); }"
    )
    expect(page.locator("body")).to_be_visible()
    page.wait_for_function("() => window.__cspViolations.length > 0")
    assert [v["directive"] for v in violations(page)] == ["style-src-attr"]


def test_the_policy_blocks_what_it_should(csp_page, live_server):
    """Sanity check of the policy itself: a script from elsewhere is refused."""
    page = csp_page
    page.goto("/checkout/success/?checkout_id=00000000-0000-4000-8000-000000000000")
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.src = 'https://evil.example/x.js'; document.head.appendChild(s); }"
    )
    page.wait_for_function("() => window.__cspViolations.length > 0")
    blocked = violations(page)
    assert blocked[0]["directive"].startswith("script-src")
    assert "evil.example" in json.dumps(blocked)
