"""Django settings for the flood run (``python -m bench.load_flood``, ``scripts/load --flood``).

The load run's settings with what the flood is about switched on: the per-client limits
at their defaults (``POLAR_FLOOD_CREATE_LIMIT`` overrides checkout creation's), counted
in a Redis cache every gunicorn worker shares, and clients told apart by
``X-Forwarded-For`` from the loopback "proxy" the runner plays.
"""

import os

from bench.load_settings import *  # noqa: F403

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("POLAR_FLOOD_REDIS_URL", "redis://127.0.0.1:6379/2"),
        # A prefix per run: counters and pauses of an earlier run do not carry over.
        "KEY_PREFIX": os.environ.get("POLAR_FLOOD_CACHE_PREFIX", "flood"),
    }
}
POLAR_RATE_LIMITS = {"create": os.environ.get("POLAR_FLOOD_CREATE_LIMIT", "10/m")}
POLAR_TRUSTED_PROXIES = ["127.0.0.1"]
