"""Pure rules about Polar's objects: parse a payload, decide what it means.

Nothing here touches the database, settings or the network, so every rule is tested
without them. The models and services apply these rules; they do not restate them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

#: The status Polar gives a checkout that can no longer be paid because time ran out.
EXPIRED = "expired"
#: The status of a checkout a buyer can still pay (until ``expires_at``).
OPEN = "open"


def parse_polar_datetime(value: Any) -> dt.datetime | None:
    """An aware datetime from Polar's ISO-8601 text, or ``None`` when absent or unreadable."""
    if isinstance(value, dt.datetime):
        parsed: dt.datetime | None = value
    elif isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
    else:
        parsed = None
    if parsed is not None and timezone.is_naive(parsed):
        # Polar always sends UTC; a naive value can only mean UTC.
        parsed = timezone.make_aware(parsed, dt.timezone.utc)
    return parsed


def uuid_or_none(value: Any) -> uuid.UUID | None:
    """``value`` as a UUID, or ``None`` when it is empty or not a UUID."""
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except (ValueError, AttributeError, TypeError):
        return None


def is_expired(status: Any, expires_at: Any, now: dt.datetime | None = None) -> bool:
    """Expired in Polar, or still ``open`` there with ``expires_at`` already past.

    The one definition of "effectively expired": ``expires_at`` may be a datetime or
    Polar's text. The database form of the same rule is ``models.expired_condition``.
    """
    if status == EXPIRED:
        return True
    if status != OPEN:
        return False
    when = parse_polar_datetime(expires_at)
    return when is not None and when <= (now or timezone.now())
