"""A small harness: interleaved rounds, per-round ratios, min/median/max, targets.

Shared machines are noisy, so every figure is a ratio between contenders measured in the
same round, one after the other; a round's noise hits both sides alike. Each figure keeps
every round's ratio and reports their min, median and max.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

Clock = Callable[[], float]

#: CPU time of this thread (the client's own work, not the server's, not sleeping).
CPU = time.thread_time
#: Wall-clock time.
WALL = time.perf_counter


def run_rounds(
    contenders: dict[str, Callable[[], object]],
    *,
    rounds: int,
    number: int,
    clock: Clock = CPU,
    warmup: int = 1,
) -> dict[str, list[float]]:
    """Seconds per call of each contender, one figure per round; contenders alternate.

    Each round runs every contender ``number`` times in a row (after ``warmup`` calls),
    rotating which goes first so no contender always gets the warm or cold slot.
    """
    names = list(contenders)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            fn = contenders[name]
            for _ in range(warmup):
                fn()
            gc.collect()
            gc.disable()
            try:
                start = clock()
                for _ in range(number):
                    fn()
                elapsed = clock() - start
            finally:
                gc.enable()
            times[name].append(elapsed / number)
    return times


@dataclass
class Figure:
    """One line of the results table: ``subject`` / ``baseline``, per round."""

    name: str
    subject: str
    baseline: str
    ratios: list[float]
    target: str = "report"  # "<= 0.8", ">= 5" or "report"
    unit: str = "x"
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def min(self) -> float:
        """Smallest ratio over the rounds."""
        return min(self.ratios)

    @property
    def median(self) -> float:
        """Median ratio over the rounds (the figure the target is checked against)."""
        return statistics.median(self.ratios)

    @property
    def max(self) -> float:
        """Largest ratio over the rounds."""
        return max(self.ratios)

    @property
    def met(self) -> bool | None:
        """Whether the median meets the target; ``None`` for report-only figures."""
        if self.target == "report":
            return None
        op, value = self.target.split()
        return self.median <= float(value) if op == "<=" else self.median >= float(value)

    def row(self) -> str:
        """A Markdown table row."""
        verdict = {None: "report", True: "met", False: "**missed**"}[self.met]
        return (
            f"| {self.name} | {self.subject} / {self.baseline} | {self.min:.3f} | "
            f"{self.median:.3f} | {self.max:.3f} | {self.target} | {verdict} |"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, with the summary numbers."""
        data = asdict(self)
        data.update(min=self.min, median=self.median, max=self.max, met=self.met)
        return data


def ratios(times: dict[str, list[float]], subject: str, baseline: str) -> list[float]:
    """Per-round ratio ``subject / baseline``."""
    return [a / b for a, b in zip(times[subject], times[baseline], strict=True)]


def summary(values: list[float], scale: float = 1e6) -> dict[str, float]:
    """min/median/max of raw times, scaled (µs by default), for the notes column."""
    return {
        "min": round(min(values) * scale, 1),
        "median": round(statistics.median(values) * scale, 1),
        "max": round(max(values) * scale, 1),
    }


TABLE_HEAD = (
    "| figure | ratio | min | median | max | target | verdict |\n|---|---|---|---|---|---|---|"
)


def table(figures: list[Figure]) -> str:
    """The Markdown table of ``figures``."""
    return "\n".join([TABLE_HEAD, *(f.row() for f in figures)])


def dump(figures: list[Figure], path: str) -> None:
    """Write ``figures`` as JSON."""
    with open(path, "w") as fh:
        json.dump([f.as_dict() for f in figures], fh, indent=2)
