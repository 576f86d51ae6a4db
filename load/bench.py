"""``make bench``, first part: a restaurant evening against a private server, with its gates.

Everything stays on 127.0.0.1 and is bounded: a throwaway PostgreSQL cluster, ``fynlo db
migrate`` and ``fynlo demo --load`` against it, one ``fynlo serve`` on a free port with
``FYNLO_PAYMENT_FAKES=true`` (the fake Stripe runs in the server's process). Then, in this
process, through the real services: 20 iPads enrolled with their manager's PIN key
(``load/sync_bench.py``'s enrolment), the owner's access token and open orders for the card
terminals (``load/payments_bench.py``'s). Then locust headless plays
``load/evening_locustfile.py`` along ``load/evening.py``'s timeline: iPads pushing and pulling
with offline gaps and a reconnect storm, the back-office mix, card payments, and a burst at
10 times the normal rate. ``BENCH_QUICK=1`` plays the short timeline (20 s instead of 85 s).

Prints a markdown report: the machine, each endpoint's requests, failures and percentiles,
the evening's windows (before, during and after the burst), the recovery time after the
burst, the server's memory and CPU, and the gates (the SLO of the reliability notes, F1),
each also recorded through ``load/results.py``. Exits 1 when the run itself breaks; a missed
gate is reported, not an error. Every process started here is stopped on the way out, on
failure and on SIGTERM too.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from load import database, evening, machine, processes, sync_bench
from load.evening import Sample, Timeline, Window
from load.processes import BenchBroken
from load.results import Result, record

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "evening_locustfile.py"
# Open orders for the card terminals: more than two terminals take in a run, burst included.
CARD_ORDERS_FULL = 300
CARD_ORDERS_QUICK = 100
# Locust's own start-up and its stop timeout on top of the run time.
LOCUST_SLACK_SECONDS = 60
LOCUST_STOP_TIMEOUT = 5


@dataclass(frozen=True)
class Row:
    """One line of locust's ``_stats.csv``; latencies in ms (locust rounds above 100 ms)."""

    method: str
    name: str
    requests: int
    failures: int
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None
    rps: float


@dataclass(frozen=True)
class ServerFigures:
    rss_before_kib: int
    rss_after_kib: int
    rss_peak_kib: int
    cpu_seconds: float


@dataclass(frozen=True)
class Run:
    timeline: Timeline
    samples: list[Sample]
    rows: list[Row]
    total: Row
    failures: list[tuple[str, str, str, int]]
    server: ServerFigures
    locust_cpu_seconds: float
    postgres_cpu_seconds: float
    wall_seconds: float
    server_exit: int | None
    loadavg_before: str
    loadavg_after: str


def main() -> int:
    timeline = Timeline.quick() if machine.quick() else Timeline.full()
    return processes.run_bench("bench", lambda: _measure_and_report(timeline))


def _measure_and_report(timeline: Timeline) -> int:
    started = datetime.now(UTC)
    run = _bench(timeline)
    gates = _gates(run)
    print(_report(run, gates, started=started))
    for gate in gates:
        record(gate)
    return 0


