"""``/api/v1/ws``: one socket per iPad or back-office screen.

The life of a socket:

1. accepted, then its first frame must be ``auth`` within ``realtime_auth_seconds``
   (tokens never travel in the URL); otherwise it closes with 4401;
2. subscribed to the channels its verified token allows (``topics.for_caller``), a
   ``welcome`` names them and when the tokens expire;
3. events are forwarded as published; a ``ping`` goes out every heartbeat and any frame
   from the client counts as alive;
4. it closes with 4401 when its tokens expire, 4403 at once when its device is revoked,
   4429 when it reads too slowly to keep up (its backlog would slow everyone else), 4408
   when the client falls silent, and 1001 when the server shuts down.

A poke only says "pull now": the pull is the source of truth, so a client that reconnects
pulls from its cursor and misses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from typing import Any
from uuid import UUID

import msgspec
from litestar import WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.channels.subscriber import Subscriber
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect

from server.auth.dependencies import PUBLIC, identify
from server.auth.keys import SigningKeys
from server.auth.tokens import Caller
from server.errors import FynloError
from server.realtime import messages as m
from server.realtime import presence, topics
from server.realtime.hub import Hub
from server.restaurants.tables import Location
from server.settings import get_settings

log = logging.getLogger("fynlo.realtime")
_client_messages = msgspec.json.Decoder(m.ClientMessage)
_encode = msgspec.json.Encoder().encode
_REVOKED = b'"type":"device.revoked"'


class Closing(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class BoundedSubscriber(Subscriber):
    """A channels subscriber that says when its backlog overflowed, instead of dropping
    events silently: a socket that cannot keep up is closed and pulls when it reconnects."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.overflowed = asyncio.Event()

    def put_nowait(self, item: bytes | None) -> bool:
        accepted = super().put_nowait(item)
        if not accepted:
            self.overflowed.set()
        return accepted

    async def put(self, item: bytes | None) -> None:
        if item is None:  # the end-of-stream marker must fit even when the backlog is full
            while self.qsize:
                self._queue.get_nowait()
        await super().put(item)


@websocket("/api/v1/ws", opt=PUBLIC)  # authenticated in-band by its first frame
async def realtime_socket(
    socket: WebSocket[Any, Any, Any], channels: NamedDependency[ChannelsPlugin]
) -> None:
    settings = get_settings()
    await socket.accept()
    try:
        caller, expires_at, names = await _authenticate(socket, settings.realtime_auth_seconds)
    except Closing as closing:
        await _close(socket, closing)
        return
    hub: Hub = socket.app.state.realtime_hub
    subscriber = await channels.subscribe(names)
    assert isinstance(subscriber, BoundedSubscriber)
    link = _Link(socket)
    try:
        # A reconnecting iPad may open its new socket before the old one is noticed gone:
        # it is online from its first socket here until its last one closes.
        if hub.add(socket, caller.device_id) == 1:
            await presence.seen(caller, online=True)
        await link.send(
            _encode(
                m.Welcome(
                    channels=names,
                    expires_at=expires_at,
                    heartbeat_seconds=settings.realtime_heartbeat_seconds,
                )
            )
        )
        ending: Closing | None = await _serve(link, subscriber, expires_at)
    except (WebSocketDisconnect, RuntimeError):
        ending = None  # the client went away (or the server closed the socket)
    finally:
        await channels.unsubscribe(subscriber, names)
        if hub.discard(socket, caller.device_id) == 0:
            await presence.seen(caller, online=False)
    if ending is not None:
        if ending.code in (m.TOO_SLOW, m.REVOKED):
            log.info("closing a socket", extra={"code": ending.code, "reason": ending.reason})
        await _close(socket, ending)


class _Link:
    """Sends from several tasks, one frame at a time."""

    def __init__(self, socket: WebSocket[Any, Any, Any]) -> None:
        self.socket = socket
        self._lock = asyncio.Lock()

    async def send(self, frame: bytes) -> None:
        async with self._lock:
            await self.socket.send_text(frame.decode())


