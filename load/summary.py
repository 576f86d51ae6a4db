"""The one table ``make bench`` ends with: every target recorded through ``load/results.py``,
its measured figure beside the floor measured in the same run, the ratio to that floor, the
goal, and whether the benchmark judged it met.

``python -m load.summary <results.jsonl>`` prints the table for a results file on its own.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from load.results import Result, read

HEADER = (
    "| Bench | Target | Measured | Floor | Ratio to floor | Goal | |",
    "|---|---|---:|---:|---:|---|---|",
)


def table(
    results: Sequence[Result],
    *,
    broken: Sequence[str] = (),
    skipped: Sequence[str] = (),
    silent: Sequence[str] = (),
) -> str:
    """The markdown summary. ``broken`` benchmarks produced no figures (they exited non-zero),
    ``skipped`` ones are absent from this tree, ``silent`` ones ran but recorded no target:
    each gets a line, so a target that vanished from the table is never mistaken for a pass."""
    lines = [*HEADER, *(_line(result) for result in results)]
    lines += [f"| {name} | (every target) | — | — | — | — | **BROKEN** |" for name in broken]
    lines += [f"| {name} | (every target) | — | — | — | — | skipped: absent |" for name in skipped]
    lines += [f"| {name} | (every target) | — | — | — | — | recorded none |" for name in silent]
    met = sum(result.met for result in results)
    lines += ["", f"{met} of {len(results)} targets met" + _tail(broken, skipped, silent) + "."]
    return "\n".join(lines)


def ratio(result: Result) -> float | None:
    """Measured over floor; None without a floor (or a floor of zero, which has no ratio)."""
    if result.floor is None or result.floor == 0:
        return None
    return result.measured / result.floor


def _line(result: Result) -> str:
    measured = f"{_figure(result.measured)} {result.unit}"
    floor = "—" if result.floor is None else f"{_figure(result.floor)} {result.unit}"
    share = ratio(result)
    shown = "—" if share is None else f"{share:.2f} x"
    verdict = "met" if result.met else "**missed**"
    return (
        f"| {result.bench} | {result.target} | {measured} | {floor} | {shown} "
        f"| {result.goal} | {verdict} |"
    )


def _figure(value: float) -> str:
    """Thousands grouped, and as many decimals as a figure of that size needs."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:,.1f}"
    return f"{value:,.2f}"


def _tail(broken: Sequence[str], skipped: Sequence[str], silent: Sequence[str]) -> str:
    parts = []
    if broken:
        parts.append(f"broken: {', '.join(broken)}")
    if skipped:
        parts.append(f"skipped (absent): {', '.join(skipped)}")
    if silent:
        parts.append(f"ran but recorded nothing: {', '.join(silent)}")
    return "; " + "; ".join(parts) if parts else ""


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m load.summary <results.jsonl>", file=sys.stderr)
        return 2
    print(table(read(Path(argv[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
