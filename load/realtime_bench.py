"""``make bench``, fourth part: the real-time socket ``/api/v1/ws`` on one server process.

Everything stays on 127.0.0.1 and every loop is bounded in count and time:

1. the open-file limit of this process is raised (``RLIMIT_NOFILE``, to at least 12,000) so
   that the server, started next, inherits it; then a throwaway PostgreSQL cluster,
   ``fynlo db migrate``, ``fynlo demo --load`` and one ``fynlo serve`` (a single uvicorn
   worker) on a free port with ``FYNLO_REALTIME_HEARTBEAT_SECONDS=30`` and a signing key
   file this process shares (the process handling of ``load/sync_bench.py``, reused);
2. two iPads of the demo location are enrolled through the real services, and back-office
   access tokens are minted in process for the demo owner and manager (one per socket);
3. **held**: ``REALTIME_BENCH_CONNECTIONS`` back-office sockets (default 5,000) connect,
   ``REALTIME_BENCH_BATCH`` at a time (default 200), each sending ``auth`` and waiting for
   its ``welcome``; they are held ``REALTIME_BENCH_HOLD_SECONDS`` (default 5), then each
   must still be open and answer a protocol ping, ``/health`` must answer, and one poke is
   sent to all of them. The server's RSS (``VmRSS``) before and after opening them gives
   the memory per idle socket. Then they all close;
4. **fan-out**: ``REALTIME_BENCH_SUBSCRIBERS`` fresh back-office sockets (default 1,000,
   all on the restaurant's ``managers`` channel) while one iPad pushes
   ``REALTIME_BENCH_EVENTS`` one-change batches over HTTP (default 20, after 3 warm-up
   ones), one every 250 ms once the previous poke has reached every socket. Events carry no
   timestamp, so each (socket, event) pair is timed in this process from the moment the
   push was sent, and from the moment its answer came back (the poke is published after
   the commit, before the answer, so that figure can be negative), to the moment the
   socket's reader had the frame;
5. **push to poke**: one iPad holds a socket while the other pushes
   ``REALTIME_BENCH_PUSHES`` one-change batches (default 100, after 5 warm-up ones), each
   once the previous poke has arrived; timed the same two ways, and from the push's
   commit (PostgreSQL's commit timestamp of the order's row, ``track_commit_timestamp``
   turned on for the throwaway cluster) to the poke read. Then 50 ``GET /health`` (no
   more than the pushes) from the same client give the floor of any request;
6. **floors**, in the same run: a bare Litestar WebSocket server (``load/bare_realtime.py``:
   no auth, channels, middleware or database) on the same uvicorn settings fans one frame
   out to as many sockets on each ``POST /poke`` (timed from the POST sent to each frame
   read) and sends one frame to one socket (timed from the server's send, stamped in the
   frame, to the frame read), alternating event by event with Fynlo's fan-out and push to
   poke so that both are timed under the same load. Before that, right after Fynlo's held
   phase, it holds as many idle sockets as Fynlo did (its RSS per socket).

Each target is recorded with its floor through ``load/results.py``: KiB per held socket,
fan-out p99 and push commit to poke p50. ``BENCH_QUICK=1`` makes every count smaller
(1,000 held sockets, 200 in the fan-out, 5 events, 20 pushes; the variables below still
win) and still records all three.

Each socket is a ``websockets`` 17 client in this process (uvloop when installed), with no
client-side keepalive, a small frame queue, and an answer to every ``ping``; it offers
permessage-deflate as a browser does, or nothing as an iPad's URLSession does with
``REALTIME_BENCH_COMPRESSION=none``. This process's garbage collector is paused while
sockets are timed, so its pauses are not counted as the server's. Prints a
markdown report with the machine, the settings, the figures and PASS/MISS against the
issue's targets. Exits 1 when the run itself breaks; a missed target is reported, not an
error. Every process started here is stopped on the way out, on failure and on SIGTERM too.
"""

from __future__ import annotations

import asyncio
import gc
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Protocol, TypeVar
from uuid import uuid4

import asyncpg
import httpx
import msgspec
from websockets import State
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from load import database, machine, processes
from load.processes import BenchBroken
from load.results import Result, record
from load.sync_bench import (
    APP_VERSION,
    BIN,
    REPO,
    SCHEMA_VERSION,
    Cpu,
    Till,
    _enrol,
    _percentile,
    _within,
)
from load.sync_bench import Sizes as SyncSizes
from server.db.cluster import PostgresCluster

# The issue's targets on this 2-core machine.
TARGET_CONNECTIONS = 5_000
TARGET_FANOUT_P99_MS = 50.0
TARGET_POKE_P50_MS = 6.0
OPEN_FILES_WANTED = 12_000
OPEN_FILES_SPARE = 2_000
"""Descriptors beyond one per socket: PostgreSQL connections, logs, HTTP clients."""

QUICK = {
    "REALTIME_BENCH_CONNECTIONS": 1_000,
    "REALTIME_BENCH_HOLD_SECONDS": 1,
    "REALTIME_BENCH_SUBSCRIBERS": 200,
    "REALTIME_BENCH_EVENTS": 5,
    "REALTIME_BENCH_PUSHES": 20,
}
"""``BENCH_QUICK=1``: the defaults of a run that fits in about 25 s."""
QUICK_EVENT_GAP_SECONDS = 0.1
TARGET_KIB_PER_SOCKET = 50.0
HEARTBEAT_SECONDS = 30
WS_PATH = "/api/v1/ws"
PUSH_PATH = "/api/v1/sync/push"
PONG = '{"type":"pong"}'
MAX_FRAME = 64 * 1024
CLIENT_QUEUE = 4
WARMUP_SOCKETS = 20
WARMUP_EVENTS = 3
WARMUP_PUSHES = 5
EVENT_GAP_SECONDS = 0.25
PUSH_GAP_SECONDS = 0.02
HEALTH_REQUESTS = 50
CLOSE_BATCH = 500

# Device access tokens last 15 minutes; back-office tokens are minted for as long.
TOKEN_SECONDS = 900
MEASURE_SECONDS = 600
PHASE_SECONDS = 240
OPEN_SECONDS = 30
"""One socket's connection, handshake and welcome."""
DELIVERY_SECONDS = 10
"""How long one event may take to reach every socket before the missing ones are counted."""
CLOSE_SECONDS = 10
REQUEST_SECONDS = 30

_T = TypeVar("_T")