def _bench(timeline: Timeline) -> Run:
    with (
        tempfile.TemporaryDirectory(prefix="fynlo-bench-") as scratch,
        database.demo_cluster() as cluster,
    ):
        work = Path(scratch)
        port = processes.free_port()
        key_file = work / "keys" / "signing.jwks.json"
        env = processes.server_env(
            dsn=cluster.dsn, port=port, data_dir=work / "data", key_file=key_file
        )
        env["FYNLO_PAYMENT_FAKES"] = "true"
        database.load_demo(env, failure=BenchBroken)
        server_log = work / "server.log"
        with server_log.open("w") as log:
            server = processes.start([str(BIN / "fynlo"), "serve"], cwd=REPO, env=env, log=log)
        base = f"http://127.0.0.1:{port}"
        try:
            processes.wait_ready(f"{base}/ready", server, server_log, failure=BenchBroken)
            try:
                plan = asyncio.run(_plan(cluster.dsn, key_file, quick=machine.quick()))
            except (BenchBroken, asyncpg.PostgresError, OSError) as exc:
                raise BenchBroken(
                    f"preparing the evening: {exc!r}{processes.tail(server_log)}"
                ) from exc
            plan_path = work / "plan.json"
            plan_path.write_text(json.dumps(plan))
            rss_before = _proc_status_kib(server.pid, "VmRSS")
            cpu_before = machine.cpu_seconds(server.pid)
            postgres_before = machine.postgres_cpu_seconds(cluster.pid)
            loadavg_before = machine.loadavg()
            began = time.monotonic()
            locust_cpu = _run_locust(base, timeline=timeline, work=work, plan=plan_path)
            wall = time.monotonic() - began
            postgres_cpu = machine.postgres_cpu_seconds(cluster.pid) - postgres_before
            loadavg_after = machine.loadavg()
            if server.poll() is not None:
                raise BenchBroken(f"the server died during the run{processes.tail(server_log)}")
            figures = ServerFigures(
                rss_before_kib=rss_before,
                rss_after_kib=_proc_status_kib(server.pid, "VmRSS"),
                rss_peak_kib=_proc_status_kib(server.pid, "VmHWM"),
                cpu_seconds=machine.cpu_seconds(server.pid) - cpu_before,
            )
        finally:
            server_exit = processes.stop(server)
        rows, total = _read_stats(work / "run_stats.csv")
        failures = _read_failures(work / "run_failures.csv")
        samples = _read_samples(work / "requests.jsonl")
    if not any(row.requests > row.failures for row in rows if row.method == "GET"):
        raise BenchBroken(f"no request after sign-in succeeded: {failures[:3]}")
    return Run(
        timeline,
        samples,
        rows,
        total,
        failures,
        figures,
        locust_cpu,
        postgres_cpu,
        wall,
        server_exit,
        loadavg_before,
        loadavg_after,
    )


async def _plan(dsn: str, key_file: Path, *, quick: bool) -> dict[str, Any]:
    """What the locust users need, made in this process through the real services: enrolled
    iPads with their manager's PIN key, the owner's token, open orders for the terminals."""
    from load.payments_bench import _make_orders, _owner_token
    from server.db import engine

    sizes = sync_bench.Sizes(
        devices=evening.DEVICES, batches=1, paced_batches=0, bootstrap_rows=0, bootstrap_runs=0
    )
    tenant = await sync_bench._enrol(dsn, key_file, sizes=sizes)
    engine.configure(dsn)
    await engine.open_pool(min_size=1, max_size=4)
    try:
        assert engine.DB.pool is not None
        owner_token = await _owner_token(engine.DB.pool, key_file)
        count = CARD_ORDERS_QUICK if quick else CARD_ORDERS_FULL
        orders = await _make_orders(engine.DB.pool, count=count)
    finally:
        await engine.close_pool()
    return {
        "quick": quick,
        "restaurant_id": str(tenant.restaurant_id),
        "location_id": str(tenant.location_id),
        "products": [[str(p), name, price, vat] for p, name, price, vat in tenant.products],
        "tables": [str(table) for table in tenant.tables],
        "tills": [
            {
                "device_id": str(till.device_id),
                "prefix": till.prefix,
                "token": till.token,
                "employee_id": str(till.signed_in.employee_id),
                "key": till.signed_in.key.hex(),
            }
            for till in tenant.tills
            if till.signed_in is not None
        ],
        "owner_token": owner_token,
        "orders": [str(order) for order in orders],
    }


