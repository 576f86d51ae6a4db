"""Redis for the real-time fan-out, made to ride out an outage.

Litestar's ``RedisChannelsPubSubBackend`` assumes Redis never fails: its reader dies on the
first error and takes every later poke with it, and nothing it sends has a deadline. Here:

- ``RedisLink`` knows whether Redis was reachable when last tried. The first failure marks
  it down and starts one prober, which sends ``PING`` with a doubling pause (0.1 s up to
  5 s) until Redis answers, then marks it up again. One log line each way, not one per
  event.
- ``RedisBackend`` is Litestar's pub/sub backend with every call bounded by
  ``FYNLO_REDIS_TIMEOUT_SECONDS``. It remembers the channels this process's sockets want,
  so subscribing and unsubscribing never fail a socket while Redis is away, and its reader
  reconnects and subscribes to them all again once the link is back. A reader that hears
  nothing for five timeouts sends a ``PING`` on its connection and treats silence
  past the timeout as a lost connection: a black-holed Redis is noticed, not waited on.

What could not be published is dropped (``channels.Channels``): pokes are hints and devices
also pull on their own, so a late poke is worth less than a bounded process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Iterable
from typing import TYPE_CHECKING, Any, Final

from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

if TYPE_CHECKING:
    from redis.asyncio.client import PubSub

log = logging.getLogger("fynlo.realtime")

REDIS_ERRORS: Final = (RedisError, OSError, TimeoutError)
"""What a Redis call raises when Redis is down, cut off or silent (our own deadlines raise
``TimeoutError``)."""

FIRST_PAUSE_SECONDS: Final = 0.1
MAX_PAUSE_SECONDS: Final = 5.0
KEEPALIVE_TIMEOUTS: Final = 5
"""A reader this many timeouts without a message (10 s by default) checks its connection
with a ``PING``."""


def redis_client(url: str, *, timeout: float) -> Redis:
    """A client whose every connect and read gives up after ``timeout`` seconds.

    One retry, at once: a connection Redis closed while idle (a Redis restart) is replaced
    without losing the call (``from_url`` alone retries nothing). The retry can double a
    call's wait, so callers also hold each call to ``timeout`` as a whole.
    """
    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
    )


class RedisLink:
    """Whether Redis answered when last tried, and the prober that waits for it to return."""

    def __init__(self, redis: Redis, *, timeout: float) -> None:
        self.redis = redis
        self.timeout = timeout
        self.up = True
        self.generation = 0
        """How many times Redis has come back; a reader that saw it go resubscribes."""
        self._back = asyncio.Event()
        self._back.set()
        self._prober: asyncio.Task[None] | None = None

    def lost(self, error: BaseException) -> None:
        """A call to Redis failed: mark it down (once) and start looking for it."""
        if not self.up:
            return
        self.up = False
        self._back.clear()
        log.warning(
            "redis unreachable; real-time events are dropped until it is back",
            extra={"error": f"{type(error).__name__}: {error}"[:200]},
        )
        self._prober = asyncio.ensure_future(self._probe())

    async def back(self) -> None:
        """Wait until Redis answers again (at once when it is up)."""
        await self._back.wait()

    async def reachable(self) -> bool:
        """Whether Redis answers a ``PING`` within the timeout; the known state while down,
        so a readiness probe never waits on a Redis the prober is already waiting for."""
        if not self.up:
            return False
        if await self._ping():
            return True
        self.lost(TimeoutError("no answer to PING"))
        return False

    async def close(self) -> None:
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober

    async def _ping(self) -> bool:
        try:
            async with asyncio.timeout(self.timeout):
                await self.redis.ping()
        except Exception:  # whatever the reason, no answer: the prober must not die of it
            return False
        return True

    async def _probe(self) -> None:
        pause = FIRST_PAUSE_SECONDS
        while not await self._ping():
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE_SECONDS)
        self.up = True
        self.generation += 1
        self._back.set()
        log.warning("redis reachable again; real-time events flow")


class RedisBackend(RedisChannelsPubSubBackend):
    """Litestar's pub/sub backend, bounded in time and reconnecting after an outage."""

    def __init__(self, link: RedisLink) -> None:
        super().__init__(redis=link.redis, key_prefix="fynlo")
        self.link = link
        self._wanted: set[str] = set()
        """The channels this process's sockets follow, whether Redis has heard or not."""
        self._subscriber: PubSub | None = None
        self._lock = asyncio.Lock()
        """One change to the subscriber connection at a time (connect, subscribe, drop)."""

    @property
    def _pub_sub(self) -> PubSub:
        # Litestar's methods use this; ours is replaced on every reconnection.
        if self._subscriber is None:
            self._subscriber = self._redis.pubsub()
        return self._subscriber

    async def on_shutdown(self) -> None:
        await self.link.close()
        with contextlib.suppress(*REDIS_ERRORS):
            async with asyncio.timeout(self.link.timeout):
                await self._drop_subscriber()
        with contextlib.suppress(*REDIS_ERRORS):
            async with asyncio.timeout(self.link.timeout):
                await self._redis.aclose()

    async def subscribe(self, channels: Iterable[str]) -> None:
        new = set(channels) - self._wanted
        self._wanted |= new
        self._has_subscribed.set()
        if new and self.link.up and self._connected():
            await self._bounded(self._pub_sub.subscribe, *new)

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        gone = set(channels) & self._wanted
        self._wanted -= gone
        if not self._wanted:
            self._has_subscribed.clear()
        if gone and self.link.up and self._connected():
            await self._bounded(self._pub_sub.unsubscribe, *gone)

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        async with asyncio.timeout(self.link.timeout):
            await super().publish(data, channels)

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        """Events on the wanted channels, for as long as the process runs: a lost connection
        is dropped, and once the link is back a new one subscribes to every wanted channel."""
        pinged = False
        seen = self.link.generation
        while True:
            await self._has_subscribed.wait()
            try:
                if not self._connected() or seen != self.link.generation:
                    # A new connection, or Redis came back while this one lived on: sockets
                    # that subscribed meanwhile were only remembered. SUBSCRIBE is idempotent.
                    seen = self.link.generation
                    await self._subscribe_wanted()
                    continue
                wait = self.link.timeout * (1 if pinged else KEEPALIVE_TIMEOUTS)
                message = await self._pub_sub.get_message(timeout=wait)
                if message is None:
                    if pinged:
                        raise TimeoutError("no answer to PING on the subscriber connection")
                    await self._bounded_ping()
                    pinged = True
                    continue
                pinged = False
                if message["type"] != "message":
                    continue  # a (un)subscribe confirmation, or the answer to our PING
                channel: str = message["channel"].decode()
                # Redis may still deliver on a channel we just left: only what is wanted.
                if channel in self._wanted:
                    yield channel, message["data"]
            except REDIS_ERRORS as error:
                pinged = False
                self.link.lost(error)
                with contextlib.suppress(*REDIS_ERRORS):
                    async with asyncio.timeout(self.link.timeout):
                        await self._drop_subscriber()
                await self.link.back()

    def _connected(self) -> bool:
        return self._subscriber is not None and self._subscriber.connection is not None

    async def _subscribe_wanted(self) -> None:
        """Make the connection's subscriptions the wanted ones (connecting if need be)."""
        async with self._lock, asyncio.timeout(self.link.timeout):
            pubsub = self._pub_sub
            if self._wanted:
                await pubsub.subscribe(*self._wanted)
            held = pubsub.channels.keys() - pubsub.pending_unsubscribe_channels
            left = {name.decode() for name in held} - self._wanted
            if left:  # sockets that closed while Redis was away
                await pubsub.unsubscribe(*left)

    async def _drop_subscriber(self) -> None:
        async with self._lock:
            subscriber, self._subscriber = self._subscriber, None
            if subscriber is not None:
                await subscriber.aclose()

    async def _bounded_ping(self) -> None:
        async with asyncio.timeout(self.link.timeout):
            await self._pub_sub.ping()

    async def _bounded(self, command: Any, *channels: str) -> None:
        """Run a (un)subscribe on the connection; a failure marks the link down and leaves
        the reader to reconnect, since it resubscribes to everything wanted anyway."""
        try:
            async with self._lock, asyncio.timeout(self.link.timeout):
                await command(*channels)
        except REDIS_ERRORS as error:
            self.link.lost(error)
