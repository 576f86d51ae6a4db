"""The event bus: domains publish small facts, real-time delivery subscribes.

Nothing publishes by reaching into the WebSocket layer. Events that describe a database
change are *announced* inside the unit of work (``announce``) and published only once it
has committed (``collect``), so no subscriber ever hears of a change that was rolled back.
The in-process bus is the default; ``server.realtime`` replaces it with one that also
carries events to every server process through Litestar Channels (Redis when configured).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Literal

import msgspec

log = logging.getLogger("fynlo.events")


class SyncPoke(msgspec.Struct, frozen=True, kw_only=True, tag="sync.poke"):
    """Location ``location_id`` of ``restaurant_id`` has changes: devices should pull."""

    restaurant_id: str
    location_id: str | None
    """None when the change is restaurant-wide (the catalog): every location pulls."""


class OrderStatusChanged(msgspec.Struct, frozen=True, kw_only=True, tag="order.status"):
    restaurant_id: str
    location_id: str
    order_id: str
    status: str
    """open, sent, paid or voided."""


class PaymentStatusChanged(msgspec.Struct, frozen=True, kw_only=True, tag="payment.status"):
    """A payment moved: a QR was paid or expired, a card was declined."""

    restaurant_id: str
    location_id: str
    payment_id: str
    order_id: str
    method: str
    state: str


class PaymentNeedsAttention(msgspec.Struct, frozen=True, kw_only=True, tag="payment.attention"):
    """A payment a manager must decide on (``GET /api/v1/payments/attention``): money taken
    after we had ended the payment, bank money stalled or sent back, a bank payment
    authorised but not executed, a card taken offline declined."""

    restaurant_id: str
    location_id: str
    payment_id: str
    order_id: str
    why: str


class DevicePresence(msgspec.Struct, frozen=True, kw_only=True, tag="device.presence"):
    restaurant_id: str
    location_id: str
    device_id: str
    online: bool
    last_seen: str
    """RFC 3339 instant of the device's last sign of life."""


class ConflictLogged(msgspec.Struct, frozen=True, kw_only=True, tag="sync.conflict"):
    """A concurrent edit was merged and logged; managers may want to look."""

    restaurant_id: str
    location_id: str | None
    entity_type: str
    entity_id: str
    rule: str


class DeviceRevoked(msgspec.Struct, frozen=True, kw_only=True, tag="device.revoked"):
    """A manager revoked the device: its open sockets close at once, on every server."""

    restaurant_id: str
    device_id: str


Event = (
    SyncPoke
    | OrderStatusChanged
    | PaymentStatusChanged
    | PaymentNeedsAttention
    | DevicePresence
    | ConflictLogged
    | DeviceRevoked
)
EventType = Literal[
    "sync.poke",
    "order.status",
    "payment.status",
    "payment.attention",
    "device.presence",
    "sync.conflict",
    "device.revoked",
]
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

_pending: ContextVar[list[Event] | None] = ContextVar("fynlo_pending_events", default=None)


async def announce(event: Event) -> None:
    """Publish ``event`` once the enclosing ``collect()`` block has completed (at once when
    there is none: the change it describes is already committed)."""
    pending = _pending.get()
    if pending is None:
        await bus.publish(event)
    else:
        pending.append(event)


@contextlib.asynccontextmanager
async def collect() -> AsyncIterator[None]:
    """Publish what was announced inside, after the block (its transaction) completes.

    If the block raises, its announcements are dropped with it. Blocks may nest; the
    outermost one publishes.
    """
    if _pending.get() is not None:
        yield
        return
    pending: list[Event] = []
    token = _pending.set(pending)
    try:
        yield
    finally:
        _pending.reset(token)
    for event in pending:
        await bus.publish(event)


@contextlib.contextmanager
def savepoint() -> Iterator[None]:
    """Forget what was announced inside if it raises (a database savepoint rolled back)."""
    pending = _pending.get()
    mark = len(pending) if pending is not None else 0
    try:
        yield
    except BaseException:
        if pending is not None:
            del pending[mark:]
        raise
