"""The sockets this process holds, so a shutdown can close them all with 1001."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from litestar import WebSocket
from litestar.exceptions import WebSocketDisconnect

from server.realtime.messages import GOING_AWAY


class Hub:
    def __init__(self) -> None:
        self._sockets: set[WebSocket[Any, Any, Any]] = set()

    def add(self, socket: WebSocket[Any, Any, Any]) -> None:
        self._sockets.add(socket)

    def discard(self, socket: WebSocket[Any, Any, Any]) -> None:
        self._sockets.discard(socket)

    def __len__(self) -> int:
        return len(self._sockets)

    async def close_all(self, *, grace: float) -> None:
        """Close every socket with 1001 ("going away"), waiting at most ``grace`` seconds."""
        sockets, self._sockets = list(self._sockets), set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await asyncio.gather(*(_going_away(s) for s in sockets), return_exceptions=True)


async def _going_away(socket: WebSocket[Any, Any, Any]) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await socket.close(code=GOING_AWAY, reason="server shutting down")
