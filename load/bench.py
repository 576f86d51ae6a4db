"""``make bench``: the back-office mix against a private server, reported against the SLO.

Everything stays on 127.0.0.1 and is bounded: a throwaway PostgreSQL cluster, ``fynlo db
migrate`` and ``fynlo demo --load`` against it, one ``fynlo serve`` on a free port, then locust
headless for ``BENCH_SECONDS`` (default 20) with ``BENCH_USERS`` users (default 20) sharing
one sign-in as the demo owner, each starting ``BENCH_USER_RPS`` requests a second on average
(default 5, Poisson arrivals; see ``load/locustfile.py``).

Prints a markdown report: the machine, each endpoint's requests, failures, p50/p95/p99 and
req/s, the server's memory and CPU, and PASS/FAIL against the latency and error SLO
(reliability notes, F1). Exits 1 when the run itself breaks; an SLO miss is reported, not an
error. Every process started here is stopped on the way out, on failure and on SIGTERM too.
"""

from __future__ import annotations

import csv
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from load import machine, processes
from server.db.cluster import PostgresCluster

# The latency and error SLO (reliability notes, F1; the k6 thresholds documentation's figures).
SLO_P95_MS = 200
SLO_P99_MS = 400
SLO_ERROR_RATE = 0.01

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
SPAWN_RATE = 10
# The users share one access token, valid for 15 minutes; leave room for start-up.
MAX_SECONDS = 840
# The server drains requests for up to 10 s after SIGTERM (server/cli/dev.py); then it is killed.
# Locust's own start-up and its stop timeout on top of the run time.
LOCUST_SLACK_SECONDS = 60
LOCUST_STOP_TIMEOUT = 5


