"""Django settings for the reliability load run (``python -m bench.load_reliability``).

The test settings, served by gunicorn on PostgreSQL, calling the standalone fake Polar
whose base URL the runner passes in ``POLAR_LOAD_FAKE_URL``; storefront client calls go
through the server (``POLAR_CLIENT_CALLS = "server"``) so every request is measured.
The counter app records each ``checkout_succeeded`` in a table of its own.
"""

import os

import environ

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

DATABASES = {
    "default": environ.Env.db_url_config(
        os.environ.get("POLAR_LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pc_rel")
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = 60
INSTALLED_APPS = [*INSTALLED_APPS, "bench.load_reliability.SucceededCounterConfig"]
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
DEBUG = False
POLAR_SERVER = os.environ.get("POLAR_LOAD_FAKE_URL", "http://127.0.0.1:8765")
POLAR_ACCESS_TOKEN = "polar_oat_load_run"
POLAR_WEBHOOK_SECRET = os.environ.get("POLAR_LOAD_WEBHOOK_SECRET", "polar_whs_load_run")
POLAR_CLIENT_CALLS = "server"
POLAR_TIMEOUT = (2, 10)
# This run measures consistency under load from four shopper threads on one address, not
# the per-client limits (each worker would count them in its own memory): those are the
# flood run's (bench/load_flood.py, a shared Redis cache).
POLAR_RATE_LIMITS = None
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"polar_checkouts": {"handlers": ["console"], "level": "WARNING"}},
}
