"""Polar webhooks: verify a delivery, record it once, process it once, answer fast.

The flow of one delivery (API.md §10):

1. :func:`webhook_view` checks size and the Standard Webhooks signature over the raw body
   (:func:`verify_signature`) and parses it (:func:`parse_event`). A rejected delivery is
   logged and answered with a generic 4xx; nothing is stored.
2. :func:`record_delivery` inserts a :class:`~polar_checkouts.models.WebhookEvent` keyed by
   ``webhook-id`` (insert, or get on ``IntegrityError``: never check-then-act).
3. :func:`process_event` locks that row and, unless it was processed before, runs the
   handler for its type inside a savepoint. A handler that raises leaves the event
   ``failed`` with its error and the view answers 500, so Polar retries; the retry (same
   ``webhook-id``) processes it again. Concurrent duplicates wait on the row lock and then
   find it processed.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import json
import logging
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from standardwebhooks.webhooks import (
    EmptyWebhookSecretError,
    Webhook,
    WebhookVerificationError,
)

from .conf import polar_settings
from .masking import mask_secrets_in
from .models import CheckoutSession, WebhookEvent, WebhookOutcome
from .services import store_checkout
from .signals import order_paid, webhook_received

logger = logging.getLogger("polar_checkouts.webhooks")

#: Polar's tolerance (and the ``standardwebhooks`` library's) for ``webhook-timestamp``.
TIMESTAMP_TOLERANCE: Final = dt.timedelta(minutes=5)
#: Headers kept on the recorded event; nothing else of the request is stored.
STORED_HEADERS: Final = (
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
    "user-agent",
)
_SIGNATURE_HEADERS: Final = ("webhook-id", "webhook-timestamp", "webhook-signature")
#: Prefix of the secrets Polar generates since 2026-06 (base64 key material after it).
WHSEC_PREFIX: Final = "whsec_"
#: Event types whose data is a ``Checkout``, stored through the one upsert path.
CHECKOUT_EVENTS: Final = frozenset({"checkout.created", "checkout.updated", "checkout.expired"})
#: Prefixes of event types passed on through signals (and marked processed).
PASSED_ON_PREFIXES: Final = ("order.", "subscription.")
_MAX_ERROR_CHARS: Final = 10_000


class WebhookRejected(Exception):
    """A delivery refused before it is recorded. ``reason`` goes to the log, never out."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


# -- verification ------------------------------------------------------------------------


def webhook_secrets() -> list[str]:
    """The configured ``POLAR_WEBHOOK_SECRET`` values (a string, or several while rotating)."""
    value = polar_settings.WEBHOOK_SECRET
    if isinstance(value, str):
        values: Sequence[Any] = [value]
    elif isinstance(value, (list, tuple)):
        values = value
    else:
        return []
    return [secret for secret in values if isinstance(secret, str) and secret]


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


def _clean_signature_header(value: str) -> str:
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
    signature = _clean_signature_header(lowered["webhook-signature"])
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
        event = json.loads(body)
    except ValueError as exc:
        raise WebhookRejected("body is not JSON", 400) from exc
    if not isinstance(event, dict):
        raise WebhookRejected("body is not a JSON object", 400)
    event_type = event.get("type")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 255:
        raise WebhookRejected("missing or invalid event type", 400)
    if not _storable(event):
        raise WebhookRejected("NUL character or lone surrogate in the JSON", 400)
    return event


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


# -- recording and processing -------------------------------------------------------------


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def checkout_id_for(event_type: str, data: Any) -> uuid.UUID | None:
    """The checkout an event belongs to: the data itself for ``checkout.*``, else its
    ``checkout_id`` (orders and subscriptions carry one)."""
    if not isinstance(data, Mapping):
        return None
    if event_type.startswith("checkout."):
        return _uuid_or_none(data.get("id"))
    return _uuid_or_none(data.get("checkout_id"))


def record_delivery(
    *, webhook_id: str, payload: Mapping[str, Any], headers: Mapping[str, str]
) -> tuple[WebhookEvent, bool]:
    """Store a verified delivery once per ``webhook-id``; ``(event, created)``.

    Insert first and fall back to reading the row on ``IntegrityError``, so concurrent
    duplicates never both insert and never crash on the unique key.
    """
    event_type = str(payload["type"])
    data = payload.get("data")
    object_id = data.get("id") if isinstance(data, Mapping) else None
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                webhook_id=webhook_id,
                type=event_type,
                payload=dict(payload),
                headers={k: v for k, v in headers.items() if k in STORED_HEADERS},
                checkout_id=checkout_id_for(event_type, data),
                object_id=str(object_id)[:255] if object_id else "",
            )
    except IntegrityError:
        existing = WebhookEvent.objects.filter(webhook_id=webhook_id).first()
        if existing is None:
            raise  # not the unique key: a real integrity problem
        return existing, False
    return event, True


def _handle_checkout(event: WebhookEvent, data: Any) -> WebhookOutcome:
    if not isinstance(data, Mapping):
        raise ValueError(f"{event.type} event without a checkout object in 'data'")
    store_checkout(data)
    return WebhookOutcome.PROCESSED


