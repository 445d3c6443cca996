"""One shop process for ``test_limits_shared.py``: presses Buy and reports what happened.

Run as ``python -m tests.storefront.limits_worker <redis-url> <presses> <start-at> [429]``
with ``DATABASE_URL`` naming a database of its own (``429``: its Polar answers the first
create with 429 and ``Retry-After: 60``; ``test_guard.py``). It migrates that database, waits
until ``start-at`` (a Unix time, so the processes press together), presses the Buy
button ``presses`` times as one client against its own in-process fake Polar, and prints
``{"codes": [...], "creates": n}``: the answers, and the creates its Polar received.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> None:
    """Run the presses and print the JSON report."""
    redis_url, presses, start_at = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    polar_says_429 = sys.argv[4:] == ["429"]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings, setup_test_environment

    from polar_checkouts.testing import PRODUCT_ONE_TIME_ID, get_default_fake

    setup_test_environment()
    call_command("migrate", verbosity=0)
    with override_settings(
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis_url,
                "KEY_PREFIX": os.environ.get("POLAR_TEST_CACHE_PREFIX", "limits-test"),
            }
        },
        POLAR_SERVER="fake",
        POLAR_RATE_LIMITS={"create": "10/h"},
    ):
        http = Client(REMOTE_ADDR="203.0.113.7")
        if polar_says_429:
            get_default_fake().inject(429, route="create", retry_after=60)
        time.sleep(max(0.0, start_at - time.time()))
        codes = []
        for _ in range(presses):
            response = http.post("/checkout/create/", {"product_id": PRODUCT_ONE_TIME_ID})
            codes.append(response.status_code)
        creates = len(get_default_fake().calls("create"))
    print(json.dumps({"codes": codes, "creates": creates}))


if __name__ == "__main__":
    main()
