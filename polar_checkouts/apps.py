"""Django app configuration."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PolarCheckoutsConfig(AppConfig):
    name = "polar_checkouts"
    verbose_name = _("Polar checkouts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
