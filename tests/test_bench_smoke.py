"""Smoke run of the benchmark code with tiny sizes, so it cannot rot.

These check that every figure's code runs and measures what it says (the right calls,
the right answers); they never check how fast anything is (see BENCHMARKS.md for that).
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import sys

import pytest

from bench import client_cpu, harness, payloads, startup
from bench.server import BenchServer
from tests.newer_python import import_from_311


@pytest.fixture(scope="module")
def server():
    with BenchServer(total=250) as running:
        yield running


def _get(server, path, method="GET", body=b""):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request(method, path, body=body or None)
    response = conn.getresponse()
    return response.status, response.read()


def test_server_answers_polar_routes(server):
    status, body = _get(server, f"/v1/checkouts/{payloads.CHECKOUT_ID}")
    assert status == 200
    assert json.loads(body)["id"] == payloads.CHECKOUT_ID
    status, body = _get(server, "/v1/checkouts/?page=3&limit=100")
    page = json.loads(body)
    assert [len(page["items"]), page["pagination"]] == [50, {"total_count": 250, "max_page": 3}]
    assert page["items"][0]["id"] == payloads.checkout_id(201)
    assert _get(server, "/v1/unknown")[0] == 404
    assert _get(server, "/v1/checkouts/x", "PATCH", b'{"a":1}')[0] == 200


def test_server_keeps_the_connection_alive(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    for _ in range(3):
        conn.request("GET", f"/v1/checkouts/{payloads.CHECKOUT_ID}")
        assert conn.getresponse().read()
    assert conn.sock is not None  # still the first socket


@pytest.mark.slow
def test_payload_decodes_with_polar_sdk_when_installed():
    polar = import_from_311("polar", package="polar-sdk")
    from polar.v2026_10.outputs import Checkout

    assert polar.deserialize(payloads.checkout(), Checkout).id == payloads.CHECKOUT_ID


def test_client_cpu_figures_run():
    figures = client_cpu.run(rounds=2, number=2, list_number=1)
    assert [f.name[0] for f in figures] == ["a", "a", "c"]
    assert all(len(f.ratios) == 2 and min(f.ratios) > 0 for f in figures)
    assert figures[0].baseline == "requests"
    assert figures[0].target == "<= 0.8"


def test_harness_rounds_alternate_and_summarise():
    calls: list[str] = []
    harness.run_rounds(
        {"x": lambda: calls.append("x"), "y": lambda: calls.append("y")},
        rounds=2,
        number=3,
        warmup=0,
    )
    assert calls == ["x"] * 3 + ["y"] * 3 + ["y"] * 3 + ["x"] * 3
    figure = harness.Figure("n", "x", "y", [0.5, 0.7, 0.9], "<= 0.8")
    assert (figure.min, figure.median, figure.max, figure.met) == (0.5, 0.7, 0.9, True)
    assert harness.Figure("n", "x", "y", [4.0], ">= 5").met is False
    assert harness.Figure("n", "x", "y", [4.0]).met is None
    assert "| n | x / y | 0.500 | 0.700 | 0.900 | <= 0.8 | met |" in harness.table([figure])


def test_startup_script_of_the_app_runs(server):
    code = startup.scripts(server.base_url)["polar_checkouts"]
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.slow
def test_startup_figure_runs_with_polar_sdk():
    import_from_311("polar", package="polar-sdk")
    figure = startup.run(rounds=1, runs=1, use_hyperfine=False, warm=False)[0]
    assert figure.baseline == "polar-sdk"
    assert len(figure.ratios) == 1


@pytest.mark.skipif(shutil.which("hyperfine") is None, reason="hyperfine is not installed")
def test_startup_hyperfine_round(server):
    commands = {"python": [sys.executable, "-c", "pass"]}
    assert startup._hyperfine_round(commands, runs=2)["python"] > 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sync_figure_runs():
    from bench import sync
    from polar_checkouts.models import CheckoutSession

    figures = sync.run(total=120, rounds=1, prepare=False)
    assert [f.target for f in figures] == [">= 5", ">= 5"]
    assert CheckoutSession.objects.count() == 120
    shares = figures[0].notes["http_share_of_wall_median"]
    assert 0 < shares["command-new"] < 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_subscription_sync_figure_runs():
    from bench import subscriptions
    from polar_checkouts.models import Subscription

    figures = subscriptions.run_sync(total=120, rounds=1, prepare=False)
    assert [f.target for f in figures] == [">= 5", ">= 5"]
    assert Subscription.objects.count() == 120
    assert set(figures[0].notes["wall_s"]) == {"app-new", "naive-new"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_access_figure_fills_the_table_and_checks_in_one_query():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench import subscriptions
    from bench.payloads import MEMBERSHIP_ID
    from polar_checkouts.access import has_active_subscription
    from polar_checkouts.models import Subscription

    member = subscriptions.fill("default", 300, 20)
    assert Subscription.objects.count() == 300
    assert Subscription.objects.values("user").distinct().count() == 20
    with CaptureQueriesContext(connection) as queries:
        assert has_active_subscription(member, MEMBERSHIP_ID)
    assert len(queries) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_admin_figure_runs():
    from bench import admin_list

    figure = admin_list.run(
        large=150, small=120, rounds=1, number=1, aliases=("default", "default"), prepare=False
    )[0]
    assert figure.notes["queries"]["large"] > 0
    assert len(figure.ratios) == 1


@pytest.mark.postgres
@pytest.mark.urls("bench.urls")
@pytest.mark.django_db(transaction=True)
def test_storefront_figure_runs():
    from bench import storefront

    figure = storefront.run(rounds=1, number=1, prepare=False)[0]
    assert figure.notes["polar_calls_per_render"] == 1
    assert figure.notes["db_queries_per_render"] >= 1


@pytest.mark.postgres
@pytest.mark.urls("bench.urls")
@pytest.mark.django_db(transaction=True)
def test_webhook_load_deliveries_are_accepted_once(client, settings):
    from bench import webhook_load

    settings.POLAR_WEBHOOK_SECRET = webhook_load.SECRET
    events = webhook_load.deliveries(2, 0)
    script = webhook_load.lua_script(events, "/checkout/webhook/")
    assert script.count("msg_bench_") == 2
    assert "function request()" in script
    for body, headers in events * 2:  # each delivered twice, as under load
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        response = client.post("/checkout/webhook/", body, content_type="application/json", **extra)
        assert response.status_code == 200, response.content
    assert webhook_load._check() == {
        "events": 2,
        "max_attempts": 1,
        "not_processed": 0,
        "checkouts": 2,
    }


def test_runner_describes_the_machine_and_refuses_unknown_figures(capsys):
    from bench.__main__ import machine, main

    info = machine()
    assert info["cores"] >= 1
    assert info["versions"]["django"]
    with pytest.raises(SystemExit):
        main(["--only", "z"])
    assert "unknown figures: z" in capsys.readouterr().err


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (scripts/bench)")
@pytest.mark.django_db(transaction=True)
def test_webhook_load_figure_runs_under_gunicorn_and_wrk():
    from bench import webhook_load

    figure = webhook_load.run(duration=2, rounds=1, events=30, settle=0.5, prepare=False)[0]
    notes = figure.notes
    assert notes["errors"] == 0
    assert notes["processed_twice"] is False
    assert notes["not_processed"] == 0
    # 30 distinct deliveries, each sent many times over in 2 s: all stored, once each.
    assert notes["checks"][0]["events"] == notes["checks"][0]["checkouts"] == 30
    assert notes["checks"][0]["requests"] > 30


@pytest.mark.urls("bench.urls")
@pytest.mark.django_db(transaction=True)
def test_round_trip_figure_runs_and_counts_the_polar_calls():
    from bench import round_trips

    page, receipt = round_trips.run(rounds=1, number=1, latency=0.001, prepare=False)
    assert page.notes["polar_calls"] == {
        "page from the cache": [["create"]],
        "page asks Polar (before)": [["create", "client_get"]],
    }
    assert receipt.notes["polar_calls"] == {
        "webhook stored the success": [["client_confirm"]],
        "poll asks Polar (before)": [["client_confirm", "client_get"]],
    }
    assert page.notes["sequential_polar_calls"] == {
        "page from the cache": 1,
        "page asks Polar (before)": 2,
    }
    assert len(page.ratios) == len(receipt.ratios) == 1


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (scripts/bench)")
@pytest.mark.django_db(transaction=True)
def test_webhook_inbox_figure_runs_with_a_worker_backend():
    pytest.importorskip("django_tasks_db")
    from bench import webhook_inbox

    [figure] = webhook_inbox.run(
        duration=2, rounds=1, events=30, settle=0.5, prepare=False, backends=("database",)
    )
    notes = figure.notes
    assert notes["errors"] == 0
    assert notes["processed_twice"] is False
    # The web processes only recorded and enqueued; the worker processes processed all.
    [drained] = notes["drains"]
    assert 0 < drained["events"] <= 30  # as many as the 2 s reached, each recorded once
    assert drained["not_processed"] == 0
    assert notes["wrk"]["floor"][0]["requests"] > 0


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (scripts/bench)")
@pytest.mark.django_db(transaction=True)
def test_webhook_inbox_figure_sends_each_delivery_once_when_asked():
    pytest.importorskip("django_tasks_db")
    from bench import webhook_inbox

    [figure] = webhook_inbox.run(
        duration=2,
        rounds=1,
        events=5000,
        settle=0.5,
        prepare=False,
        backends=("database",),
        unique=True,
    )
    assert "unique deliveries" in figure.name
    notes = figure.notes
    assert (notes["errors"], notes["sends_per_event"], notes["processed_twice"]) == (0, 1, False)
    [drained] = notes["drains"]
    answered = notes["wrk"]["webhook"][0]["requests"]
    # Every answered request was a new event (a request cut short when wrk stopped may
    # have been recorded too: at most one per connection).
    assert answered <= drained["events"] <= answered + 8
    assert drained["not_processed"] == 0
