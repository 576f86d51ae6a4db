"""A socket that cannot keep up is closed (4429) instead of holding everyone else back."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend

from server.realtime import messages as m
from server.realtime.socket import BoundedSubscriber, _Link, _serve

BACKLOG = 8
EVENTS = 50


class StuckSocket:
    """A client whose connection stopped draining: sends never finish, nothing arrives."""

    async def send_text(self, _: str) -> None:
        await asyncio.Event().wait()

    async def receive_text(self) -> str:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def plugin() -> ChannelsPlugin:
    return ChannelsPlugin(
        backend=MemoryChannelsBackend(),
        arbitrary_channels_allowed=True,
        subscriber_max_backlog=BACKLOG,
        subscriber_class=BoundedSubscriber,
    )


async def test_a_stuck_reader_is_closed_and_the_others_get_everything() -> None:
    async with plugin() as channels:
        stuck = await channels.subscribe(["fynlo.r.location.l"])
        healthy = await channels.subscribe(["fynlo.r.location.l"])
        assert isinstance(stuck, BoundedSubscriber)
        link: Any = _Link(StuckSocket())  # type: ignore[arg-type]
        serving = asyncio.ensure_future(_serve(link, stuck, expires_at=int(time.time()) + 60))
        received: list[bytes] = []
        arrived: asyncio.Queue[None] = asyncio.Queue()

        async def read_all() -> None:
            async for payload in healthy.iter_events():
                received.append(payload)
                arrived.put_nowait(None)
                if len(received) == EVENTS:
                    return

        reading = asyncio.ensure_future(read_all())
        async with asyncio.timeout(5):
            for n in range(EVENTS):
                await channels.wait_published(f'{{"n":{n}}}'.encode(), ["fynlo.r.location.l"])
                await arrived.get()  # a healthy reader keeps up, event by event
            closing = await serving
            await reading
        assert (closing.code, closing.reason) == (
            m.TOO_SLOW,
            "too slow to keep up; reconnect and pull",
        )
        assert len(received) == EVENTS
        await channels.unsubscribe(stuck)  # must not hang on the full backlog
        await channels.unsubscribe(healthy)
