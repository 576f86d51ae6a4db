"""Every benchmark's targets, recorded one line each, so ``make bench`` can end with one
summary table of every target beside the floor measured in the same run.

A benchmark calls :func:`record` for each target it measures. When ``FYNLO_BENCH_RESULTS``
names a file (``make bench`` sets it), the line is appended there as JSON; otherwise it is
only printed, so a benchmark run on its own still shows it. ``load/summary.py`` reads the file.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS_ENV = "FYNLO_BENCH_RESULTS"


@dataclass(frozen=True)
class Result:
    """One target. ``floor`` is the same quantity measured in the same run on the floor's
    path (bare Litestar, plain asyncpg …), ``None`` where a target has no floor. ``met`` is the
    benchmark's own verdict against ``goal``, which says the target in words ("≥ 5,000
    changes/s and ≥ 0.5 x floor")."""

    bench: str
    target: str
    measured: float
    unit: str
    goal: str
    met: bool
    floor: float | None = None


def record(result: Result) -> None:
    line = json.dumps(asdict(result), ensure_ascii=False)
    print(f"result: {line}")
    path = os.environ.get(RESULTS_ENV)
    if path:
        with Path(path).open("a", encoding="utf-8") as out:
            out.write(line + "\n")


def read(path: Path) -> list[Result]:
    if not path.exists():
        return []
    return [Result(**json.loads(line)) for line in path.read_text("utf-8").splitlines() if line]
