"""The sockets this process holds, so a shutdown can close them all with 1001."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any
from uuid import UUID

from litestar import WebSocket
from litestar.exceptions import WebSocketDisconnect

from server.realtime.messages import GOING_AWAY


class Hub:
    def __init__(self) -> None:
        self._sockets: set[WebSocket[Any, Any, Any]] = set()
        self._per_device: Counter[UUID] = Counter()

    def add(self, socket: WebSocket[Any, Any, Any], device_id: UUID | None) -> int:
        """Hold ``socket``; how many sockets its device now has here (0 for no device)."""
        self._sockets.add(socket)
        if device_id is None:
            return 0
        self._per_device[device_id] += 1
        return self._per_device[device_id]

    def discard(self, socket: WebSocket[Any, Any, Any], device_id: UUID | None) -> int:
        """Let ``socket`` go; how many sockets its device still has here."""
        self._sockets.discard(socket)
        if device_id is None:
            return 0
        self._per_device[device_id] -= 1
        left = self._per_device[device_id]
        if left <= 0:
            del self._per_device[device_id]
        return max(left, 0)

    def sockets_open(self) -> int:
        return len(self._sockets)

    def devices_online(self) -> frozenset[UUID]:
        """The devices holding at least one socket in this process (not in other processes)."""
        return frozenset(self._per_device)

    async def close_all(self, *, grace: float) -> None:
        """Close every socket with 1001 ("going away"), waiting at most ``grace`` seconds."""
        sockets, self._sockets = list(self._sockets), set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await asyncio.gather(*(_going_away(s) for s in sockets), return_exceptions=True)


async def _going_away(socket: WebSocket[Any, Any, Any]) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await socket.close(code=GOING_AWAY, reason="server shutting down")
