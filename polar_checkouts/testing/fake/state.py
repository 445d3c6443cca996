"""The fake's stored checkout, and small helpers every part of the fake uses."""

from __future__ import annotations

import calendar
import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

JsonDict = dict[str, Any]


def isoformat(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``, as Polar writes datetimes."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def new_token(prefix: str, length: int = 48) -> str:
    """A random secret such as a client secret: ``prefix`` and ``length`` letters/digits."""
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def next_period(start: datetime, interval: str, count: int = 1) -> datetime:
    """The end of a period starting at ``start``: same day of the next month (or the
    month's last day), as Polar's ``SubscriptionRecurringInterval.get_next_period``."""
    if interval == "day":
        return start + timedelta(days=count)
    if interval == "week":
        return start + timedelta(weeks=count)
    months = count * (12 if interval == "year" else 1)
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


@dataclass
class CheckoutState:
    """One checkout session as the fake stores it (its JSON is built by :mod:`.serialise`)."""

    id: str
    created_at: datetime
    expires_at: datetime
    client_secret: str
    product_id: str
    price_id: str
    amount: int | None
    currency: str | None
    modified_at: datetime | None = None
    status: str = "open"
    success_url: str | None = None
    embed_origin: str | None = None
    discount_id: str | None = None
    allow_discount_codes: bool = True
    customer_id: str | None = None
    external_customer_id: str | None = None
    customer_name: str | None = None
    customer_email: str | None = None
    customer_ip_address: str | None = None
    customer_billing_address: dict[str, str | None] | None = None
    customer_tax_id: str | None = None
    payment_processor_metadata: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    customer_metadata: dict[str, Any] = field(default_factory=dict)
    custom_field_data: dict[str, Any] = field(default_factory=dict)
    subscription_id: str | None = None
    customer_session_token: str | None = None
    settle: tuple[str, datetime] | None = None
    pending_action: bool = False
    order_id: str | None = None
    #: When the checkout's trial would end (Polar's ``trial_end``), or None without one.
    trial_end: datetime | None = None
    product_ids: list[str] = field(default_factory=list)
    #: Create fields the fake does not act on but shows back, as Polar does (dated versions).
    echo: dict[str, Any] = field(default_factory=dict)