class Frame(msgspec.Struct):
    """Any server frame, read only as far as its tag (and the floor's send time)."""

    type: str
    sent_at: float | None = None
    """Only in the floor's pokes: Unix seconds, just before the server sent it."""


_frames = msgspec.json.Decoder(Frame)


@dataclass(frozen=True)
class Sizes:
    connections: int
    batch: int
    hold_seconds: int
    subscribers: int
    events: int
    pushes: int
    compression: str | None
    """``deflate`` (what a browser offers) or None (what an iPad's URLSession offers)."""
    event_gap_seconds: float = EVENT_GAP_SECONDS


@dataclass(frozen=True)
class OpenFiles:
    """RLIMIT_NOFILE as this process (and so the server) runs with it."""

    wanted: int
    soft: int
    hard: int
    was: int


@dataclass
class Held:
    """Phase 1: the sockets held at once, and what they cost the server."""

    wanted: int
    opened: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    open_seconds: float = 0.0
    still_open: int = 0
    pinged: int = 0
    ping_ms: list[float] = field(default_factory=list)
    health_status: int = 0
    health_ms: float = 0.0
    broadcast_received: int = 0
    broadcast_last_ms: float = 0.0
    broadcast_p50_ms: float = 0.0
    rss_before_kib: int = 0
    rss_after_kib: int = 0
    bench_rss_before_kib: int = 0
    bench_rss_after_kib: int = 0
    close_seconds: float = 0.0
    open_cpu: Cpu | None = None
    ended: Counter[str] = field(default_factory=Counter)

    @property
    def kib_per_socket(self) -> float:
        return (self.rss_after_kib - self.rss_before_kib) / self.opened if self.opened else 0.0

    @property
    def bench_kib_per_socket(self) -> float:
        growth = self.bench_rss_after_kib - self.bench_rss_before_kib
        return growth / self.opened if self.opened else 0.0


@dataclass
class Timed:
    """Pokes timed per (socket, event): from the push being sent, and from its answer."""

    label: str
    sockets: int = 0
    events: int = 0
    from_sent_ms: list[float] = field(default_factory=list)
    from_answer_ms: list[float] = field(default_factory=list)
    arrival_from_sent_ms: list[float] = field(default_factory=list)
    """From the push being sent to the bytes reaching this process, before any task ran."""
    per_event_ms: list[tuple[float, float]] = field(default_factory=list)
    """Per event: from the push being sent to the first socket's poke, and to the last."""
    from_server_ms: list[float] = field(default_factory=list)
    """From the server's own moment (Fynlo: the push's commit; the floor: its send) to the
    poke read, on this machine's wall clock."""
    reads: list[tuple[str, float]] = field(default_factory=list)
    """Fynlo's push to poke: (the order pushed, when its poke was read, Unix seconds)."""
    push_ms: list[float] = field(default_factory=list)
    health_ms: list[float] = field(default_factory=list)
    """``GET /health`` round trips from the same client, after the pushes."""
    missing: int = 0
    wall: float = 0.0
    cpu: Cpu | None = None
    other_frames: Counter[str] = field(default_factory=Counter)
    ended: Counter[str] = field(default_factory=Counter)


@dataclass
class Floors:
    """The same three measures on the bare server (``load/bare_realtime.py``)."""

    held: Held
    fanout: Timed
    poke: Timed


@dataclass
class Measured:
    held: Held
    fanout: Timed
    poke: Timed
    floors: Floors


class Laps:
    """Wall time of each part of the run, to see what a quick run spends its time on."""

    def __init__(self) -> None:
        self.seconds: list[tuple[str, float]] = []
        self._last = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.seconds.append((name, now - self._last))
        self._last = now

    def __str__(self) -> str:
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.seconds)


@dataclass
class Run:
    measured: Measured
    open_files: OpenFiles
    wall_seconds: float
    server_exit: int | None
    loadavg_before: str
    loadavg_after: str
    laps: Laps


def main() -> int:
    quick = machine.quick()

    def setting(name: str, default: int) -> int:
        return machine.env_int(name, QUICK.get(name, default) if quick else default)

    sizes = Sizes(
        connections=setting("REALTIME_BENCH_CONNECTIONS", TARGET_CONNECTIONS),
        batch=setting("REALTIME_BENCH_BATCH", 200),
        hold_seconds=setting("REALTIME_BENCH_HOLD_SECONDS", 5),
        subscribers=setting("REALTIME_BENCH_SUBSCRIBERS", 1_000),
        events=setting("REALTIME_BENCH_EVENTS", 20),
        pushes=setting("REALTIME_BENCH_PUSHES", 100),
        compression=_env_compression("REALTIME_BENCH_COMPRESSION"),
        event_gap_seconds=QUICK_EVENT_GAP_SECONDS if quick else EVENT_GAP_SECONDS,
    )
    return processes.run_bench("realtime bench", lambda: _measure_and_report(sizes))


def _measure_and_report(sizes: Sizes) -> int:
    started = datetime.now(UTC)
    run = _bench(sizes)
    print(_report(run, sizes=sizes, started=started))
    for result in _results(run.measured, sizes):
        record(result)
    return 0


# ---------------------------------------------------------------------------------------
# Processes: the cluster, fynlo's one-off commands and the server (load/sync_bench.py's)


def _bench(sizes: Sizes) -> Run:
    began = time.monotonic()
    laps = Laps()
    loadavg_before = machine.loadavg()
    open_files = _raise_open_files(max(sizes.connections, sizes.subscribers) + OPEN_FILES_SPARE)
    with tempfile.TemporaryDirectory(prefix="fynlo-realtime-bench-") as scratch:
        work = Path(scratch)
        # The floor's server needs no database: it starts first and is ready by the time
        # Fynlo's is.
        bare_port = processes.free_port()
        bare_log = work / "bare.log"
        with bare_log.open("w") as out:
            bare = processes.start(
                [str(BIN / "python"), "-m", "load.bare_realtime", str(bare_port)],
                cwd=REPO,
                env={k: v for k, v in os.environ.items() if not k.startswith("FYNLO_")},
                log=out,
            )
        try:
            with database.demo_cluster() as cluster:
                measured, server_exit = _serve_and_measure(
                    cluster, work, Bare(bare_port, bare), sizes=sizes, laps=laps
                )
            if bare.poll() is not None:
                raise BenchBroken(f"the bare server died during the run{processes.tail(bare_log)}")
        finally:
            processes.stop(bare)
    laps.lap("stopping")
    return Run(
        measured,
        open_files,
        time.monotonic() - began,
        server_exit,
        loadavg_before,
        machine.loadavg(),
        laps,
    )


