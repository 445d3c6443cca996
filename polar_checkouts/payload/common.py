"""Pure helpers every Polar object's payload module uses: dates, ids, numbers, text.

Nothing here touches the database, settings or the network.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any, Final

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ..exceptions import InvalidPayloadError

#: Credentials Polar hands back that must never be stored (a customer-portal bearer token).
UNSTORED_KEYS: Final = ("customer_session_token",)

#: The range of a ``BigIntegerField`` on every database Django supports.
_BIGINT_RANGE: Final = range(-(2**63), 2**63)


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


def int_or_none(value: Any) -> int | None:
    """``value`` as an int a ``BigIntegerField`` can hold, else ``None`` (booleans too)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
        return None
    # An amount no column can hold is not an amount; the raw payload still keeps it.
    return number if number in _BIGINT_RANGE else None


def clip_text(value: Any, max_length: int) -> str:
    """``value`` cut to ``max_length`` characters when it is a string, else ``""``."""
    return value[:max_length] if isinstance(value, str) else ""


def wins_by_date_then_rank(
    *,
    stored_when: dt.datetime | None,
    incoming_when: dt.datetime | None,
    stored_state: Any,
    incoming_state: Any,
    stored_rank: Any,
    incoming_rank: Any,
) -> bool:
    """The shape of every object's "newer data wins" rule: may the incoming data overwrite?

    Each side is dated (``modified_at``, else ``created_at``). Strictly newer data always
    wins and strictly older never does. When the dates cannot tell them apart (equal, or
    one missing) the incoming data wins if it is in the same state, or further along the
    object's lifecycle (a higher ``rank``): a state never moves backwards on a tie.
    """
    if stored_when is not None and incoming_when is not None:
        if incoming_when > stored_when:
            return True
        if incoming_when < stored_when:
            return False
    if incoming_state == stored_state:
        return True
    return bool(incoming_rank > stored_rank)


def bool_or_none(value: Any) -> bool | None:
    """``value`` when it is a real boolean, else ``None`` (``"false"`` is not ``False``)."""
    return value if isinstance(value, bool) else None


def mapping_or_none(value: Any) -> Mapping[str, Any] | None:
    """``value`` when it is a JSON object, else ``None``."""
    return value if isinstance(value, Mapping) else None


def required_id(payload: Any, what: str) -> uuid.UUID:
    """The UUID ``id`` of a Polar object, or :class:`InvalidPayloadError` naming ``what``."""
    object_id = uuid_or_none(payload.get("id")) if isinstance(payload, Mapping) else None
    if object_id is None:
        raise InvalidPayloadError(f"A Polar {what} payload needs a UUID 'id'.")
    return object_id


def currency_of(value: Any) -> str:
    """Polar's currency code, lower-case, or ``""``."""
    return value.lower()[:3] if isinstance(value, str) else ""


def metadata_of(value: Any) -> dict[str, Any]:
    """Polar's ``metadata`` object as a dict (``{}`` when absent or malformed)."""
    return dict(value) if isinstance(value, Mapping) else {}


def merge_payload(stored: Mapping[str, Any] | None, incoming: Mapping[str, Any]) -> dict[str, Any]:
    """The payload to store: ``incoming`` over ``stored``, so keys a payload lacks are kept.

    A public payload carries no ``metadata``/``subscription_id``; keeping the stored keys
    means a client-side read never wipes what a server-side read learnt.
    """
    merged = dict(stored or {})
    merged.update(incoming)
    for key in UNSTORED_KEYS:
        merged.pop(key, None)
    return merged
