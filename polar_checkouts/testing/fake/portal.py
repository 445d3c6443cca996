"""The fake's customer portal page: ``/{organization slug}/portal?customer_session_token=``.

What a customer session's ``customer_portal_url`` opens. It lists the signed-in
customer's subscriptions and orders, cancels a subscription at its period's end (or
undoes that) through the same :mod:`.lifecycle` as the control routes, so the shop gets
the webhooks Polar would send, and links back to the session's ``return_url``. It is one of
the fake's own routes, so the standalone server and the mounted ``polar_checkouts.testing``
urls both serve it. Rendered with Django's template engine, standalone (no settings).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from django.template import Context, Engine, Template

from ... import money
from .. import catalogue
from ..messages import FakeResponse
from . import lifecycle
from .customers import session_customer
from .subscriptions import parse_time

if TYPE_CHECKING:
    from .core import FakePolar

#: The page's path under the fake's root.
PATH = f"/{catalogue.ORGANIZATION_SLUG}/portal"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@lru_cache(maxsize=1)
def _template() -> Template:
    engine = Engine(dirs=[str(TEMPLATES)], autoescape=True)
    return engine.get_template("polar_checkouts/fake/portal.html")


def _html(status: int, context: dict[str, Any]) -> FakeResponse:
    body = _template().render(Context({"organization": catalogue.ORGANIZATION_NAME, **context}))
    headers = {"content-type": "text/html; charset=utf-8", "cache-control": "no-store"}
    return FakeResponse(status, headers, body.encode())


def _day(value: str | None) -> str:
    return parse_time(value).strftime("%Y-%m-%d") if value else ""


def page(fake: FakePolar, params: dict[str, list[str]], notice: str = "") -> FakeResponse:
    """``GET``: the signed-in customer's subscriptions and orders."""
    token = (params.get("customer_session_token") or [""])[-1]
    customer = session_customer(fake, token)
    if customer is None:
        return _html(
            401,
            {
                "error": "This portal link is invalid or has expired. Go back to the shop "
                "and open the customer portal again."
            },
        )
    session = fake.customer_sessions[token]
    subscriptions = [
        {
            "id": s["id"],
            "product": fake.products[s["product_id"]]["name"],
            "status": s["status"],
            "price": money.format_money(s["amount"], s["currency"], "en"),
            "interval": s["recurring_interval"],
            "period_start": _day(s["current_period_start"]),
            "period_end": _day(s["current_period_end"]),
            "cancel_at_period_end": s["cancel_at_period_end"],
            "ends_at": _day(s["ends_at"]),
            "can_cancel": s["status"] in lifecycle.BILLABLE and not s["cancel_at_period_end"],
            "can_uncancel": s["status"] in lifecycle.BILLABLE and s["cancel_at_period_end"],
        }
        for s in fake.subscriptions.values()
        if s["customer_id"] == customer["id"]
    ]
    orders = [
        {
            "id": o["id"],
            "date": _day(o["created_at"]),
            "product": fake.products[o["product_id"]]["name"],
            "status": o["status"].replace("_", " "),
            "total": money.format_money(o["total_amount"], o["currency"], "en"),
        }
        for o in sorted(fake.orders.values(), key=lambda o: o["created_at"], reverse=True)
        if o["customer_id"] == customer["id"]
    ]
    return _html(
        200,
        {
            "customer": customer,
            "token": token,
            "subscriptions": subscriptions,
            "orders": orders,
            "return_url": session["return_url"],
            "notice": notice,
        },
    )


def act(fake: FakePolar, body: bytes) -> FakeResponse:
    """``POST`` (a form): cancel at the period's end, or uncancel; then back to the page."""
    form = parse_qs(body.decode("utf-8", errors="replace"))
    token = (form.get("customer_session_token") or [""])[-1]
    customer = session_customer(fake, token)
    subscription = fake.subscriptions.get((form.get("subscription_id") or [""])[-1])
    action = (form.get("action") or [""])[-1]
    if customer is None:
        return page(fake, {"customer_session_token": [token]})
    if subscription is None or subscription["customer_id"] != customer["id"]:
        return _html(404, {"error": "No such subscription."})
    try:
        if action == "cancel":
            lifecycle.cancel(fake, subscription["id"], at_period_end=True)
        elif action == "uncancel":
            lifecycle.uncancel(fake, subscription["id"])
        else:
            return _html(400, {"error": f"Unknown action {action!r}."})
    except ValueError as exc:
        return page(fake, {"customer_session_token": [token]}, notice=str(exc))
    # Post/redirect/get, relative to this page so any mount point works.
    query = urlencode({"customer_session_token": token, "email": customer["email"] or ""})
    return FakeResponse(303, {"location": f"portal?{query}"}, b"")
