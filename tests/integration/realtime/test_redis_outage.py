"""The channels plugin through a Redis outage, in process: two plugins (two servers) on one
real ``redis-server`` behind the fault proxy, one publishing and one listening.

For each fault: what is published meanwhile is queued within the bound or dropped and
counted, never more; Redis is reported unreachable while it is; and once the proxy is
healthy again, an event published on one reaches the other's subscriber without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from litestar.channels.subscriber import Subscriber
from prometheus_client import REGISTRY

from server.realtime.plugin import Channels
from server.realtime.redis_link import KEEPALIVE_TIMEOUTS, RedisLink
from server.realtime.setup import channels_plugin, degraded
from server.settings import Settings
from tests.fault_proxy import FaultProxy, fault_proxy
from tests.optional import require
from tests.redis_server import redis_server

TIMEOUT = 1.0
BOUND = 5
LATENCY = 0.3
WAIT_SECONDS = 15.0
CHANNEL = "outage-test"
FAULTS = ["down", "blackhole", "reset", "latency"]


@pytest.fixture(scope="module")
def proxy() -> Iterator[FaultProxy]:
    require("redis")
    with redis_server() as redis, fault_proxy(redis.port) as running:
        yield running


def plugin(proxy: FaultProxy) -> Channels:
    """The app's plugin, but with Litestar's queueing subscriber: no socket to write to here."""
    channels = channels_plugin(
        Settings(
            redis_url=f"redis://127.0.0.1:{proxy.port}/0",
            redis_timeout_seconds=TIMEOUT,
            realtime_publish_queue=BOUND,
        )
    )
    channels._subscriber_class = Subscriber
    return channels


@contextlib.asynccontextmanager
async def running(proxy: FaultProxy) -> AsyncIterator[Channels]:
    channels = plugin(proxy)
    async with channels:
        yield channels


def dropped(reason: str) -> float:
    return (
        REGISTRY.get_sample_value("fynlo_realtime_publish_dropped_total", {"reason": reason}) or 0
    )


async def heard(publisher: Channels, subscriber: Subscriber, data: bytes) -> bool:
    """Publish ``data`` until ``subscriber`` hears it; False if it never does within
    ``WAIT_SECONDS`` (pub/sub keeps nothing for a subscriber whose SUBSCRIBE is still on its
    way, as after a reconnection, hence the repeats)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        publisher.publish(data, CHANNEL)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.5):
                # The queue itself: a cancelled ``iter_events`` would end the generator.
                while await subscriber._queue.get() != data:
                    pass
                return True
    return False


async def until(check: Callable[[], Awaitable[bool]], *, seconds: float = WAIT_SECONDS) -> bool:
    """Poll ``check`` until it says True (True), or ``seconds`` pass (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # polled: the prober runs on its own schedule
        if await check():
            return True
        await asyncio.sleep(0.1)
    return False


@pytest.mark.parametrize("fault", FAULTS)
async def test_events_flow_again_after_a_fault_and_the_queue_stays_bounded(
    proxy: FaultProxy, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="fynlo.realtime")
    async with running(proxy) as listener, running(proxy) as publisher:
        subscriber = await listener.subscribe(CHANNEL)
        assert await heard(publisher, subscriber, b"before")
        down_before = dropped("redis_down") + dropped("queue_full")

        if fault == "latency":
            proxy.latency(LATENCY)
        else:
            getattr(proxy, fault)()
        try:
            for n in range(BOUND * 4):
                publisher.publish(f"during {n}".encode(), CHANNEL)
                assert publisher.waiting() <= BOUND
                await asyncio.sleep(0.05)
            # More than the bound was published faster than a broken (or slow) Redis took it.
            assert dropped("redis_down") + dropped("queue_full") > down_before
            if fault != "latency":
                assert await degraded(listener) == ["redis"]
                assert await degraded(publisher) == ["redis"]
                # One line per process that lost Redis, not one per dropped event.
                lost = [r for r in caplog.records if r.message.startswith("redis unreachable")]
                assert 1 <= len(lost) <= 2
        finally:
            proxy.healthy()

        async def both_ready() -> bool:
            return await degraded(listener) == [] and await degraded(publisher) == []

        assert await until(both_ready)
        assert await heard(publisher, subscriber, b"after")
        assert publisher.waiting() <= BOUND


async def test_a_socket_that_subscribes_while_redis_is_down_hears_events_once_it_is_back(
    proxy: FaultProxy,
) -> None:
    async with running(proxy) as listener, running(proxy) as publisher:
        warm = await listener.subscribe(CHANNEL)  # the reader holds a connection to lose
        assert await heard(publisher, warm, b"warm")
        await listener.unsubscribe(warm)
        proxy.down()
        try:
            assert await until(lambda: _unreachable(listener))
            late = await asyncio.wait_for(listener.subscribe(CHANNEL), TIMEOUT * 2)
        finally:
            proxy.healthy()
        assert await until(lambda: _reachable(listener))
        assert await until(lambda: _reachable(publisher))
        assert await heard(publisher, late, b"after")


async def test_a_shutdown_with_redis_black_holed_ends_within_its_bound(proxy: FaultProxy) -> None:
    channels = plugin(proxy)
    await channels.__aenter__()
    await channels.subscribe(CHANNEL)
    proxy.blackhole()
    try:
        for n in range(BOUND):
            channels.publish(f"stuck {n}".encode(), CHANNEL)
        assert channels.waiting() > 0  # events Redis will never take
        started = time.monotonic()
        # The queue's own drain, then the backend's two closes: each bounded by the timeout.
        await asyncio.wait_for(channels.__aexit__(None, None, None), TIMEOUT * 3 + 2)
        elapsed = time.monotonic() - started
    finally:
        proxy.healthy()
    assert elapsed <= TIMEOUT * 3 + 1, f"{elapsed:.1f} s to stop"
    assert channels.waiting() == 0  # nothing left queued: sent or dropped, never kept


async def _unreachable(channels: Channels) -> bool:
    return await degraded(channels) == ["redis"]


async def _reachable(channels: Channels) -> bool:
    return await degraded(channels) == []


async def test_a_quiet_reader_keeps_its_connection_and_notices_a_silent_redis(
    proxy: FaultProxy,
) -> None:
    """Nothing but the reader talks to Redis here: its own PING tells a quiet channel from
    a Redis that stopped answering."""
    quiet = (KEEPALIVE_TIMEOUTS + 1) * TIMEOUT
    async with running(proxy) as listener, running(proxy) as publisher:
        subscriber = await listener.subscribe(CHANNEL)
        assert await heard(publisher, subscriber, b"before")
        link = listener.link
        assert link is not None

        await asyncio.sleep(quiet)  # past a keepalive PING and its answer
        assert link.up and link.generation == 0, "a healthy quiet reader reconnected"

        proxy.blackhole()
        try:
            assert await until(lambda: _down(link), seconds=quiet + TIMEOUT * 2)
        finally:
            proxy.healthy()
        assert await until(lambda: _up(link))
        assert await heard(publisher, subscriber, b"after")


async def _down(link: RedisLink) -> bool:
    return not link.up


async def _up(link: RedisLink) -> bool:
    return link.up
