"""Settings helpers for the Redis queue task backend (django-tasks-rq on django-rq).

Imported from a project's settings module, so it imports nothing of Django's models (nor
Redis, until called).
"""

from __future__ import annotations

from typing import Any


def pooled_rq_queue(url: str, **options: Any) -> dict[str, Any]:
    """An ``RQ_QUEUES`` entry (django-rq) for the Redis at ``url`` whose enqueues share
    one connection pool per process.

    django-rq builds a new Redis client, with a pool of its own, on every ``get_queue()``:
    from a ``{"URL": ...}`` entry every enqueue opens a TCP connection to Redis, does the
    client's handshake and closes it again (45% of a webhook delivery's time, measured
    for figure g of BENCHMARKS.md). This entry gives django-rq's client a pool made once,
    through django-rq's ``REDIS_CLIENT_KWARGS``, so an enqueue reuses an idle connection.
    redis-py's pool is thread-safe and starts afresh in a forked child (gunicorn
    ``--preload``, RQ's work horses). ``HOST``, ``PORT``, ``DB`` and the credentials are
    filled in from ``url`` for the parts of django-rq that build clients from them alone
    (its cron and Prometheus views). ``options`` are the entry's other keys
    (``DEFAULT_TIMEOUT``, ...)::

        from polar_checkouts.rq_settings import pooled_rq_queue

        RQ_QUEUES = {"default": pooled_rq_queue("redis://127.0.0.1:6379/0")}
    """
    import redis

    pool = redis.ConnectionPool.from_url(url)
    params = pool.connection_kwargs
    if "path" in params:
        raise ValueError(
            f"{url!r} is a Unix socket: django-rq's UNIX_SOCKET_PATH entries take no pool"
        )
    client_kwargs = {**options.pop("REDIS_CLIENT_KWARGS", {}), "connection_pool": pool}
    return {
        "HOST": params.get("host", "localhost"),
        "PORT": params.get("port", 6379),
        "DB": params.get("db", 0),
        "USERNAME": params.get("username"),
        "PASSWORD": params.get("password"),
        "SSL": issubclass(pool.connection_class, redis.SSLConnection),
        **options,
        "REDIS_CLIENT_KWARGS": client_kwargs,
    }
