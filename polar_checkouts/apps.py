"""Django app configuration."""

import logging

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

#: Loggers whose records may carry a client secret (or an echoed access token); the app
#: masks both in them.
SECRET_BEARING_LOGGERS = (
    "polar_checkouts",
    "django.request",
    "django.server",
    "urllib3.connectionpool",
    "urllib3.util.retry",
)


class PolarCheckoutsConfig(AppConfig):
    name = "polar_checkouts"
    verbose_name = _("Polar checkouts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
        from .masking import MaskSecretsFilter
        from .storefront import checks as storefront_checks  # noqa: F401  (registers it too)
        from .storefront import limits  # noqa: F401  (registers the limits' check)

        # Checkout URLs carry the buyer's client secret, in this site's paths and in
        # Polar's: Django logs request paths, urllib3 logs the URL of every retry.
        for name in SECRET_BEARING_LOGGERS:
            logger = logging.getLogger(name)
            if not any(isinstance(f, MaskSecretsFilter) for f in logger.filters):
                logger.addFilter(MaskSecretsFilter())
