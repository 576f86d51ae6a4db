"""``make bench``, second half: the sync engine's push and bootstrap, each beside a floor.

Everything stays on 127.0.0.1 and every loop is bounded in count and time:

1. a throwaway PostgreSQL cluster, ``fynlo db migrate`` and ``fynlo demo --load`` against it
   (one restaurant, one location, its menu and floor), then one ``fynlo serve`` (a single
   uvicorn worker) on a free port, with a signing key file this process shares;
2. ``SYNC_BENCH_DEVICES`` iPads (default 20), plus one fresh one per bootstrap run, are
   enrolled in process through the real services (enrolment code, ``enrol``,
   ``device_pair``);
3. history, as a restaurant in use has: closed orders and their lines, shaped as the engine
   stores them, are copied into ``sync_entities`` (so that, with what the push adds, the
   location holds ``SYNC_BENCH_BOOTSTRAP_ROWS`` live rows, default 100,000) and analysed;
   the floor's scratch table is made ``LIKE sync_entities`` and gets the same history;
4. **push**: every device at once pushes ``SYNC_BENCH_BATCHES`` batches (default 20, after
   2 warm-up batches) of 100 changes over HTTP: 10 new orders with 5 lines each, the
   previous batch's orders sent and the one before's paid, 10 table states and 10
   availability counter deltas on the menu every till sells. Each device adopts the states
   the server answers with, as the iPad does, so its next change to a shared entity
   dominates unless another till wrote in between;
5. **paced push**: the same tills go on at one batch each every ``_pace`` seconds, so that
   together they offer the target's 5,000 changes/s; the p99 target is read here (a closed
   loop of 20 devices keeps 20 batches queued, so its latency is 20 / throughput whatever
   the server does);
6. **push floor**: plain asyncpg upserts the same rows (the states the server answered
   with) into the scratch table, one transaction per batch, one connection per device, all
   devices at once, rows in key order as the engine locks them; then the paced push's rows
   at the same pace;
7. **bootstrap**: a fresh device pulls from an empty cursor with ``limit=2000`` until
   ``has_more`` is false; **bootstrap floor**: plain asyncpg reads the same rows from the
   same table in keyset pages of 2000. Both are run ``SYNC_BENCH_BOOTSTRAP_RUNS`` times
   (default 2), alternating, and the best of each is reported and recorded
   (``load/results.py``). With ``BENCH_QUICK=1`` the bootstrap has 20,000 rows.

Prints a markdown report with the machine, the figures, and PASS/MISS against the issue's
targets, and records the push targets through ``load/results.py``; ``BENCH_QUICK=1`` runs
fewer push batches (the switches that profile the push are in ``load/push_profile.py``).
Exits 1 when the run itself breaks; a missed target is reported, not an error.
Every process started here is stopped on the way out, on failure and on SIGTERM too.
"""

from __future__ import annotations

import asyncio
import gc
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid4

import asyncpg
import httpx
import msgspec

from load import database, machine, processes, push_profile
from load.processes import BenchBroken
from load.results import Result, record
from server.auth.offline import SignedIn, statement_of

# The targets on this 2-core machine.
TARGET_PUSH_CHANGES_PER_S = 5_000
TARGET_PUSH_P99_MS = 50.0
TARGET_BOOTSTRAP_ROWS_PER_S = 50_000
TARGET_FLOOR_RATIO = 0.5

BATCH_SIZE = 100
WARMUP_BATCHES = 2
ORDERS_PER_BATCH = 10
LINES_PER_ORDER = 5
PULL_LIMIT = 2000
COPY_CHUNK = 10_000
SCHEMA_VERSION = 1
APP_VERSION = "bench-1.0"

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent
# Device access tokens last 15 minutes; everything after enrolment must fit in them.
MEASURE_SECONDS = 780
PHASE_SECONDS = 300
REQUEST_SECONDS = 60

_T = TypeVar("_T")


@dataclass(frozen=True)
class Sizes:
    devices: int
    batches: int
    paced_batches: int
    bootstrap_rows: int
    bootstrap_runs: int


@dataclass(frozen=True)
class BenchDevice:
    device_id: UUID
    prefix: str
    token: str
    signed_in: SignedIn | None = None
    """The demo manager, signed in offline by PIN: every change carries their proof."""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}


@dataclass(frozen=True)
class Tenant:
    restaurant_id: UUID
    location_id: UUID
    products: list[tuple[UUID, str, int, int]]  # id, name, price, VAT basis points
    tables: list[UUID]
    tills: list[BenchDevice]
    fresh: list[BenchDevice]  # never pushed nor pulled: one per bootstrap run


@dataclass(frozen=True)
class Cpu:
    """CPU seconds so far of the server, PostgreSQL and this process (the load generator)."""

    server: float
    postgres: float
    bench: float

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(
            self.server - other.server, self.postgres - other.postgres, self.bench - other.bench
        )


@dataclass
class PushRun:
    """Batches sent concurrently, and how long each took (warm-up batches excluded)."""

    changes: int
    wall: float
    latencies_ms: list[float]
    cpu: Cpu | None = None
    outcomes: Counter[str] = field(default_factory=Counter)
    rows: list[list[list[tuple[Any, ...]]]] = field(default_factory=list)
    """Per device, per batch (warm-up included): the rows the server stored, for the floor."""

    @property
    def per_second(self) -> float:
        return self.changes / self.wall


