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

The handler itself only reads the client's frames; events, pings and the closes the server
decides on go out through the socket's ``Outlet`` (``outlet.py``), without a task of their own.

A poke only says "pull now": the pull is the source of truth, so a client that reconnects
pulls from its cursor and misses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from uuid import UUID

import msgspec
from litestar import WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect

from server.auth.dependencies import PUBLIC, identify
from server.auth.keys import SigningKeys
from server.auth.tokens import Caller
from server.errors import FynloError
from server.realtime import messages as m
from server.realtime import presence, topics
from server.realtime.hub import Hub
from server.realtime.outlet import Closing, Outlet, close
from server.restaurants.tables import Location
from server.settings import get_settings

log = logging.getLogger("fynlo.realtime")
_client_messages = msgspec.json.Decoder(m.ClientMessage)
_encode = msgspec.json.Encoder().encode


@websocket("/api/v1/ws", opt=PUBLIC)  # authenticated in-band by its first frame
async def realtime_socket(
    socket: WebSocket[Any, Any, Any], channels: NamedDependency[ChannelsPlugin]
) -> None:
    settings = get_settings()
    await socket.accept()
    try:
        caller, expires_at, names = await _authenticate(socket, settings.realtime_auth_seconds)
    except Closing as closing:
        await close(socket, closing)
        return
    hub: Hub = socket.app.state.realtime_hub
    outlet = await channels.subscribe(names)
    assert isinstance(outlet, Outlet)
    try:
        # A reconnecting iPad may open its new socket before the old one is noticed gone:
        # it is online from its first socket here until its last one closes.
        if hub.add(socket, caller.device_id) == 1:
            await presence.seen(caller, online=True)
        welcome = m.Welcome(
            channels=names,
            expires_at=expires_at,
            heartbeat_seconds=settings.realtime_heartbeat_seconds,
        )
        await socket.send_text(_encode(welcome).decode())
        outlet.open(socket, heartbeat=settings.realtime_heartbeat_seconds, expires_at=expires_at)
        outlet.end(await _listen(socket, 2 * settings.realtime_heartbeat_seconds))
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away, or the outlet closed the socket
    finally:
        outlet.shut()
        await channels.unsubscribe(outlet, names)
        if hub.discard(socket, caller.device_id) == 0:
            await presence.seen(caller, online=False)
    ending = outlet.ending
    if ending is not None and ending.code in (m.TOO_SLOW, m.REVOKED):
        log.info("closing a socket", extra={"code": ending.code, "reason": ending.reason})
    await outlet.closed()


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


async def _listen(socket: WebSocket[Any, Any, Any], silence: float) -> Closing:
    """Read the client's frames until one ends the socket; say how to close it. A close the
    server decided elsewhere (expired tokens, revoked, too slow, shutting down) ends this
    with the disconnect ``receive`` raises."""
    while True:
        try:
            async with asyncio.timeout(silence):
                frame = await socket.receive_text()
        except TimeoutError:
            return Closing(m.SILENT, "no frame within two heartbeats")
        try:
            message = _client_messages.decode(frame)
        except msgspec.DecodeError as error:
            return Closing(m.BAD_MESSAGE, str(error)[:120])
        if isinstance(message, m.Auth):
            return Closing(m.BAD_MESSAGE, "already authenticated")
