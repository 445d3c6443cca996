"""The multi-node load run: two web nodes, two RQ workers, faults, and exactly-once checks.

    python -m bench.load_multinode [--checkouts 120] [--threads 4] [--max-seconds 240]
                                   [--pg-restart] [--json PATH]

(or ``scripts/load --multi-node ...``). On loopback it starts:

* PostgreSQL behind a small TCP proxy of this runner (every process of the shop connects
  through it), and Redis (127.0.0.1:6379, db 1, a queue of the run's own);
* two gunicorn web nodes (``bench.load_settings`` with ``POLAR_LOAD_MULTINODE``: webhook
  processing on the RQ backend, ``DatabaseUnavailableMiddleware``) behind a tiny
  round-robin TCP balancer;
* two RQ workers (``manage.py rqworker --with-scheduler``, ``SimpleWorker``: the job runs
  in the worker process, so killing it kills the task) and a cron stand-in running
  ``polar_checkouts_process_webhooks`` every few seconds;
* the standalone fake Polar, delivering its webhooks through the balancer, while a
  replayer sends every event again, shuffled and duplicated, straight to both nodes.

Shoppers buy through the balancer (a 503 page is retried after its ``Retry-After``, as a
person would). During the run: a worker is killed with SIGKILL while it runs a task (then
replaced), one web node is stopped and started again, and PostgreSQL "restarts": the
proxy drops every connection and refuses new ones for a few seconds. With ``--pg-restart``
the run's database lives on a throw-away PostgreSQL cluster the run makes itself
(:mod:`bench.private_postgres`: ``initdb`` into a temporary directory, ``pg_ctl start`` on
a loopback port) and that cluster is really restarted (``pg_ctl restart -m fast``); the
machine's shared PostgreSQL is never touched. The fulfilment receivers are slowed down
(``POLAR_LOAD_RECEIVER_DELAY``) so that tasks are long enough to be killed mid-way.

At the end: every event the fake emitted was recorded once and processed, none is left
waiting; the cache equals the fake's state; ``checkout_succeeded`` fired exactly once per
paid checkout and ``order_paid`` exactly once per ``order.paid`` event; no shopper saw a
5xx other than the 503 retry page; every fake delivery ended delivered.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from django.apps import AppConfig

from bench import load_reliability as single
from bench.private_postgres import PrivatePostgres
from bench.runner import (
    DEFAULT_DATABASE_URL,
    ROOT,
    Shopper,
    Stats,
    attach_logs,
    fake_events,
    finish,
    free_port,
    latency_figures,
    latency_table,
    purchase_plan,
    replay,
    replay_while,
    send_concurrently,
    served_env,
    setup_django,
    shop_from,
    signer,
    start_fake,
    start_gunicorn,
    stop,
    wait_until_up,
)

ORDER_TABLE = "polar_load_order_paid"
REDIS_URL = os.environ.get("POLAR_LOAD_REDIS_URL", "redis://127.0.0.1:6379/1")


# -- the order_paid counter and the slow receivers (installed in the served project) --------


class OrderPaidCounterConfig(AppConfig):
    """One row per ``order_paid`` signal; receivers slowed by ``POLAR_LOAD_RECEIVER_DELAY``."""

    name = "bench.load_multinode"
    label = "polar_load_order_counter"
    verbose_name = "Load-run order_paid counter"

    def ready(self) -> None:
        """Connect the counting and the slow receivers."""
        from polar_checkouts.signals import checkout_succeeded, order_paid

        order_paid.connect(record_order_paid, dispatch_uid="polar-load-order-counter")
        checkout_succeeded.connect(slow_fulfilment, dispatch_uid="polar-load-slow-success")


def slow_fulfilment(sender: Any, **kwargs: Any) -> None:
    """A fulfilment that takes a while (a task long enough to be killed half-way)."""
    time.sleep(float(os.environ.get("POLAR_LOAD_RECEIVER_DELAY", "0")))


def record_order_paid(sender: Any, order: Any, **kwargs: Any) -> None:
    """Write one row per signal, in the transaction that processes the event."""
    from django.db import connection

    slow_fulfilment(sender)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ORDER_TABLE} (order_id, pid) VALUES (%s, %s)",
            [str(order.pk), os.getpid()],  # order_paid sends the Order row (issue 13)
        )


# -- TCP plumbing: the PostgreSQL proxy and the round-robin balancer --


class TcpProxy:
    """Forward connections on a loopback port to ``targets`` (round robin; the next target
    when one refuses). :meth:`cut` drops every live connection and refuses new ones until
    :meth:`restore`: what clients see of a server restart."""

    def __init__(self, targets: list[tuple[str, int]]) -> None:
        self.targets = targets
        self.port = free_port()
        self._next = 0
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()
        self._open = threading.Event()
        self._open.set()
        self._stop = threading.Event()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self.connections = 0
        self.refused = 0
        threading.Thread(target=self._accept, daemon=True, name=f"proxy-{self.port}").start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                continue
            if not self._open.is_set():
                self.refused += 1
                client.close()
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _connect(self) -> socket.socket | None:
        for _ in range(len(self.targets)):
            with self._lock:
                target = self.targets[self._next % len(self.targets)]
                self._next += 1
            try:
                return socket.create_connection(target, timeout=5)
            except OSError:
                continue
        return None

    def _serve(self, client: socket.socket) -> None:
        upstream = self._connect()
        if upstream is None:
            client.close()
            return
        upstream.settimeout(None)
        with self._lock:
            self._live.update((client, upstream))
            self.connections += 1

        def pump(source: socket.socket, sink: socket.socket) -> None:
            try:
                while chunk := source.recv(65536):
                    sink.sendall(chunk)
            except OSError:
                pass
            finally:
                for sock in (source, sink):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

        back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
        back.start()
        pump(client, upstream)
        back.join()
        with self._lock:
            self._live.discard(client)
            self._live.discard(upstream)
        client.close()
        upstream.close()

    def cut(self) -> int:
        """Refuse new connections and drop the live ones; how many were dropped."""
        self._open.clear()
        with self._lock:
            live = list(self._live)
        for sock in live:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        return len(live) // 2

    def restore(self) -> None:
        """Accept connections again."""
        self._open.set()

    def close(self) -> None:
        """Stop accepting and drop everything."""
        self.cut()
        self._stop.set()
        self._server.close()


# -- the shop's processes --


class RetryingStats(Stats):
    """Stats whose requests retry a 503 after its ``Retry-After`` (a person reloading the
    retry page); each 503 is counted, not treated as a server error."""

    def __init__(self) -> None:
        super().__init__()
        self.retried_503 = 0
        self.connection_errors = 0
        self.confirmed_before_503 = 0
        self.local = threading.local()

    def call(self, label: str, send: Callable[[], requests.Response]) -> requests.Response:
        """Send, retrying a 503 (after its ``Retry-After``, at most 2 s) or a dropped
        connection, up to 20 times; a 5xx other than 503 is a server error."""
        error: requests.ConnectionError | None = None
        response: requests.Response | None = None
        self.local.saw_503 = False
        for _ in range(20):
            started = time.perf_counter()
            try:
                response = send()
            except requests.ConnectionError as exc:
                error = exc
                with self.lock:
                    self.connection_errors += 1
                time.sleep(0.5)
                continue
            elapsed = time.perf_counter() - started
            with self.lock:
                self.statuses[f"{label} {response.status_code}"] += 1
                self.latencies[label].append(elapsed)
                if response.status_code == 503:
                    self.retried_503 += 1
                    self.local.saw_503 = True
                elif response.status_code >= 500:
                    self.server_errors.append(
                        f"{label}: {response.status_code} {response.text[:200]}"
                    )
            if response.status_code != 503:
                return response
            time.sleep(min(float(response.headers.get("Retry-After") or 1), 2.0))
        if response is None:
            assert error is not None
            raise error  # 20 dropped connections in a row: the caller decides
        return response


class RetryingShopper(Shopper):
    """A shopper who reloads a 503 page. A confirm answered 503 may have been confirmed at
    Polar before the database went away (the answer could not be stored): its retry is
    refused as not open, and the shopper goes on to the status poll and the receipt, as
    the checkout page does. Counted in ``confirmed_before_503``; the run's checks still
    require the checkout's final state and its one ``checkout_succeeded``."""

    stats: RetryingStats

    def _json(self, label: str, method: str, path: str, body: Any) -> requests.Response:
        response = super()._json(label, method, path, body)
        already_done = response.status_code == 403 and "NotOpenCheckout" in response.text
        if label == "confirm" and already_done and self.stats.local.saw_503:
            with self.stats.lock:
                self.stats.confirmed_before_503 += 1
            response.status_code = 200
        return response