def _run_locust(base: str, *, timeline: Timeline, work: Path, plan: Path) -> float:
    """Run locust headless to completion (bounded); return the CPU seconds it used."""
    seconds = timeline.end
    argv = [
        str(BIN / "locust"),
        *("-f", str(LOCUSTFILE), "--headless", "--only-summary"),
        *("--host", base, "--csv", str(work / "run")),
        # Requests in flight at the end still count: dropping them would favour fast answers.
        *("--stop-timeout", str(LOCUST_STOP_TIMEOUT)),
        # Failures are figures to report, not a broken run.
        *("--exit-code-on-error", "0", "--loglevel", "WARNING"),
    ]
    locust_log = work / "locust.log"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with locust_log.open("w") as log:
        env = os.environ | {
            "PYTHONUNBUFFERED": "1",
            "BENCH_EVENING_PLAN": str(plan),
            "BENCH_EVENING_LOG": str(work / "requests.jsonl"),
        }
        locust = processes.start(argv, cwd=REPO, env=env, log=log)
    try:
        code = locust.wait(timeout=seconds + LOCUST_SLACK_SECONDS)
    except subprocess.TimeoutExpired:
        raise BenchBroken(f"locust ran past its deadline{processes.tail(locust_log)}") from None
    finally:
        processes.stop(locust)
    if code != 0:
        raise BenchBroken(f"locust exited with {code}{processes.tail(locust_log)}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def _read_stats(path: Path) -> tuple[list[Row], Row]:
    if not path.exists():
        raise BenchBroken(f"locust wrote no {path.name}")
    with path.open(newline="") as file:
        rows = [_row(record) for record in csv.DictReader(file)]
    total = next((row for row in rows if row.name == "Aggregated"), None)
    if total is None or total.requests == 0:
        raise BenchBroken("locust recorded no requests")
    return [row for row in rows if row is not total], total


def _row(record: dict[str, str]) -> Row:
    def ms(column: str) -> float | None:
        value = record.get(column, "N/A")
        return None if value in ("", "N/A") else float(value)

    return Row(
        method=record["Type"],
        name=record["Name"],
        requests=int(record["Request Count"]),
        failures=int(record["Failure Count"]),
        p50=ms("50%"),
        p95=ms("95%"),
        p99=ms("99%"),
        max=ms("Max Response Time"),
        rps=float(record["Requests/s"]),
    )


def _read_failures(path: Path) -> list[tuple[str, str, str, int]]:
    if not path.exists():
        return []
    with path.open(newline="") as file:
        return [
            (r["Method"], r["Name"], r["Error"], int(r["Occurrences"]))
            for r in csv.DictReader(file)
        ]


def _read_samples(path: Path) -> list[Sample]:
    """Every request the locust users made, as ``load/evening_locustfile.py`` logged them."""
    if not path.exists():
        raise BenchBroken(f"locust wrote no {path.name}")
    lines = path.read_text("utf-8").splitlines()
    return [Sample(*json.loads(line)) for line in lines if line]


def _gates(run: Run) -> list[Result]:
    """The evening's gates (the SLO of reliability F1), one Result each. No floor: a bare
    server has no evening to compare with."""
    timeline, samples = run.timeline, run.samples
    calm = evening.outside(samples, timeline)
    burst = evening.window(samples, "burst", timeline.burst_start, timeline.burst_end)
    measured = evening.window(samples, "all", timeline.ramp_end, timeline.end)
    recovery = evening.recovery_seconds(samples, timeline)
    watched = timeline.end - timeline.burst_end
    p95, p99 = f"< {evening.GATE_P95_MS:g} ms", f"< {evening.GATE_P99_MS:g} ms"

    def gate(target: str, value: float | None, unit: str, goal: str, met: bool) -> Result:
        figure = float("nan") if value is None else value
        return Result(
            bench="evening", target=target, measured=figure, unit=unit, goal=goal, met=met
        )

    return [
        gate("p95 outside the burst", calm.p95, "ms", p95, _below(calm.p95, evening.GATE_P95_MS)),
        gate("p99 outside the burst", calm.p99, "ms", p99, _below(calm.p99, evening.GATE_P99_MS)),
        gate(
            "errors, whole evening",
            measured.error_rate * 100,
            "%",
            f"< {evening.GATE_ERROR_RATE:.0%}",
            measured.requests > 0 and measured.error_rate < evening.GATE_ERROR_RATE,
        ),
        gate(
            f"p95 in the burst ({evening.BURST_FACTOR}x)",
            burst.p95,
            "ms",
            p95,
            _below(burst.p95, evening.GATE_P95_MS),
        ),
        gate(
            f"p99 in the burst ({evening.BURST_FACTOR}x)",
            burst.p99,
            "ms",
            p99,
            _below(burst.p99, evening.GATE_P99_MS),
        ),
        gate(
            "recovery after the burst",
            watched if recovery is None else recovery,
            "s" if recovery is not None else f"s (not within the {watched:g} s watched)",
            f"≤ {evening.GATE_RECOVERY_SECONDS:g} s to rolling p95 {p95}",
            recovery is not None and recovery <= evening.GATE_RECOVERY_SECONDS,
        ),
    ]


def _report(run: Run, gates: list[Result], *, started: datetime) -> str:
    timeline, samples = run.timeline, run.samples
    windows = [
        evening.window(samples, name, *timeline.window(name))
        for name in ("before the burst", "burst (10x)", "after the burst")
    ]
    windows.append(evening.outside(samples, timeline))
    cores = len(os.sched_getaffinity(0))
    server = run.server
    lines = [
        f"## Fynlo bench: a restaurant evening, {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"- Machine: {machine.describe()}",
        f"- Software: Python {platform.python_version()}, {machine.postgres_version()}, "
        f"{_locust_version()}; one `fynlo serve` (one uvicorn worker) with the fake Stripe in "
        "its process, throwaway non-durable PostgreSQL",
        f"- Load: {evening.DEVICES} iPads (a push or a pull about once a second each), "
        "5 back-office tabs (1 req/s each), 2 card terminals (a payment every 2 s each), "
        f"Poisson arrivals; {timeline.end:g} s, measured from {timeline.ramp_end:g} s; "
        f"the load generator runs on the same {cores} CPUs",
        f"- Offline: iPads 1-{timeline.storm_devices} offline together from "
        f"{timeline.storm_start:g} s to {timeline.storm_end:g} s (a reconnect storm), every "
        f"third other iPad offline alone for {timeline.gap_seconds:g} s; burst at "
        f"{evening.BURST_FACTOR}x every rate from {timeline.burst_start:g} s to "
        f"{timeline.burst_end:g} s",
        f"- Load average (1 min) before the run {run.loadavg_before}, after {run.loadavg_after}: "
        "anything else busy on the machine shows here and slows every figure",
        "",
        "| Endpoint | Requests | Failures | p50 ms | p95 ms | p99 ms | Max ms | req/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *(_table_line(f"{row.method} {row.name}", row) for row in run.rows),
        _table_line("**Aggregated**", run.total),
        "",
        "| Window | Requests | Errors | req/s | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(_window_line(window) for window in windows),
        "",
        "| Server process | RSS |",
        "|---|---:|",
        f"| before the run (after /ready) | {_mib(server.rss_before_kib)} |",
        f"| after the run | {_mib(server.rss_after_kib)} |",
        f"| peak (VmHWM) | {_mib(server.rss_peak_kib)} |",
        "",
        f"CPU during the run ({run.wall_seconds:.1f} s wall, {cores} CPUs = "
        f"{cores * run.wall_seconds:.0f} CPU-s): server {server.cpu_seconds:.1f} CPU-s, "
        f"PostgreSQL {run.postgres_cpu_seconds:.1f} CPU-s, "
        f"load generator {run.locust_cpu_seconds:.1f} CPU-s.",
        "",
        f"Recovery: the time from the burst's end until the p95 of the requests started in the "
        f"last {timeline.rolling_seconds:g} s is back under {evening.GATE_P95_MS:g} ms.",
        "",
        "| Gate | Goal | Measured | |",
        "|---|---|---:|---|",
        *(
            f"| {g.target} | {g.goal} | {_figure(g.measured)} {g.unit} | {_verdict(g.met)} |"
            for g in gates
        ),
        "",
        f"**Gates: {_missed(gates)}**",
    ]
    if run.failures:
        lines += ["", "Failures:", ""]
        lines += [f"- {m} {name}: {error} x{count}" for m, name, error, count in run.failures]
    if run.server_exit != 0:
        lines += ["", f"Warning: the server's exit after SIGTERM was {run.server_exit}."]
    return "\n".join(lines)


def _missed(gates: list[Result]) -> str:
    missed = [gate.target for gate in gates if not gate.met]
    return "missed " + ", ".join(missed) if missed else "all met"


def _window_line(window: Window) -> str:
    figures = " | ".join(_ms(value) for value in (window.p50, window.p95, window.p99))
    return (
        f"| {window.label} | {window.requests} | {window.failures} | "
        f"{window.per_second:.1f} | {figures} |"
    )


def _figure(value: float) -> str:
    return f"{value:.1f}" if value == value else "n/a"  # NaN: nothing measured


def _table_line(label: str, row: Row) -> str:
    figures = [_ms(row.p50), _ms(row.p95), _ms(row.p99), _ms(row.max)]
    return f"| {label} | {row.requests} | {row.failures} | {' | '.join(figures)} | {row.rps:.1f} |"


def _below(value: float | None, limit: float) -> bool:
    return value is not None and value < limit


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "**MISS**"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def _mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def _locust_version() -> str:
    from importlib.metadata import version

    return f"locust {version('locust')}"


def _proc_status_kib(pid: int | None, field: str) -> int:
    """A ``kB`` field from ``/proc/<pid>/status``, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise BenchBroken(f"no {field} in /proc/{pid}/status")


if __name__ == "__main__":
    sys.exit(main())
