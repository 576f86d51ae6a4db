"""The channels plugin for the app, and the lifespan that puts the bus on it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend

from server import events
from server.realtime.bus import ChannelsBus
from server.realtime.hub import Hub
from server.realtime.outlet import Outlet
from server.realtime.plugin import Channels
from server.realtime.redis_link import RedisBackend, RedisLink, redis_client
from server.settings import Settings

SHUTDOWN_CLOSE_SECONDS = 5


def channels_plugin(settings: Settings) -> Channels:
    backend: RedisBackend | MemoryChannelsBackend
    link: RedisLink | None = None
    if settings.redis_url:
        timeout = settings.redis_timeout_seconds
        link = RedisLink(redis_client(settings.redis_url, timeout=timeout), timeout=timeout)
        backend = RedisBackend(link)
    else:
        backend = MemoryChannelsBackend()
    return Channels(
        backend,
        link=link,
        publish_queue=settings.realtime_publish_queue,
        shutdown_seconds=settings.redis_timeout_seconds,
        arbitrary_channels_allowed=True,
        subscriber_max_backlog=settings.realtime_max_backlog,
        subscriber_backlog_strategy="backoff",
        subscriber_class=Outlet,
    )


async def degraded(plugin: ChannelsPlugin) -> list[Literal["redis"]]:
    """The optional dependencies that are unreachable now: ``["redis"]`` while Redis does
    not answer (within ``FYNLO_REDIS_TIMEOUT_SECONDS``, or known down), else nothing. The
    server still serves without it: real-time pokes are dropped and devices poll."""
    link = plugin.link if isinstance(plugin, Channels) else None
    if link is None or await link.reachable():
        return []
    return ["redis"]


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
