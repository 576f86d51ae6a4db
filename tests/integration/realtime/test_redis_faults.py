"""Real servers through a Redis outage: two ``fynlo serve`` processes whose ``FYNLO_REDIS_URL``
is the fault proxy in front of a real ``redis-server`` (reliability notes E7, F4).

For down, black hole, reset and latency: a push during the fault answers 200 (the write is
committed; its poke is dropped and counted, or late), reads answer as usual, ``/ready``
says ``degraded`` while Redis does not answer and ``ready`` once it does, and a socket
opened before the fault hears pokes again afterwards without a restart. A SIGTERM ends a
server within its grace whatever Redis does.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import time
from collections.abc import Iterator
from uuid import uuid4

import httpx
import pytest
from litestar import Litestar
from websockets.asyncio.client import ClientConnection

from server.settings import Settings
from tests.e2e.processes import stop
from tests.factories import Ipad, Tenant, make_ipad
from tests.fault_proxy import FaultProxy, fault_proxy
from tests.integration.realtime.conftest import Server, closed_with, next_of, serve, socket
from tests.integration.sync.test_push_rules import change, order_fields, prefix_of, push
from tests.optional import require
from tests.redis_server import redis_server

TIMEOUT = 1.0
LATENCY = 0.3
GRACE_SECONDS = Settings().shutdown_grace_seconds
"""FYNLO_SHUTDOWN_GRACE_SECONDS at its default, as the servers here run."""
WAIT_SECONDS = 20.0
FAULTS = ["down", "blackhole", "reset", "latency"]
DROPPED = 'fynlo_realtime_publish_dropped_total{reason="redis_down"}'


@pytest.fixture(scope="module")
def proxy() -> Iterator[FaultProxy]:
    require("redis")
    with redis_server() as redis, fault_proxy(redis.port) as running:
        yield running


def serve_through(settings: Settings, proxy: FaultProxy) -> Server:
    return serve(
        settings,
        FYNLO_REDIS_URL=f"redis://127.0.0.1:{proxy.port}/0",
        FYNLO_REDIS_TIMEOUT_SECONDS=str(TIMEOUT),
        # The test reads its socket only between steps that wait on Redis: no 4408 meanwhile.
        FYNLO_REALTIME_HEARTBEAT_SECONDS="30",
    )


@pytest.fixture(scope="module")
def servers(
    app: Litestar, settings: Settings, proxy: FaultProxy
) -> Iterator[tuple[Server, Server]]:
    """One server holding the sockets, one taking the pushes."""
    one = serve_through(settings, proxy)
    try:
        two = serve_through(settings, proxy)
    except BaseException:
        stop(one.process)
        raise
    yield one, two
    stop(one.process)
    stop(two.process)


async def readiness(server: Server) -> dict[str, object]:
    async with httpx.AsyncClient(timeout=WAIT_SECONDS, trust_env=False) as http:
        response = await http.get(f"{server.base}/ready")
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def until_ready(*servers: Server) -> None:
    """Wait (bounded) until every server's ``/ready`` says plain ``ready``."""
    async with asyncio.timeout(WAIT_SECONDS):
        for server in servers:
            while True:  # polled: another process's state
                if await readiness(server) == {"status": "ready"}:
                    break
                await asyncio.sleep(0.2)


async def dropped(server: Server) -> float:
    async with httpx.AsyncClient(timeout=WAIT_SECONDS, trust_env=False) as http:
        text = (await http.get(f"{server.base}/metrics")).text
    for line in text.splitlines():
        if line.startswith(DROPPED):
            return float(line.split()[-1])
    return 0.0


async def one_push(server: Server, ipad: Ipad, seq: Iterator[int]) -> None:
    """Push one new order (the iPad's next change in ``seq``) to ``server``; it must answer
    200 well within the deadline."""
    number = next(seq)
    prefix = await prefix_of(ipad)
    started = time.monotonic()
    async with httpx.AsyncClient(
        base_url=server.base, timeout=WAIT_SECONDS, trust_env=False
    ) as http:
        pushed = await push(
            http, ipad, [change(ipad, number, "order", uuid4(), order_fields(prefix, number))]
        )
    assert pushed.status_code == 200, pushed.text
    # Publishing never waits on Redis: the push answers whatever Redis does.
    assert time.monotonic() - started < TIMEOUT * 5


async def poked_again(ws: ClientConnection, server: Server, ipad: Ipad, seq: Iterator[int]) -> None:
    """Push until ``ws`` hears a poke (bounded): a subscriber reconnects in the background,
    and Redis keeps nothing for a SUBSCRIBE still on its way."""
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            await one_push(server, ipad, seq)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await next_of(ws, "sync.poke")
                    return


async def reads_work(server: Server, tenant: Tenant) -> None:
    """Reads need no Redis (reliability notes F4): the order list answers as usual."""
    async with httpx.AsyncClient(
        base_url=server.base, timeout=WAIT_SECONDS, trust_env=False
    ) as http:
        orders = await http.get("/api/v1/orders", headers=tenant.headers)
    assert orders.status_code == 200, orders.text
    assert orders.json()["items"], "the pushed orders are listed"


@pytest.fixture(autouse=True)
def healthy_after(proxy: FaultProxy) -> Iterator[None]:
    yield
    proxy.healthy()


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_fault_keeps_pushes_answered_and_pokes_come_back(
    app: Litestar, servers: tuple[Server, Server], proxy: FaultProxy, tenant: Tenant, fault: str
) -> None:
    holder, taker = servers
    listener, writer = await make_ipad(app, tenant), await make_ipad(app, tenant, name="Till 2")
    seq = itertools.count(1)
    await until_ready(holder, taker)
    async with socket(holder, listener.access_token) as ws:
        await poked_again(ws, taker, writer, seq)
        before = await dropped(taker)

        if fault == "latency":
            proxy.latency(LATENCY)
        else:
            getattr(proxy, fault)()
        await one_push(taker, writer, seq)
        await reads_work(holder, tenant)
        if fault == "latency":  # slower, not broken: nothing dropped, and the poke arrives
            await next_of(ws, "sync.poke")
            assert await readiness(holder) == {"status": "ready"}
            assert await dropped(taker) == before
        else:
            degraded = {"status": "degraded", "degraded": ["redis"]}
            assert await readiness(taker) == degraded
            assert await readiness(holder) == degraded
            assert await dropped(taker) > before

        proxy.healthy()
        await until_ready(holder, taker)
        await poked_again(ws, taker, writer, seq)


@pytest.mark.parametrize("fault", ["down", "blackhole"])
async def test_a_shutdown_ends_within_its_grace_whatever_redis_does(
    app: Litestar, settings: Settings, proxy: FaultProxy, tenant: Tenant, fault: str
) -> None:
    server = serve_through(settings, proxy)
    try:
        ipad = await make_ipad(app, tenant)
        async with socket(server, ipad.access_token) as ws:
            getattr(proxy, fault)()
            await one_push(server, ipad, itertools.count(1))  # the publisher meets the fault
            assert (await readiness(server))["status"] == "degraded"
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            assert await closed_with(ws) == 1001
    finally:
        code, output = stop(server.process)
    elapsed = time.monotonic() - started
    assert code == 0, output
    assert elapsed < GRACE_SECONDS, f"{elapsed:.1f} s to stop:\n{output}"
