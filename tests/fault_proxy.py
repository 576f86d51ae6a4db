"""A TCP fault proxy for tests: put it between the server and PostgreSQL or Redis, then break
the link on purpose (reliability notes E7, after Toxiproxy's toxics).

Faults, each applied at once to open connections and new ones:

- ``healthy()``: bytes pass untouched.
- ``latency(seconds)``: every chunk, each way, waits ``seconds`` before it is passed on.
- ``blackhole()``: connections are accepted and read, and nothing is ever passed on or
  answered: the peer waits until its own deadline (the worst fault, the one that hangs).
- ``reset()``: every connection is cut with a TCP reset, and new ones are reset on accept.
- ``down()``: nothing listens on the port (connection refused) and open connections are cut.

The proxy runs its own event loop in a daemon thread, so it serves a server in another
process and the test's own event loop alike; every call from the test waits at most
``CALL_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass

CALL_SECONDS = 5.0
CHUNK = 65_536


@dataclass(frozen=True)
class _Fault:
    kind: str  # healthy, latency, blackhole, reset, down
    seconds: float = 0.0


class FaultProxy:
    """Listens on 127.0.0.1:``port`` and forwards to 127.0.0.1:``upstream_port``."""

    def __init__(self, upstream_port: int, *, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self._fault = _Fault("healthy")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self.port = 0
        self.accepted = 0

    # --- from the test's thread ---

    def start(self) -> FaultProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._call(self._close(listening=True, how="reset"))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CALL_SECONDS)
        if not self._thread.is_alive():
            self._loop.close()

    def healthy(self) -> None:
        self._call(self._set(_Fault("healthy")))

    def latency(self, seconds: float) -> None:
        self._call(self._set(_Fault("latency", seconds)))

    def blackhole(self) -> None:
        self._call(self._set(_Fault("blackhole")))

    def reset(self) -> None:
        self._call(self._set(_Fault("reset")))

    def down(self) -> None:
        self._call(self._set(_Fault("down")))

    def _call(self, coro: object) -> object:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]
        return future.result(CALL_SECONDS)

    # --- on the proxy's loop ---

    async def _set(self, fault: _Fault) -> None:
        self._fault = fault
        if fault.kind == "reset":
            await self._close(listening=False, how="reset")
        elif fault.kind == "down":
            await self._close(listening=True, how="reset")
        elif self._server is None:
            await self._listen()

    async def _listen(self) -> None:
        # The same port every time, so a server configured with it finds the proxy again.
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self, *, listening: bool, how: str) -> None:
        if listening and self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._connections):
            _cut(writer, reset=how == "reset")
        self._connections.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self._fault.kind in ("reset", "down"):
            _cut(writer, reset=True)
            return
        self._connections.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            _cut(writer, reset=True)
            self._connections.discard(writer)
            return
        self._connections.add(up_writer)
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer)),
            asyncio.create_task(self._pump(up_reader, writer)),
        ]
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for task in pumps:
            task.cancel()
        for side in (writer, up_writer):
            self._connections.discard(side)
            _cut(side, reset=False)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(CHUNK):
                fault = self._fault
                if fault.kind == "blackhole":
                    continue  # read and dropped: the peer hears nothing, ever
                if fault.kind == "latency":
                    await asyncio.sleep(fault.seconds)
                if writer.is_closing():
                    return
                writer.write(data)
                await writer.drain()


def _cut(writer: asyncio.StreamWriter, *, reset: bool) -> None:
    """Close ``writer``'s connection; with ``reset``, with an RST rather than a FIN."""
    sock = writer.get_extra_info("socket")
    if reset and sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
    else:
        writer.close()


@contextlib.contextmanager
def fault_proxy(upstream_port: int) -> Iterator[FaultProxy]:
    """A started proxy to ``upstream_port``, stopped on the way out."""
    proxy = FaultProxy(upstream_port).start()
    try:
        yield proxy
    finally:
        proxy.stop()