def _serve_and_measure(
    cluster: PostgresCluster, work: Path, bare: Bare, *, sizes: Sizes, laps: Laps
) -> tuple[Measured, int | None]:
    """Fynlo's server on ``cluster``, the measurements, and the server's exit code."""
    _track_commits(cluster)
    port = processes.free_port()
    key_file = work / "keys" / "signing.jwks.json"
    env = processes.server_env(
        dsn=cluster.dsn, port=port, data_dir=work / "data", key_file=key_file
    )
    env["FYNLO_REALTIME_HEARTBEAT_SECONDS"] = str(HEARTBEAT_SECONDS)
    laps.lap("PostgreSQL")
    database.load_demo(env, failure=BenchBroken)
    server_log = work / "server.log"
    with server_log.open("w") as log:
        server = processes.start([str(BIN / "fynlo"), "serve"], cwd=REPO, env=env, log=log)
    try:
        processes.wait_ready(
            f"http://127.0.0.1:{port}/ready", server, server_log, failure=BenchBroken
        )
        processes.wait_ready(
            f"http://127.0.0.1:{bare.port}/health",
            bare.process,
            work / "bare.log",
            failure=BenchBroken,
        )
        laps.lap("migrations, demo data, servers up")
        try:
            measured = _run_loop(
                _within(
                    MEASURE_SECONDS,
                    "the measurements",
                    _measure(
                        dsn=cluster.dsn,
                        port=port,
                        key_file=key_file,
                        server_pid=server.pid,
                        postmaster=cluster.pid,
                        sizes=sizes,
                        bare=bare,
                        laps=laps,
                    ),
                )
            )
        except (BenchBroken, httpx.HTTPError, asyncpg.PostgresError, OSError) as exc:
            raise BenchBroken(f"{exc!r}{processes.tail(server_log)}") from exc
        if server.poll() is not None:
            raise BenchBroken(f"the server died during the run{processes.tail(server_log)}")
    finally:
        server_exit = processes.stop(server)
    return measured, server_exit


def _track_commits(cluster: PostgresCluster) -> None:
    """Turn on PostgreSQL's commit timestamps (it takes a restart), so that when each push
    committed can be read back and set against when its poke was read."""

    async def turn_on() -> None:
        conn = await asyncpg.connect(cluster.dsn)
        try:
            await conn.execute("ALTER SYSTEM SET track_commit_timestamp = on")
        finally:
            await conn.close()

    asyncio.run(turn_on())
    cluster.stop()
    cluster.start()


def _raise_open_files(needed: int) -> OpenFiles:
    """Raise the soft RLIMIT_NOFILE (up to the hard limit) before any child is started, so
    the server inherits it; whether it reached what the run needs is in the report."""
    wanted = max(OPEN_FILES_WANTED, needed)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < ceiling:
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))
    now, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return OpenFiles(wanted=wanted, soft=now, hard=hard, was=soft)


def _run_loop(work: Coroutine[Any, Any, _T]) -> _T:
    """Run the client side on uvloop when installed (uvicorn's own loop), so the thousands
    of client sockets cost this process, which shares the CPUs with the server, less."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(work)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(work)


# ---------------------------------------------------------------------------------------
# The measurements, in this process


@dataclass(frozen=True)
class Bare:
    """The floor's server (``load/bare_realtime.py``)."""

    port: int
    process: subprocess.Popen[Any]

    @property
    def pid(self) -> int:
        return self.process.pid


async def _measure(
    *,
    dsn: str,
    port: int,
    key_file: Path,
    server_pid: int,
    postmaster: int | None,
    sizes: Sizes,
    bare: Bare,
    laps: Laps,
) -> Measured:
    def cpu() -> Cpu:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return Cpu(
            machine.cpu_seconds(server_pid),
            machine.postgres_cpu_seconds(postmaster),
            usage.ru_utime + usage.ru_stime,
        )

    # Two iPads of the demo location: one pushes, the other listens in the last phase.
    tenant = await _within(
        processes.SETUP_SECONDS,
        "enrolling the iPads",
        _enrol(
            dsn,
            key_file,
            sizes=SyncSizes(
                devices=2, batches=1, paced_batches=0, bootstrap_rows=1, bootstrap_runs=0
            ),
        ),
    )
    pusher_device, listener_device = tenant.tills
    tokens = await _within(
        processes.SETUP_SECONDS,
        "minting back-office tokens",
        _back_office_tokens(dsn, key_file, WARMUP_SOCKETS + sizes.connections + sizes.subscribers),
    )
    laps.lap("iPads and tokens")
    dialer = Dialer(f"ws://127.0.0.1:{port}{WS_PATH}", sizes.compression)
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=None)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=REQUEST_SECONDS, limits=limits
    ) as http:
        pusher = Pusher(http, Till(pusher_device, tenant, 0))
        held = await _within(
            PHASE_SECONDS,
            "holding the sockets",
            _hold(http, dialer, tokens, pusher, server_pid=server_pid, sizes=sizes, cpu=cpu),
        )
        laps.lap("held")
        tokens = tokens[WARMUP_SOCKETS + sizes.connections :]
        # The floor's server holds as many sockets, fresh as Fynlo's was.
        bare_dialer = Dialer(f"ws://127.0.0.1:{bare.port}/ws", sizes.compression)
        floor_held = await _within(
            PHASE_SECONDS, "the floor's held sockets", _floor_held(bare_dialer, bare.pid, sizes)
        )
        laps.lap("the floor's held")
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{bare.port}", timeout=REQUEST_SECONDS, limits=limits
        ) as bare_http:
            bare_poke = BarePoke(bare_http)
            fanout = Side(dialer, tokens[: sizes.subscribers], pusher, Timed("fan-out"))
            floor_fanout = Side(
                bare_dialer, ["floor"] * sizes.subscribers, bare_poke, Timed("floor fan-out")
            )
            before = cpu()
            await _within(
                PHASE_SECONDS, "the fan-out", _fanout([fanout, floor_fanout], sizes=sizes)
            )
            fanout.timed.cpu = cpu() - before
            laps.lap("fan-out, with its floor")
            poke = Side(dialer, [listener_device.token], pusher, Timed("push to poke"))
            floor_poke = Side(bare_dialer, ["floor"], bare_poke, Timed("floor poke"))
            before = cpu()
            await _within(PHASE_SECONDS, "push to poke", _push_to_poke([poke, floor_poke], sizes))
            poke.timed.cpu = cpu() - before
            poke.timed.from_server_ms = await _commit_to_read_ms(dsn, poke.timed.reads)
            laps.lap("push to poke, with its floor")
    floors = Floors(floor_held, floor_fanout.timed, floor_poke.timed)
    return Measured(held, fanout.timed, poke.timed, floors)