@dataclass
class PullRun:
    rows: int
    pages: int
    wall: float
    page_ms: list[float]
    decode_seconds: float = 0.0
    cpu: Cpu | None = None

    @property
    def per_second(self) -> float:
        return self.rows / self.wall


@dataclass
class Measured:
    push: PushRun
    push_floor: PushRun
    paced: PushRun
    paced_floor: PushRun
    bootstraps: list[PullRun]
    floor_reads: list[PullRun]
    seeded: int
    live_rows: int
    devices: int


@dataclass
class Run:
    measured: Measured
    wall_seconds: float
    server_exit: int | None
    loadavg_before: str
    loadavg_after: str


def main() -> int:
    quick = machine.quick()
    sizes = Sizes(
        devices=machine.env_int("SYNC_BENCH_DEVICES", 20),
        batches=machine.env_int("SYNC_BENCH_BATCHES", 4 if quick else 20),
        paced_batches=machine.env_int("SYNC_BENCH_PACED_BATCHES", 5 if quick else 15),
        bootstrap_rows=machine.env_int("SYNC_BENCH_BOOTSTRAP_ROWS", 20_000 if quick else 100_000),
        bootstrap_runs=machine.env_int("SYNC_BENCH_BOOTSTRAP_RUNS", 2),
    )
    return processes.run_bench("sync bench", lambda: _measure_and_report(sizes))


def _measure_and_report(sizes: Sizes) -> int:
    started = datetime.now(UTC)
    run = _bench(sizes)
    print(_report(run, sizes=sizes, started=started))
    _record_push(run.measured)
    _record_bootstrap(run.measured)
    return 0


def _record_push(m: Measured) -> None:
    """The push's two targets, each beside the floor measured in the same run."""
    ratio = m.push.per_second / m.push_floor.per_second
    record(
        Result(
            bench="sync",
            target="push throughput",
            measured=round(m.push.per_second),
            unit="changes/s",
            goal=f"≥ {TARGET_PUSH_CHANGES_PER_S:,} and ≥ {TARGET_FLOOR_RATIO:g} x floor",
            met=m.push.per_second >= TARGET_PUSH_CHANGES_PER_S and ratio >= TARGET_FLOOR_RATIO,
            floor=round(m.push_floor.per_second),
        )
    )
    p99 = _percentile(m.paced.latencies_ms, 99)
    record(
        Result(
            bench="sync",
            target=f"push p99 per batch at {TARGET_PUSH_CHANGES_PER_S:,} changes/s offered",
            measured=round(p99, 1),
            unit="ms",
            goal=f"≤ {TARGET_PUSH_P99_MS:g} ms",
            met=p99 <= TARGET_PUSH_P99_MS,
            floor=round(_percentile(m.paced_floor.latencies_ms, 99), 1),
        )
    )


# ---------------------------------------------------------------------------------------
# Processes: the cluster, fynlo's one-off commands and the server (as in load/bench.py)


def _bench(sizes: Sizes) -> Run:
    began = time.monotonic()
    loadavg_before = machine.loadavg()
    with (
        tempfile.TemporaryDirectory(prefix="fynlo-sync-bench-") as scratch,
        database.demo_cluster() as cluster,
    ):
        if push_profile.statements_wanted():
            push_profile.load_statements(cluster)
        work = Path(scratch)
        port = processes.free_port()
        key_file = work / "keys" / "signing.jwks.json"
        env = processes.server_env(
            dsn=cluster.dsn, port=port, data_dir=work / "data", key_file=key_file
        )
        database.load_demo(env, failure=BenchBroken)
        server_log = work / "server.log"
        with server_log.open("w") as log:
            server = processes.start([str(BIN / "fynlo"), "serve"], cwd=REPO, env=env, log=log)
        try:
            processes.wait_ready(
                f"http://127.0.0.1:{port}/ready", server, server_log, failure=BenchBroken
            )
            try:
                measured = asyncio.run(
                    _within(
                        MEASURE_SECONDS,
                        "the measurements",
                        _measure(
                            dsn=cluster.dsn,
                            base=f"http://127.0.0.1:{port}",
                            key_file=key_file,
                            server_pid=server.pid,
                            postmaster=cluster.pid,
                            sizes=sizes,
                        ),
                    )
                )
            except (BenchBroken, httpx.HTTPError, asyncpg.PostgresError, OSError) as exc:
                raise BenchBroken(f"{exc!r}{processes.tail(server_log)}") from exc
            if server.poll() is not None:
                raise BenchBroken(f"the server died during the run{processes.tail(server_log)}")
        finally:
            server_exit = processes.stop(server)
    return Run(measured, time.monotonic() - began, server_exit, loadavg_before, machine.loadavg())


async def _within(seconds: float, what: str, work: Awaitable[_T]) -> _T:
    try:
        return await asyncio.wait_for(work, timeout=seconds)
    except TimeoutError:
        raise BenchBroken(f"{what} took over {seconds:.0f}s") from None


