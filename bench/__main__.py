"""Run the benchmarks: ``python -m bench [--quick] [--only a,b,...] [--json PATH]``.

Figures: a, c (client CPU), b (whole process vs polar-sdk), d (sync into PostgreSQL),
e (admin changelist), f (storefront page), g (webhook endpoint under load), h (sync of
subscriptions), i (access check on 100,000 subscriptions), j (Polar round trips from click
to page, 150 ms latency). d to j need PostgreSQL
(``BENCH_DATABASE_URL``, default ``postgres://postgres@127.0.0.1:5432/pc_bench``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from importlib import metadata
from typing import Any

from bench.harness import Figure, dump, table

ALL = ("a", "b", "c", "d", "e", "f", "g", "h", "i", "j")

FULL: dict[str, dict[str, Any]] = {
    "ac": {"rounds": 15, "number": 400, "list_number": 40},
    "b": {"rounds": 5, "runs": 10},
    "d": {"total": 10_000, "rounds": 3},
    "e": {"large": 100_000, "small": 1_000, "rounds": 10, "number": 10},
    "f": {"rounds": 10, "number": 50},
    "g": {"duration": 10, "rounds": 3},
    "h": {"total": 10_000, "rounds": 3},
    "i": {"large": 100_000, "small": 1_000, "rounds": 10, "number": 200},
    "j": {"rounds": 5, "number": 5},
}
QUICK: dict[str, dict[str, Any]] = {
    "ac": {"rounds": 5, "number": 100, "list_number": 10},
    "b": {"rounds": 2, "runs": 3},
    "d": {"total": 2_000, "rounds": 1},
    "e": {"large": 20_000, "small": 1_000, "rounds": 3, "number": 5},
    "f": {"rounds": 3, "number": 20},
    "g": {"duration": 3, "rounds": 1},
    "h": {"total": 2_000, "rounds": 1},
    "i": {"large": 20_000, "small": 1_000, "rounds": 3, "number": 50},
    "j": {"rounds": 1, "number": 2},
}


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if "model name" in line)
    except (OSError, StopIteration):
        pass
    versions: dict[str, str | None] = {}
    for dist in ("django", "requests", "urllib3", "psycopg", "polar-sdk", "httpx", "gunicorn"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "os": platform.platform(),
        "versions": versions,
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the chosen figures, print the table, write the JSON results."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, few rounds")
    parser.add_argument("--only", default=",".join(ALL), help="comma-separated figures")
    parser.add_argument("--json", default="bench/results/latest.json", help="results file")
    args = parser.parse_args(argv)
    wanted = {f.strip() for f in args.only.split(",") if f.strip()}
    unknown = wanted - set(ALL)
    if unknown:
        parser.error(f"unknown figures: {', '.join(sorted(unknown))}")
    sizes = QUICK if args.quick else FULL
    figures: list[Figure] = []
    pending: dict[str, str] = {}

    if wanted & {"a", "c"}:
        from bench import client_cpu

        figures += [f for f in client_cpu.run(**sizes["ac"]) if f.name[0] in wanted]
    if "b" in wanted:
        from bench import startup

        figures += startup.run(**sizes["b"])
    if wanted & {"d", "e", "f", "g", "h", "i", "j"}:
        from bench import db

        db.setup_django()
        if "d" in wanted:
            from bench import sync

            figures += sync.run(**sizes["d"])
        if "e" in wanted:
            from bench import admin_list

            figures += admin_list.run(**sizes["e"])
        if "f" in wanted:
            from bench import storefront

            figures += storefront.run(**sizes["f"])
        if "g" in wanted:
            from bench import webhook_load

            reason = webhook_load.unavailable()
            if reason:
                pending["g"] = reason
            else:
                figures += webhook_load.run(**sizes["g"])
                # Redone for the inbox (issue 14): per task backend, against the floor of
                # a durable receipt; the figure above (processing inline) is the "before".
                from bench import webhook_inbox

                figures += webhook_inbox.run(**sizes["g"], prepare=False)
        if wanted & {"h", "i"}:
            from bench import subscriptions

            if "h" in wanted:
                figures += subscriptions.run_sync(**sizes["h"])
            if "i" in wanted:
                figures += subscriptions.run_access(**sizes["i"])
        if "j" in wanted:
            from bench import round_trips

            figures += round_trips.run(**sizes["j"])

    print(table(figures))
    for figure in figures:
        print(f"\n{figure.name}:\n{json.dumps(figure.notes, indent=1, default=str)}")
    for name, reason in pending.items():
        print(f"\n{name}: pending: {reason}")
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    dump(figures, args.json)
    with open(args.json) as fh:
        results = json.load(fh)
    with open(args.json, "w") as fh:
        json.dump({"machine": machine(), "figures": results, "pending": pending}, fh, indent=2)
    print(f"\nresults written to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