async def _commit_to_read_ms(dsn: str, reads: Sequence[tuple[str, float]]) -> list[float]:
    """For each (order pushed, its poke read in Unix seconds): how long after the push's
    commit the poke was read, from PostgreSQL's commit timestamp of the order's row."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT id::text AS id, extract(epoch FROM pg_xact_commit_timestamp(xmin))"
            " AS committed FROM orders WHERE id = ANY($1::uuid[])",
            [order for order, _ in reads],
        )
    finally:
        await conn.close()
    committed = {row["id"]: float(row["committed"]) for row in rows if row["committed"]}
    if len(committed) != len(reads):
        raise BenchBroken(f"{len(committed)} of {len(reads)} pushed orders have a commit time")
    return [(read - committed[order]) * 1000 for order, read in reads]


async def _back_office_tokens(dsn: str, key_file: Path, count: int) -> list[str]:
    """Access tokens for the demo owner and manager in turn, signed with the server's key
    file: one per socket, as every back-office screen signs in for itself."""
    from server.auth.keys import SigningKeys
    from server.auth.tables import Role
    from server.auth.tokens import Caller, issue_access_token
    from server.demo import RESTAURANT_ID
    from server.settings import Settings

    conn = await asyncpg.connect(dsn)
    try:
        users = await conn.fetch(
            "SELECT id, role FROM users WHERE restaurant_id = $1"
            " AND role IN ('owner', 'manager') ORDER BY email",
            RESTAURANT_ID,
        )
    finally:
        await conn.close()
    if not users:
        raise BenchBroken("the demo restaurant has no owner or manager")
    callers = [
        Caller(user_id=user["id"], restaurant_id=RESTAURANT_ID, role=Role(user["role"]))
        for user in users
    ]
    keys = SigningKeys.load_or_create(key_file)  # the file the server created at start-up
    issuer = Settings(signing_key_file=key_file).jwt_issuer
    return [
        issue_access_token(keys, callers[n % len(callers)], issuer=issuer, ttl=TOKEN_SECONDS)
        for n in range(count)
    ]


class BenchConnection(ClientConnection):
    """A client socket that notes when bytes last reached it, before any task runs."""

    arrived = 0.0

    def data_received(self, data: bytes) -> None:
        self.arrived = time.perf_counter()
        super().data_received(data)


class Inbox:
    """The pokes of the current round, from every socket; wakes the waiter when all are in."""

    def __init__(self) -> None:
        self.expected = 0
        self.arrivals: list[tuple[float, float, float | None]] = []
        """(bytes arrived, reader had the frame) per socket, ``time.perf_counter``, and the
        floor's ``sent_at`` (Unix seconds; None from Fynlo)."""
        self.all_in = asyncio.Event()
        self.other: Counter[str] = Counter()

    def start(self, expected: int) -> None:
        self.expected = expected
        self.arrivals = []
        self.all_in.clear()

    def poke(self, arrived: float, handled: float, sent_at: float | None) -> None:
        self.arrivals.append((arrived, handled, sent_at))
        if len(self.arrivals) >= self.expected:
            self.all_in.set()

    async def wait(self) -> int:
        """Wait for this round's pokes, at most ``DELIVERY_SECONDS``; how many are missing."""
        try:
            await asyncio.wait_for(self.all_in.wait(), DELIVERY_SECONDS)
        except TimeoutError:
            return self.expected - len(self.arrivals)
        return 0


@dataclass
class Listener:
    """One client socket and the task reading it."""

    socket: BenchConnection
    reader: asyncio.Task[str]

    @property
    def open(self) -> bool:
        return not self.reader.done() and self.socket.state is State.OPEN

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.socket.close(), CLOSE_SECONDS)
        except TimeoutError:
            self.socket.transport.abort()
        self.reader.cancel()
        await asyncio.gather(self.reader, return_exceptions=True)


class Refused(Exception):
    """The server answered the socket's auth with something other than a welcome."""


@dataclass(frozen=True)
class Dialer:
    """Where the sockets connect, and whether they offer permessage-deflate."""

    url: str
    compression: str | None


async def _open(dialer: Dialer, token: str, inbox: Inbox) -> Listener:
    """Connect, authenticate in-band and wait for the welcome; then read in the background."""
    async with asyncio.timeout(OPEN_SECONDS):
        socket = await connect(
            dialer.url,
            compression=dialer.compression,
            create_connection=BenchConnection,
            ping_interval=None,  # the server's heartbeat is the one under test
            max_size=MAX_FRAME,
            max_queue=CLIENT_QUEUE,
            proxy=None,
            open_timeout=OPEN_SECONDS,
            close_timeout=CLOSE_SECONDS,
        )
        assert isinstance(socket, BenchConnection)
        try:
            await socket.send(msgspec.json.encode({"type": "auth", "token": token}).decode())
            first = await socket.recv()
            kind = _frames.decode(first).type
            if kind != "welcome":
                raise Refused(f"first frame {kind}")
        except BaseException:
            socket.transport.abort()
            raise
    return Listener(socket, asyncio.create_task(_read(socket, inbox)))


async def _read(socket: BenchConnection, inbox: Inbox) -> str:
    """Until the socket closes: answer pings, hand pokes to the inbox; say how it ended."""
    try:
        async for frame in socket:
            handled = time.perf_counter()
            decoded = _frames.decode(frame)
            kind = decoded.type
            if kind == "sync.poke":
                inbox.poke(socket.arrived, handled, decoded.sent_at)
            elif kind == "ping":  # any frame counts as alive; this is what a client sends
                await socket.send(PONG)
            else:
                inbox.other[kind] += 1
    except ConnectionClosed:
        pass
    return f"close {socket.close_code}"