async def _all(*work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` together; the first failure cancels the rest (none is left waiting)."""
    try:
        async with asyncio.TaskGroup() as group:
            for item in work:
                group.create_task(item)
    except* Exception as failed:
        raise failed.exceptions[0] from None


# ---------------------------------------------------------------------------------------
# The measurements, in this process


async def _measure(
    *, dsn: str, base: str, key_file: Path, server_pid: int, postmaster: int | None, sizes: Sizes
) -> Measured:
    def cpu() -> Cpu:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return Cpu(
            machine.cpu_seconds(server_pid),
            machine.postgres_cpu_seconds(postmaster),
            usage.ru_utime + usage.ru_stime,
        )

    tenant = await _within(
        processes.SETUP_SECONDS, "enrolling the devices", _enrol(dsn, key_file, sizes=sizes)
    )
    limits = httpx.Limits(max_connections=sizes.devices + 2, max_keepalive_connections=None)
    async with (
        httpx.AsyncClient(base_url=base, timeout=REQUEST_SECONDS, limits=limits) as http,
        asyncpg.create_pool(dsn, min_size=sizes.devices, max_size=sizes.devices) as pool,
    ):
        # A restaurant in use: its history is there (and analysed) before the tills push.
        history = max(0, sizes.bootstrap_rows - _entities_pushed(sizes))
        seeded = await _within(PHASE_SECONDS, "seeding", _seed(pool, tenant, history, first=1))
        await _within(PHASE_SECONDS, "the floor table", _make_floor_table(pool))
        statements = push_profile.statements_wanted()
        if statements:
            async with pool.acquire() as conn:
                await push_profile.reset_statements(conn)
        tills = [Till(device, tenant, index) for index, device in enumerate(tenant.tills)]
        before = cpu()
        with push_profile.profiled(server_pid):
            push = await _within(
                PHASE_SECONDS,
                "the push",
                _push(http, tills, warm_up=WARMUP_BATCHES, batches=sizes.batches),
            )
        push.cpu = cpu() - before
        before = cpu()
        paced = await _within(
            PHASE_SECONDS,
            "the paced push",
            _push(http, tills, warm_up=0, batches=sizes.paced_batches, every=_pace(sizes)),
        )
        paced.cpu = cpu() - before
        if statements:
            async with pool.acquire() as conn:
                print("| calls | total s | mean ms | rows | statement |\n|---:|---:|---:|---:|---|")
                print("\n".join(await push_profile.top_statements(conn, statements)), flush=True)
        before = cpu()
        push_floor = await _within(
            PHASE_SECONDS, "the push floor", _push_floor(pool, push.rows, warm_up=WARMUP_BATCHES)
        )
        push_floor.cpu = cpu() - before
        paced_floor = await _within(
            PHASE_SECONDS,
            "the paced push floor",
            _push_floor(pool, paced.rows, warm_up=0, every=_pace(sizes)),
        )
        live = await _live(pool, tenant)
        if live < sizes.bootstrap_rows:
            top_up = sizes.bootstrap_rows - live
            seeded += await _within(
                PHASE_SECONDS, "seeding", _seed(pool, tenant, top_up, first=history + 1)
            )
            live = await _live(pool, tenant)
        bootstraps, floor_reads = [], []
        for device in tenant.fresh:
            before = cpu()
            bootstrap = await _within(PHASE_SECONDS, "a bootstrap", _bootstrap(http, device))
            bootstrap.cpu = cpu() - before
            bootstraps.append(bootstrap)
            before = cpu()
            floor_read = await _within(PHASE_SECONDS, "a floor read", _read_floor(pool, tenant))
            floor_read.cpu = cpu() - before
            floor_reads.append(floor_read)
            if floor_read.rows != bootstrap.rows:
                raise BenchBroken(
                    f"the bootstrap returned {bootstrap.rows} rows, the table holds "
                    f"{floor_read.rows}: the device did not get the same rows"
                )
    return Measured(
        push, push_floor, paced, paced_floor, bootstraps, floor_reads, seeded, live, sizes.devices
    )


async def _enrol(dsn: str, key_file: Path, *, sizes: Sizes) -> Tenant:
    """The demo restaurant, its menu and floor, and enrolled devices with access tokens."""
    from server.auth.keys import SigningKeys
    from server.auth.sessions import device_pair
    from server.db import engine
    from server.demo import LOCATION_ID, RESTAURANT_ID
    from server.devices.schemas import EnrolmentCodeCreate
    from server.devices.services import create_enrolment_code, enrol
    from server.settings import Settings

    settings = Settings(database_url=dsn, signing_key_file=key_file)
    keys = SigningKeys.load_or_create(key_file)  # the file the server created at start-up
    engine.configure(dsn)
    await engine.open_pool(min_size=1, max_size=2)
    try:
        assert engine.DB.pool is not None
        async with engine.DB.pool.acquire() as conn:
            owner = await conn.fetchval(
                "SELECT id FROM users WHERE restaurant_id = $1 AND role = 'owner'"
                " ORDER BY email LIMIT 1",
                RESTAURANT_ID,
            )
            products = await conn.fetch(
                "SELECT id, name, price, vat_rate_bp FROM products"
                " WHERE restaurant_id = $1 AND NOT archived ORDER BY position, name",
                RESTAURANT_ID,
            )
            tables = await conn.fetch(
                "SELECT id FROM floor_tables WHERE location_id = $1 AND NOT archived ORDER BY name",
                LOCATION_ID,
            )
        if owner is None or not products or not tables:
            raise BenchBroken("the demo restaurant has no owner, products or tables")
        devices = []
        for number in range(sizes.devices + sizes.bootstrap_runs):
            code = await create_enrolment_code(
                restaurant_id=RESTAURANT_ID,
                created_by=owner,
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
            devices.append(
                BenchDevice(
                    device.id, device.prefix, pair.access_token, await _manager_on(device.id)
                )
            )
    finally:
        await engine.close_pool()
    return Tenant(
        RESTAURANT_ID,
        LOCATION_ID,
        [(r["id"], r["name"], r["price"], r["vat_rate_bp"]) for r in products],
        [r["id"] for r in tables],
        devices[: sizes.devices],
        devices[sizes.devices :],
    )


async def _manager_on(device_id: UUID) -> SignedIn:
    """The demo manager signed in on the till by PIN, as the app does offline."""
    from server.demo import CREDENTIALS, RESTAURANT_ID
    from server.employees.services import offline_credentials

    manager = next(e for e in CREDENTIALS.employees if e.role.value == "manager")
    issued = await offline_credentials(restaurant_id=RESTAURANT_ID, device_id=device_id)
    credential = next(c for c in issued.employees if c.employee_id == manager.id)
    return SignedIn.from_pin(
        employee_id=manager.id,
        device_id=device_id,
        pin=manager.pin,
        salt_hex=credential.salt,
        verifier_hex=credential.verifier,
    )


# ---------------------------------------------------------------------------------------
# Push


class Till:
    """One iPad's side of the push: its sequence, HLC, order numbers and known clocks."""

    def __init__(self, device: BenchDevice, tenant: Tenant, index: int) -> None:
        from server.catalog.sync import availability_id

        self.device = device
        self.tenant = tenant
        self.index = index
        self.actor = str(device.device_id)
        self.seq = 0
        self.order_seq = 0
        self.hlc_ms = 0
        self.hlc_counter = 0
        self.clocks: dict[tuple[str, str], dict[str, int]] = {}
        """Clocks of the entities this till changes again: its orders and shared entities."""
        self.batches_of_orders: list[list[str]] = []
        self.due: dict[str, int] = {}
        """What each order of this till will cost, before its tip (catalog prices, no discount)."""
        self.availability = [
            (str(availability_id(tenant.location_id, product)), str(product))
            for product, *_ in tenant.products
        ]
        self.shared = 0

    def next_batch(self) -> list[dict[str, Any]]:
        """100 changes: new orders and lines, orders sent and paid, tables and stock."""
        changes: list[dict[str, Any]] = []
        opened = datetime.now(UTC).isoformat()
        created = []
        for _ in range(ORDERS_PER_BATCH):
            due = 0
            order_id = str(uuid4())
            self.order_seq += 1
            table = self.tenant.tables[(self.index + self.order_seq) % len(self.tenant.tables)]
            fields = {
                "number": f"{self.device.prefix}-{self.order_seq:04d}",
                "device_prefix": self.device.prefix,
                "device_seq": self.order_seq,
                "opened_at": opened,
                "status": "open",
                "table_id": str(table),
                "covers": 2 + self.order_seq % 4,
            }
            changes.append(self._change("order", order_id, fields, track=True))
            for position in range(LINES_PER_ORDER):
                product, name, price, vat = self.tenant.products[
                    (self.order_seq * LINES_PER_ORDER + position) % len(self.tenant.products)
                ]
                line = {
                    "order_id": order_id,
                    "product_id": str(product),
                    "name": name,
                    "unit_price": price,
                    "quantity": 1 + position % 2,
                    "vat_rate_bp": vat,
                    "position": position,
                }
                changes.append(self._change("order_line", str(uuid4()), line, track=False))
                due += price * line["quantity"]
            created.append(order_id)
            self.due[order_id] = due
        if self.batches_of_orders:
            for order_id in self.batches_of_orders[-1]:
                changes.append(self._change("order", order_id, {"status": "sent"}, track=True))
        if len(self.batches_of_orders) >= 2:
            closed = datetime.now(UTC).isoformat()
            for order_id in self.batches_of_orders[-2]:
                # Cash for the bill and the tip, then the order marked paid: the server
                # checks the money covers it once the batch is in.
                cash = {
                    "order_id": order_id,
                    "amount": self.due.pop(order_id) + 100,
                    "tendered": 10_000_000,
                    "currency": "GBP",
                    "taken_at": closed,
                }
                changes.append(self._change("cash_payment", str(uuid4()), cash, track=False))
                paid = {"status": "paid", "closed_at": closed, "tip": 100}
                changes.append(self._change("order", order_id, paid, track=True))
        self.batches_of_orders.append(created)
        while len(changes) < BATCH_SIZE:
            self.shared += 1
            if self.shared % 2:
                table = self.tenant.tables[(self.index + self.shared) % len(self.tenant.tables)]
                state = ("seated", "ordered", "paying", "dirty", "free")[self.shared % 5]
                fields = {"status": state, "covers": 2 + self.shared % 4}
                changes.append(self._change("table_state", str(table), fields, track=True))
            else:
                entity_id, product_id = self.availability[
                    (self.index + self.shared) % len(self.availability)
                ]
                fields = {"product_id": product_id, "remaining": -1}
                changes.append(self._change("availability", entity_id, fields, track=True))
        return changes

    def adopt(self, results: Sequence[dict[str, Any]]) -> None:
        """Take the server's states as this till's copies, as the iPad does after a push."""
        for result in results:
            key = (result["entity_type"], result["entity_id"])
            state = result.get("state")
            if state is not None and key in self.clocks:
                self.clocks[key] = state["clock"]

    def _change(
        self, entity_type: str, entity_id: str, fields: dict[str, Any], *, track: bool
    ) -> dict[str, Any]:
        self.seq += 1
        key = (entity_type, entity_id)
        clock = dict(self.clocks.get(key, {}))
        clock[self.actor] = clock.get(self.actor, 0) + 1
        if track:
            self.clocks[key] = clock
        change = {
            "seq": self.seq,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "op": "upsert",
            "fields": fields,
            "clock": clock,
            "hlc": self._hlc(),
        }
        if self.device.signed_in is not None:
            signed = statement_of(self.device.device_id, change)
            change["actor"] = self.device.signed_in.actor(signed)
        return change

    def _hlc(self) -> str:
        now_ms = int(time.time() * 1000)
        if now_ms > self.hlc_ms:
            self.hlc_ms, self.hlc_counter = now_ms, 0
        else:
            self.hlc_counter += 1
        return f"{self.hlc_ms:013d}:{self.hlc_counter:05d}:{self.actor}"


def _pace(sizes: Sizes) -> float:
    """Seconds between one device's batches for the devices together to offer the target."""
    return sizes.devices * BATCH_SIZE / TARGET_PUSH_CHANGES_PER_S


async def _push(
    http: httpx.AsyncClient,
    tills: Sequence[Till],
    *,
    warm_up: int,
    batches: int,
    every: float | None = None,
) -> PushRun:
    """Every till pushes ``warm_up`` then ``batches`` batches, one in flight at a time, as an
    iPad does: back to back (``every`` None: the most the server takes, a closed loop), or
    one every ``every`` seconds, the tills' starts spread over that interval (the rate the
    target names, offered whatever the answers' latency; a late answer delays that till's
    next batch, never overlaps it)."""
    run = PushRun(changes=0, wall=0.0, latencies_ms=[])
    run.rows = [[] for _ in tills]
    # Everyone's warm-up is done (connections open, code paths hot) before the clock starts.
    warmed_up = asyncio.Barrier(len(tills))
    windows: list[tuple[float, float]] = []

    async def device_loop(number: int, till: Till) -> None:
        began = time.perf_counter()
        for batch in range(warm_up + batches):
            if batch == warm_up:
                await warmed_up.wait()
                began = time.perf_counter()
            if every is not None and batch >= warm_up:
                due = began + every * ((batch - warm_up) + number / len(tills))
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            changes = till.next_batch()
            body = msgspec.json.encode(
                {
                    "batch_id": str(uuid4()),
                    "device_id": till.actor,
                    "schema_version": SCHEMA_VERSION,
                    "app_version": APP_VERSION,
                    "changes": changes,
                }
            )
            sent = time.perf_counter()
            answer = await http.post("/api/v1/sync/push", content=body, headers=till.device.headers)
            elapsed = time.perf_counter() - sent
            if answer.status_code != 200:
                raise BenchBroken(f"push answered {answer.status_code}: {answer.text[:500]}")
            results = msgspec.json.decode(answer.content)["results"]
            if len(results) != len(changes):
                raise BenchBroken(f"push answered {len(results)} results for {len(changes)}")
            till.adopt(results)
            run.rows[number].append(_rows_of(till.tenant, changes, results))
            if batch >= warm_up:
                run.latencies_ms.append(elapsed * 1000)
                run.changes += len(changes)
                run.outcomes.update(result["outcome"] for result in results)
        windows.append((began, time.perf_counter()))

    await _all(*(device_loop(n, till) for n, till in enumerate(tills)))
    run.wall = max(end for _, end in windows) - min(begin for begin, _ in windows)
    return run


def _rows_of(
    tenant: Tenant, changes: Sequence[dict[str, Any]], results: Sequence[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """The sync_entities rows the server stored for a batch, as the floor will write them."""
    from server.sync import entities as _entities  # noqa: F401 - registers syncable types
    from server.sync import registry

    rows = []
    for change, result in zip(changes, results, strict=True):
        state = result.get("state")
        if state is None:
            continue
        entry = registry.registered(state["entity_type"])
        hlcs = dict.fromkeys(state["data"], change["hlc"])
        rows.append(
            (
                tenant.restaurant_id,
                state["entity_type"],
                UUID(state["entity_id"]),
                tenant.location_id,
                msgspec.json.encode(state["data"]).decode(),
                msgspec.json.encode(state["clock"]).decode(),
                msgspec.json.encode(hlcs).decode(),
                state["deleted"],
                entry.tier(state["data"]) if entry is not None else 9,
            )
        )
    # Lock rows in one order, as the engine does, so concurrent batches never deadlock.
    rows.sort(key=lambda row: (row[1], row[2]))
    return rows


FLOOR_TABLE = "bench_floor_entities"
FLOOR_UPSERT = (
    f"INSERT INTO {FLOOR_TABLE} (restaurant_id, entity_type, entity_id, location_id, data,"
    " clock, field_hlcs, deleted, tier) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    " ON CONFLICT (restaurant_id, entity_type, entity_id) DO UPDATE SET"
    " location_id = excluded.location_id, data = excluded.data, clock = excluded.clock,"
    " field_hlcs = excluded.field_hlcs, deleted = excluded.deleted, tier = excluded.tier,"
    " change_xid = pg_current_xact_id(), change_seq = nextval('sync_change_seq'),"
    " updated_at = now()"
)


async def _make_floor_table(pool: asyncpg.Pool) -> None:
    """A scratch table like ``sync_entities`` (columns, defaults, indexes), holding the same
    history, so the floor writes into a table of the same size."""
    async with pool.acquire() as conn:
        await conn.execute(
            f"CREATE TABLE {FLOOR_TABLE} (LIKE sync_entities INCLUDING DEFAULTS"
            " INCLUDING CONSTRAINTS INCLUDING INDEXES)"
        )
        await conn.execute(f"INSERT INTO {FLOOR_TABLE} SELECT * FROM sync_entities")
        await conn.execute(f"ANALYZE {FLOOR_TABLE}")


async def _push_floor(
    pool: asyncpg.Pool,
    rows: list[list[list[tuple[Any, ...]]]],
    *,
    warm_up: int,
    every: float | None = None,
) -> PushRun:
    """The same rows upserted by plain asyncpg: one transaction per batch, same concurrency
    and, for a paced run, the same pace."""
    run = PushRun(changes=0, wall=0.0, latencies_ms=[])
    warmed_up = asyncio.Barrier(len(rows))
    windows: list[tuple[float, float]] = []

    async def device_loop(number: int, batches: list[list[tuple[Any, ...]]]) -> None:
        began = time.perf_counter()
        async with pool.acquire() as conn:
            for batch, batch_rows in enumerate(batches):
                if batch == warm_up:
                    await warmed_up.wait()
                    began = time.perf_counter()
                if every is not None and batch >= warm_up:
                    due = began + every * ((batch - warm_up) + number / len(rows))
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                sent = time.perf_counter()
                async with conn.transaction():
                    await conn.executemany(FLOOR_UPSERT, batch_rows)
                elapsed = time.perf_counter() - sent
                if batch >= warm_up:
                    run.latencies_ms.append(elapsed * 1000)
                    run.changes += BATCH_SIZE
        windows.append((began, time.perf_counter()))

    await _all(*(device_loop(n, batches) for n, batches in enumerate(rows)))
    run.wall = max(end for _, end in windows) - min(begin for begin, _ in windows)
    return run


# ---------------------------------------------------------------------------------------
# Bootstrap


LIVE = (
    "SELECT count(*) FROM sync_entities WHERE restaurant_id = $1"
    " AND (location_id = $2 OR location_id IS NULL) AND NOT deleted"
)


async def _live(pool: asyncpg.Pool, tenant: Tenant) -> int:
    """Live rows a device at the location bootstraps."""
    async with pool.acquire() as conn:
        return int(await conn.fetchval(LIVE, tenant.restaurant_id, tenant.location_id))


def _entities_pushed(sizes: Sizes) -> int:
    """New entities the push creates: its orders and their lines (shared ones are few)."""
    batches = sizes.devices * (WARMUP_BATCHES + sizes.batches + sizes.paced_batches)
    return batches * ORDERS_PER_BATCH * (1 + LINES_PER_ORDER)


async def _seed(pool: asyncpg.Pool, tenant: Tenant, wanted: int, *, first: int) -> int:
    """Copy ``wanted`` rows of history into ``sync_entities``: closed orders and their lines,
    shaped as the engine stores them; numbered from ``first``. Then ANALYZE, as autovacuum
    would in a database in use."""
    from server.sync import entities as _entities  # noqa: F401 - registers syncable types
    from server.sync import registry

    order_tier = registry.registered("order")
    line_tier = registry.registered("order_line")
    assert order_tier is not None and line_tier is not None
    columns = (
        "restaurant_id", "entity_type", "entity_id", "location_id", "data", "clock",
        "field_hlcs", "deleted", "tier",
    )  # fmt: skip
    records: list[tuple[Any, ...]] = []
    opened = datetime.now(UTC) - timedelta(days=30)
    number = first - 1
    while len(records) < wanted:
        number += 1
        device = tenant.tills[number % len(tenant.tills)]
        actor = str(device.device_id)
        hlc = f"{int(opened.timestamp() * 1000) + number:013d}:00000:{actor}"
        order_id = uuid4()
        order = {
            "number": f"{device.prefix}-{100_000 + number:04d}",
            "device_prefix": device.prefix,
            "device_seq": 100_000 + number,
            "opened_at": (opened + timedelta(seconds=number)).isoformat(),
            "closed_at": (opened + timedelta(seconds=number + 1800)).isoformat(),
            "status": "paid",
            "table_id": str(tenant.tables[number % len(tenant.tables)]),
            "covers": 2,
            "tip": 100,
        }
        records.append(_seed_row(tenant, "order", order_id, order, actor, 3, hlc, order_tier))
        for position in range(LINES_PER_ORDER - 1):
            if len(records) >= wanted:
                break
            product, name, price, vat = tenant.products[(number + position) % len(tenant.products)]
            line = {
                "order_id": str(order_id),
                "product_id": str(product),
                "name": name,
                "unit_price": price,
                "quantity": 1,
                "vat_rate_bp": vat,
                "position": position,
            }
            records.append(_seed_row(tenant, "order_line", uuid4(), line, actor, 1, hlc, line_tier))
    async with pool.acquire() as conn:
        for begin in range(0, len(records), COPY_CHUNK):
            await conn.copy_records_to_table(
                "sync_entities", records=records[begin : begin + COPY_CHUNK], columns=columns
            )
        await conn.execute("ANALYZE sync_entities")
    return len(records)


def _seed_row(
    tenant: Tenant,
    entity_type: str,
    entity_id: UUID,
    data: dict[str, Any],
    actor: str,
    count: int,
    hlc: str,
    entry: Any,
) -> tuple[Any, ...]:
    return (
        tenant.restaurant_id,
        entity_type,
        entity_id,
        tenant.location_id,
        msgspec.json.encode(data).decode(),
        msgspec.json.encode({actor: count}).decode(),
        msgspec.json.encode(dict.fromkeys(data, hlc)).decode(),
        False,
        entry.tier(data),
    )


async def _bootstrap(http: httpx.AsyncClient, device: BenchDevice) -> PullRun:
    """A fresh device pulls from an empty cursor until the server says there is no more."""
    run = PullRun(rows=0, pages=0, wall=0.0, page_ms=[])
    cursor: str | None = None
    # Decoding a page allocates thousands of containers, which sets off Python's collector;
    # without this it walks everything the bench has kept since it started (the push's rows
    # among them) and the device is charged for it, about half again the decoding itself.
    gc.collect()
    gc.freeze()
    began = time.perf_counter()
    for _ in range(10_000):
        params: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "app_version": APP_VERSION,
            "limit": PULL_LIMIT,
        }
        if cursor:
            params["cursor"] = cursor
        sent = time.perf_counter()
        answer = await http.get("/api/v1/sync/pull", params=params, headers=device.headers)
        run.page_ms.append((time.perf_counter() - sent) * 1000)
        if answer.status_code != 200:
            raise BenchBroken(f"pull answered {answer.status_code}: {answer.text[:500]}")
        decoding = time.perf_counter()
        page = msgspec.json.decode(answer.content)
        run.decode_seconds += time.perf_counter() - decoding
        run.rows += len(page["changes"])
        run.pages += 1
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    else:
        raise BenchBroken("the bootstrap did not finish in 10,000 pages")
    run.wall = time.perf_counter() - began
    return run


FLOOR_READ = (
    "SELECT entity_type, entity_id, location_id, data, clock, deleted, tier FROM sync_entities"
    " WHERE restaurant_id = $1 AND (location_id = $2 OR location_id IS NULL) AND NOT deleted"
    " AND (tier, entity_type, entity_id) > ($3, $4, $5)"
    " ORDER BY tier, entity_type, entity_id LIMIT $6"
)


async def _read_floor(pool: asyncpg.Pool, tenant: Tenant) -> PullRun:
    """The same rows read by plain asyncpg from the same table, in keyset pages of 2000."""
    run = PullRun(rows=0, pages=0, wall=0.0, page_ms=[])
    after: tuple[int, str, UUID] = (-1, "", UUID(int=0))
    async with pool.acquire() as conn:
        began = time.perf_counter()
        for _ in range(10_000):
            sent = time.perf_counter()
            rows = await conn.fetch(
                FLOOR_READ, tenant.restaurant_id, tenant.location_id, *after, PULL_LIMIT
            )
            run.page_ms.append((time.perf_counter() - sent) * 1000)
            run.rows += len(rows)
            run.pages += 1
            if len(rows) < PULL_LIMIT:
                break
            last = rows[-1]
            after = (last["tier"], last["entity_type"], last["entity_id"])
        else:
            raise BenchBroken("the floor read did not finish in 10,000 pages")
        run.wall = time.perf_counter() - began
    return run


# ---------------------------------------------------------------------------------------
# The report


def _report(run: Run, *, sizes: Sizes, started: datetime) -> str:
    m = run.measured
    push, floor = m.push, m.push_floor
    boot = max(m.bootstraps, key=lambda r: r.per_second)
    read = max(m.floor_reads, key=lambda r: r.per_second)
    p = {q: _percentile(push.latencies_ms, q) for q in (50, 95, 99)}
    f = {q: _percentile(floor.latencies_ms, q) for q in (50, 95, 99)}
    paced = {q: _percentile(m.paced.latencies_ms, q) for q in (50, 99)}
    paced_floor = {q: _percentile(m.paced_floor.latencies_ms, q) for q in (50, 99)}
    push_ratio = push.per_second / floor.per_second
    boot_ratio = boot.per_second / read.per_second
    checks = [
        (
            "push throughput",
            push.per_second >= TARGET_PUSH_CHANGES_PER_S,
            f">= {TARGET_PUSH_CHANGES_PER_S:,} changes/s",
        ),
        ("push vs floor", push_ratio >= TARGET_FLOOR_RATIO, f">= {TARGET_FLOOR_RATIO:g} x floor"),
        (
            "push p99",
            paced[99] <= TARGET_PUSH_P99_MS,
            f"<= {TARGET_PUSH_P99_MS:g} ms at {TARGET_PUSH_CHANGES_PER_S:,} changes/s offered",
        ),
        (
            "bootstrap",
            boot.per_second >= TARGET_BOOTSTRAP_ROWS_PER_S,
            f">= {TARGET_BOOTSTRAP_ROWS_PER_S:,} rows/s",
        ),
        (
            "bootstrap vs floor",
            boot_ratio >= TARGET_FLOOR_RATIO,
            f">= {TARGET_FLOOR_RATIO:g} x floor",
        ),
    ]
    verdict = dict((name, ok) for name, ok, _ in checks)
    cores = len(os.sched_getaffinity(0))
    batches = len(push.latencies_ms)
    lines = [
        f"## Fynlo sync bench, {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"- Machine: {machine.describe()}",
        f"- Software: Python {platform.python_version()}, {machine.postgres_version()}; one "
        "`fynlo serve` (one uvicorn worker, pool of 10 connections), throwaway non-durable "
        f"PostgreSQL; the load generator (httpx, this process) runs on the same {cores} CPUs",
        f"- Push: {m.devices} devices at once, {sizes.batches} batches of {BATCH_SIZE} changes "
        f"each after {WARMUP_BATCHES} warm-up batches ({batches} batches, {push.changes:,} "
        f"changes measured); then {sizes.paced_batches} paced batches each, one every "
        f"{_pace(sizes):.2f} s, {TARGET_PUSH_CHANGES_PER_S:,} changes/s offered in all",
        f"- Bootstrap: {boot.rows:,} live rows at the location ({m.seeded:,} of them history "
        f"copied in before the push), pages of {PULL_LIMIT}; best of {len(m.bootstraps)} "
        "fresh devices",
        f"- Load average (1 min) before the run {run.loadavg_before}, after "
        f"{run.loadavg_after}; whole run {run.wall_seconds:.0f} s",
        "",
        "| Metric | Fynlo | Floor (plain asyncpg) | Fynlo / floor | Target | |",
        "|---|---:|---:|---:|---|---|",
        f"| Push throughput, changes/s | {push.per_second:,.0f} | {floor.per_second:,.0f} | "
        f"{push_ratio:.2f} | >= {TARGET_PUSH_CHANGES_PER_S:,}; >= {TARGET_FLOOR_RATIO:g} x floor"
        f" | {_verdict(verdict['push throughput'] and verdict['push vs floor'])} |",
        f"| Push p50 per batch, ms | {p[50]:.1f} | {f[50]:.1f} | {p[50] / f[50]:.1f} | | |",
        f"| Push p95 per batch, ms | {p[95]:.1f} | {f[95]:.1f} | {p[95] / f[95]:.1f} | | |",
        f"| Push p99 per batch, ms | {p[99]:.1f} | {f[99]:.1f} | {p[99] / f[99]:.1f} | | |",
        f"| Paced push, changes/s (offered {TARGET_PUSH_CHANGES_PER_S:,}) | "
        f"{m.paced.per_second:,.0f} | {m.paced_floor.per_second:,.0f} | | | |",
        f"| Paced push p50 per batch, ms | {paced[50]:.1f} | {paced_floor[50]:.1f} | "
        f"{paced[50] / paced_floor[50]:.1f} | | |",
        f"| Paced push p99 per batch, ms | {paced[99]:.1f} | {paced_floor[99]:.1f} | "
        f"{paced[99] / paced_floor[99]:.1f} | <= {TARGET_PUSH_P99_MS:g} | "
        f"{_verdict(verdict['push p99'])} |",
        f"| Bootstrap, rows/s | {boot.per_second:,.0f} | {read.per_second:,.0f} | "
        f"{boot_ratio:.2f} | >= {TARGET_BOOTSTRAP_ROWS_PER_S:,}; >= {TARGET_FLOOR_RATIO:g} x "
        f"floor | {_verdict(verdict['bootstrap'] and verdict['bootstrap vs floor'])} |",
        "",
        "| Check | Target | |",
        "|---|---|---|",
        *(f"| {name} | {target} | {_verdict(ok)} |" for name, ok, target in checks),
        "",
        f"Push outcomes: {_outcomes(push.outcomes)}. Max batch latency {max(push.latencies_ms):.0f}"
        f" ms (floor {max(floor.latencies_ms):.0f} ms).",
        _cpu_line("Push", push.wall, push.cpu, cores),
        _cpu_line("Push floor", floor.wall, floor.cpu, cores),
        _cpu_line("Paced push", m.paced.wall, m.paced.cpu, cores),
        f"Bootstrap runs (rows/s): {_runs(m.bootstraps)}; floor reads: {_runs(m.floor_reads)}. "
        f"Best bootstrap: {boot.pages} pages, page p50 {_percentile(boot.page_ms, 50):.0f} ms, "
        f"max {max(boot.page_ms):.0f} ms; JSON decoding in the client "
        f"{boot.decode_seconds:.2f} s of {boot.wall:.2f} s.",
        _cpu_line("Best bootstrap", boot.wall, boot.cpu, cores),
    ]
    missed = [name for name, ok, _ in checks if not ok]
    lines += ["", f"**Targets: {'all met' if not missed else 'missed ' + ', '.join(missed)}**"]
    if run.server_exit != 0:
        lines += ["", f"Warning: the server's exit after SIGTERM was {run.server_exit}."]
    return "\n".join(lines)


def _record_bootstrap(m: Measured) -> None:
    boot = max(m.bootstraps, key=lambda r: r.per_second)
    floor = max(m.floor_reads, key=lambda r: r.per_second)
    met = (
        boot.per_second >= TARGET_BOOTSTRAP_ROWS_PER_S
        and boot.per_second >= TARGET_FLOOR_RATIO * floor.per_second
    )
    record(
        Result(
            bench="sync",
            target="bootstrap throughput",
            measured=round(boot.per_second),
            unit="rows/s",
            goal=f"≥ {TARGET_BOOTSTRAP_ROWS_PER_S:,} and ≥ {TARGET_FLOOR_RATIO:g} x floor",
            met=met,
            floor=round(floor.per_second),
        )
    )


def _percentile(values: Sequence[float], q: int) -> float:
    """The q-th percentile, interpolated (``statistics.quantiles``, inclusive method)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _cpu_line(label: str, wall: float, cpu: Cpu | None, cores: int) -> str:
    if cpu is None:
        return ""
    return (
        f"{label}: {wall:.2f} s wall ({cores * wall:.1f} CPU-s on {cores} CPUs); server "
        f"{cpu.server:.1f} CPU-s, PostgreSQL {cpu.postgres:.1f} CPU-s, load generator "
        f"{cpu.bench:.1f} CPU-s."
    )


def _outcomes(outcomes: Counter[str]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in outcomes.most_common())


def _runs(runs: Sequence[PullRun]) -> str:
    return ", ".join(f"{r.per_second:,.0f}" for r in runs)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "**MISS**"


if __name__ == "__main__":
    sys.exit(main())
