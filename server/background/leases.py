"""Leases: each background job runs in one process of the fleet, whatever the number of servers.

A lease is a row of ``background_leases``: its ``name`` (the job's), its ``holder`` (one
process: host, pid and a random tag, so a reused pid is never mistaken for the old one),
``expires_at`` and ``ran_at`` (when the job last started, in any process). ``take`` is one
statement: it inserts the row, or takes it over only where it has expired or is already ours,
so of two processes racing exactly one gets it. Times are the database's ``now()``, so the
servers' clocks need not agree.

``running`` is the lifespan's half: every ``tick`` (a third of the lease, or the job's period
if shorter) it takes or renews the lease, and when the job is due (``every`` seconds after it
last started, in whichever process) it starts it and keeps renewing while it runs; if the
lease is lost meanwhile (the database unreachable for longer than the lease), the run is
cancelled, since another process may have begun its own. A process that dies without
releasing holds its leases until they expire: another takes them over at its next tick after.
On shutdown the lease is released so a surviving server takes it over at once. The first run
comes ``every`` seconds after the lease was first created, as the poller always did.

Session-level advisory locks would do the same with less SQL, but pooled connections are
handed on without a session reset (``tests/unit/test_pool_session_state.py``), and a lock
held by a connection nobody owns outlives its process's interest in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg
from prometheus_client import Counter, Gauge

from server.db.engine import connection

log = logging.getLogger("fynlo.background")

HELD = Gauge(
    "fynlo_background_lease_held",
    "1 while this process holds the lease of a background job (and so runs it)",
    ["name"],
)
RUNS = Counter("fynlo_background_runs", "Background job runs started by this process", ["name"])

Job = Callable[[], Coroutine[Any, Any, object]]
Running = AbstractAsyncContextManager[None]
"""What ``running`` returns: a lifespan's body."""

RELEASE_SECONDS = 2.0
"""Longest a shutdown waits to release a lease; unreleased, it expires by itself."""

_TAKE = """
INSERT INTO background_leases AS lease (name, holder, expires_at, ran_at)
VALUES ($1, $2, now() + make_interval(secs => $3), now())
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE lease.expires_at < now() OR lease.holder = excluded.holder
RETURNING extract(epoch FROM now() - lease.ran_at)::float8
"""
_MARK_RUN = "UPDATE background_leases SET ran_at = now() WHERE name = $1 AND holder = $2"
_RELEASE = "UPDATE background_leases SET expires_at = '-infinity' WHERE name = $1 AND holder = $2"


def new_holder() -> str:
    """A name for this process, different from every other's (and from its own past ones)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


async def take(conn: asyncpg.Connection, name: str, holder: str, seconds: float) -> float | None:
    """Take or renew lease ``name`` for ``seconds``; answers the seconds since its job last
    started, or None when another holder has it."""
    since: float | None = await conn.fetchval(_TAKE, name, holder, seconds)
    return since


async def mark_run(conn: asyncpg.Connection, name: str, holder: str) -> bool:
    """Record that the job starts now; False if ``holder`` no longer holds the lease."""
    return str(await conn.execute(_MARK_RUN, name, holder)) == "UPDATE 1"


async def release(conn: asyncpg.Connection, name: str, holder: str) -> bool:
    """Let the lease go (expired at once) if ``holder`` has it."""
    return str(await conn.execute(_RELEASE, name, holder)) == "UPDATE 1"


@contextlib.asynccontextmanager
async def running(
    name: str,
    job: Job,
    *,
    every: float,
    lease_seconds: float,
    holder: str | None = None,
) -> AsyncIterator[None]:
    """Lifespan body: run ``job`` every ``every`` seconds while this process holds ``name``."""
    holder = holder or new_holder()
    task = asyncio.create_task(_keep(name, job, holder, every=every, lease_seconds=lease_seconds))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        HELD.labels(name).set(0)
        try:
            async with asyncio.timeout(RELEASE_SECONDS), connection() as conn:
                if await release(conn, name, holder):
                    log.info("background lease released", extra={"lease": name, "holder": holder})
        except Exception as exc:  # the lease expires by itself
            log.warning("background lease %s not released: %r", name, exc)


async def _keep(
    name: str,
    job: Job,
    holder: str,
    *,
    every: float,
    lease_seconds: float,
) -> None:
    tick = min(every, lease_seconds / 3)
    renew = _Renewal(name, holder, lease_seconds)
    delay = tick
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(delay)
        since = await renew()
        if since is not None and since >= every:
            started = loop.time()
            await _run(name, job, holder, renew, tick)
            since = loop.time() - started
        delay = tick if since is None else min(tick, max(every - since, 0.0))


async def _run(
    name: str,
    job: Job,
    holder: str,
    renew: _Renewal,
    tick: float,
) -> None:
    """Run the job once, renewing the lease every ``tick``; cancel it if the lease is lost."""
    async with connection() as conn:
        if not await mark_run(conn, name, holder):
            return
    RUNS.labels(name).inc()
    run = asyncio.create_task(job())
    try:
        while not (await asyncio.wait({run}, timeout=tick))[0]:
            if await renew() is None:
                log.warning("background lease %s lost during a run: run cancelled", name)
                run.cancel()
                await asyncio.wait({run})
    finally:
        if not run.done():  # this task is being cancelled (shutdown): the run stops too
            run.cancel()
            await asyncio.wait({run})
    if not run.cancelled() and (failure := run.exception()) is not None:
        # A bad run must not stop the next one.
        log.error("background job %s failed", name, exc_info=failure)


class _Renewal:
    """Takes or renews the lease, keeping the gauge and a log line of who holds it."""

    def __init__(self, name: str, holder: str, seconds: float) -> None:
        self.name, self.holder, self.seconds = name, holder, seconds
        self.held = False
        self.failing = False

    async def __call__(self) -> float | None:
        try:
            # A renewal that hangs (the database black-holed) counts as lost well before the
            # lease runs out, so a run is cancelled before another process may start one.
            async with asyncio.timeout(self.seconds / 3), connection() as conn:
                since = await take(conn, self.name, self.holder, self.seconds)
            self.failing = False
        except Exception as exc:  # database down or not migrated yet: hold nothing
            if not self.failing:
                log.warning("background lease %s: cannot take it: %r", self.name, exc)
            self.failing, since = True, None
        held = since is not None
        if held != self.held:
            what = "taken" if held else "lost"
            log.info(f"background lease {what}", extra={"lease": self.name, "holder": self.holder})
            HELD.labels(self.name).set(int(held))
            self.held = held
        return since
