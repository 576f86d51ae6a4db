"""Each event is written to every socket by its outlet: in order, decoded once, and a socket
that cannot keep up is closed (4429) instead of holding everyone else back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend

from server import domain_metrics
from server.realtime import messages as m
from server.realtime.outlet import Outlet

BACKLOG = 8
EVENTS = 50
CHANNEL = "fynlo.r.location.l"


class FakeSocket:
    """A client's socket as the outlet sees it: ASGI messages sent, and how it was closed.
    ``draining`` cleared makes every send wait, as uvicorn's does while its buffer is full."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.closed_with: tuple[int, str] | None = None
        self.draining = asyncio.Event()
        self.draining.set()
        self._changed = asyncio.Event()

    async def send(self, message: Any) -> None:
        await self.draining.wait()
        self.sent.append(message)
        self._changed.set()

    async def close(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)
        self._changed.set()

    async def until(self, done: Callable[[], bool]) -> None:
        async with asyncio.timeout(5):
            while not done():
                await self._changed.wait()
                self._changed.clear()

    def texts(self) -> list[str]:
        return [message["text"] for message in self.sent]


def plugin() -> ChannelsPlugin:
    return ChannelsPlugin(
        backend=MemoryChannelsBackend(),
        arbitrary_channels_allowed=True,
        subscriber_max_backlog=BACKLOG,
        subscriber_class=Outlet,
    )


async def subscribed(channels: ChannelsPlugin, socket: FakeSocket) -> Outlet:
    outlet = await channels.subscribe([CHANNEL])
    assert isinstance(outlet, Outlet)
    outlet.open(socket, heartbeat=60, expires_at=int(time.time()) + 60)  # type: ignore[arg-type]
    return outlet


async def publish(channels: ChannelsPlugin, *payloads: bytes) -> None:
    for payload in payloads:
        await channels.wait_published(payload, [CHANNEL])
    for _ in range(20):  # let the plugin's delivery loop run
        await asyncio.sleep(0)


def events(count: int) -> list[bytes]:
    return [f'{{"type":"sync.poke","n":{n}}}'.encode() for n in range(count)]


async def test_a_stuck_reader_is_closed_and_the_others_get_everything() -> None:
    async with plugin() as channels:
        stuck, healthy = FakeSocket(), FakeSocket()
        stuck.draining.clear()  # never drains
        stuck_outlet = await subscribed(channels, stuck)
        healthy_outlet = await subscribed(channels, healthy)
        before = domain_metrics.SOCKETS_TOO_SLOW._value.get()
        await publish(channels, *events(EVENTS))
        await stuck_outlet.closed()
        assert stuck.closed_with == (m.TOO_SLOW, "too slow to keep up; reconnect and pull")
        assert domain_metrics.SOCKETS_TOO_SLOW._value.get() == before + 1
        assert healthy.texts() == [payload.decode() for payload in events(EVENTS)]
        assert healthy_outlet.ending is None
        for outlet in (stuck_outlet, healthy_outlet):
            outlet.shut()
            await channels.unsubscribe(outlet)  # must not hang on a full backlog


async def test_a_socket_that_waits_to_drain_gets_every_event_in_order() -> None:
    async with plugin() as channels:
        slow, other = FakeSocket(), FakeSocket()
        slow.draining.clear()
        slow_outlet = await subscribed(channels, slow)
        await subscribed(channels, other)
        sent = events(BACKLOG)  # the one waiting plus a full backlog: not one too many
        await publish(channels, *sent[:3])
        assert slow.sent == [] and len(other.sent) == 3  # the other did not wait for it
        await publish(channels, *sent[3:])
        slow.draining.set()
        for _ in range(20):
            await asyncio.sleep(0)
        assert slow.texts() == [payload.decode() for payload in sent]
        assert slow_outlet.ending is None and slow.closed_with is None
        await publish(channels, b'{"type":"sync.poke","n":"after"}')
        assert slow.texts()[-1] == '{"type":"sync.poke","n":"after"}'


async def test_every_socket_is_sent_the_one_message_built_for_the_event() -> None:
    async with plugin() as channels:
        sockets = [FakeSocket() for _ in range(3)]
        for socket in sockets:
            await subscribed(channels, socket)
        await publish(channels, *events(2))
        for n in range(2):
            assert len({id(socket.sent[n]) for socket in sockets}) == 1


async def test_events_before_the_welcome_wait_for_it_in_order() -> None:
    async with plugin() as channels:
        socket = FakeSocket()
        outlet = await channels.subscribe([CHANNEL])
        assert isinstance(outlet, Outlet)
        await publish(channels, *events(3))
        await socket.send({"type": "websocket.send", "text": "welcome"})
        outlet.open(socket, heartbeat=60, expires_at=int(time.time()) + 60)  # type: ignore[arg-type]
        await publish(channels, b'{"type":"sync.poke","n":3}')
        assert socket.texts() == ["welcome", *(p.decode() for p in events(4))]


async def test_a_revocation_closes_the_socket_with_4403() -> None:
    async with plugin() as channels:
        socket = FakeSocket()
        outlet = await subscribed(channels, socket)
        await publish(channels, b'{"type":"device.revoked","device_id":"d"}')
        await outlet.closed()
        assert socket.closed_with == (m.REVOKED, "this device was revoked")
        assert socket.sent == []


async def test_expired_tokens_close_the_socket_with_4401() -> None:
    async with plugin() as channels:
        socket = FakeSocket()
        outlet = await channels.subscribe([CHANNEL])
        assert isinstance(outlet, Outlet)
        outlet.open(socket, heartbeat=60, expires_at=int(time.time()) - 1)  # type: ignore[arg-type]
        await socket.until(lambda: socket.closed_with is not None)
        assert socket.closed_with is not None and socket.closed_with[0] == m.UNAUTHENTICATED


async def test_pings_go_out_every_heartbeat() -> None:
    async with plugin() as channels:
        socket = FakeSocket()
        outlet = await channels.subscribe([CHANNEL])
        assert isinstance(outlet, Outlet)
        outlet.open(socket, heartbeat=0.01, expires_at=int(time.time()) + 60)  # type: ignore[arg-type]
        await socket.until(lambda: len(socket.sent) >= 3)
        outlet.shut()
        assert all('"type":"ping"' in text for text in socket.texts())
