"""``make bench``: authenticated reads against their floor, a bare Litestar app, in one run.

Everything stays on 127.0.0.1 and is bounded. A throwaway PostgreSQL with the demo, then:

1. **Floor.** ``load/bare_app.py`` (one JSON handler, uvicorn as ``fynlo serve`` runs it),
   loaded closed-model with ``READS_BENCH_CONNECTIONS`` connections (default 16) for
   ``READS_BENCH_SECONDS`` (default 5). The client's own CPU is reported, to show it is not
   the cap.
2. **Fynlo, closed model.** One ``fynlo serve``; the demo owner signs in once; the same
   connections send the back office's authenticated reads in ``load/locustfile.py``'s
   proportions (orders list 4, an order 3, products 2, tables 1) as fast as they are
   answered; then each endpoint alone, and ``/health``.
3. **Fynlo, open model.** ``READS_BENCH_RATE`` requests a second (default 1,000) of the same
   mix for ``READS_BENCH_OPEN_SECONDS`` (default 10), each timed from when it was due.

Prints a markdown report with the targets of issue 20 (item 3): the mix at ≥ 0.5 x the floor,
and p99 ≤ 10 ms at 1,000 req/s offered, each also recorded through ``load/results.py``. With
``BENCH_QUICK=1`` the phases are shorter (1 s closed, 2 s open, 0.5 s per single endpoint) and
the targets the same. Exit 0 when figures were produced (met or not), 1
when the run broke, 143/130 on SIGTERM/Ctrl-C.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvloop

from load import database, machine, processes
from load.http_client import Client
from load.load_models import Tally, closed, open_rate, percentile_ms
from load.processes import BenchBroken
from load.results import Result, record
from server.auth.tables import Role
from server.demo import CREDENTIALS

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent
OWNER = next(login for login in CREDENTIALS.logins if login.role is Role.owner)
TARGET_RATIO = 0.5
TARGET_P99_MS = 10.0
MAX_REQUESTS = 1_000_000
QUICK = machine.quick()
WARM_UP_SECONDS = 0.5 if QUICK else 1.0
SINGLE_SECONDS = 0.5 if QUICK else 3.0
OPEN_CONNECTIONS = 64
# locustfile.py's weights for the authenticated reads (its /health is measured apart).
WEIGHTS = {"orders": 4, "order": 3, "products": 2, "tables": 1}


@dataclass
class Phase:
    label: str
    tally: Tally
    server_cpu: float
    postgres_cpu: float
    client_cpu: float


@dataclass
class Results:
    floor: Phase
    mixed: Phase
    singles: list[Phase]
    health: Phase
    opened: Phase
    rate: int
    open_seconds: int
    connections: int
    loadavg_before: str
    loadavg_after: str


def main() -> int:
    connections = machine.env_int("READS_BENCH_CONNECTIONS", 16)
    seconds = machine.env_int("READS_BENCH_SECONDS", 1 if QUICK else 5)
    rate = machine.env_int("READS_BENCH_RATE", 1000)
    open_seconds = machine.env_int("READS_BENCH_OPEN_SECONDS", 2 if QUICK else 10)
    return processes.run_bench(
        "reads bench", lambda: _measure_and_report(connections, seconds, rate, open_seconds)
    )


def _measure_and_report(connections: int, seconds: int, rate: int, open_seconds: int) -> int:
    started = datetime.now(UTC)
    results = _bench(connections, seconds, rate, open_seconds)
    print(_report(results, started))
    _record(results)
    return 0


def _bench(connections: int, seconds: int, rate: int, open_seconds: int) -> Results:
    with (
        tempfile.TemporaryDirectory(prefix="fynlo-reads-") as scratch,
        database.demo_cluster() as cluster,
    ):
        work = Path(scratch)
        loadavg_before = machine.loadavg()
        floor = _measure_floor(work, connections, seconds)
        port = processes.free_port()
        env = processes.server_env(dsn=cluster.dsn, port=port, data_dir=work / "data")
        database.load_demo(env, failure=BenchBroken)
        with _serving([str(BIN / "fynlo"), "serve"], port, "/ready", work, env) as server:
            phases = uvloop.run(
                _fynlo_phases(port, server, cluster.pid, connections, seconds, rate, open_seconds)
            )
        return Results(
            floor, *phases, rate, open_seconds, connections, loadavg_before, machine.loadavg()
        )


def _measure_floor(work: Path, connections: int, seconds: int) -> Phase:
    port = processes.free_port()
    argv = [sys.executable, "-m", "load.bare_app", str(port)]
    with _serving(argv, port, "/", work, None) as server:

        async def run() -> Phase:
            client = Client("127.0.0.1", port)
            await client.open(connections)
            mix = [("bare", client.request("/"))]
            try:
                await closed(
                    client,
                    mix,
                    connections=connections,
                    seconds=WARM_UP_SECONDS,
                    max_requests=MAX_REQUESTS,
                )
                return await _phase(
                    "bare Litestar",
                    server,
                    None,
                    closed(
                        client,
                        mix,
                        connections=connections,
                        seconds=seconds,
                        max_requests=MAX_REQUESTS,
                    ),
                )
            finally:
                client.close()

        return uvloop.run(run())


@contextmanager
def _serving(
    argv: list[str], port: int, ready: str, work: Path, env: dict[str, str] | None
) -> Iterator[int]:
    """A server process on ``port``, ready, stopped on the way out; yields its pid."""
    log_path = work / f"server-{port}.log"
    with log_path.open("w") as log:
        server = processes.start(argv, cwd=REPO, env=env or dict(_base_env()), log=log)
    try:
        processes.wait_ready(
            f"http://127.0.0.1:{port}{ready}", server, log_path, failure=BenchBroken
        )
        yield server.pid
        if server.poll() is not None:
            raise BenchBroken(f"the server died during the run{processes.tail(log_path)}")
    finally:
        processes.stop(server)


@contextmanager
def _profiled(server: int, seconds: int) -> Iterator[None]:
    """With ``READS_BENCH_PROFILE=<file>``, py-spy samples the server for the block (raw
    collapsed stacks, idle included); it must be installed in this venv."""
    output = os.environ.get("READS_BENCH_PROFILE")
    if not output:
        yield
        return
    argv = [str(BIN / "py-spy"), "record", "--pid", str(server), "--duration", str(seconds)]
    argv += ["--rate", "250", "--idle", "--format", "raw", "--output", output]
    with open(f"{output}.log", "w") as log:
        spy = processes.start(argv, cwd=REPO, env=dict(os.environ), log=log)
    try:
        yield
    finally:
        try:
            spy.wait(timeout=seconds + processes.STOP_SECONDS)
        finally:
            processes.stop(spy)


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("FYNLO_")}


async def _fynlo_phases(
    port: int,
    server: int,
    postmaster: int | None,
    connections: int,
    seconds: int,
    rate: int,
    open_seconds: int,
) -> tuple[Phase, list[Phase], Phase, Phase]:
    headers = await _sign_in(port)
    client = Client("127.0.0.1", port)
    await client.open(max(connections, OPEN_CONNECTIONS))
    try:
        mix = await _mix(client, port, headers)
        await closed(
            client, mix, connections=connections, seconds=WARM_UP_SECONDS, max_requests=MAX_REQUESTS
        )
        with _profiled(server, seconds):
            mixed = await _phase(
                "mixed reads",
                server,
                postmaster,
                closed(
                    client, mix, connections=connections, seconds=seconds, max_requests=MAX_REQUESTS
                ),
            )
        singles = []
        for name in WEIGHTS:
            alone = [pair for pair in mix if pair[0] == name]
            singles.append(
                await _phase(
                    name,
                    server,
                    postmaster,
                    closed(
                        client,
                        alone,
                        connections=connections,
                        seconds=SINGLE_SECONDS,
                        max_requests=MAX_REQUESTS,
                    ),
                )
            )
        health = [("health", client.request("/health"))]
        health_phase = await _phase(
            "/health",
            server,
            postmaster,
            closed(
                client,
                health,
                connections=connections,
                seconds=SINGLE_SECONDS,
                max_requests=MAX_REQUESTS,
            ),
        )
        opened = await _phase(
            f"open {rate}/s",
            server,
            postmaster,
            open_rate(client, mix, rate=rate, seconds=open_seconds, connections=OPEN_CONNECTIONS),
        )
    finally:
        client.close()
    return mixed, singles, health_phase, opened


async def _sign_in(port: int) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        answer = await http.post(
            "/api/v1/auth/login", json={"email": OWNER.email, "password": OWNER.password}
        )
    if answer.status_code != 200:
        raise BenchBroken(f"sign-in answered {answer.status_code}: {answer.text[:200]}")
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def _mix(client: Client, port: int, headers: dict[str, str]) -> list[tuple[str, bytes]]:
    """The weighted mix, with real order ids from the first page (as the back office does)."""
    listed = await client.send(client.request("/api/v1/orders?limit=50", headers=headers))
    if listed.status != 200:
        raise BenchBroken(f"the order list answered {listed.status}: {listed.body[:200]!r}")
    order_ids = [item["id"] for item in json.loads(listed.body)["items"]]
    if not order_ids:
        raise BenchBroken("the demo has no orders to read")
    paths = {
        "orders": ["/api/v1/orders?limit=50"],
        "order": [f"/api/v1/orders/{order_id}" for order_id in order_ids],
        "products": ["/api/v1/products"],
        "tables": ["/api/v1/tables"],
    }
    mix: list[tuple[str, bytes]] = []
    for index in range(len(order_ids) * 4):  # enough rounds to cycle through every order
        for name, weight in WEIGHTS.items():
            for step in range(weight):
                options = paths[name]
                path = options[(index * weight + step) % len(options)]
                mix.append((name, client.request(path, headers=headers)))
    return mix


async def _phase(label: str, server: int, postmaster: int | None, run: Any) -> Phase:
    server_before = machine.cpu_seconds(server)
    postgres_before = machine.postgres_cpu_seconds(postmaster)
    client_before = _own_cpu()
    tally: Tally = await run
    return Phase(
        label,
        tally,
        machine.cpu_seconds(server) - server_before,
        machine.postgres_cpu_seconds(postmaster) - postgres_before,
        _own_cpu() - client_before,
    )


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _report(results: Results, started: datetime) -> str:
    floor = results.floor
    mixed = results.mixed
    opened = results.opened
    ratio = mixed.tally.rate / floor.tally.rate if floor.tally.rate else 0.0
    open_p99 = percentile_ms(opened.tally.latencies, 0.99)
    ratio_ok = ratio >= TARGET_RATIO
    p99_ok = open_p99 is not None and open_p99 <= TARGET_P99_MS and opened.tally.failed == 0
    lines = [
        f"## Fynlo reads bench, {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"- Machine: {machine.describe()}",
        f"- Software: Python {platform.python_version()}, {machine.postgres_version()}; one "
        "`fynlo serve` (one uvicorn worker), throwaway non-durable PostgreSQL with the demo",
        f"- Closed model: {results.connections} keep-alive connections; open model: "
        f"{results.rate} req/s for {results.open_seconds} s on up to {OPEN_CONNECTIONS} "
        "connections, each request timed from when it was due",
        f"- Load average (1 min) before {results.loadavg_before}, after {results.loadavg_after}",
        "",
        "| Phase | Answered | Errors | req/s | p50 ms | p95 ms | p99 ms | Server CPU ms/req "
        "| PostgreSQL CPU ms/req | Client CPU ms/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(_line(phase) for phase in [floor, mixed, *results.singles, results.health, opened]),
        "",
        "Mixed reads in the closed model, by endpoint (ms):",
        "",
        "| Endpoint | Answered | p50 | p99 |",
        "|---|---:|---:|---:|",
        *(
            f"| {name} | {len(values)} | {_ms(percentile_ms(values, 0.5))} "
            f"| {_ms(percentile_ms(values, 0.99))} |"
            for name, values in mixed.tally.by_name.items()
        ),
        "",
        "| Target (issue 20, item 3) | Measured | |",
        "|---|---:|---|",
        f"| mixed reads ≥ {TARGET_RATIO} x bare Litestar | {ratio:.2f} x "
        f"({mixed.tally.rate:,.0f} / {floor.tally.rate:,.0f} req/s) | {_verdict(ratio_ok)} |",
        f"| p99 ≤ {TARGET_P99_MS:g} ms at {results.rate} req/s offered, no errors | "
        f"{_ms(open_p99)} ms, {opened.tally.failed} errors | {_verdict(p99_ok)} |",
        "",
        f"The client used {floor.client_cpu / floor.tally.elapsed:.0%} of one core while the "
        f"floor ran ({floor.tally.rate:,.0f} req/s); the bare server "
        f"{floor.server_cpu / floor.tally.elapsed:.0%}.",
    ]
    errors = sum(
        (phase.tally.errors for phase in [floor, mixed, opened]), start=type(floor.tally.errors)()
    )
    if errors:
        lines += ["", "Errors: " + ", ".join(f"{kind} x{count}" for kind, count in errors.items())]
    return "\n".join(lines)


def _record(results: Results) -> None:
    mixed, floor, opened = results.mixed.tally, results.floor.tally, results.opened.tally
    ratio = mixed.rate / floor.rate if floor.rate else 0.0
    record(
        Result(
            bench="reads",
            target="mixed reads, closed model",
            measured=mixed.rate,
            unit="req/s",
            goal=f"≥ {TARGET_RATIO} x floor (bare Litestar)",
            met=ratio >= TARGET_RATIO,
            floor=floor.rate,
        )
    )
    open_p99 = percentile_ms(opened.latencies, 0.99)
    record(
        Result(
            bench="reads",
            target=f"p99 at {results.rate:,} req/s offered (open model)",
            measured=open_p99 if open_p99 is not None else float("nan"),
            unit="ms",
            goal=f"≤ {TARGET_P99_MS:g} ms, no errors",
            met=open_p99 is not None and open_p99 <= TARGET_P99_MS and opened.failed == 0,
        )
    )


def _line(phase: Phase) -> str:
    tally = phase.tally
    per = max(tally.answered + tally.failed, 1)
    values = tally.latencies
    return (
        f"| {phase.label} | {tally.answered} | {tally.failed} | {tally.rate:,.0f} "
        f"| {_ms(percentile_ms(values, 0.5))} | {_ms(percentile_ms(values, 0.95))} "
        f"| {_ms(percentile_ms(values, 0.99))} | {phase.server_cpu * 1000 / per:.2f} "
        f"| {phase.postgres_cpu * 1000 / per:.2f} | {phase.client_cpu * 1000 / per:.2f} |"
    )


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "**MISS**"


if __name__ == "__main__":
    sys.exit(main())
