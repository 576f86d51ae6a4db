"""A small HTTP/1.1 keep-alive client for load on 127.0.0.1: cheap enough not to be the cap.

httpx spends a few hundred microseconds of Python per request, so on a 2-core machine it
would measure itself; this client writes a prepared request and reads the answer on an
``asyncio.Protocol`` (one parse of the status line and ``content-length``), about a tenth of
that. It speaks only what our servers answer: ``content-length`` bodies, no chunking, one
request in flight per connection. Anything else is an error, counted, never a hang: every
request has a deadline.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import cast

REQUEST_TIMEOUT_SECONDS = 5.0


class ProtocolError(Exception):
    """The server answered something this client does not read (or closed the socket)."""


@dataclass
class Answer:
    status: int
    body: bytes


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[Answer] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport, but behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ProtocolError(f"connection closed: {exc!r}"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        marker = head.find(b"content-length:")
        if marker < 0:
            self.waiter.set_exception(ProtocolError("answer without content-length"))
            return
        line_end = head.find(b"\r\n", marker)
        length = int(head[marker + 15 : line_end if line_end >= 0 else None])
        total = end + 4 + length
        if len(self.buffer) < total:
            return
        status = int(head[9:12])
        body = bytes(self.buffer[end + 4 : total])
        del self.buffer[:total]
        self.waiter.set_result(Answer(status, body))

    async def send(self, request: bytes) -> Answer:
        if self.closed or self.transport is None:
            raise ProtocolError("connection closed")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await asyncio.wait_for(self.waiter, REQUEST_TIMEOUT_SECONDS)


@dataclass
class Client:
    """Connections to one server; each serves one request at a time."""

    host: str
    port: int
    _idle: list[_Connection] = field(default_factory=list)

    def request(self, path: str, *, headers: dict[str, str] | None = None) -> bytes:
        """A prepared ``GET``: build once, send many times."""
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def open(self, count: int) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(count):
            _, connection = await loop.create_connection(_Connection, self.host, self.port)
            self._idle.append(connection)

    async def send(self, request: bytes) -> Answer:
        """Send on an idle connection (the caller bounds how many are in flight)."""
        connection = self._idle.pop()
        if connection.closed:
            # The server closed it while idle (uvicorn ends keep-alive connections idle for
            # 5 s): as any HTTP client does, take a fresh one instead of failing the request.
            await self.open(1)
            connection = self._idle.pop()
        try:
            answer = await connection.send(request)
        except BaseException:
            if connection.transport is not None:
                connection.transport.close()
            await self._replace()
            raise
        self._idle.append(connection)
        return answer

    async def _replace(self) -> None:
        """A connection that failed is closed; a fresh one keeps the count."""
        try:
            await self.open(1)
        except OSError:
            return

    def close(self) -> None:
        for connection in self._idle:
            if connection.transport is not None:
                connection.transport.close()
        self._idle.clear()


def now() -> float:
    return time.perf_counter()
