"""Settings of the app processes the process-fault tests start (gunicorn, commands).

The test settings, on the database in ``POLAR_FAULT_DATABASE_URL`` (the test run's, or a
proxy in front of it), calling the standalone fake Polar at ``POLAR_FAULT_FAKE_URL``.
"""

import os

import environ

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

DATABASES = {"default": environ.Env.db_url_config(os.environ["POLAR_FAULT_DATABASE_URL"])}
# Persistent connections, as a production site keeps them: a database restart breaks
# them under the app, which must notice and reconnect by itself.
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["OPTIONS"] = {"connect_timeout": 3}
INSTALLED_APPS = [*INSTALLED_APPS, "tests.faults.stall.StallConfig"]
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
POLAR_SERVER = os.environ["POLAR_FAULT_FAKE_URL"]
POLAR_CLIENT_CALLS = "server"
POLAR_TIMEOUT = (2, 10)
# These tests are about the database going away, not about per-client limits.
POLAR_RATE_LIMITS = None
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