class Cluster:
    """Every process of the run, with the faults the run injects."""

    def __init__(self, env: dict[str, str], logs: Path, fake_url: str) -> None:
        self.env = env
        self.logs = logs
        self.node_ports = [free_port(), free_port()]
        self.nodes: list[subprocess.Popen[bytes] | None] = [None, None]
        self.workers: list[subprocess.Popen[bytes]] = []
        self.balancer = TcpProxy([("127.0.0.1", port) for port in self.node_ports])
        self.url = f"http://127.0.0.1:{self.balancer.port}"
        self.fake_url = fake_url
        self.faults: list[str] = []
        self._cron_stop = threading.Event()
        self.cron_runs = 0
        self.cron_timeouts = 0

    def _log(self, name: str) -> Any:
        return open(self.logs / f"{name}.log", "ab")

    def start_node(self, index: int) -> None:
        """gunicorn, 2 sync workers, on the node's port."""
        self.nodes[index] = start_gunicorn(
            self.node_ports[index], 2, self.env, self._log(f"node{index}"), graceful_timeout=10
        )

    def start_worker(self) -> subprocess.Popen[bytes]:
        """An RQ worker running jobs in its own process (SimpleWorker)."""
        name = f"load-worker-{len(self.workers) + 1}-{os.getpid()}"
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "django",
                "rqworker",
                "--with-scheduler",
                "--worker-class",
                "rq.worker.SimpleWorker",
                "--job-class",
                "django_tasks_rq.Job",
                "--name",
                name,
                self.env["POLAR_LOAD_RQ_QUEUE"],
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self._log("workers"),
            stderr=subprocess.STDOUT,
            # A group of its own: --with-scheduler forks a scheduler process, which outlives
            # a worker killed with SIGKILL; stop_all ends the whole group.
            start_new_session=True,
        )
        self.workers.append(worker)
        return worker

    def cron(self) -> None:
        """``polar_checkouts_process_webhooks`` every 3 s, as cron would run it."""
        while not self._cron_stop.wait(3):
            try:
                subprocess.run(
                    [sys.executable, "-m", "django", "polar_checkouts_process_webhooks"],
                    cwd=ROOT,
                    env=self.env,
                    stdout=self._log("cron"),
                    stderr=subprocess.STDOUT,
                    check=False,
                    timeout=300,
                )
            except subprocess.TimeoutExpired:
                # A run that hangs is killed (subprocess.run does); the next one goes on.
                self.cron_timeouts += 1
            self.cron_runs += 1

    def start(self) -> None:
        """Nodes, workers and cron."""
        for index in (0, 1):
            self.start_node(index)
        for _ in range(2):
            self.start_worker()
        deadline = time.monotonic() + 60
        for index, port in enumerate(self.node_ports):
            node = self.nodes[index]
            assert node is not None
            wait_until_up(f"http://127.0.0.1:{port}/checkout/success/", deadline, node)
        threading.Thread(target=self.cron, daemon=True, name="cron").start()

    # -- faults -------------------------------------------------------------------------------

    def kill_worker_mid_task(self, timeout: float = 20.0) -> None:
        """SIGKILL a worker while it runs a job (then start a replacement, as systemd would)."""
        import redis
        from rq import Worker

        connection = redis.Redis.from_url(REDIS_URL)
        deadline = time.monotonic() + timeout
        busy = None
        while busy is None and time.monotonic() < deadline:
            for worker in Worker.all(connection=connection):
                if worker.name.endswith(f"-{os.getpid()}") and worker.get_current_job_id():
                    busy = worker
                    break
            else:
                time.sleep(0.02)
        if busy is None:
            self.faults.append("kill -9 worker: no worker was busy within 20 s (not killed)")
            return
        job = busy.get_current_job_id()
        assert busy.pid is not None
        os.kill(busy.pid, signal.SIGKILL)
        self.faults.append(f"kill -9 worker {busy.name} (pid {busy.pid}) while running job {job}")
        self.start_worker()

    def restart_node(self, index: int = 1, down: float = 3.0) -> None:
        """Stop a web node (SIGTERM: gunicorn finishes requests in flight), start it again."""
        stop(self.nodes[index])
        self.faults.append(f"web node {index} stopped")
        time.sleep(down)
        self.start_node(index)
        node = self.nodes[index]
        assert node is not None
        wait_until_up(
            f"http://127.0.0.1:{self.node_ports[index]}/checkout/success/",
            time.monotonic() + 60,
            node,
        )
        self.faults.append(f"web node {index} back after {down:.0f} s")

    def stop_all(self) -> None:
        """Everything this run started."""
        self._cron_stop.set()
        for node in self.nodes:
            stop(node)
        for worker in self.workers:
            stop(worker)
            # What is left of its group (the scheduler of a worker killed mid-task).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
        self.balancer.close()


