"""``make bench``: password and PIN sign-in beside the argon2 hash floor, and what a burst of
sign-ins does to everyone else's requests (issue 20, target 5).

Everything stays on loopback and every loop is bounded in count and time. A throwaway
PostgreSQL with the demo restaurant, one ``fynlo serve`` (a single uvicorn worker), then:

1. **Set-up, through the real services.** ``SIGNIN_BENCH_USERS`` (default 100) back-office
   managers with their own passwords, the same number of employees with their own PINs
   (``create_employee``), and ``SIGNIN_BENCH_IPADS`` enrolled iPads (default 10) the PINs
   are typed on. Distinct accounts, so the throttle (five tries per account and source) never
   refuses an honest sign-in; each manager signs in from an address of their own in
   127.0.0.0/8 (loopback on Linux), as managers of different restaurants would, so the
   ceiling per client address (50 per 15 minutes) is not spent by the bench either. Nothing
   about the throttle is changed.
2. **Hash floor.** The bare ``argon2id`` check with the server's parameters, in this process,
   one at a time: the least one sign-in can cost.
3. **Quiet probe.** ``/health`` and an authenticated read (``GET /api/v1/products`` as the
   owner) at ``PROBE_RATE`` a second, no sign-ins: the other requests' own latency.
4. **Sign-ins, two definitions of "100 concurrent"**, for passwords and then PINs, each with
   the probe running beside it:
   - *open*: every user signs in once, arriving at Poisson-spread moments over
     ``SIGNIN_BENCH_WINDOW`` seconds (default 10; the arrivals of a Poisson process given
     their count are uniform over the window), each sign-in timed from its arrival;
   - *burst*: every user signs in at the same instant (a closed burst). It cannot drain faster
     than ``users x floor / cores``, which is its floor.

Records each target through ``load/results.py`` and prints a markdown report. ``BENCH_QUICK=1``
runs 30 users over 3 s. Exit 0 when figures were produced (met or not), 1 when the run broke,
143/130 on SIGTERM/Ctrl-C.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvloop

from load import database, machine, processes
from load.http_client import Client
from load.load_models import percentile_ms
from load.processes import BenchBroken
from load.results import Result, record

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent
BENCH = "signin"
TARGET_P95_MS = 100.0
TARGET_OTHERS_P99_MS = 50.0
PROBE_RATE = 100
PROBE_CONNECTIONS = 16
PASSWORD = "bench sign-in {number} correct horse"  # noqa: S105 - bench accounts only
SEED = 20  # the arrivals are the same in every run
SIGN_IN_SECONDS = 30.0
PHASE_SLACK_SECONDS = 30.0
PAUSE_SECONDS = 1.0  # between phases, so one's tail does not start the next


@dataclass(frozen=True)
class Sizes:
    users: int
    ipads: int
    window: float
    quiet_seconds: float
    floor_hashes: int

    @classmethod
    def from_env(cls) -> Sizes:
        quick = os.environ.get("BENCH_QUICK") == "1"
        return cls(
            users=machine.env_int("SIGNIN_BENCH_USERS", 30 if quick else 100),
            ipads=machine.env_int("SIGNIN_BENCH_IPADS", 3 if quick else 10),
            window=float(machine.env_int("SIGNIN_BENCH_WINDOW", 3 if quick else 10)),
            quiet_seconds=1.5 if quick else 4.0,
            floor_hashes=8 if quick else 30,
        )


@dataclass(frozen=True)
class Accounts:
    """What the set-up made: sign-in request bodies and where to send them from."""

    logins: list[tuple[str, bytes]]  # (source address, JSON body)
    pins: list[tuple[str, bytes]]  # (iPad's bearer token, JSON body)
    owner_token: str


@dataclass
class Phase:
    label: str
    kind: str  # "password" or "PIN"
    model: str  # "open" or "burst"
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    probe: list[float] = field(default_factory=list)
    probe_errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    server_cpu: float = 0.0
    postgres_cpu: float = 0.0

    def p(self, fraction: float) -> float | None:
        return percentile_ms(self.latencies, fraction)


@dataclass
class Results:
    sizes: Sizes
    floor_ms: float
    cores: int
    quiet: Phase
    phases: list[Phase]
    loadavg_before: str
    loadavg_after: str


def main() -> int:
    sizes = Sizes.from_env()
    return processes.run_bench("sign-in bench", lambda: _measure_and_report(sizes))


def _measure_and_report(sizes: Sizes) -> int:
    started = datetime.now(UTC)
    results = _bench(sizes)
    _record(results)
    print(_report(results, started))
    return 0


def _bench(sizes: Sizes) -> Results:
    with (
        tempfile.TemporaryDirectory(prefix="fynlo-signin-") as scratch,
        database.demo_cluster() as cluster,
    ):
        work = Path(scratch)
        loadavg_before = machine.loadavg()
        port = processes.free_port()
        key_file = work / "keys.json"
        env = processes.server_env(
            dsn=cluster.dsn, port=port, data_dir=work / "data", key_file=key_file
        )
        database.load_demo(env, failure=BenchBroken)
        with _serving(port, work, env) as server:
            accounts = uvloop.run(_set_up(cluster.dsn, key_file, sizes))
            floor_ms = _hash_floor(sizes.floor_hashes)
            quiet, phases = uvloop.run(_measure(port, server.pid, cluster.pid, accounts, sizes))
        cores = len(os.sched_getaffinity(0))
        return Results(sizes, floor_ms, cores, quiet, phases, loadavg_before, machine.loadavg())


@contextmanager
def _serving(port: int, work: Path, env: dict[str, str]) -> Iterator[Any]:
    log_path = work / "fynlo-serve.log"
    with log_path.open("w") as log:
        server = processes.start([str(BIN / "fynlo"), "serve"], cwd=REPO, env=env, log=log)
        try:
            url = f"http://127.0.0.1:{port}/ready"
            processes.wait_ready(url, server, log_path, failure=BenchBroken)
            yield server
        finally:
            processes.stop(server)


# ---------------------------------------------------------------------------------------
# Set-up, in this process, through the real services


async def _set_up(dsn: str, key_file: Path, sizes: Sizes) -> Accounts:
    from server.db import engine

    engine.configure(dsn)
    await engine.open_pool(min_size=1, max_size=4)
    try:
        return await asyncio.wait_for(_accounts(dsn, key_file, sizes), processes.SETUP_SECONDS)
    except TimeoutError:
        raise BenchBroken(f"the set-up took over {processes.SETUP_SECONDS}s") from None
    finally:
        await engine.close_pool()


async def _accounts(dsn: str, key_file: Path, sizes: Sizes) -> Accounts:
    from server.auth.keys import SigningKeys
    from server.auth.passwords import hash_password
    from server.auth.sessions import device_pair, user_pair
    from server.auth.tables import Role, User
    from server.auth.tokens import Caller
    from server.demo import LOCATION_ID, RESTAURANT_ID
    from server.devices.schemas import EnrolmentCodeCreate
    from server.devices.services import create_enrolment_code, enrol
    from server.employees.schemas import EmployeeCreate
    from server.employees.services import create_employee
    from server.settings import Settings

    settings = Settings(database_url=dsn, signing_key_file=key_file)
    keys = SigningKeys.load_or_create(key_file)  # the file the server created at start-up
    owner = (
        await User.select(User.id)
        .where((User.restaurant_id == RESTAURANT_ID) & (User.role == Role.owner))
        .first()
    )
    if owner is None:
        raise BenchBroken("the demo restaurant has no owner")
    owner_pair = await user_pair(
        keys,
        settings,
        caller=Caller(user_id=owner["id"], restaurant_id=RESTAURANT_ID, role=Role.owner),
    )
    hashes = await asyncio.gather(
        *(hash_password(PASSWORD.format(number=n)) for n in range(sizes.users))
    )
    await User.insert(
        *[
            User(
                restaurant_id=RESTAURANT_ID,
                email=f"manager{n}@signin.bench.fynlo.app",
                name=f"Bench manager {n}",
                password_hash=stored,
                role=Role.manager,
            )
            for n, stored in enumerate(hashes)
        ]
    )
    pins = _pins(sizes.users)
    employees = await asyncio.gather(
        *(
            create_employee(
                restaurant_id=RESTAURANT_ID,
                body=EmployeeCreate(name=f"Bench server {n}", role=Role.server, pin=pin),
                by=Role.owner,
            )
            for n, pin in enumerate(pins)
        )
    )
    tokens = []
    for number in range(sizes.ipads):
        code = await create_enrolment_code(
            restaurant_id=RESTAURANT_ID,
            created_by=owner["id"],
            body=EnrolmentCodeCreate(location_id=LOCATION_ID),
        )
        device, restaurant_id = await enrol(code=code.code, name=f"Bench till {number + 1}")
        pair = await device_pair(
            keys,
            settings,
            restaurant_id=restaurant_id,
            device_id=device.id,
            location_id=device.location_id,
        )
        tokens.append(pair.access_token)
    return Accounts(
        logins=[
            (
                _address(n),
                _json(
                    {
                        "email": f"manager{n}@signin.bench.fynlo.app",
                        "password": PASSWORD.format(number=n),
                    }
                ),
            )
            for n in range(sizes.users)
        ],
        pins=[
            (tokens[n % len(tokens)], _json({"employee_id": str(employee.id), "pin": pin}))
            for n, (employee, pin) in enumerate(zip(employees, pins, strict=True))
        ],
        owner_token=owner_pair.access_token,
    )


def _pins(count: int) -> list[str]:
    """``count`` six-digit PINs the PIN rules accept (some clash; nobody minds)."""
    from server.employees.pins import check_pin
    from server.errors import ValidationFailed

    draw = random.Random(SEED)
    pins: list[str] = []
    while len(pins) < count:
        pin = f"{draw.randrange(1_000_000):06d}"
        try:
            check_pin(pin, allow_four_digits=False)
        except ValidationFailed:
            continue
        pins.append(pin)
    return pins


def _address(number: int) -> str:
    """A loopback source address of the manager's own, never 127.0.0.1 (the probe's)."""
    return f"127.0.{1 + number // 250}.{1 + number % 250}"


def _json(value: dict[str, str]) -> bytes:
    return json.dumps(value).encode()


def _hash_floor(count: int) -> float:
    """The median of ``count`` bare argon2id checks with the server's parameters, in ms."""
    from argon2 import PasswordHasher

    from server.auth.passwords import PARAMETERS

    hasher = PasswordHasher.from_parameters(PARAMETERS)
    stored = hasher.hash("the hash floor")
    times = []
    for _ in range(count):
        began = time.perf_counter()
        hasher.verify(stored, "the hash floor")
        times.append(time.perf_counter() - began)
    return sorted(times)[len(times) // 2] * 1000


# ---------------------------------------------------------------------------------------
# Measuring


async def _measure(
    port: int, server_pid: int, postmaster: int | None, accounts: Accounts, sizes: Sizes
) -> tuple[Phase, list[Phase]]:
    probe = Client("127.0.0.1", port)
    await probe.open(PROBE_CONNECTIONS)
    owner = {"Authorization": f"Bearer {accounts.owner_token}"}
    requests = [probe.request("/health"), probe.request("/api/v1/products", headers=owner)]
    try:
        quiet = Phase("quiet, no sign-ins", "none", "none")
        before = machine.cpu_seconds(server_pid), machine.postgres_cpu_seconds(postmaster)
        await _probed(quiet, probe, requests, asyncio.sleep(sizes.quiet_seconds))
        quiet.seconds = sizes.quiet_seconds
        quiet.server_cpu = machine.cpu_seconds(server_pid) - before[0]
        quiet.postgres_cpu = machine.postgres_cpu_seconds(postmaster) - before[1]
        logins = [_login_request(port, body) for _, body in accounts.logins]
        login_sources = [source for source, _ in accounts.logins]
        pins = [_pin_request(port, token, body) for token, body in accounts.pins]
        no_sources = [None] * len(pins)
        phases = []
        for kind, prepared, sources in (
            ("password", logins, login_sources),
            ("PIN", pins, no_sources),
        ):
            for model in ("open", "burst"):
                window = sizes.window if model == "open" else 0.0
                label = (
                    f"{kind}, {sizes.users} users over {window:g} s (open)"
                    if model == "open"
                    else f"{kind}, {sizes.users} users at once (burst)"
                )
                phase = Phase(label, kind, model)
                before = machine.cpu_seconds(server_pid), machine.postgres_cpu_seconds(postmaster)
                began = time.perf_counter()
                await _probed(
                    phase, probe, requests, _sign_ins(phase, port, prepared, sources, window)
                )
                phase.seconds = time.perf_counter() - began
                phase.server_cpu = machine.cpu_seconds(server_pid) - before[0]
                phase.postgres_cpu = machine.postgres_cpu_seconds(postmaster) - before[1]
                phases.append(phase)
                await asyncio.sleep(PAUSE_SECONDS)
        return quiet, phases
    finally:
        probe.close()


async def _probed(phase: Phase, probe: Client, requests: list[bytes], work: Any) -> None:
    """Run ``work`` while ``/health`` and the authenticated read go at ``PROBE_RATE``."""
    stop = asyncio.Event()
    prober = asyncio.create_task(_probe(phase, probe, requests, stop))
    try:
        await asyncio.wait_for(work, SIGN_IN_SECONDS + PHASE_SLACK_SECONDS)
    except TimeoutError:
        raise BenchBroken(f"{phase.label}: not done in time") from None
    finally:
        stop.set()
        await asyncio.wait_for(prober, PHASE_SLACK_SECONDS)


async def _probe(phase: Phase, probe: Client, requests: list[bytes], stop: asyncio.Event) -> None:
    """Open model: one request every 1/``PROBE_RATE`` s, each timed from when it was due."""
    free = asyncio.Semaphore(PROBE_CONNECTIONS)
    started = time.perf_counter()
    limit = int(PROBE_RATE * (SIGN_IN_SECONDS + PHASE_SLACK_SECONDS))
    tasks = []

    async def one(request: bytes, due: float) -> None:
        async with free:
            try:
                answer = await probe.send(request)
            except Exception as exc:  # counted by kind, never a crash
                kind = type(exc).__name__
                phase.probe_errors[kind] = phase.probe_errors.get(kind, 0) + 1
                return
        if 200 <= answer.status < 300:
            phase.probe.append(time.perf_counter() - due)
        else:
            kind = f"HTTP {answer.status}"
            phase.probe_errors[kind] = phase.probe_errors.get(kind, 0) + 1

    for index in range(limit):
        if stop.is_set():
            break
        due = started + index / PROBE_RATE
        lag = due - time.perf_counter()
        if lag > 0:
            try:
                await asyncio.wait_for(stop.wait(), lag)
                break
            except TimeoutError:
                pass
        tasks.append(asyncio.create_task(one(requests[index % len(requests)], due)))
    if tasks:
        await asyncio.wait(tasks, timeout=PHASE_SLACK_SECONDS)


async def _sign_ins(
    phase: Phase, port: int, prepared: list[bytes], sources: list[str | None], window: float
) -> None:
    """Each request once, at Poisson-spread arrivals over ``window`` (all at once if 0)."""
    draw = random.Random(SEED)
    offsets = sorted(draw.uniform(0, window) for _ in prepared)
    started = time.perf_counter()

    async def arrive(offset: float, request: bytes, source: str | None) -> None:
        due = started + offset
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        try:
            status = await asyncio.wait_for(_send_once(port, request, source), SIGN_IN_SECONDS)
        except (OSError, TimeoutError, ValueError) as exc:
            phase.errors[type(exc).__name__] = phase.errors.get(type(exc).__name__, 0) + 1
            return
        if status == 200:
            phase.latencies.append(time.perf_counter() - due)
        else:
            phase.errors[f"HTTP {status}"] = phase.errors.get(f"HTTP {status}", 0) + 1

    await asyncio.gather(
        *(arrive(o, r, s) for o, r, s in zip(offsets, prepared, sources, strict=True))
    )


def _login_request(port: int, body: bytes) -> bytes:
    return _post(port, "/api/v1/auth/login", body, {})


def _pin_request(port: int, token: str, body: bytes) -> bytes:
    return _post(port, "/api/v1/auth/pin", body, {"Authorization": f"Bearer {token}"})


def _post(port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _send_once(port: int, request: bytes, source: str | None) -> int:
    """Send ``request`` on a new connection from ``source``; the answer's status."""
    local = (source, 0) if source is not None else None
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=local)
    try:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        return int(head[9:12])
    finally:
        writer.close()


# ---------------------------------------------------------------------------------------
# Recording and the report


def _record(results: Results) -> None:
    floor = results.floor_ms
    record(
        Result(
            bench=BENCH,
            target="argon2id hash floor (m=19 MiB, t=2, p=1)",
            measured=round(floor, 1),
            unit="ms",
            goal="OWASP's minimum parameters; the floor of every sign-in below",
            met=_at_owasp_minimum(),
            floor=round(floor, 1),
        )
    )
    for phase in results.phases:
        p95 = phase.p(0.95)
        burst_floor = _burst_floor(results, 0.95)
        record(
            Result(
                bench=BENCH,
                target=f"{phase.label}: p95",
                measured=round(p95, 1) if p95 is not None else float("nan"),
                unit="ms",
                goal=f"≤ {TARGET_P95_MS:g} ms, no failures",
                met=p95 is not None and p95 <= TARGET_P95_MS and not phase.errors,
                floor=round(floor if phase.model == "open" else burst_floor, 1),
            )
        )
        p99 = percentile_ms(phase.probe, 0.99)
        quiet = percentile_ms(results.quiet.probe, 0.99)
        record(
            Result(
                bench=BENCH,
                target=f"other requests during {phase.label}: p99",
                measured=round(p99, 1) if p99 is not None else float("nan"),
                unit="ms",
                goal=f"≤ {TARGET_OTHERS_P99_MS:g} ms, none failed (/health, an authenticated read)",
                met=p99 is not None and p99 <= TARGET_OTHERS_P99_MS and not phase.probe_errors,
                floor=round(quiet, 1) if quiet is not None else None,
            )
        )


def _at_owasp_minimum() -> bool:
    from argon2 import Type

    from server.auth.passwords import PARAMETERS

    return (
        PARAMETERS.type is Type.ID
        and PARAMETERS.memory_cost >= 19_456
        and PARAMETERS.time_cost >= 2
        and PARAMETERS.parallelism >= 1
    )


def _burst_floor(results: Results, fraction: float) -> float:
    """The ``fraction`` quantile of a burst if every core did nothing but hash: the k-th
    sign-in waits for the ``k / cores`` hashes before it."""
    rank = max(1, int(fraction * results.sizes.users))
    return -(-rank // results.cores) * results.floor_ms


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _report(results: Results, started: datetime) -> str:
    sizes, floor = results.sizes, results.floor_ms
    quiet = results.quiet
    lines = [
        f"# Sign-in benchmark, {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"- Machine: {machine.describe()}; {machine.postgres_version()}",
        f"- Load average before {results.loadavg_before}, after {results.loadavg_after}",
        f"- {sizes.users} managers (own passwords, own addresses) and {sizes.users} employees"
        f" (own PINs) on {sizes.ipads} iPads; probe: /health and GET /api/v1/products at"
        f" {PROBE_RATE}/s",
        f"- Hash floor (bare argon2id check, m=19 MiB, t=2, p=1): **{floor:.1f} ms**;"
        f" {results.cores} cores, so a burst's p95 cannot beat {_burst_floor(results, 0.95):.0f}"
        " ms",
        f"- Other requests with no sign-ins: p50 {_fmt(percentile_ms(quiet.probe, 0.5))} ms,"
        f" p99 {_fmt(percentile_ms(quiet.probe, 0.99))} ms",
        "",
        "| Phase | p50 ms | p95 ms | max ms | p95 / floor | failed | server CPU ms / sign-in"
        " (probe's taken out) | PostgreSQL CPU ms / sign-in | others p50 / p99 ms | target |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    # The probe's own cost, measured in the quiet phase, is taken out of each phase's CPU.
    server_rate = quiet.server_cpu / quiet.seconds
    postgres_rate = quiet.postgres_cpu / quiet.seconds
    for phase in results.phases:
        p95 = phase.p(0.95)
        count = max(1, len(phase.latencies))
        server_ms = max(0.0, phase.server_cpu - server_rate * phase.seconds) * 1000 / count
        postgres_ms = max(0.0, phase.postgres_cpu - postgres_rate * phase.seconds) * 1000 / count
        met = p95 is not None and p95 <= TARGET_P95_MS and not phase.errors
        lines.append(
            f"| {phase.label} | {_fmt(phase.p(0.5))} | {_fmt(p95)} | {_fmt(phase.p(1.0))}"
            f" | {(p95 or 0) / floor:.1f} | {sum(phase.errors.values())}"
            f" | {server_ms:.1f} | {postgres_ms:.1f}"
            f" | {_fmt(percentile_ms(phase.probe, 0.5))} / {_fmt(percentile_ms(phase.probe, 0.99))}"
            f" | {'MET' if met else 'MISSED'} (p95 ≤ {TARGET_P95_MS:g} ms) |"
        )
    errors = {p.label: p.errors for p in results.phases if p.errors}
    if errors:
        lines += ["", f"Failures: {errors}"]
    probe_errors = {p.label: p.probe_errors for p in results.phases if p.probe_errors}
    if probe_errors:
        lines += ["", f"Other requests that failed, by kind: {probe_errors}"]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
