"""Figure (j): the Polar round trips between a shopper's click and the page they see.

The fake Polar runs in this process with every call held ``latency`` seconds (150 ms by
default, ``FakePolar(latency=...)``), as Polar across a network would be; the shop is
the app's own views through Django's test client, on the benchmark's PostgreSQL. Two
flows, each timed against its baseline in the same rounds (contenders alternate):

* **button → checkout page**: the buy button's POST (the create) and the GET of the
  page it redirects to, until the page's HTML is in. Baseline: the same with
  ``POLAR_CHECKOUT_FRESH_SECONDS = 0``, the code path before the change (the page asks
  Polar for the checkout the create just stored).
* **confirm → receipt**: the confirm (server mode, so it goes through the shop), the
  status poll the page's script makes next, and the receipt it opens. Subject: Polar's
  webhook already stored the success when the poll comes (the status view answers from
  the cache). Baseline: the webhook has not arrived, so the poll asks Polar: what every
  poll did before the change, webhook or not (same calls, same code).

Untimed between the timed parts: the catalogue kept warm, the checkout for the confirm
created, the payment settled on Polar's side and its webhooks delivered to the shop
(which happens on Polar's side while the buyer waits). The sequential Polar calls of
each timed flow are counted from the fake's request log and reported with the times.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from typing import Any

from bench import db
from bench.harness import WALL, Figure, summary

#: The network latency injected into every Polar call (seconds).
LATENCY = 0.15

BUYER = {
    "customer_name": "Ada",
    "customer_email": "ada@example.com",
    "customer_billing_address": {"country": "FR", "postal_code": "75002"},
}


def run(
    *, rounds: int = 5, number: int = 5, latency: float = LATENCY, prepare: bool = True
) -> list[Figure]:
    """Time both flows against their baselines; count the Polar calls of each."""
    from django.conf import settings
    from django.core.cache import cache
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import reverse

    from polar_checkouts import services
    from polar_checkouts.client import default_transport
    from polar_checkouts.testing import PRODUCT_ONE_TIME_ID, TOKEN_SUCCEEDED, FakePolar
    from polar_checkouts.testing.default import set_default_fake
    from polar_checkouts.testing.transport import FakeTransport

    if prepare:
        db.prepare_databases(("default",))
    cache.clear()

    fake = FakePolar()
    browser = Client()
    webhook_path = reverse("polar_checkouts:webhook")

    def deliver(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        response = browser.generic(
            "POST", webhook_path, body, content_type="application/json", headers=headers
        )
        return int(response.status_code)

    fake.configure_webhooks(
        "http://testserver" + webhook_path,
        settings.POLAR_WEBHOOK_SECRET,
        delivery="manual",
        sender=deliver,
    )

    def timed(work: Callable[[], Any]) -> tuple[float, list[str]]:
        """Wall seconds of ``work`` and the Polar operations it called, in order."""
        before = len(fake.calls())
        start = WALL()
        work()
        elapsed = WALL() - start
        return elapsed, [str(call.operation) for call in fake.calls()[before:]]

    def button_to_page(fresh_seconds: float) -> Callable[[], tuple[float, list[str]]]:
        def one() -> tuple[float, list[str]]:
            services.list_products()  # warm (cached for a minute), as on a live shop

            def flow() -> None:
                created = browser.post(
                    "/checkout/create/",
                    {"product_id": PRODUCT_ONE_TIME_ID},
                    HTTP_REFERER="http://testserver/",
                )
                assert created.status_code == 303, created.status_code
                page = browser.get(created["Location"])
                assert page.status_code == 200, page.status_code

            with override_settings(POLAR_CHECKOUT_FRESH_SECONDS=fresh_seconds):
                result = timed(flow)
            fake.deliver_webhooks()  # checkout.created: the shop's log stays in step
            return result

        return one

    def confirm_to_receipt(webhook_first: bool) -> Callable[[], tuple[float, list[str]]]:
        def one() -> tuple[float, list[str]]:
            checkout = services.create_checkout(product_id=PRODUCT_ONE_TIME_ID)
            secret = checkout.client_secret or ""
            fake.deliver_webhooks()

            def confirm() -> None:
                response = browser.post(
                    f"/checkout/client/{secret}/confirm",
                    json.dumps({**BUYER, "confirmation_token_id": TOKEN_SUCCEEDED}),
                    content_type="application/json",
                )
                assert response.status_code == 200, response.content

            def poll_and_receipt() -> None:
                status = browser.get(f"/checkout/{secret}/status/").json()
                assert status["status"] == "succeeded", status
                receipt = browser.get(status["success_url"])
                assert receipt.status_code == 200, receipt.status_code
                assert b'data-polar-state="succeeded"' in receipt.content

            first, first_calls = timed(confirm)
            fake.checkout(str(checkout.pk))  # the payment settles on Polar's side
            if webhook_first:
                fake.deliver_webhooks()
            second, second_calls = timed(poll_and_receipt)
            fake.deliver_webhooks()
            return first + second, first_calls + second_calls

        return one

    flows = {
        "button → checkout page": {
            "page from the cache": button_to_page(services_default_fresh()),
            "page asks Polar (before)": button_to_page(0),
        },
        "confirm → receipt": {
            "webhook stored the success": confirm_to_receipt(True),
            "poll asks Polar (before)": confirm_to_receipt(False),
        },
    }

    figures = []
    previous = set_default_fake(fake)
    try:
        with (
            default_transport(FakeTransport(fake)),
            override_settings(POLAR_SERVER="fake", POLAR_CLIENT_CALLS="server"),
        ):
            fake.latency = 0
            services.client_get(  # the seller's organization, as any earlier visit learns it
                services.create_checkout(product_id=PRODUCT_ONE_TIME_ID).client_secret or ""
            )
            fake.latency = latency
            for flow_name, contenders in flows.items():
                figures.append(_measure(flow_name, contenders, rounds, number, latency))
    finally:
        set_default_fake(previous)
        fake.close()
    return figures


def services_default_fresh() -> float:
    """The shipped default of ``POLAR_CHECKOUT_FRESH_SECONDS`` (the subject's setting)."""
    from polar_checkouts.conf import DEFAULTS

    return float(DEFAULTS["CHECKOUT_FRESH_SECONDS"])


def _measure(
    flow: str,
    contenders: dict[str, Callable[[], tuple[float, list[str]]]],
    rounds: int,
    number: int,
    latency: float,
) -> Figure:
    """Interleaved rounds of ``number`` flows per contender; per-round mean ratios."""
    names = list(contenders)
    times: dict[str, list[float]] = {name: [] for name in names}
    calls: dict[str, set[tuple[str, ...]]] = {name: set() for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            contenders[name]()  # warm-up
            elapsed = []
            for _ in range(number):
                seconds, operations = contenders[name]()
                elapsed.append(seconds)
                calls[name].add(tuple(operations))
            times[name].append(statistics.fmean(elapsed))
    subject, baseline = names
    return Figure(
        f"j. {flow}, {latency * 1000:.0f} ms Polar latency",
        subject,
        baseline,
        [a / b for a, b in zip(times[subject], times[baseline], strict=True)],
        notes={
            "polar_calls": {name: [list(c) for c in sorted(calls[name])] for name in names},
            "sequential_polar_calls": {name: max(len(c) for c in calls[name]) for name in names},
            "wall_ms_per_flow": {name: summary(v, scale=1e3) for name, v in times.items()},
        },
    )


if __name__ == "__main__":
    db.setup_django()
    from bench.harness import table

    results = run()
    print(table(results))
    for figure in results:
        print(json.dumps(figure.notes, indent=1))
