"""``make bench`` and ``make bench-quick``: run every benchmark, then print one summary table.

``python -m load.run_benches load.bench load.reads_bench ...`` runs each module in turn with
this venv's Python, each child writing its targets to the same fresh results file
(``FYNLO_BENCH_RESULTS``, set by the Makefile; ``bench-results/<UTC time>.jsonl`` if unset),
then prints the table of ``load/summary.py`` and appends the run's figures to
``history.jsonl`` beside that file, so runs can be compared.

A missed target is reported, never an error: the exit is 1 only when a benchmark broke
(exited non-zero or ran past its deadline). A module absent from the tree is skipped with a
message saying so. With ``BENCH_QUICK=1`` (``make bench-quick``) each benchmark runs its
smaller variant; the whole run is meant to take under two minutes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from load import database, machine, processes
from load.results import RESULTS_ENV, Result, read
from load.summary import table

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench-results"
HISTORY = "history.jsonl"
# A benchmark past this is stopped and counted as broken: every loop must be bounded.
FULL_DEADLINE_SECONDS = 1800
QUICK_DEADLINE_SECONDS = 120


@dataclass
class Outcome:
    ran: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    silent: list[str] = field(default_factory=list)


def main(modules: list[str]) -> int:
    if not modules:
        print("usage: python -m load.run_benches <module> ...", file=sys.stderr)
        return 2
    started = datetime.now(UTC)
    results_path = _fresh_results_file(started)
    signal.signal(signal.SIGTERM, processes.terminate)
    began = time.monotonic()
    try:
        outcome = _run_all(modules, results_path)
    except processes.Terminated:
        print("bench run stopped by SIGTERM; the running benchmark was stopped", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("bench run interrupted; the running benchmark was stopped", file=sys.stderr)
        return 130
    took = time.monotonic() - began
    results = read(results_path)
    history = results_path.parent / HISTORY
    _append_history(history, results, outcome, started=started, seconds=took)
    print()
    print(f"## Summary{' (quick)' if machine.quick() else ''}, {started:%Y-%m-%d %H:%M} UTC")
    print()
    print(table(results, broken=outcome.broken, skipped=outcome.skipped, silent=outcome.silent))
    print()
    print(f"Took {took:.0f} s; load average (1 min) now {machine.loadavg()}.")
    print(f"Figures: {results_path}; history of every run: {history}")
    return 1 if outcome.broken else 0


def _fresh_results_file(started: datetime) -> Path:
    named = os.environ.get(RESULTS_ENV)
    suffix = "-quick" if machine.quick() else ""
    path = Path(named) if named else RESULTS_DIR / f"{started:%Y%m%dT%H%M%SZ}{suffix}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("", encoding="utf-8")  # fresh: lines of an earlier run must not count
    return path.resolve()


class TemplateBroken(Exception):
    """The shared demo database could not be prepared."""


def _run_all(modules: list[str], results_path: Path) -> Outcome:
    print("\n# the demo database every benchmark starts from (load/database.py)\n", flush=True)
    with database.template(failure=TemplateBroken) as template:
        return _run_each(modules, results_path, template)


def _run_each(modules: list[str], results_path: Path, template: Path) -> Outcome:
    outcome = Outcome()
    env = os.environ | {
        RESULTS_ENV: str(results_path),
        database.TEMPLATE_ENV: str(template),
        "PYTHONUNBUFFERED": "1",
    }
    deadline = QUICK_DEADLINE_SECONDS if machine.quick() else FULL_DEADLINE_SECONDS
    for module in modules:
        if importlib.util.find_spec(module) is None:
            print(f"\nskipped: {module} is not in this tree (no such module)\n", file=sys.stderr)
            outcome.skipped.append(module)
            continue
        before = len(read(results_path))
        print(f"\n# {module}\n", flush=True)
        code = _run_one(module, env=env, deadline=deadline)
        outcome.ran.append(module)
        if code != 0:
            print(f"\n{module} broke (exit {code})", file=sys.stderr)
            outcome.broken.append(module)
        elif len(read(results_path)) == before:
            outcome.silent.append(module)
    return outcome


def _run_one(module: str, *, env: dict[str, str], deadline: int) -> int | str:
    """The module's exit code, or why it has none; its output goes straight to ours."""
    sys.stdout.flush()
    child = processes.start([sys.executable, "-m", module], cwd=REPO, env=env, log=sys.stdout)
    try:
        return child.wait(timeout=deadline)
    except subprocess.TimeoutExpired:
        return f"stopped after its {deadline} s deadline"
    finally:
        processes.stop(child)


def _append_history(
    history: Path, results: list[Result], outcome: Outcome, *, started: datetime, seconds: float
) -> None:
    """One line per target, and one per benchmark that broke or was skipped, tagged with the
    run (time, quick or not, commit, load average) so figures can be compared across runs."""
    run = {
        "run": started.isoformat(timespec="seconds"),
        "quick": machine.quick(),
        "commit": _commit(),
        "loadavg": machine.loadavg(),
        "seconds": round(seconds, 1),
    }
    lines = [run | asdict(result) for result in results]
    lines += [run | {"bench": name, "status": "broken"} for name in outcome.broken]
    lines += [run | {"bench": name, "status": "skipped"} for name in outcome.skipped]
    with history.open("a", encoding="utf-8") as out:
        out.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


def _commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH, fixed arguments
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() or "unknown"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
