"""Polar's webhook endpoint: check size and signature, then hand the event on to processing.

The view only speaks HTTP: what a delivery is worth is decided by :mod:`.verify`, what is
done with it by :mod:`.processing`. A rejected delivery is logged and answered with a
generic 4xx; nothing is stored.
"""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..conf import polar_settings
from ..exceptions import WebhookRejected
from ..httputil import declared_length
from .events import is_known_event_type
from .inbox import receive_delivery
from .processing import STORED_HEADERS
from .verify import parse_event, verify_signature

logger = logging.getLogger("polar_checkouts.webhooks")


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(text + "\n", status=status, content_type="text/plain; charset=utf-8")


def _log_value(value: str | None) -> str:
    # Header values come from anyone on the internet: keep log lines short and one line.
    return repr((value or "")[:80])


@csrf_exempt
@require_POST
@transaction.non_atomic_requests
def webhook_view(request: HttpRequest) -> HttpResponse:
    """Polar's webhook endpoint (``polar_checkouts:webhook``): verify, record, enqueue.

    Answers 200 once the event is recorded (processing runs as a task after the commit
    and never changes the answer), 202 for a type unknown here (recorded and passed on;
    Polar's guidance for events a receiver does not act on), 503 when the delivery could
    not be recorded (the database is down: Polar retries), 4xx for a delivery that fails
    verification, 413 for a body over ``POLAR_WEBHOOK_MAX_BODY`` and 503 while
    ``POLAR_WEBHOOK_SECRET`` is not set.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    secrets = polar_settings.webhook_secrets
    if not secrets:
        logger.error("Polar webhook refused: POLAR_WEBHOOK_SECRET is not set (from %s)", remote)
        return _plain(503, "Webhooks are not configured.")
    max_body = int(polar_settings.WEBHOOK_MAX_BODY)
    try:
        if declared_length(request) > max_body:
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
    try:
        # The verified text is stored as is (verify_signature checked it is UTF-8).
        receive_delivery(
            webhook_id=webhook_id, payload=payload, headers=headers, body=body.decode()
        )
    except DatabaseError:
        # Not recorded, so not ours yet: Polar's retry is the only copy left.
        logger.exception(
            "Polar webhook %s could not be recorded (from %s)", _log_value(webhook_id), remote
        )
        return _plain(503, "Could not record the event; please retry.")
    if not is_known_event_type(str(payload["type"])):
        return _plain(202, "Accepted.")
    return _plain(200, "OK")
