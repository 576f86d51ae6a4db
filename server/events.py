"""The event bus: domains publish small facts, real-time delivery subscribes.

Nothing publishes by reaching into the WebSocket layer. This in-process bus is the default;
the real-time work carries the same events across server processes.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable

import msgspec

log = logging.getLogger("fynlo.events")


class SyncPoke(msgspec.Struct, frozen=True, kw_only=True, tag="sync.poke"):
    """Location ``location_id`` of ``restaurant_id`` has changes: devices should pull."""

    restaurant_id: str
    location_id: str | None
    """None when the change is restaurant-wide (the catalog): every location pulls."""


Event = SyncPoke
Handler = Callable[[Event], Awaitable[None]]


class EventBus(ABC):
    @abstractmethod
    async def publish(self, event: Event) -> None:
        """Deliver ``event`` to every subscriber; never raises into the publisher."""

    @abstractmethod
    def subscribe(self, handler: Handler) -> Callable[[], None]:
        """Call ``handler`` for every event; returns a function that unsubscribes."""


class InProcessBus(EventBus):
    """Subscribers in this process only."""

    def __init__(self) -> None:
        self._handlers: list[Handler] = []

    async def publish(self, event: Event) -> None:
        results = await asyncio.gather(
            *(handler(event) for handler in list(self._handlers)), return_exceptions=True
        )
        for result in results:
            if isinstance(result, Exception):
                # A broken subscriber must not undo or fail a committed push.
                log.error("event subscriber failed", exc_info=result)

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        self._handlers.append(handler)
        return lambda: self._handlers.remove(handler)


bus: EventBus = InProcessBus()
"""The process's bus; the real-time layer may replace it with one that crosses processes."""