async def _open_many(
    dialer: Dialer, tokens: Sequence[str], inbox: Inbox, *, batch: int
) -> tuple[list[Listener], Counter[str], float]:
    """Open a socket per token, ``batch`` at a time; the sockets, failures and wall time."""
    listeners: list[Listener] = []
    failures: Counter[str] = Counter()
    began = time.perf_counter()
    for start in range(0, len(tokens), batch):
        results = await asyncio.gather(
            *(_open(dialer, token, inbox) for token in tokens[start : start + batch]),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, Listener):
                listeners.append(result)
            elif isinstance(result, Exception):
                failures[f"{type(result).__name__}: {str(result)[:80]}"] += 1
            else:
                for listener in listeners:
                    listener.socket.transport.abort()
                raise result
    return listeners, failures, time.perf_counter() - began


async def _close_many(listeners: Sequence[Listener]) -> Counter[str]:
    """Close every socket, ``CLOSE_BATCH`` at a time; how each reader had ended."""
    for start in range(0, len(listeners), CLOSE_BATCH):
        await asyncio.gather(*(item.close() for item in listeners[start : start + CLOSE_BATCH]))
    return _endings(listeners)


def _endings(listeners: Sequence[Listener]) -> Counter[str]:
    """How each closed socket's reader had ended."""
    ended: Counter[str] = Counter()
    for listener in listeners:
        if listener.reader.done() and not listener.reader.cancelled():
            ended[listener.reader.result()] += 1
    return ended


async def _guarded(
    listeners: list[Listener], work: Callable[[], Awaitable[None]]
) -> tuple[Counter[str], float]:
    """Run ``work`` with ``listeners`` open, then close them (cut them if ``work`` fails);
    how each had ended, and how long closing them all took.

    This process's garbage collector is paused meanwhile: a full collection over thousands
    of client sockets stops every reader at once, which would be timed as the server's delay.
    """
    gc.collect()
    gc.disable()
    try:
        await work()
    except BaseException:
        for listener in listeners:
            listener.reader.cancel()
            listener.socket.transport.abort()
        raise
    finally:
        gc.enable()
    began = time.perf_counter()
    ended = await _close_many(listeners)
    return ended, time.perf_counter() - began


class Trigger(Protocol):
    """What makes a poke: Fynlo's push, or the floor's ``POST /poke``."""

    http: httpx.AsyncClient
    last_order: str | None

    async def push(self) -> tuple[float, float]:
        """Make one poke; when the request was sent and when its answer was back."""
        ...


