"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    """Leave PostgreSQL-only tests out of runs on other databases (scripts/test runs both).

    The packaging tests (a build and a fresh virtualenv) run once, in the PostgreSQL pass,
    or on any database when asked for by name (``-m packaging``).
    """
    from django.conf import settings

    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        return
    left_out = ["postgres"]
    if "packaging" not in (config.getoption("markexpr") or ""):
        left_out.append("packaging")
    kept = [
        item for item in items if not any(item.get_closest_marker(marker) for marker in left_out)
    ]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


@pytest.fixture(autouse=True)
def _fresh_client_cache():
    """Each test builds its own client from the settings it runs with."""
    from polar_checkouts.client import reset_client_cache

    reset_client_cache()
    yield
    reset_client_cache()


@pytest.fixture(autouse=True)
def _fresh_limits():
    """Each test starts with no per-client counters and no Polar pause (both in the cache)."""
    from django.core.cache import caches

    from polar_checkouts.storefront.limits import limits_cache_alias

    caches[limits_cache_alias()].clear()


@pytest.fixture
def signal_log():
    """Every app signal sent during the test, in order (see ``tests.webhook_helpers``)."""
    from tests.webhook_helpers import SignalLog

    log = SignalLog()
    log.connect()
    yield log
    log.disconnect()


@pytest.fixture
def make_staff(django_user_model):
    """A factory: ``make_staff("name", *codenames)`` is a staff user with those permissions."""
    from django.contrib.auth.models import Permission

    def make(username, *codenames):
        user = django_user_model.objects.create_user(username, password="pw", is_staff=True)
        user.user_permissions.set(
            Permission.objects.filter(
                content_type__app_label="polar_checkouts", codename__in=codenames
            )
        )
        return user

    return make


@pytest.fixture
def polar_list():
    """Polar's checkout list through ``responses``: a ``tests.polar_payloads.PolarListStub``."""
    import responses

    from tests.polar_payloads import PolarListStub

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield PolarListStub().register(rsps)


@pytest.fixture
def run_in_threads():
    """``run_in_threads(work, count)`` runs ``work()`` in ``count`` threads at once and
    returns what they raised (an empty list when all went well)."""
    from tests.threads import errors_of, run_together

    def run(work, count):
        return errors_of(run_together(*[work] * count))

    return run


@pytest.fixture
def stub(monkeypatch):
    """The service layer replaced by a ``tests.storefront.stubs.StubServices``; cache cleared."""
    from django.core.cache import cache

    from polar_checkouts import services
    from tests.storefront.stubs import StubServices

    fake = StubServices()
    for name in (
        "list_products",
        "create_checkout",
        "client_get",
        "client_update",
        "client_confirm",
        "refresh_checkout",
    ):
        monkeypatch.setattr(services, name, getattr(fake, name))
    cache.clear()
    yield fake
    cache.clear()
