"""The event bus on Litestar Channels: every process's sockets hear every process's events.

With ``FYNLO_REDIS_URL`` the channels backend is Redis pub/sub, so an event raised on one
server reaches subscribers on all of them; without it, the in-memory backend serves this
process only. In-process subscribers keep working as with ``InProcessBus``.

Publishing never waits on Redis and never fails the publisher: the event is queued, or
dropped and counted while Redis is away (``plugin.Channels``, docs/realtime.md).
"""

from __future__ import annotations

import msgspec
from litestar.channels import ChannelsPlugin

from server import events
from server.realtime import topics

_encode = msgspec.json.Encoder().encode


class ChannelsBus(events.InProcessBus):
    def __init__(self, plugin: ChannelsPlugin) -> None:
        super().__init__()
        self._plugin = plugin

    async def publish(self, event: events.Event) -> None:
        await super().publish(event)
        self._plugin.publish(_encode(event), topics.for_event(event))
