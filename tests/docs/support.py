"""Helpers for the invisible blocks of the docs (``<!-- invisible-code-block: python -->``).

A page's settings.py and urls.py fragments run into the page's namespace; these helpers
turn what they defined into Django configuration and check it, so a fragment that stops
working (a wrong setting name, an include that no longer resolves) fails its page's test.
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core import checks
from django.test import override_settings

from polar_checkouts.conf import DEFAULTS

#: The test suite's own cache is per-process (locmem), which check W201 rightly warns
#: about; that is the suite's configuration, not the fragment's, so it is left out.
SUITE_WARNINGS = frozenset({"polar_checkouts.W201"})

#: What ``env("NAME")`` returns in a settings fragment (django-environ's call in real
#: projects): values that look like Polar's.
ENVIRONMENT = {
    "POLAR_ACCESS_TOKEN": "polar_oat_docs_token",
    "POLAR_WEBHOOK_SECRET": "polar_whs_docs_secret",
    "POLAR_SERVER": "sandbox",
}


def env(name: str, default: Any = None) -> Any:
    """The settings fragments' ``env("POLAR_ACCESS_TOKEN")``."""
    return ENVIRONMENT.get(name, default)


def polar_settings_in(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The ``POLAR_*`` settings a fragment defined (and django-ratelimit's, which it reads)."""
    return {
        name: value
        for name, value in namespace.items()
        if name.startswith(("POLAR_", "RATELIMIT_")) and name.isupper()
    }


@contextmanager
def fragment_settings(namespace: Mapping[str, Any], **extra: Any) -> Iterator[None]:
    """Django settings as the page's fragments set them: every ``POLAR_*`` setting at its
    default (not the test suite's value) unless the namespace sets it, the namespace's
    ``urlpatterns`` as the root URLconf (when it has some), and ``extra``."""
    values = {f"POLAR_{name}": default for name, default in DEFAULTS.items()}
    values.update(polar_settings_in(namespace))
    if "urlpatterns" in namespace:
        values["ROOT_URLCONF"] = urlconf(namespace["urlpatterns"])
    values.update(extra)
    with override_settings(**values):
        yield


def urlconf(urlpatterns: list[Any]) -> types.ModuleType:
    """A URLconf module holding a fragment's ``urlpatterns`` (``...`` entries dropped)."""
    module = types.ModuleType("docs_urlconf")
    module.urlpatterns = [pattern for pattern in urlpatterns if pattern is not Ellipsis]  # type: ignore[attr-defined]
    return module


def app_check_ids(namespace: Mapping[str, Any], **extra: Any) -> list[str]:
    """The ids of the app's system-check messages (errors and warnings) under the page's
    settings: ``[]`` when the fragments make a configuration ``manage.py check`` accepts."""
    with fragment_settings(namespace, **extra):
        messages = checks.run_checks(include_deployment_checks=False)
    return [
        str(message.id)
        for message in messages
        if str(message.id).startswith("polar_checkouts.")
        and message.level >= checks.WARNING
        and message.id not in SUITE_WARNINGS
    ]


#: The buyer every ``buy()`` confirms as.
BUYER = {
    "customer_email": "ada@example.com",
    "customer_name": "Ada Lovelace",
    "customer_billing_address": {"country": "FR"},
}


def buy(product_id: str | None = None, *, token: str | None = None, **create: Any) -> Any:
    """One purchase through the service layer, as the checkout page makes it: create the
    checkout (``create`` are ``services.create_checkout``'s keywords), confirm it as
    :data:`BUYER` with ``token`` (default: the fake's succeeding card), and return the
    cached checkout as refreshed from Polar (``status == "succeeded"`` with the default)."""
    from polar_checkouts import services
    from polar_checkouts.testing import PRODUCT_ONE_TIME_ID, TOKEN_SUCCEEDED

    checkout = services.create_checkout(product_id=product_id or PRODUCT_ONE_TIME_ID, **create)
    assert checkout.client_secret, "Polar's create answer has the client secret"
    services.client_confirm(
        checkout.client_secret, {**BUYER, "confirmation_token_id": token or TOKEN_SUCCEEDED}
    )
    return services.refresh_checkout(checkout.id)


def task_backends() -> Any:
    """Django's ``task_backends`` (``django.tasks`` from 6.0, the django-tasks backport
    before), for checking a page's ``TASKS`` fragment."""
    import django

    if django.VERSION >= (6, 0):  # pragma: no cover - Django 6.0+
        from django.tasks import task_backends

        return task_backends
    from django_tasks import task_backends as backport_backends

    return backport_backends