class BenchBroken(Exception):
    """The run could not produce figures: setup failed, the server died, locust failed."""


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
    users = machine.env_int("BENCH_USERS", 20)
    seconds = machine.env_int("BENCH_SECONDS", 20)
    if seconds > MAX_SECONDS:
        print(
            f"BENCH_SECONDS={seconds} is over {MAX_SECONDS}: the run's one access token "
            "lasts 15 minutes (see load/locustfile.py)",
            file=sys.stderr,
        )
        return 2
    user_rps = float(os.environ.get("BENCH_USER_RPS", "5"))
    signal.signal(signal.SIGTERM, processes.terminate)
    started = datetime.now(UTC)
    try:
        run = _bench(users=users, seconds=seconds)
    except BenchBroken as exc:
        print(f"bench broken: {exc}", file=sys.stderr)
        return 1
    except processes.Terminated:
        print("bench stopped by SIGTERM; everything it started is stopped", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("bench interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    print(_report(run, users=users, seconds=seconds, user_rps=user_rps, started=started))
    return 0


def _bench(*, users: int, seconds: int) -> Run:
    with (
        tempfile.TemporaryDirectory(prefix="fynlo-bench-") as scratch,
        PostgresCluster.throwaway() as cluster,
    ):
        work = Path(scratch)
        port = processes.free_port()
        env = processes.server_env(dsn=cluster.dsn, port=port, data_dir=work / "data")
        processes.fynlo_once("db", "migrate", env=env, failure=BenchBroken)
        processes.fynlo_once("demo", "--load", env=env, failure=BenchBroken)
        server_log = work / "server.log"
        with server_log.open("w") as log:
            server = processes.start([str(BIN / "fynlo"), "serve"], cwd=REPO, env=env, log=log)
        base = f"http://127.0.0.1:{port}"
        try:
            processes.wait_ready(f"{base}/ready", server, server_log, failure=BenchBroken)
            rss_before = _proc_status_kib(server.pid, "VmRSS")
            cpu_before = machine.cpu_seconds(server.pid)
            postgres_before = machine.postgres_cpu_seconds(cluster.pid)
            loadavg_before = machine.loadavg()
            began = time.monotonic()
            locust_cpu = _run_locust(base, users=users, seconds=seconds, work=work)
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
    if not any(row.requests > row.failures for row in rows if row.method == "GET"):
        raise BenchBroken(f"no request after sign-in succeeded: {failures[:3]}")
    return Run(
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


def _run_locust(base: str, *, users: int, seconds: int, work: Path) -> float:
    """Run locust headless to completion (bounded); return the CPU seconds it used."""
    argv = [
        str(BIN / "locust"),
        *("-f", str(LOCUSTFILE), "--headless", "--only-summary"),
        *("-u", str(users), "-r", str(min(SPAWN_RATE, users)), "-t", f"{seconds}s"),
        *("--host", base, "--csv", str(work / "run")),
        # Requests in flight at the end still count: dropping them would favour fast answers.
        *("--stop-timeout", str(LOCUST_STOP_TIMEOUT)),
        # Failures are figures to report, not a broken run.
        *("--exit-code-on-error", "0", "--loglevel", "WARNING"),
    ]
    locust_log = work / "locust.log"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with locust_log.open("w") as log:
        locust = processes.start(
            argv, cwd=REPO, env=os.environ | {"PYTHONUNBUFFERED": "1"}, log=log
        )
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


def _report(run: Run, *, users: int, seconds: int, user_rps: float, started: datetime) -> str:
    total = run.total
    error_rate = total.failures / total.requests
    checks = [
        ("p95", f"< {SLO_P95_MS} ms", _ms(total.p95), _below(total.p95, SLO_P95_MS)),
        ("p99", f"< {SLO_P99_MS} ms", _ms(total.p99), _below(total.p99, SLO_P99_MS)),
        ("errors", f"< {SLO_ERROR_RATE:.0%}", f"{error_rate:.2%}", error_rate < SLO_ERROR_RATE),
    ]
    passed = all(ok for *_, ok in checks)
    cores = len(os.sched_getaffinity(0))
    server = run.server
    lines = [
        f"## Fynlo bench, {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"- Machine: {machine.describe()}",
        f"- Software: Python {platform.python_version()}, {machine.postgres_version()}, "
        f"{_locust_version()}; one `fynlo serve` (one uvicorn worker), "
        "throwaway non-durable PostgreSQL",
        f"- Load: {users} back-office users (spawn {min(SPAWN_RATE, users)}/s), "
        f"Poisson arrivals at {user_rps:g} requests/s each (offered ~{users * user_rps:g} req/s), "
        f"{seconds} s; the load generator runs on the same {cores} CPUs",
        f"- Load average (1 min) before the run {run.loadavg_before}, after {run.loadavg_after}: "
        "anything else busy on the machine shows here and slows every figure",
        "",
        "| Endpoint | Requests | Failures | p50 ms | p95 ms | p99 ms | Max ms | req/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *(_table_line(f"{row.method} {row.name}", row) for row in run.rows),
        _table_line("**Aggregated**", total),
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
        "| SLO (reliability F1) | Target | Measured | |",
        "|---|---|---:|---|",
        *(f"| {name} | {target} | {got} | {_verdict(ok)} |" for name, target, got, ok in checks),
        "",
        f"**SLO: {_verdict(passed)}**",
    ]
    if run.failures:
        lines += ["", "Failures:", ""]
        lines += [f"- {m} {name}: {error} x{count}" for m, name, error, count in run.failures]
    if run.server_exit != 0:
        lines += ["", f"Warning: the server's exit after SIGTERM was {run.server_exit}."]
    return "\n".join(lines)


def _table_line(label: str, row: Row) -> str:
    figures = [_ms(row.p50), _ms(row.p95), _ms(row.p99), _ms(row.max)]
    return f"| {label} | {row.requests} | {row.failures} | {' | '.join(figures)} | {row.rps:.1f} |"


def _below(value: float | None, limit: float) -> bool:
    return value is not None and value < limit


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


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
