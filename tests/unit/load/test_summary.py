"""The summary table ``make bench`` ends with, from the result lines the benchmarks record."""

from __future__ import annotations

import json
from pathlib import Path

from load.results import Result, read
from load.summary import ratio, table

PUSH = Result(
    bench="sync",
    target="push throughput",
    measured=2500.0,
    unit="changes/s",
    goal="≥ 5,000 and ≥ 0.5 x floor",
    met=False,
    floor=10_000.0,
)
P95 = Result(
    bench="evening", target="p95 outside the burst", measured=80.0, unit="ms", goal="< 200 ms",
    met=True,
)  # fmt: skip


def test_one_row_per_result_lines_in_a_results_file(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    results.write_text(
        "\n".join(json.dumps(line) for line in (PUSH.__dict__, P95.__dict__)) + "\n", "utf-8"
    )

    rows = table(read(results)).splitlines()

    assert rows[0].startswith("| Bench | Target | Measured | Floor | Ratio to floor | Goal |")
    assert rows[2] == (
        "| sync | push throughput | 2,500 changes/s | 10,000 changes/s | 0.25 x "
        "| ≥ 5,000 and ≥ 0.5 x floor | **missed** |"
    )
    assert rows[3] == "| evening | p95 outside the burst | 80.0 ms | — | — | < 200 ms | met |"
    assert rows[-1] == "1 of 2 targets met."


def test_the_ratio_is_measured_over_floor_and_absent_without_a_floor() -> None:
    assert ratio(PUSH) == 0.25
    assert ratio(P95) is None
    assert ratio(Result("b", "t", 5.0, "ms", "g", True, floor=0.0)) is None


def test_broken_skipped_and_silent_benchmarks_are_named_not_dropped() -> None:
    summary = table(
        [P95], broken=["load.sync_bench"], skipped=["load.signin_bench"], silent=["load.x"]
    )

    assert "| load.sync_bench | (every target) | — | — | — | — | **BROKEN** |" in summary
    assert "| load.signin_bench | (every target) | — | — | — | — | skipped: absent |" in summary
    assert "| load.x | (every target) | — | — | — | — | recorded none |" in summary
    assert summary.endswith(
        "1 of 1 targets met; broken: load.sync_bench; skipped (absent): load.signin_bench; "
        "ran but recorded nothing: load.x."
    )


def test_no_results_file_is_an_empty_table(tmp_path: Path) -> None:
    assert table(read(tmp_path / "absent.jsonl")).splitlines()[-1] == "0 of 0 targets met."
