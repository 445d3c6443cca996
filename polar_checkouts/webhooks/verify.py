"""Is a delivery from Polar? Standard Webhooks signature checks over the raw body.

Nothing here touches the database: a delivery is verified (:func:`verify_signature`) and
parsed (:func:`parse_event`) before anything of it is stored. Both raise
:class:`~polar_checkouts.exceptions.WebhookRejected`, whose ``reason`` is for the log only.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from django.utils import timezone
from standardwebhooks.webhooks import (
    EmptyWebhookSecretError,
    Webhook,
    WebhookVerificationError,
)

from ..exceptions import WebhookRejected

#: Polar's tolerance (and the ``standardwebhooks`` library's) for ``webhook-timestamp``.
TIMESTAMP_TOLERANCE: Final = dt.timedelta(minutes=5)
#: Prefix of the secrets Polar generates since 2026-06 (base64 key material after it).
WHSEC_PREFIX: Final = "whsec_"
_SIGNATURE_HEADERS: Final = ("webhook-id", "webhook-timestamp", "webhook-signature")


def verifiers_for(secret: str) -> list[Webhook]:
    """Standard Webhooks verifiers for every key Polar may sign with for ``secret``.

    Polar keys the HMAC with the UTF-8 bytes of the whole secret string, so it is
    base64-encoded here for the library to decode again. A ``whsec_…`` secret is also
    tried the Standard Webhooks way (the base64-decoded part after the prefix), as
    Polar's current SDK does.
    """
    verifiers = [Webhook(base64.b64encode(secret.encode()).decode())]
    if secret.startswith(WHSEC_PREFIX):
        # Not base64 after the prefix: only the raw-bytes key applies.
        with contextlib.suppress(binascii.Error, ValueError, EmptyWebhookSecretError):
            verifiers.append(Webhook(secret))
    return verifiers


def clean_signature_header(value: str) -> str:
    """Keep only well-formed ``v1,<base64>`` entries (the library chokes on malformed ones)."""
    kept = []
    for entry in value.split():
        version, _, signature = entry.partition(",")
        if version != "v1" or not signature:
            continue
        try:
            base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            continue
        kept.append(entry)
    return " ".join(kept)


def verify_signature(
    body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[str],
    *,
    now: dt.datetime | None = None,
) -> None:
    """Raise :class:`WebhookRejected` unless ``body`` is signed by one of ``secrets``.

    ``headers`` are matched case-insensitively; the timestamp must be within
    :data:`TIMESTAMP_TOLERANCE` of ``now``.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    if not all(lowered.get(name) for name in _SIGNATURE_HEADERS):
        raise WebhookRejected("missing webhook-id, webhook-timestamp or webhook-signature", 401)
    now = now or timezone.now()
    try:
        sent_at = dt.datetime.fromtimestamp(int(lowered["webhook-timestamp"]), tz=dt.timezone.utc)
    except (ValueError, OverflowError, OSError) as exc:
        raise WebhookRejected("unreadable webhook-timestamp", 401) from exc
    if abs(now - sent_at) > TIMESTAMP_TOLERANCE:
        raise WebhookRejected("webhook-timestamp outside the 5 minute tolerance", 401)
    signature = clean_signature_header(lowered["webhook-signature"])
    if not signature:
        raise WebhookRejected("no well-formed v1 signature", 401)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookRejected("body is not UTF-8", 400) from exc
    signed = {
        "webhook-id": lowered["webhook-id"],
        "webhook-timestamp": lowered["webhook-timestamp"],
        "webhook-signature": signature,
    }
    for secret in secrets:
        for verifier in verifiers_for(secret):
            try:
                verifier.verify(text, signed, json_parse=False)
            except WebhookVerificationError:
                continue
            return
    raise WebhookRejected("signature mismatch (check POLAR_WEBHOOK_SECRET)", 401)


def parse_event(body: bytes) -> dict[str, Any]:
    """The event object of a verified body: JSON with a string ``type``; else rejected."""
    try:
        event = json.loads(body, parse_constant=_refuse_constant)
    except _NonStandardNumber as exc:
        raise WebhookRejected("NaN or Infinity in the JSON", 400) from exc
    except ValueError as exc:
        raise WebhookRejected("body is not JSON", 400) from exc
    if not isinstance(event, dict):
        raise WebhookRejected("body is not a JSON object", 400)
    event_type = event.get("type")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 255:
        raise WebhookRejected("missing or invalid event type", 400)
    if _may_hold_unstorable(body) and not _storable(event):
        raise WebhookRejected("NUL character or lone surrogate in the JSON", 400)
    return event


class _NonStandardNumber(Exception):
    """``NaN``, ``Infinity`` or ``-Infinity``: Python's JSON reader takes them, standard JSON
    (and so PostgreSQL's ``jsonb``, where the body is stored as is) does not."""


def _refuse_constant(name: str) -> Any:
    raise _NonStandardNumber(name)


#: A JSON escape that can make a NUL character or a surrogate (``\u0000``, ``\uD800`` to
#: ``\uDFFF``, any case).
_RISKY_ESCAPE: Final = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _may_hold_unstorable(body: bytes) -> bool:
    """Whether the parsed ``body`` can hold a NUL or a surrogate at all, read from the bytes.

    A body without NUL bytes is JSON in UTF-8 (``json.loads`` reads UTF-16 and UTF-32,
    whose ASCII characters carry NUL bytes), and valid UTF-8 decodes to neither (a raw NUL
    inside a JSON string is refused by ``json.loads``; an encoded surrogate by the UTF-8
    codec), so only an escape can make one. Without such an escape the walk of
    :func:`_storable` over every key and value is skipped: it cost a few per cent of a
    delivery. With one (an emoji sent as an escaped surrogate pair, say) the walk decides.
    """
    return b"\x00" in body or _RISKY_ESCAPE.search(body) is not None


def _storable(value: Any) -> bool:
    """False when a string holds what no database text column can store (NUL, surrogates)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return False
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True
