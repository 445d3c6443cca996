"""Django settings for the benchmarks: the test settings on PostgreSQL, two databases.

``default`` holds the large data set, ``small`` the small one (the admin figure compares
them); a router sends every query to the alias chosen by :func:`bench.db.using`.
``BENCH_DATABASE_URL`` names the PostgreSQL server and the default database.
"""

import os

import environ

from tests.settings import *  # noqa: F403

_url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pc_bench")
DATABASES = {
    "default": environ.Env.db_url_config(_url),
    "small": environ.Env.db_url_config(_url.rsplit("/", 1)[0] + "/pc_bench_small"),
}
for _db in DATABASES.values():
    _db["CONN_MAX_AGE"] = None
DATABASE_ROUTERS = ["bench.db.SwitchRouter"]
ROOT_URLCONF = "bench.urls"
DEBUG = False
ALLOWED_HOSTS = ["*"]
LOGGING = {"version": 1, "disable_existing_loggers": False}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
POLAR_WEBHOOK_SECRET = "polar_whs_bench_secret"