def _handle_passed_on(event: WebhookEvent, data: Any) -> WebhookOutcome:
    # Servers from before order.paid existed (2025-03) create the order once it is paid
    # and send no status: there, order.created is the payment notification.
    is_legacy_paid_order = (
        event.type == "order.created"
        and isinstance(data, Mapping)
        and "status" not in data
        and "paid" not in data
    )
    if event.type == "order.paid" or is_legacy_paid_order:
        if not isinstance(data, Mapping):
            raise ValueError(f"{event.type} event without an order object in 'data'")
        checkout = (
            CheckoutSession.objects.filter(pk=event.checkout_id).first()
            if event.checkout_id
            else None
        )
        order_paid.send(sender=WebhookEvent, order=dict(data), checkout=checkout, event=event)
    return WebhookOutcome.PROCESSED


def handler_for(event_type: str) -> Callable[[WebhookEvent, Any], WebhookOutcome] | None:
    """The built-in handler of an event type, or ``None`` (the event is then ignored)."""
    if event_type in CHECKOUT_EVENTS:
        return _handle_checkout
    if event_type.startswith(PASSED_ON_PREFIXES):
        return _handle_passed_on
    return None


def dispatch_event(event: WebhookEvent) -> WebhookOutcome:
    """Run the handler of ``event``'s type, then ``webhook_received``; return the outcome."""
    handler = handler_for(event.type)
    data = event.payload.get("data") if isinstance(event.payload, Mapping) else None
    outcome = handler(event, data) if handler else WebhookOutcome.IGNORED
    webhook_received.send(sender=WebhookEvent, event=event)
    return outcome


def _error_text() -> str:
    text = mask_secrets_in(traceback.format_exc())
    return text[-_MAX_ERROR_CHARS:]


def process_event(event: WebhookEvent | int) -> WebhookEvent:
    """Process a recorded event unless it already was; return it with its new outcome.

    The row stays locked (``SELECT … FOR UPDATE``) from the check to the final write, so
    of several concurrent callers one processes and the others see the result. A failure
    rolls back the handler's writes (a savepoint) and is recorded on the event.
    """
    pk = event.pk if isinstance(event, WebhookEvent) else event
    with transaction.atomic():
        locked = WebhookEvent.objects.select_for_update().get(pk=pk)
        if locked.is_done:
            return locked
        locked.attempts += 1
        locked.last_attempt_at = timezone.now()
        try:
            with transaction.atomic():
                outcome = dispatch_event(locked)
        except Exception:
            logger.exception(
                "Polar webhook %s (%s) failed on attempt %d",
                locked.webhook_id,
                locked.type,
                locked.attempts,
            )
            locked.outcome = WebhookOutcome.FAILED
            locked.error = _error_text()
            locked.processed_at = None
        else:
            locked.outcome = outcome
            locked.error = ""
            locked.processed_at = timezone.now()
            logger.info("Polar webhook %s (%s): %s", locked.webhook_id, locked.type, outcome.value)
        locked.save(
            update_fields=["attempts", "last_attempt_at", "outcome", "error", "processed_at"]
        )
    return locked


def receive_delivery(
    *, webhook_id: str, payload: Mapping[str, Any], headers: Mapping[str, str]
) -> WebhookEvent:
    """Record a verified delivery and process it (again only if not yet processed)."""
    event, created = record_delivery(webhook_id=webhook_id, payload=payload, headers=headers)
    if not created and event.is_done:
        logger.info("Polar webhook %s (%s) is a duplicate; already done", webhook_id, event.type)
        return event
    return process_event(event)


# -- the endpoint ---------------------------------------------------------------------------


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(text + "\n", status=status, content_type="text/plain; charset=utf-8")


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _log_value(value: str | None) -> str:
    # Header values come from anyone on the internet: keep log lines short and one line.
    return repr((value or "")[:80])


@csrf_exempt
@require_POST
@transaction.non_atomic_requests
def webhook_view(request: HttpRequest) -> HttpResponse:
    """Polar's webhook endpoint (``polar_checkouts:webhook``): verify, record, process.

    Answers 200 once the event is processed (or was before), 500 when processing failed
    (Polar retries), 4xx for a delivery that fails verification, 413 for a body over
    ``POLAR_WEBHOOK_MAX_BODY`` and 503 while ``POLAR_WEBHOOK_SECRET`` is not set.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    secrets = webhook_secrets()
    if not secrets:
        logger.error("Polar webhook refused: POLAR_WEBHOOK_SECRET is not set (from %s)", remote)
        return _plain(503, "Webhooks are not configured.")
    max_body = int(polar_settings.WEBHOOK_MAX_BODY)
    try:
        if _declared_length(request) > max_body:
            raise RequestDataTooBig
        body = request.body
    except RequestDataTooBig:
        body = None
    if body is None or len(body) > max_body:
        logger.warning("Polar webhook rejected: body over %d bytes (from %s)", max_body, remote)
        return _plain(413, "Request body too large.")

    headers = {name: request.headers[name] for name in STORED_HEADERS if name in request.headers}
    try:
        verify_signature(body, headers, secrets)
        payload = parse_event(body)
    except WebhookRejected as exc:
        logger.warning(
            "Polar webhook rejected: %s (webhook-id %s, from %s)",
            exc.reason,
            _log_value(headers.get("webhook-id")),
            remote,
        )
        return _plain(exc.status, "Webhook rejected.")

    webhook_id = headers["webhook-id"]
    if len(webhook_id) > 255:
        logger.warning("Polar webhook rejected: webhook-id too long (from %s)", remote)
        return _plain(400, "Webhook rejected.")
    event = receive_delivery(webhook_id=webhook_id, payload=payload, headers=headers)
    if event.outcome == WebhookOutcome.FAILED:
        return _plain(500, "Processing failed; please retry.")
    return _plain(200, "OK")
