"""System checks: catch a misconfigured Polar integration at start-up, not at checkout."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Warning, register

from .client import resolve_server
from .conf import polar_settings


@register("polar_checkouts")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Validate ``POLAR_SERVER``, ``POLAR_CHECKOUT_PATH`` and warn about a missing token."""
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
