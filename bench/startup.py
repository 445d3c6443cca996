"""Figure (b): a whole process that imports the client, builds it and makes one call.

Compared with polar-sdk (the official client, current release) doing the same against
the same local server. Timed with hyperfine when it is installed (several hyperfine
rounds, each one timing both commands), else with interleaved subprocess runs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time

from bench import payloads
from bench.harness import Figure, summary
from bench.server import BenchServer

TOKEN = "polar_oat_bench_token"


def scripts(base_url: str) -> dict[str, str]:
    """The Python source each contender's process runs."""
    cid = payloads.CHECKOUT_ID
    return {
        "polar_checkouts": (
            "from polar_checkouts.client import PolarClient\n"
            f"c = PolarClient({TOKEN!r}, server={base_url!r})\n"
            f"assert c.get({cid!r})['id'] == {cid!r}\n"
        ),
        "polar-sdk": (
            "from polar.v2026_10 import Polar\n"
            f"p = Polar({TOKEN!r}, base_url={base_url!r})\n"
            f"assert p.checkouts.get({cid!r}).id == {cid!r}\n"
        ),
        "python": "pass\n",
    }


def _hyperfine_round(commands: dict[str, list[str]], runs: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        argv = ["hyperfine", "-N", "--warmup", "2", "--runs", str(runs), "--export-json"]
        argv += [out.name, "--style", "none"]
        for name, cmd in commands.items():
            argv += ["--command-name", name, subprocess.list2cmdline(cmd)]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        with open(out.name) as fh:
            results = json.load(fh)["results"]
    return {r["command"]: r["median"] for r in results}


def _subprocess_round(commands: dict[str, list[str]], runs: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            start = time.perf_counter()
            subprocess.run(cmd, check=True)
            samples[name].append(time.perf_counter() - start)
    return {name: sorted(v)[len(v) // 2] for name, v in samples.items()}


def run(
    *, rounds: int = 5, runs: int = 10, use_hyperfine: bool | None = None, warm: bool = True
) -> list[Figure]:
    """Measure figure (b): ``rounds`` rounds of ``runs`` processes per contender.

    ``warm`` first runs each command once (bytecode caches written, each checked to work).
    """
    if use_hyperfine is None:
        use_hyperfine = shutil.which("hyperfine") is not None
    times: dict[str, list[float]] = {}
    with BenchServer(total=100) as server:
        commands = {
            name: [sys.executable, "-c", source]
            for name, source in scripts(server.base_url).items()
        }
        for cmd in commands.values() if warm else ():
            subprocess.run(cmd, check=True)
        for _ in range(rounds):
            medians = (_hyperfine_round if use_hyperfine else _subprocess_round)(commands, runs)
            for name, value in medians.items():
                times.setdefault(name, []).append(value)
    ratios = [a / b for a, b in zip(times["polar_checkouts"], times["polar-sdk"], strict=True)]
    tool = "hyperfine" if use_hyperfine else "subprocess"
    return [
        Figure(
            "b. process: import + client + first get",
            "polar_checkouts",
            "polar-sdk",
            ratios,
            "<= 0.5",
            notes={
                "tool": tool,
                "wall_ms_median_per_round": {n: summary(v, 1e3) for n, v in times.items()},
            },
        )
    ]


if __name__ == "__main__":
    from bench.harness import table

    figures = run()
    print(table(figures))
    print(json.dumps(figures[0].notes, indent=1))
