"""Leases on the real PostgreSQL: of two holders one wins, an expired lease changes hands, a
released one at once, and ``running`` runs a job in the holder alone."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from uuid import uuid4

import asyncpg
from litestar import Litestar

from server.background import leases
from server.db.engine import DB


@asynccontextmanager
async def two_connections() -> AsyncIterator[tuple[asyncpg.Connection, asyncpg.Connection]]:
    assert DB.pool is not None
    async with DB.pool.acquire() as one, DB.pool.acquire() as two:
        yield one, two


def a_name() -> str:
    return f"test-{uuid4().hex[:8]}"


async def holder_of(name: str) -> str | None:
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        holder: str | None = await conn.fetchval(
            "SELECT holder FROM background_leases WHERE name = $1 AND expires_at > now()", name
        )
        return holder


async def test_of_two_holders_racing_for_a_lease_exactly_one_gets_it(app: Litestar) -> None:
    async with two_connections() as (one, two):
        for _ in range(20):  # a fresh lease (both insert) and a taken one, many times over
            name = a_name()
            first, second = await asyncio.gather(
                leases.take(one, name, "one", 30), leases.take(two, name, "two", 30)
            )
            assert (first is None) != (second is None), (first, second)
            assert await holder_of(name) == ("one" if second is None else "two")


async def test_the_holder_renews_and_nobody_else_takes_it_before_it_expires(
    app: Litestar,
) -> None:
    name = a_name()
    async with two_connections() as (one, two):
        assert await leases.take(one, name, "one", 30) is not None
        assert await leases.take(two, name, "two", 30) is None
        assert await leases.take(one, name, "one", 30) is not None  # renewed
        assert await holder_of(name) == "one"


async def test_an_expired_lease_goes_to_the_next_taker(app: Litestar) -> None:
    name = a_name()
    async with two_connections() as (one, two):
        assert await leases.take(one, name, "one", 0.3) is not None
        assert await leases.take(two, name, "two", 30) is None
        await asyncio.sleep(0.5)  # the holder died without renewing
        assert await leases.take(two, name, "two", 30) is not None
        assert await leases.take(one, name, "one", 30) is None  # the old holder lost it
        assert await holder_of(name) == "two"


async def test_a_released_lease_goes_at_once_and_only_its_holder_releases_it(
    app: Litestar,
) -> None:
    name = a_name()
    async with two_connections() as (one, two):
        assert await leases.take(one, name, "one", 30) is not None
        assert not await leases.release(two, name, "two")  # not theirs to let go
        assert await leases.take(two, name, "two", 30) is None
        assert await leases.release(one, name, "one")
        assert await holder_of(name) is None
        assert await leases.take(two, name, "two", 30) is not None


async def test_the_first_run_is_one_period_after_the_lease_is_created(app: Litestar) -> None:
    name = a_name()
    async with two_connections() as (one, _):
        since = await leases.take(one, name, "one", 30)
        assert since is not None and since < 1.0  # not due: the job waits a full period


Run = tuple[str, float, float]
EVERY, LEASE = 0.3, 1.5
"""Short enough for a test: a run every 0.3 s, the lease renewed as often."""


async def wait_until(condition: Callable[[], bool], *, seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not so after {seconds} s")


def server(name: str, holder: str, runs: list[Run], seconds: float = 0.05) -> leases.Running:
    """What one server's lifespan does: run a job that notes who ran it, and when."""

    async def job() -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.sleep(seconds)
        runs.append((holder, started, loop.time()))

    return leases.running(name, job, every=EVERY, lease_seconds=LEASE, holder=holder)


async def test_running_runs_the_job_in_the_holder_alone_and_hands_over_on_release(
    app: Litestar,
) -> None:
    name, runs = a_name(), list[Run]()
    async with AsyncExitStack() as one, AsyncExitStack() as two:
        await one.enter_async_context(server(name, "one", runs))
        await asyncio.sleep(0.05)  # "one" asks first
        await two.enter_async_context(server(name, "two", runs))
        await wait_until(lambda: len(runs) >= 5)
        assert {holder for holder, _, _ in runs} == {"one"}
        assert await holder_of(name) == "one"

        await one.aclose()  # shutdown: released, so "two" needs no expiry
        handed_over = len(runs)
        await wait_until(lambda: len(runs) >= handed_over + 3, seconds=5)
        assert {holder for holder, _, _ in runs[handed_over:]} == {"two"}
        assert await holder_of(name) == "two"
    ordered = sorted(runs, key=lambda run: run[1])
    overlaps = [(a, b) for a, b in itertools.pairwise(ordered) if b[1] < a[2]]
    assert overlaps == []


async def test_a_run_is_cancelled_when_its_lease_is_lost_meanwhile(app: Litestar) -> None:
    name, runs = a_name(), list[Run]()
    cancelled = asyncio.Event()

    async def long_job() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with leases.running(name, long_job, every=EVERY, lease_seconds=LEASE, holder="one"):
        await wait_until(lambda: leases.RUNS.labels(name)._value.get() >= 1)
        assert DB.pool is not None
        async with DB.pool.acquire() as conn:  # another process took it (say, after a pause)
            await conn.execute(
                "UPDATE background_leases SET holder = 'thief', expires_at = now() + interval"
                " '1 minute' WHERE name = $1",
                name,
            )
        async with asyncio.timeout(5):
            await cancelled.wait()
        assert leases.HELD.labels(name)._value.get() == 0
    assert runs == []
