"""System check: every configured payment provider loads, and so does its template."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Tags, register
from django.template import TemplateDoesNotExist
from django.template.loader import get_template

from ..conf import polar_settings
from .payment import load_provider


@register(Tags.templates)
def check_payment_providers(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``POLAR_PAYMENT_PROVIDERS``: each entry imports, and its template can be found."""
    errors: list[CheckMessage] = []
    for path in polar_settings.payment_providers:
        try:
            provider = load_provider(path)
        except Exception as exc:  # ImportError, ImproperlyConfigured, a broken module…
            errors.append(
                Error(
                    f"Payment provider {path!r} cannot be loaded: {exc}",
                    hint=_hint(path),
                    id="polar_checkouts.E101",
                )
            )
            continue
        try:
            get_template(provider.template_name)
        except TemplateDoesNotExist:
            errors.append(
                Error(
                    f"The template {provider.template_name!r} of payment provider "
                    f"{path!r} cannot be found.",
                    hint=_hint(path),
                    id="polar_checkouts.E102",
                )
            )
    return errors


def _hint(path: Any) -> str:
    module = path.rsplit(".", 2)[0] if isinstance(path, str) else getattr(path, "__module__", "")
    return (
        f"Add the app that provides it ({module!r}) to INSTALLED_APPS, or change "
        "POLAR_PAYMENT_PROVIDERS (and POLAR_SERVER, whose value may choose the default)."
    )
