"""System checks: catch a misconfigured Polar integration at start-up, not at checkout."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Info, Tags, Warning, register
from django.db import DatabaseError

from .client import API_VERSION_PATTERN, KNOWN_API_VERSIONS, PINNED_API_VERSION, resolve_server
from .conf import polar_settings
from .models import WebhookEvent, WebhookOutcome


@register("polar_checkouts")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Validate ``POLAR_SERVER``, ``POLAR_CHECKOUT_PATH``, ``POLAR_API_VERSION``,
    ``POLAR_TRANSPORT``; warn about a missing token."""
    messages: list[CheckMessage] = []
    server = polar_settings.SERVER
    try:
        if not isinstance(server, str):
            raise ValueError(f"POLAR_SERVER must be a string, not {type(server).__name__}")
        resolve_server(server)
    except ValueError as exc:
        messages.append(
            Error(
                f"POLAR_SERVER is invalid: {exc}",
                hint="Use 'sandbox' (the default), 'production', 'fake' or a base URL.",
                id="polar_checkouts.E001",
            )
        )
    path = polar_settings.CHECKOUT_PATH
    if not isinstance(path, str) or not (path.startswith("/") and path.endswith("/")):
        messages.append(
            Error(
                f"POLAR_CHECKOUT_PATH must start and end with '/': {path!r}",
                hint="Use '/v1/checkouts/' (the default) or '/v1/checkouts/custom/'.",
                id="polar_checkouts.E002",
            )
        )
    version = polar_settings.API_VERSION
    if version not in (None, "") and not (
        isinstance(version, str) and API_VERSION_PATTERN.fullmatch(version)
    ):
        messages.append(
            Error(
                f"POLAR_API_VERSION must be a date like {PINNED_API_VERSION!r} (YYYY-MM) "
                f"or None: {version!r}",
                hint=f"Polar serves {' and '.join(KNOWN_API_VERSIONS)}; use "
                f"{PINNED_API_VERSION!r} (the default), or None to send no Polar-Version "
                "header (the seed era on /v1/checkouts/custom/).",
                id="polar_checkouts.E006",
            )
        )
    try:
        factory = polar_settings.transport_factory
    except ImportError as exc:
        factory, problem = None, f"cannot be imported: {exc}"
    else:
        problem = "" if factory is None or callable(factory) else "is not callable"
    if problem:
        messages.append(
            Error(
                f"POLAR_TRANSPORT {problem}",
                hint="Name a factory taking the client's urllib3 Retry and returning a "
                "requests adapter, by dotted path, or leave it unset (the network).",
                id="polar_checkouts.E005",
            )
        )
    if server != "fake" and not polar_settings.ACCESS_TOKEN:
        messages.append(
            Warning(
                "POLAR_ACCESS_TOKEN is not set: server-side calls to Polar will fail with 401.",
                hint="Create an Organization Access Token in Polar's dashboard (sandbox or "
                "production, matching POLAR_SERVER) and set POLAR_ACCESS_TOKEN.",
                id="polar_checkouts.W001",
            )
        )
    return messages


@register("polar_checkouts")
def check_webhook_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn when webhooks cannot be verified; reject unusable webhook settings."""
    messages: list[CheckMessage] = []
    secret = polar_settings.WEBHOOK_SECRET
    entries = secret if isinstance(secret, (list, tuple)) else [secret]
    if secret is not None and not all(isinstance(entry, str) for entry in entries):
        messages.append(
            Error(
                "POLAR_WEBHOOK_SECRET must be a string (or a list of strings while rotating).",
                id="polar_checkouts.E003",
            )
        )
    elif not any(entries):
        messages.append(
            Warning(
                "POLAR_WEBHOOK_SECRET is not set: the webhook endpoint answers 503 and "
                "Polar's events (payments, expiries) never reach this site.",
                hint="Add a webhook endpoint in Polar's dashboard (Settings → Webhooks) "
                "pointing at the 'polar_checkouts:webhook' URL and set its secret as "
                "POLAR_WEBHOOK_SECRET.",
                id="polar_checkouts.W002",
            )
        )
    max_body = polar_settings.WEBHOOK_MAX_BODY
    if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body <= 0:
        messages.append(
            Error(
                f"POLAR_WEBHOOK_MAX_BODY must be a positive number of bytes: {max_body!r}",
                id="polar_checkouts.E004",
            )
        )
    return messages


@register("polar_checkouts", Tags.database)
def check_failed_webhook_events(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """Warn when failed webhook events are waiting for a retry (W003).

    A database check, as Django wants checks that query: it runs when ``databases`` are
    given (``migrate``, ``manage.py check --database default``), not on every start-up.
    """
    messages: list[CheckMessage] = []
    for alias in databases or ():
        try:
            failed = WebhookEvent.objects.using(alias).filter(outcome=WebhookOutcome.FAILED).count()
        except DatabaseError:
            continue  # not migrated yet, or not this app's database
        if failed:
            messages.append(
                Warning(
                    f"{failed} Polar webhook event(s) failed and are waiting for a retry "
                    f"(database {alias!r}).",
                    hint="See their errors in the admin (Webhook events, outcome Failed). "
                    "Once fixed, run 'manage.py polar_checkouts_process_webhooks "
                    "--all-failed' or use the admin's 'Process again'.",
                    id="polar_checkouts.W003",
                )
            )
    return messages


@register("polar_checkouts")
def check_dashboard_links(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Say how to get links to Polar's dashboard in the admin (I001).

    A developer's hint, given here rather than on the shop owner's admin pages: without
    ``POLAR_ORGANIZATION_SLUG`` the admin links a checkout only when Polar's payload names
    its organization.
    """
    if polar_settings.SERVER not in ("production", "sandbox") or polar_settings.ORGANIZATION_SLUG:
        return []
    return [
        Info(
            "POLAR_ORGANIZATION_SLUG is not set: the admin may not be able to link checkout "
            "sessions to Polar's dashboard.",
            hint="Set it to your organization's slug (the part after /dashboard/ in the "
            "dashboard's address).",
            id="polar_checkouts.I001",
        )
    ]