def restart_postgresql(proxy: TcpProxy, down: float, private: PrivatePostgres | None) -> str:
    """The PostgreSQL restart: the run's private cluster restarted for real, or (without
    one) the proxy cut for ``down`` seconds."""
    if private is not None:
        return private.restart(down)
    dropped = proxy.cut()
    time.sleep(down)
    proxy.restore()
    return f"PostgreSQL cut at the proxy for {down:.0f} s ({dropped} connections dropped)"


# -- checks --


def prepare() -> None:
    """Clean cache, counters, and the order_paid table."""
    from django.db import connection

    single.prepare_database()
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {ORDER_TABLE} ("
            "id bigserial PRIMARY KEY, order_id text NOT NULL, pid integer NOT NULL)"
        )
        cursor.execute(f"TRUNCATE {ORDER_TABLE}")


def drop_tables() -> None:
    """Remove the counter tables (the pytest run leaves its database as it found it)."""
    from django.db import connection

    single.drop_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {ORDER_TABLE}")


def order_paid_signals() -> Counter[str]:
    """How many times ``order_paid`` fired, per order id."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT order_id FROM {ORDER_TABLE}")
        return Counter(str(row[0]) for row in cursor.fetchall())


def wait_until_processed(events: list[dict[str, Any]], deadline: float) -> list[str]:
    """Wait for every emitted event to be recorded and done; what is still missing."""
    from polar_checkouts.models import DONE_OUTCOMES, WebhookEvent

    ids = {event["id"] for event in events}
    while True:
        done = set(
            WebhookEvent.objects.filter(webhook_id__in=ids, outcome__in=DONE_OUTCOMES).values_list(
                "webhook_id", flat=True
            )
        )
        missing = sorted(ids - done)
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(0.5)


def replay_to_both(
    nodes: list[str], event: dict[str, Any], stats: RetryingStats, webhook: Any
) -> None:
    """Send ``event`` again to one node picked at random; a node down refuses it (counted)."""
    try:
        replay(random.choice(nodes), event, stats, webhook)
    except requests.ConnectionError:
        with stats.lock:
            stats.connection_errors += 1


def replayer(nodes: list[str], fake: str, stats: RetryingStats, stop_event: threading.Event) -> int:
    """While shoppers buy: every new event and a sample of old ones, shuffled, doubled,
    each to a node picked at random."""
    webhook = signer()
    return replay_while(
        fake,
        stop_event,
        random.Random(14),
        lambda event: replay_to_both(nodes, event, stats, webhook),
        0.3,
    )


# -- the run --


def run(
    *,
    checkouts: int = 120,
    threads: int = 4,
    max_seconds: float = 240.0,
    receiver_delay: float = 0.3,
    pg_down: float = 3.0,
    postgres: PrivatePostgres | None = None,
    seed: int = 14,
) -> dict[str, Any]:
    """Run the multi-node load with its faults and verify; ``ok`` says whether all held.

    ``postgres``: the private cluster this process's database is on (``main`` makes it for
    ``--pg-restart``); it is restarted for real instead of the proxy cut."""
    import redis

    from polar_checkouts.models import DONE_OUTCOMES, WebhookEvent

    started = time.monotonic()
    deadline = started + max_seconds
    prepare()
    queue = f"polar_load_{os.getpid()}"
    redis.Redis.from_url(REDIS_URL).delete(f"rq:queue:{queue}")
    base = single.database_url()
    host_port, name = base.rsplit("/", 1)
    pg_proxy = TcpProxy([("127.0.0.1", int(host_port.rsplit(":", 1)[1]))])
    proxied = f"{host_port.rsplit(':', 1)[0]}:{pg_proxy.port}/{name}"
    fake_port = free_port()
    fake = f"http://127.0.0.1:{fake_port}"
    logs_dir = tempfile.TemporaryDirectory(prefix="polar-multinode-")
    logs = Path(logs_dir.name)
    env = served_env(
        "bench.load_settings",
        fake,
        POLAR_LOAD_MULTINODE="1",
        POLAR_LOAD_DATABASE_URL=proxied,
        POLAR_LOAD_RQ_QUEUE=queue,
        POLAR_LOAD_REDIS_URL=REDIS_URL,
        POLAR_LOAD_RECEIVER_DELAY=str(receiver_delay),
    )
    cluster = Cluster(env, logs, fake)
    stats = RetryingStats()
    fake_process = None
    report: dict[str, Any] = {}
    try:
        fake_log = open(logs / "fake.log", "wb")  # noqa: SIM115
        fake_process = start_fake(fake_port, f"{cluster.url}/checkout/webhook/", env, fake_log)
        wait_until_up(fake + "/", started + 30, fake_process)
        cluster.start()
        ready = time.monotonic()

        rng = random.Random(seed)
        todo = purchase_plan(checkouts, rng)
        lock = threading.Lock()
        done: Counter[str] = Counter()
        # Shoppers stop 30 s before the deadline: time for the faults' aftermath and checks.
        shoppers = [
            threading.Thread(
                target=shop_from,
                args=(todo, lock, done, deadline - 30, RetryingShopper(cluster.url, stats)),
            )
            for _ in range(threads)
        ]

        def progress() -> float:
            with lock:
                return sum(done.values()) / checkouts

        def faults() -> None:
            schedule: list[tuple[float, Callable[[], None]]] = [
                (0.2, cluster.kill_worker_mid_task),
                (0.4, lambda: cluster.restart_node(1)),
                (
                    0.6,
                    lambda: cluster.faults.append(restart_postgresql(pg_proxy, pg_down, postgres)),
                ),
            ]
            for share, fault in schedule:
                while progress() < share and time.monotonic() < deadline - 30:
                    time.sleep(0.1)
                fault()

        stop_replays = threading.Event()
        replays: list[int] = []
        nodes = [f"http://127.0.0.1:{port}" for port in cluster.node_ports]
        replay_thread = threading.Thread(
            target=lambda: replays.append(replayer(nodes, fake, stats, stop_replays)), daemon=True
        )
        fault_thread = threading.Thread(target=faults, daemon=True)
        replay_thread.start()
        fault_thread.start()
        for thread in shoppers:
            thread.start()
        for thread in shoppers:
            thread.join()
        fault_thread.join(timeout=120)
        stop_replays.set()
        replay_thread.join(timeout=60)
        shopping = time.monotonic() - ready
        if postgres is not None:
            # This process's own connection (opened before the shopping, straight to the
            # cluster) died with the restart; the checks below open a new one.
            from django.db import connections

            connections.close_all()

        # Every event once more to each node, shuffled, concurrently.
        webhook = signer()
        final = fake_events(fake)
        final_batch = [(node, e) for e in final for node in nodes]
        rng.shuffle(final_batch)

        send_concurrently(
            final_batch, threads, lambda item: replay(item[0], item[1], stats, webhook)
        )

        settle = max(deadline, time.monotonic() + 60)
        polar, mismatches, events = single.compare(fake, settle)
        missing = wait_until_processed(events, settle)
        succeeded = single.succeeded_signals()
        paid = {item["id"] for item in polar if item["status"] == "succeeded"}
        orders = order_paid_signals()
        paid_orders = {e["payload"]["data"]["id"] for e in events if e["type"] == "order.paid"}
        signal_problems = [
            f"{checkout_id}: checkout_succeeded fired {succeeded[checkout_id]} times"
            for checkout_id in paid | set(succeeded)
            if succeeded[checkout_id] != 1 or checkout_id not in paid
        ] + [
            f"order {order_id}: order_paid fired {orders[order_id]} times"
            for order_id in paid_orders | set(orders)
            if orders[order_id] != 1 or order_id not in paid_orders
        ]
        recorded = Counter(
            WebhookEvent.objects.filter(webhook_id__in=[e["id"] for e in events]).values_list(
                "webhook_id", flat=True
            )
        )
        undelivered = [
            f"{e['type']} {e['id']}: {e['state']} after {e['attempts']} attempts"
            for e in events
            if e["state"] != "delivered"
        ]
        waiting = WebhookEvent.objects.exclude(outcome__in=DONE_OUTCOMES).count()
        attempts = Counter(WebhookEvent.objects.values_list("attempts", flat=True))
        report = {
            "checkouts_planned": checkouts,
            "checkouts_done": sum(done.values()),
            "purchases": dict(done),
            "threads": threads,
            "final_states": dict(Counter(item["status"] for item in polar)),
            "faults": cluster.faults,
            "requests": stats.requests,
            "shopping_seconds": round(shopping, 1),
            "retried_503": stats.retried_503,
            "confirmed_before_503": stats.confirmed_before_503,
            "connection_errors_retried": stats.connection_errors,
            "webhook_events_emitted": len(events),
            "webhook_replays": sum(replays) + len(final_batch),
            "fake_delivery_attempts": sum(e["attempts"] for e in events),
            "events_recorded_once": sum(1 for n in recorded.values() if n == 1),
            "events_not_processed": missing,
            "events_waiting": waiting,
            "event_attempts": dict(sorted(attempts.items())),
            "cron_runs": cluster.cron_runs,
            "cron_timeouts": cluster.cron_timeouts,
            "workers_started": len(cluster.workers),
            "balancer_connections": cluster.balancer.connections,
            "pg_proxy": {"connections": pg_proxy.connections, "refused": pg_proxy.refused},
            "checkout_succeeded_rows": sum(succeeded.values()),
            "order_paid_rows": sum(orders.values()),
            "server_errors": stats.server_errors,
            "purchase_failures": stats.failures,
            "cache_mismatches": mismatches,
            "signal_problems": signal_problems,
            "undelivered": undelivered,
            "latency_ms": latency_figures(stats.latencies),
        }
    finally:
        cluster.stop_all()
        stop(fake_process)
        pg_proxy.close()
        redis.Redis.from_url(REDIS_URL).delete(f"rq:queue:{queue}")
    report["elapsed_seconds"] = round(time.monotonic() - started, 1)
    report["ok"] = (
        report.get("checkouts_done") == checkouts
        and any("while running job" in fault for fault in report.get("faults", []))
        and any("web node 1 back" in fault for fault in report.get("faults", []))
        and any("PostgreSQL" in fault for fault in report.get("faults", []))
        and not any(
            report.get(key)
            for key in (
                "server_errors",
                "purchase_failures",
                "cache_mismatches",
                "signal_problems",
                "undelivered",
                "events_not_processed",
                "events_waiting",
            )
        )
    )
    if not report["ok"]:
        attach_logs(report, logs, 3000)
    logs_dir.cleanup()
    return report


def markdown(report: dict[str, Any]) -> str:
    """The figures as RELIABILITY.md shows them."""
    lines = [
        f"- {report['checkouts_done']} of {report['checkouts_planned']} purchases "
        f"({', '.join(f'{k}: {v}' for k, v in sorted(report['purchases'].items()))}) by "
        f"{report['threads']} shoppers through the balancer, {report['requests']} requests "
        f"in {report['shopping_seconds']} s",
        f"- faults: {'; '.join(report['faults'])}",
        f"- final states in Polar: {report['final_states']}",
        f"- webhooks: {report['webhook_events_emitted']} events, {report['fake_delivery_attempts']}"
        f" delivery attempts by the fake, {report['webhook_replays']} replays to the nodes; "
        f"recorded once each: {report['events_recorded_once']}; not processed: "
        f"{len(report['events_not_processed'])}; attempts per event: {report['event_attempts']}",
        f"- checkout_succeeded rows: {report['checkout_succeeded_rows']}, order_paid rows: "
        f"{report['order_paid_rows']}; signal problems: {len(report['signal_problems'])}; "
        f"cache mismatches: {len(report['cache_mismatches'])}; 5xx other than 503: "
        f"{len(report['server_errors'])}; 503 retry pages: {report['retried_503']}; "
        f"dropped connections retried: {report['connection_errors_retried']}",
        "",
        *latency_table(report["latency_ms"]),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: Django on ``bench.load_settings``, migrate, run, report."""
    parser = argparse.ArgumentParser(prog="python -m bench.load_multinode", description=__doc__)
    parser.add_argument("--checkouts", type=int, default=120)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=240.0)
    parser.add_argument("--receiver-delay", type=float, default=0.3)
    parser.add_argument(
        "--pg-restart",
        action="store_true",
        help="run the shop's database on a throw-away PostgreSQL cluster of the run's own "
        "(initdb in a temporary directory) and restart that cluster for real (pg_ctl "
        "restart -m fast) instead of cutting the proxy; the machine's PostgreSQL is not "
        "touched",
    )
    parser.add_argument("--json", help="also write the report to this file")
    args = parser.parse_args(argv)

    os.environ["POLAR_LOAD_MULTINODE"] = "1"
    postgres = None
    if args.pg_restart:
        postgres = PrivatePostgres(free_port()).start()
        name = os.environ.get("POLAR_LOAD_DATABASE_URL", DEFAULT_DATABASE_URL).rsplit("/", 1)[1]
        os.environ["POLAR_LOAD_DATABASE_URL"] = postgres.url(name)  # bench.load_settings's
    try:
        setup_django("bench.load_settings")
        report = run(
            checkouts=args.checkouts,
            threads=args.threads,
            max_seconds=args.max_seconds,
            receiver_delay=args.receiver_delay,
            postgres=postgres,
        )
    finally:
        if postgres is not None:
            from django.db import connections

            connections.close_all()
            postgres.destroy()
    text = markdown(report) if "latency_ms" in report else json.dumps(report, indent=2)
    return finish(report, text, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
