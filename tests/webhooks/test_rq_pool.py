"""Enqueues on the Redis queue backend reuse one pooled connection per process.

django-rq builds a new Redis client on every ``get_queue()``; from a plain ``{"URL": ...}``
entry each enqueue opened (and closed) a connection of its own. ``pooled_rq_queue`` hands
django-rq a pool made once. Counted on a real Redis (``POLAR_TEST_REDIS_URL``, db 1 by
default): the connections the server lists under a client name unique to the test.
Skipped without django-tasks-rq or Redis on a developer's machine; in CI either missing is
a failure.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.test import override_settings

from polar_checkouts.rq_settings import pooled_rq_queue
from polar_checkouts.webhooks.tasks import enqueue_processing

IN_CI = bool(os.environ.get("CI"))

try:
    import django_tasks_rq  # noqa: F401
    import redis
    from rq import Queue
except ImportError:  # pragma: no cover - depends on the extras installed
    if IN_CI:
        raise
    pytest.skip("django-tasks-rq is not installed (the tasks-rq extra)", allow_module_level=True)

QUEUE = "polar_checkouts_pool_test"


@pytest.fixture
def observer():
    """A connection of the test's own, to ask Redis who is connected; the queue emptied."""
    url = settings.RQ_TEST_REDIS_URL
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis is not reachable at {url}: {exc!r}"
        if IN_CI:
            pytest.fail(message + " (scripts/bootstrap starts it; is redis-server installed?)")
        pytest.skip(message)
    queue = Queue(QUEUE, connection=client)
    queue.empty()
    yield client
    queue.empty()
    client.close()


def named_url(name: str) -> str:
    """The test Redis URL with a client name, so the server lists our connections by it."""
    parts = urlsplit(settings.RQ_TEST_REDIS_URL)
    query = f"{parts.query}&client_name={name}" if parts.query else f"client_name={name}"
    return urlunsplit(parts._replace(query=query))


def connections(observer: redis.Redis, name: str) -> list[int]:
    """The ids of the connections Redis lists under ``name``."""
    return sorted(int(c["id"]) for c in observer.client_list() if c.get("name") == name)


def queued(observer: redis.Redis) -> list[tuple[Any, ...]]:
    """The event ids of the jobs on the test queue, oldest first."""
    return [tuple(job.args) for job in Queue(QUEUE, connection=observer).get_jobs()]


def rq_settings(entry: dict[str, Any]) -> override_settings:
    return override_settings(
        RQ_QUEUES={QUEUE: entry},
        TASKS={**settings.TASKS, "rq": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": [QUEUE]}},
        POLAR_TASK_BACKEND="rq",
        POLAR_TASK_QUEUE=QUEUE,
    )


def test_a_second_enqueue_opens_no_new_connection(observer):
    name = f"pc-pool-{uuid.uuid4().hex[:12]}"
    with rq_settings(pooled_rq_queue(named_url(name))):
        enqueue_processing(101)
        after_first = connections(observer, name)
        enqueue_processing(102)
        enqueue_processing(103)
        after_third = connections(observer, name)

    # One connection, opened by the first enqueue and used again by the next two.
    assert len(after_first) == 1
    assert after_third == after_first
    assert queued(observer) == [(101,), (102,), (103,)]


def test_a_plain_url_entry_connects_per_enqueue(observer):
    # What the pool is for: from django-rq's plain entry no connection outlives its
    # enqueue, so each enqueue pays a connect and handshake of its own.
    name = f"pc-nopool-{uuid.uuid4().hex[:12]}"
    with rq_settings({"URL": named_url(name)}):
        for event_id in (201, 202):
            enqueue_processing(event_id)
            deadline = time.monotonic() + 5
            while connections(observer, name) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert connections(observer, name) == []
    assert queued(observer) == [(201,), (202,)]


def test_the_entry_carries_the_url_for_django_rq_s_unpooled_clients():
    entry = pooled_rq_queue("redis://user:secret@redis.example:6380/4", DEFAULT_TIMEOUT=60)
    pool = entry["REDIS_CLIENT_KWARGS"]["connection_pool"]
    assert isinstance(pool, redis.ConnectionPool)
    assert {k: v for k, v in entry.items() if k != "REDIS_CLIENT_KWARGS"} == {
        "HOST": "redis.example",
        "PORT": 6380,
        "DB": 4,
        "USERNAME": "user",
        "PASSWORD": "secret",
        "SSL": False,
        "DEFAULT_TIMEOUT": 60,
    }
    assert pooled_rq_queue("rediss://redis.example/0")["SSL"] is True
    with pytest.raises(ValueError, match="Unix socket"):
        pooled_rq_queue("unix:///run/redis.sock")
