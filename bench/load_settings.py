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

# -- the multi-node run (bench.load_multinode; issue 14) --------------------------------------
# Webhook processing on RQ workers (Redis), retries soon, database outages answered 503,
# broken connections replaced at the next request, and the order_paid counter; only when
# the multi-node runner asks for it, so the single-node run above is unchanged.
if os.environ.get("POLAR_LOAD_MULTINODE"):
    from polar_checkouts.rq_settings import pooled_rq_queue
    from tests.settings import MIDDLEWARE, TASKS

    _queue = os.environ.get("POLAR_LOAD_RQ_QUEUE", "polar_load")
    RQ_QUEUES = {
        _queue: pooled_rq_queue(os.environ.get("POLAR_LOAD_REDIS_URL", "redis://127.0.0.1:6379/1"))
    }
    TASKS = {**TASKS, "rq": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": [_queue]}}
    POLAR_TASK_BACKEND = "rq"
    POLAR_TASK_QUEUE = _queue
    POLAR_WEBHOOK_RETRY_DELAY = 1
    POLAR_WEBHOOK_RETRY_MAX_DELAY = 4
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    MIDDLEWARE = ["polar_checkouts.middleware.DatabaseUnavailableMiddleware", *MIDDLEWARE]
    INSTALLED_APPS = [*INSTALLED_APPS, "bench.load_multinode.OrderPaidCounterConfig"]
