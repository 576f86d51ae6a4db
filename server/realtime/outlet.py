"""One socket's end of the fan-out: the channels plugin hands each event to every socket's
outlet in turn, and the outlet writes it to its socket there and then.

Litestar's own subscriber queues each event for a task per socket. Waking 1,000 tasks per
event, each sending through ``send_text`` with its own decode, cost about 50 µs per socket
(docs/performance.md, "Real-time"). Here an event is decoded once into the one ASGI message
every socket is sent, and the write runs in the delivering loop: uvicorn's ``send`` only
waits when the socket's write buffer is full, so almost every write completes at once,
without a task.

A socket whose buffer is full must not hold up the others: its pending write is finished by
a task of its own, events after it wait in a backlog of at most ``max_backlog``, and one
more closes the socket with 4429 (counted in ``fynlo_sockets_too_slow``): it pulls when it
reconnects, so nothing is lost and nothing is buffered without limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, cast

import msgspec
from litestar.channels.subscriber import BacklogStrategy, Subscriber
from litestar.exceptions import WebSocketDisconnect

from server import domain_metrics
from server.realtime import messages as m

if TYPE_CHECKING:
    from litestar import WebSocket
    from litestar.channels import ChannelsPlugin
    from litestar.types import Message, WebSocketSendEvent

DEFAULT_BACKLOG = 256
_REVOKED = b'"type":"device.revoked"'
_encode = msgspec.json.Encoder().encode
GONE = (WebSocketDisconnect, RuntimeError, OSError)
"""What a send raises once the client has gone (uvicorn's ``ClientDisconnected`` is an
``OSError``); the handler hears of it from ``receive``."""


class Closing(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Frame:
    """One event as every socket is sent it: the ASGI message, built once per event."""

    __slots__ = ("message", "payload", "revokes")

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.message = text_message(payload.decode())
        self.revokes = _REVOKED in payload  # only a device's own channel carries these


def text_message(text: str) -> WebSocketSendEvent:
    return {"type": "websocket.send", "text": text, "bytes": None}


class _LastFrame:
    """The frame of the event being delivered: the plugin hands the same bytes to every
    subscriber of a channel, so one decode serves them all."""

    def __init__(self) -> None:
        self._frame = Frame(b"{}")

    def of(self, payload: bytes) -> Frame:
        if payload is not self._frame.payload:
            self._frame = Frame(payload)
        return self._frame


_frames = _LastFrame()


class Outlet(Subscriber):
    """A channels subscriber that writes each event to its socket as it is delivered."""

    def __init__(
        self,
        plugin: ChannelsPlugin,
        max_backlog: int | None = None,
        backlog_strategy: BacklogStrategy = "backoff",
    ) -> None:
        # Not Subscriber.__init__: no queue and no task; only what the plugin itself uses.
        self._plugin = plugin
        self._backend = plugin._backend
        self._task = None
        self._max_backlog = max_backlog or DEFAULT_BACKLOG
        self._socket: WebSocket[Any, Any, Any] | None = None
        """Set by ``open``; until then events wait in the backlog (the welcome goes first)."""
        # A list, not a deque: empty it is 56 bytes, a deque about 600, on every socket; it
        # holds at most max_backlog events, and only while the socket's buffer is full.
        self._backlog: list[Message] = []
        self._writer: asyncio.Task[None] | None = None
        """Finishing a write that had to wait, then the backlog; None while writes are direct."""
        self._timers: list[asyncio.TimerHandle] = []
        self._closer: asyncio.Task[None] | None = None
        self._shut = False
        self.ending: Closing | None = None
        """Why the server closed this socket, once it has decided to."""

    # What the channels plugin calls.

    def put_nowait(self, item: bytes | None) -> bool:
        if item is not None:
            frame = _frames.of(item)
            if frame.revokes:
                self.end(Closing(m.REVOKED, "this device was revoked"))
            else:
                self._offer(frame.message)
        return True  # never refused: a socket that falls behind is closed instead

    async def put(self, item: bytes | None) -> None:
        if item is not None:  # None is the plugin's end-of-stream marker: nothing to stop
            self.put_nowait(item)

    @property
    def qsize(self) -> int:
        return len(self._backlog)

    # What the socket's handler calls.

    def open(self, socket: WebSocket[Any, Any, Any], *, heartbeat: float, expires_at: int) -> None:
        """Start writing to ``socket`` (its welcome sent): the events that arrived meanwhile
        first, then each as it comes; a ``ping`` every ``heartbeat`` seconds, and 4401 when
        the tokens expire."""
        self._socket = socket
        loop = asyncio.get_running_loop()
        self._timers = [
            loop.call_later(heartbeat, self._beat, heartbeat),
            loop.call_later(
                max(0.0, expires_at - time.time()),
                self.end,
                Closing(m.UNAUTHENTICATED, "the tokens expired; reconnect with fresh ones"),
            ),
        ]
        if self.ending is not None:
            self._closer = asyncio.ensure_future(close(socket, self.ending))
        elif self._backlog:
            self._writer = asyncio.ensure_future(self._drain())

    def end(self, closing: Closing) -> None:
        """Close the socket with ``closing`` (the first reason wins); pending events are
        dropped, since the client pulls when it reconnects."""
        if self.ending is not None or self._shut:
            return
        self.ending = closing
        self._backlog.clear()
        if closing.code == m.TOO_SLOW:
            domain_metrics.SOCKETS_TOO_SLOW.inc()
        if self._socket is not None:
            self._closer = asyncio.ensure_future(close(self._socket, closing))

    def shut(self) -> None:
        """The handler is leaving: no more writes, no more timers."""
        self._shut = True
        self._backlog.clear()
        for timer in self._timers:
            timer.cancel()
        if self._writer is not None:
            self._writer.cancel()

    async def closed(self) -> None:
        """Wait for the close frame ``end`` started to be written (or to fail)."""
        if self._closer is not None:
            await asyncio.gather(self._closer, return_exceptions=True)

    # Writing.

    def _offer(self, message: Message) -> None:
        if self._shut or self.ending is not None:
            return
        if self._socket is None or self._writer is not None:
            if len(self._backlog) >= self._max_backlog:
                self.end(Closing(m.TOO_SLOW, "too slow to keep up; reconnect and pull"))
            else:
                self._backlog.append(message)
            return
        # ASGI's send is an ``async def`` (uvicorn's, and Litestar's wrappers around it).
        writing = cast("Coroutine[Any, Any, None]", self._socket.send(message))
        try:
            waiting = writing.send(None)
        except StopIteration:
            return  # written: the usual case
        except GONE:
            self._shut = True
            return
        # The socket's buffer is full: finish this write, and the ones after it, apart.
        self._writer = asyncio.ensure_future(self._drain(_resume(writing, waiting)))

    async def _drain(self, pending: Coroutine[Any, Any, None] | None = None) -> None:
        try:
            if pending is not None:
                await pending
            while self._backlog and self._socket is not None:
                await self._socket.send(self._backlog.pop(0))
        except GONE:
            self._shut = True
        finally:
            self._writer = None

    def _beat(self, seconds: float) -> None:
        ping = _encode(m.Ping(server_time=int(time.time() * 1000)))
        self._offer(text_message(ping.decode()))
        if not self._shut and self.ending is None:
            self._timers[0] = asyncio.get_running_loop().call_later(seconds, self._beat, seconds)


async def _resume(writing: Coroutine[Any, Any, None], waiting: Any) -> None:
    """Run ``writing`` to its end: it was started by hand and is suspended on ``waiting``,
    what it yielded (this does for it what a task does for a coroutine it runs)."""
    while True:
        if waiting is None:
            await asyncio.sleep(0)  # a bare yield: let the loop run once
        else:
            waiting._asyncio_future_blocking = False  # taken over, as a task takes it over
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await waiting  # ``writing`` reads the outcome itself when resumed
        try:
            waiting = writing.send(None)
        except StopIteration:
            return


async def close(socket: WebSocket[Any, Any, Any], closing: Closing) -> None:
    with contextlib.suppress(*GONE):
        await socket.close(code=closing.code, reason=closing.reason)
