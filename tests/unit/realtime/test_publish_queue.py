"""The publish queue on the in-memory backend: bounded, dropping the oldest, each drop counted."""

from __future__ import annotations

import asyncio

from litestar.channels.backends.memory import MemoryChannelsBackend
from prometheus_client import REGISTRY

from server.realtime.plugin import Channels

BOUND = 3


def dropped(reason: str) -> float:
    value = REGISTRY.get_sample_value("fynlo_realtime_publish_dropped_total", {"reason": reason})
    return value or 0.0


async def test_a_full_queue_drops_the_oldest_events_and_counts_them() -> None:
    channels = Channels(
        MemoryChannelsBackend(),
        publish_queue=BOUND,
        shutdown_seconds=1.0,
        arbitrary_channels_allowed=True,
    )
    async with channels:
        subscriber = await channels.subscribe("till")
        before = dropped("queue_full")
        # No await between publishes: the publisher task cannot take any of them meanwhile.
        for n in range(BOUND + 2):
            channels.publish(f"event {n}".encode(), "till")
            assert channels.waiting() <= BOUND
        assert dropped("queue_full") == before + 2

        heard: list[bytes] = []
        async with asyncio.timeout(5):
            while len(heard) < BOUND:
                heard.append(await subscriber._queue.get())
    assert heard == [b"event 2", b"event 3", b"event 4"]


async def test_a_publish_after_the_plugin_stopped_is_dropped_not_raised() -> None:
    channels = Channels(
        MemoryChannelsBackend(),
        publish_queue=BOUND,
        shutdown_seconds=1.0,
        arbitrary_channels_allowed=True,
    )
    async with channels:
        pass
    before = dropped("shutdown")
    channels.publish(b"late", "till")
    assert dropped("shutdown") == before + 1