async def _authenticate(
    socket: WebSocket[Any, Any, Any], seconds: float
) -> tuple[Caller, int, list[str]]:
    try:
        async with asyncio.timeout(seconds):
            frame = await socket.receive_text()
    except TimeoutError:
        raise Closing(m.UNAUTHENTICATED, "send an auth frame first") from None
    try:
        message = _client_messages.decode(frame)
    except msgspec.DecodeError:
        raise Closing(m.UNAUTHENTICATED, "the first frame must be auth") from None
    if not isinstance(message, m.Auth):
        raise Closing(m.UNAUTHENTICATED, "the first frame must be auth")
    keys: SigningKeys = socket.app.state.signing_keys
    try:
        caller, expires_at, _ = await identify(keys, message.token, message.employee_token)
    except FynloError as error:  # the same refusal as over HTTP, as a close code
        raise Closing(m.UNAUTHENTICATED, error.detail[:120]) from None
    if message.locations is None:
        return caller, expires_at, topics.for_caller(caller)
    return caller, expires_at, await _chosen(caller, message.locations)


async def _chosen(caller: Caller, wanted: list[UUID]) -> list[str]:
    """Channels for the locations a back-office screen asked for, all of its own restaurant;
    another restaurant's location is refused exactly like one that does not exist."""
    if caller.device_id is not None:
        if set(wanted) != {caller.location_id}:
            raise Closing(m.REVOKED, "an iPad follows its own location only")
        return topics.for_caller(caller)
    rows = await Location.select(Location.id).where(
        (Location.restaurant_id == caller.restaurant_id) & Location.id.is_in(wanted or [None])
    )
    if {row["id"] for row in rows} != set(wanted) or not wanted:
        raise Closing(m.REVOKED, "no such location")
    rid = caller.restaurant_id
    return [topics.everyone(rid), *(topics.location(rid, lid) for lid in sorted(set(wanted)))]


async def _serve(link: _Link, subscriber: BoundedSubscriber, expires_at: int) -> Closing:
    """Run the socket until something ends it; say how to close it."""
    settings = get_settings()
    jobs: list[Awaitable[Closing]] = [
        _forward(link, subscriber),
        _listen(link, 2 * settings.realtime_heartbeat_seconds),
        _heartbeat(link, settings.realtime_heartbeat_seconds),
        _expire(expires_at),
        _overflow(subscriber),
    ]
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return next(iter(done)).result()


async def _forward(link: _Link, subscriber: BoundedSubscriber) -> Closing:
    async for payload in subscriber.iter_events():
        if _REVOKED in payload:  # only the device's own channel carries these
            return Closing(m.REVOKED, "this device was revoked")
        await link.send(payload)
    return Closing(m.GOING_AWAY, "the server is shutting down")


async def _listen(link: _Link, silence: float) -> Closing:
    while True:
        try:
            async with asyncio.timeout(silence):
                frame = await link.socket.receive_text()
        except TimeoutError:
            return Closing(m.SILENT, "no frame within two heartbeats")
        try:
            message = _client_messages.decode(frame)
        except msgspec.DecodeError as error:
            return Closing(m.BAD_MESSAGE, str(error)[:120])
        if isinstance(message, m.Auth):
            return Closing(m.BAD_MESSAGE, "already authenticated")


async def _heartbeat(link: _Link, seconds: float) -> Closing:
    while True:
        await asyncio.sleep(seconds)
        await link.send(_encode(m.Ping(server_time=int(time.time() * 1000))))


async def _expire(expires_at: int) -> Closing:
    await asyncio.sleep(max(0.0, expires_at - time.time()))
    return Closing(m.UNAUTHENTICATED, "the tokens expired; reconnect with fresh ones")


async def _overflow(subscriber: BoundedSubscriber) -> Closing:
    await subscriber.overflowed.wait()
    return Closing(m.TOO_SLOW, "too slow to keep up; reconnect and pull")


async def _close(socket: WebSocket[Any, Any, Any], closing: Closing) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await socket.close(code=closing.code, reason=closing.reason)
