"""The channels plugin for the app, and the lifespan that puts the bus on it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend

from server import events
from server.realtime.bus import ChannelsBus
from server.realtime.hub import Hub
from server.realtime.outlet import Outlet
from server.settings import Settings

SHUTDOWN_CLOSE_SECONDS = 5


def channels_plugin(settings: Settings) -> ChannelsPlugin:
    backend: ChannelsBackend
    if settings.redis_url:
        from redis.asyncio import Redis

        backend = RedisChannelsPubSubBackend(
            redis=Redis.from_url(settings.redis_url),
            key_prefix="fynlo",
            # While no socket listens, look for one every 50 ms rather than every 1 ms.
            stream_sleep_no_subscriptions=50,
        )
    else:
        backend = MemoryChannelsBackend()
    return ChannelsPlugin(
        backend=backend,
        arbitrary_channels_allowed=True,
        subscriber_max_backlog=settings.realtime_max_backlog,
        subscriber_backlog_strategy="backoff",
        subscriber_class=Outlet,
    )


def realtime_running(
    plugin: ChannelsPlugin, hub: Hub
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """Lifespan: events go out through the channels while the app runs."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        previous = events.bus
        events.bus = ChannelsBus(plugin)
        try:
            yield
        finally:
            events.bus = previous
            await hub.close_all(grace=SHUTDOWN_CLOSE_SECONDS)

    return lifespan