class BarePoke:
    """The floor's poke: ``POST /poke`` to the bare server, which sends to every socket."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.last_order: str | None = None  # the frame says when it was sent instead

    async def push(self) -> tuple[float, float]:
        sent = time.perf_counter()
        answer = await self.http.post("/poke")
        answered = time.perf_counter()
        if answer.status_code != 204:
            raise BenchBroken(f"the bare server's poke answered {answer.status_code}")
        return sent, answered


class Pusher:
    """One iPad pushing one new order per batch over HTTP: the change every poke follows."""

    def __init__(self, http: httpx.AsyncClient, till: Till) -> None:
        self.http = http
        self.till = till
        self.last_order: str | None = None
        """The order the last push created."""

    def _body(self) -> bytes:
        till = self.till
        till.order_seq += 1
        tables = till.tenant.tables
        fields = {
            "number": f"{till.device.prefix}-{till.order_seq:04d}",
            "device_prefix": till.device.prefix,
            "device_seq": till.order_seq,
            "opened_at": datetime.now(UTC).isoformat(),
            "status": "open",
            "table_id": str(tables[till.order_seq % len(tables)]),
            "covers": 2,
        }
        self.last_order = str(uuid4())
        change = till._change("order", self.last_order, fields, track=False)
        return msgspec.json.encode(
            {
                "batch_id": str(uuid4()),
                "device_id": till.actor,
                "schema_version": SCHEMA_VERSION,
                "app_version": APP_VERSION,
                "changes": [change],
            }
        )

    async def push(self) -> tuple[float, float]:
        """Push one new order; when it was sent and when its answer was back."""
        body = self._body()
        sent = time.perf_counter()
        answer = await self.http.post(PUSH_PATH, content=body, headers=self.till.device.headers)
        answered = time.perf_counter()
        if answer.status_code != 200:
            raise BenchBroken(f"push answered {answer.status_code}: {answer.text[:500]}")
        results = msgspec.json.decode(answer.content)["results"]
        if [result["outcome"] for result in results] != ["applied"]:
            raise BenchBroken(f"a one-order push answered {answer.text[:500]}")
        return sent, answered


async def _hold(
    http: httpx.AsyncClient,
    dialer: Dialer,
    tokens: list[str],
    pusher: Pusher,
    *,
    server_pid: int,
    sizes: Sizes,
    cpu: Callable[[], Cpu],
) -> Held:
    held = Held(wanted=sizes.connections)
    inbox = Inbox()
    # Warm-up: the code paths and the server's first allocations, before RSS is read.
    warm, failures, _ = await _open_many(
        dialer, tokens[:WARMUP_SOCKETS], inbox, batch=WARMUP_SOCKETS
    )
    await _close_many(warm)
    if failures:
        raise BenchBroken(f"warm-up sockets failed: {_counts(failures)}")
    await asyncio.sleep(0.5)
    held.rss_before_kib = _rss_kib(server_pid)
    held.bench_rss_before_kib = _rss_kib(os.getpid())
    before = cpu()
    tokens = tokens[WARMUP_SOCKETS : WARMUP_SOCKETS + sizes.connections]
    listeners, held.failures, held.open_seconds = await _open_many(
        dialer, tokens, inbox, batch=sizes.batch
    )
    held.open_cpu = cpu() - before
    held.opened = len(listeners)

    async def check() -> None:
        await asyncio.sleep(sizes.hold_seconds)
        held.rss_after_kib = _rss_kib(server_pid)
        held.bench_rss_after_kib = _rss_kib(os.getpid())
        alive = [listener for listener in listeners if listener.open]
        held.still_open = len(alive)
        held.ping_ms = await _ping_all(alive)
        held.pinged = len(held.ping_ms)
        sent = time.perf_counter()
        health = await http.get("/health")
        held.health_ms = (time.perf_counter() - sent) * 1000
        held.health_status = health.status_code
        inbox.start(len(alive))
        sent, _ = await pusher.push()
        await inbox.wait()
        held.broadcast_received = len(inbox.arrivals)
        if inbox.arrivals:
            ms = [(handled - sent) * 1000 for _, handled, _ in inbox.arrivals]
            held.broadcast_last_ms = max(ms)
            held.broadcast_p50_ms = _percentile(ms, 50)

    held.ended, held.close_seconds = await _guarded(listeners, check)
    return held


async def _ping_all(listeners: Sequence[Listener]) -> list[float]:
    """A protocol ping on every socket, ``CLOSE_BATCH`` at a time; the round trips that came
    back (the server's event loop answered on that socket)."""

    async def ping(listener: Listener) -> float | None:
        try:
            waiter = await listener.socket.ping()
            return await asyncio.wait_for(waiter, CLOSE_SECONDS) * 1000
        except (ConnectionClosed, TimeoutError):
            return None

    answered: list[float] = []
    for start in range(0, len(listeners), CLOSE_BATCH):
        rounds = await asyncio.gather(
            *(ping(item) for item in listeners[start : start + CLOSE_BATCH])
        )
        answered += [ms for ms in rounds if ms is not None]
    return answered


@dataclass
class Side:
    """One server in a phase that alternates between Fynlo and the floor, event by event,
    so that both are timed under the same load: its sockets and what makes its pokes."""

    dialer: Dialer
    tokens: list[str]
    trigger: Trigger
    timed: Timed
    inbox: Inbox = field(default_factory=Inbox)
    listeners: list[Listener] = field(default_factory=list)


async def _fanout(sides: Sequence[Side], *, sizes: Sizes) -> None:
    """Each side's sockets open, then one poke to every socket of each side in turn."""
    for side in sides:
        side.listeners, failures, _ = await _open_many(
            side.dialer, side.tokens, side.inbox, batch=sizes.batch
        )
        side.timed.sockets = len(side.listeners)
        if failures:
            for listener in (item for every in sides for item in every.listeners):
                listener.socket.transport.abort()
            raise BenchBroken(f"fan-out sockets failed to open: {_counts(failures)}")

    async def events() -> None:
        began = time.perf_counter()
        for number in range(WARMUP_EVENTS + sizes.events):
            for side in sides:
                await asyncio.sleep(sizes.event_gap_seconds)
                side.inbox.start(len(side.listeners))
                sent, answered = await side.trigger.push()
                missing = await side.inbox.wait()
                if number >= WARMUP_EVENTS:
                    _note(side.timed, side.inbox.arrivals, sent, answered, missing)
        for side in sides:
            side.timed.wall = time.perf_counter() - began

    await _guarded([item for side in sides for item in side.listeners], events)
    for side in sides:
        side.timed.ended = _endings(side.listeners)
        side.timed.other_frames = side.inbox.other


async def _push_to_poke(sides: Sequence[Side], sizes: Sizes) -> None:
    """One socket per side, then one poke to each in turn; then ``GET /health`` from the
    first side's client."""
    for side in sides:
        side.listeners = [await _open(side.dialer, side.tokens[0], side.inbox)]
        side.timed.sockets = 1

    async def pushes() -> None:
        began = time.perf_counter()
        for number in range(WARMUP_PUSHES + sizes.pushes):
            for side in sides:
                await asyncio.sleep(PUSH_GAP_SECONDS)
                side.inbox.start(1)
                sent, answered = await side.trigger.push()
                missing = await side.inbox.wait()
                if number >= WARMUP_PUSHES:
                    _note_poke(side, sent, answered, missing)
        for side in sides:
            side.timed.wall = time.perf_counter() - began
        # The floor of any request here: the same client, the same middleware, no work.
        first = sides[0]
        requests = min(HEALTH_REQUESTS, sizes.pushes)
        for number in range(WARMUP_PUSHES + requests):
            await asyncio.sleep(PUSH_GAP_SECONDS)
            sent = time.perf_counter()
            answer = await first.trigger.http.get("/health")
            if number >= WARMUP_PUSHES:
                first.timed.health_ms.append((time.perf_counter() - sent) * 1000)
            if answer.status_code != 200:
                raise BenchBroken(f"/health answered {answer.status_code}")

    await _guarded([item for side in sides for item in side.listeners], pushes)
    for side in sides:
        side.timed.ended = _endings(side.listeners)
        side.timed.other_frames = side.inbox.other


def _note_poke(side: Side, sent: float, answered: float, missing: int) -> None:
    _note(side.timed, side.inbox.arrivals, sent, answered, missing)
    for _, handled, sent_at in side.inbox.arrivals:
        read = _wall(handled)
        if sent_at is not None:  # the floor says when it sent
            side.timed.from_server_ms.append((read - sent_at) * 1000)
        elif side.trigger.last_order is not None:  # Fynlo's commit is looked up after
            side.timed.reads.append((side.trigger.last_order, read))


def _note(
    timed: Timed,
    arrivals: Sequence[tuple[float, float, float | None]],
    sent: float,
    answered: float,
    missing: int,
) -> None:
    timed.events += 1
    timed.missing += missing
    timed.push_ms.append((answered - sent) * 1000)
    if not arrivals:
        return
    handled = [at for _, at, _ in arrivals]
    timed.from_sent_ms += [(at - sent) * 1000 for at in handled]
    timed.from_answer_ms += [(at - answered) * 1000 for at in handled]
    timed.arrival_from_sent_ms += [(arrived - sent) * 1000 for arrived, _, _ in arrivals]
    timed.per_event_ms.append(((min(handled) - sent) * 1000, (max(handled) - sent) * 1000))


async def _floor_held(dialer: Dialer, pid: int, sizes: Sizes) -> Held:
    """The bare server's RSS per idle socket, measured as Fynlo's is."""
    held = Held(wanted=sizes.connections)
    inbox = Inbox()
    warm, _, _ = await _open_many(dialer, ["floor"] * WARMUP_SOCKETS, inbox, batch=WARMUP_SOCKETS)
    await _close_many(warm)
    await asyncio.sleep(0.5)
    held.rss_before_kib = _rss_kib(pid)
    listeners, held.failures, held.open_seconds = await _open_many(
        dialer, ["floor"] * sizes.connections, inbox, batch=sizes.batch
    )
    held.opened = len(listeners)

    async def check() -> None:
        await asyncio.sleep(sizes.hold_seconds)
        held.rss_after_kib = _rss_kib(pid)
        held.still_open = sum(listener.open for listener in listeners)

    held.ended, held.close_seconds = await _guarded(listeners, check)
    return held


def _wall(perf: float) -> float:
    """A ``time.perf_counter`` reading as Unix seconds (both clocks of this machine)."""
    return perf + time.time() - time.perf_counter()


def _rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` (``VmRSS`` in ``/proc/<pid>/status``), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchBroken(f"no VmRSS for process {pid}")


# ---------------------------------------------------------------------------------------
# The report


def _report(run: Run, *, sizes: Sizes, started: datetime) -> str:
    m = run.measured
    held, fanout, poke, floors = m.held, m.fanout, m.poke, m.floors
    files = run.open_files
    cores = len(os.sched_getaffinity(0))
    held_ok = _held_ok(held)
    fanout_p99 = _quantile(fanout.from_sent_ms, 99)
    poke_p50 = _quantile(poke.from_server_ms, 50)
    checks = [
        (
            f"{held.wanted:,} sockets held by one process, <= {TARGET_KIB_PER_SOCKET:g} KiB each",
            held_ok and held.kib_per_socket <= TARGET_KIB_PER_SOCKET,
            "all welcomed, then open, answering a ping and hearing a poke",
        ),
        (
            f"fan-out to {fanout.sockets:,} p99",
            fanout_p99 is not None and fanout_p99 <= TARGET_FANOUT_P99_MS,
            f"<= {TARGET_FANOUT_P99_MS:g} ms from the push sent to the poke read",
        ),
        (
            "push commit to poke p50",
            poke_p50 is not None and poke_p50 <= TARGET_POKE_P50_MS,
            f"<= {TARGET_POKE_P50_MS:g} ms from the push's commit to the poke read",
        ),
    ]
    limit = f"open files: soft limit {_limit(files.soft)} (was {_limit(files.was)}), hard "
    limit += f"{_limit(files.hard)}, for this process and the server"
    if files.soft != resource.RLIM_INFINITY and files.soft < files.wanted:
        limit += f" (**below the {files.wanted:,} the run needs**: the hard limit caps it)"
    rate = held.opened / held.open_seconds if held.open_seconds else 0.0
    lines = [
        f"## Fynlo real-time bench, {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"- Machine: {machine.describe()}",
        f"- Software: Python {platform.python_version()}, {machine.postgres_version()}; one "
        "`fynlo serve` (one uvicorn worker, its default WebSocket protocol, no permessage-deflate"
        f"), `FYNLO_REALTIME_HEARTBEAT_SECONDS={HEARTBEAT_SECONDS}`, in-memory channels "
        "(no Redis); throwaway non-durable PostgreSQL",
        f"- Clients: websockets {version('websockets')} in this process ({_loop_name()}), on the "
        f"same {cores} CPUs as the server; no client keepalive, frames up to {MAX_FRAME:,} "
        f"bytes, a queue of {CLIENT_QUEUE} frames, {_compression(sizes)}; every `ping` "
        "answered with a `pong`",
        f"- {limit[0].upper()}{limit[1:]}",
        f"- Held: {sizes.connections:,} back-office sockets (the demo owner's and manager's "
        f"tokens, one each), {sizes.batch} connecting at once, held {sizes.hold_seconds} s",
        f"- Fan-out: {fanout.sockets:,} back-office sockets on the restaurant's `managers` "
        f"channel; {fanout.events} pokes after {WARMUP_EVENTS} warm-up ones, each from one iPad "
        f"pushing one new order over HTTP, {sizes.event_gap_seconds * 1000:.0f} ms after the "
        "previous poke reached every socket",
        f"- Push to poke: one iPad holds a socket, another at the same location pushes one new "
        f"order, {poke.events} times after {WARMUP_PUSHES} warm-up pushes, "
        f"{PUSH_GAP_SECONDS * 1000:.0f} ms after the previous poke arrived",
        f"- Load average (1 min) before the run {run.loadavg_before}, after "
        f"{run.loadavg_after}; whole run {run.wall_seconds:.0f} s ({run.laps})",
        "",
        "| Metric | Figure | Target | |",
        "|---|---|---|---|",
        f"| Sockets authenticated and welcomed | {held.opened:,} of {held.wanted:,} in "
        f"{held.open_seconds:.1f} s ({rate:,.0f}/s) | >= {held.wanted:,} | "
        f"{_verdict(held_ok)} |",
        f"| Still open after {sizes.hold_seconds} s, answering a protocol ping | "
        f"{held.still_open:,} open, {held.pinged:,} answered (round trip p50 "
        f"{_ms(_quantile(held.ping_ms, 50))}, max {_ms(max(held.ping_ms, default=None))} ms) "
        "| all | |",
        f"| `/health` while they are held | HTTP {held.health_status} in "
        f"{held.health_ms:.1f} ms | 200 | |",
        f"| One poke to every held socket | {held.broadcast_received:,} received; p50 "
        f"{held.broadcast_p50_ms:.0f} ms, last {held.broadcast_last_ms:.0f} ms after the push "
        "was sent | | |",
        f"| Server RSS per idle socket | {held.kib_per_socket:.1f} KiB "
        f"({held.rss_before_kib / 1024:.0f} MiB before, {held.rss_after_kib / 1024:.0f} MiB "
        f"after) | <= {TARGET_KIB_PER_SOCKET:g} KiB | {_verdict(checks[0][1])} |",
        f"| Floor: bare server's RSS per idle socket | {floors.held.kib_per_socket:.1f} KiB "
        f"({floors.held.opened:,} of {floors.held.wanted:,} held, "
        f"{floors.held.still_open:,} still open) | | |",
        f"| Fan-out to {fanout.sockets:,}: push sent to poke read, p50 / p99 / max | "
        f"{_spread(fanout.from_sent_ms)} ms | p99 <= {TARGET_FANOUT_P99_MS:g} ms | "
        f"{_verdict(checks[1][1])} |",
        f"| Floor: bare fan-out to {floors.fanout.sockets:,}, POST sent to frame read, "
        f"p50 / p99 / max | {_spread(floors.fanout.from_sent_ms)} ms | | |",
        f"| Fan-out: push answered to poke read, p50 / p99 / max | "
        f"{_spread(fanout.from_answer_ms)} ms | | |",
        f"| Push to poke: push committed to poke read, p50 / p99 / max | "
        f"{_spread(poke.from_server_ms)} ms | p50 <= {TARGET_POKE_P50_MS:g} ms | "
        f"{_verdict(checks[2][1])} |",
        f"| Floor: bare server's send to frame read, p50 / p99 / max | "
        f"{_spread(floors.poke.from_server_ms)} ms | | |",
        f"| Push to poke: push sent to poke read, p50 / p99 / max | "
        f"{_spread(poke.from_sent_ms)} ms | | |",
        f"| Push to poke: push answered to poke read, p50 / p99 / max | "
        f"{_spread(poke.from_answer_ms)} ms | | |",
        "",
        "| Check | Target | |",
        "|---|---|---|",
        *(f"| {name} | {target} | {_verdict(ok)} |" for name, ok, target in checks),
        "",
        f"Held: failed to open {_counts(held.failures)}. Opening them took the server "
        f"{_cpu_of(held.open_cpu, 'server')} CPU-s ({_per_socket_ms(held.open_cpu, held.opened)}"
        f" ms per socket) and this process {_cpu_of(held.open_cpu, 'bench')} CPU-s; this "
        f"process grew {held.bench_kib_per_socket:.1f} KiB per client socket. Closing them all "
        f"took {held.close_seconds:.1f} s; the readers ended with {_counts(held.ended)}.",
        f"Fan-out: each push took p50 {_ms(_quantile(fanout.push_ms, 50))} ms to answer; "
        f"per event, the first and the last socket's poke {_events(fanout.per_event_ms)} ms "
        "after the push was sent; the bytes reached this process (before any reader ran) "
        f"p50 / p99 {_ms(_quantile(fanout.arrival_from_sent_ms, 50))} / "
        f"{_ms(_quantile(fanout.arrival_from_sent_ms, 99))} ms after the push was sent; "
        f"{fanout.missing} pokes missing; other frames {_counts(fanout.other_frames)}.",
        _cpu_line("Fan-out", fanout),
        f"Push to poke: each push took p50 {_ms(_quantile(poke.push_ms, 50))} ms to answer, "
        f"`GET /health` from the same client p50 {_ms(_quantile(poke.health_ms, 50))} ms; "
        f"{poke.missing} pokes missing; other frames {_counts(poke.other_frames)}.",
        _cpu_line("Push to poke", poke),
    ]
    missed = [name for name, ok, _ in checks if not ok]
    lines += ["", f"**Targets: {'all met' if not missed else 'missed ' + ', '.join(missed)}**"]
    if run.server_exit != 0:
        lines += ["", f"Warning: the server's exit after SIGTERM was {run.server_exit}."]
    return "\n".join(lines)


def _held_ok(held: Held) -> bool:
    return (
        held.opened >= held.wanted
        and held.still_open == held.opened
        and held.pinged == held.opened
        and held.broadcast_received == held.still_open
        and held.health_status == 200
    )


def _results(m: Measured, sizes: Sizes) -> list[Result]:
    """The three targets, each beside its floor, for ``make bench``'s summary."""
    held, fanout, poke, floors = m.held, m.fanout, m.poke, m.floors
    kib = held.kib_per_socket
    fanout_p99 = _quantile(fanout.from_sent_ms, 99)
    poke_p50 = _quantile(poke.from_server_ms, 50)
    return [
        Result(
            bench="realtime",
            target=f"memory per socket, {held.wanted:,} held",
            measured=round(kib, 1),
            unit="KiB",
            goal=f"≤ {TARGET_KIB_PER_SOCKET:g} KiB, all {held.wanted:,} held",
            met=_held_ok(held) and kib <= TARGET_KIB_PER_SOCKET,
            floor=round(floors.held.kib_per_socket, 1),
        ),
        Result(
            bench="realtime",
            target=f"fan-out to {fanout.sockets:,} p99",
            measured=_rounded(fanout_p99),
            unit="ms",
            goal=f"≤ {TARGET_FANOUT_P99_MS:g} ms from the push sent",
            met=fanout_p99 is not None and fanout_p99 <= TARGET_FANOUT_P99_MS,
            floor=_rounded(_quantile(floors.fanout.from_sent_ms, 99)),
        ),
        Result(
            bench="realtime",
            target="push commit to poke p50",
            measured=_rounded(poke_p50),
            unit="ms",
            goal=f"≤ {TARGET_POKE_P50_MS:g} ms",
            met=poke_p50 is not None and poke_p50 <= TARGET_POKE_P50_MS,
            floor=_rounded(_quantile(floors.poke.from_server_ms, 50)),
        ),
    ]


def _rounded(value: float | None) -> float:
    return float("nan") if value is None else round(value, 2)


def _quantile(values: Sequence[float], q: int) -> float | None:
    return _percentile(values, q) if values else None


def _spread(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    return " / ".join(
        _ms(v) for v in (_percentile(values, 50), _percentile(values, 99), max(values))
    )


def _events(per_event: Sequence[tuple[float, float]]) -> str:
    """Each event's first and last poke, in ms after its push was sent, in order."""
    return ", ".join(f"{first:.0f}-{last:.0f}" for first, last in per_event) or "n/a"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _cpu_of(cpu: Cpu | None, who: str) -> str:
    return "n/a" if cpu is None else f"{getattr(cpu, who):.1f}"


def _per_socket_ms(cpu: Cpu | None, sockets: int) -> str:
    return "n/a" if cpu is None or not sockets else f"{cpu.server * 1000 / sockets:.2f}"


def _cpu_line(label: str, timed: Timed) -> str:
    cpu = timed.cpu
    if cpu is None:
        return ""
    return (
        f"{label}: {timed.wall:.1f} s wall; server {cpu.server:.2f} CPU-s, PostgreSQL "
        f"{cpu.postgres:.2f} CPU-s, this process {cpu.bench:.2f} CPU-s (opening and closing "
        "the sockets included; this process's figure includes the floor's sockets)."
    )


def _compression(sizes: Sizes) -> str:
    if sizes.compression:
        return "permessage-deflate offered, as a browser does (the server declines it)"
    return "no compression offered (as an iPad's URLSessionWebSocketTask)"


def _limit(value: int) -> str:
    return "unlimited" if value == resource.RLIM_INFINITY else f"{value:,}"


def _loop_name() -> str:
    try:
        return f"uvloop {version('uvloop')}"
    except PackageNotFoundError:
        return "asyncio's own event loop"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "**MISS**"


def _env_compression(name: str) -> str | None:
    raw = os.environ.get(name, "deflate")
    if raw not in ("deflate", "none"):
        raise SystemExit(f"{name} must be deflate or none, not {raw!r}")
    return None if raw == "none" else raw


def _counts(counts: Counter[str]) -> str:
    return ", ".join(f"{name} x{n}" for name, n in counts.most_common()) or "none"


if __name__ == "__main__":
    sys.exit(main())
