"""Litestar's channels plugin with a publish queue that is bounded and a publisher that lives.

Litestar queues what is published for one task that sends it to the backend. Its queue has
no bound, the task dies on the first error (a Redis outage), and a shutdown waits for the
queue to empty without a limit; together, one push during an outage stopped real-time
updates for good and made SIGTERM hang. Here:

- The queue holds at most ``FYNLO_REALTIME_PUBLISH_QUEUE`` events. When it is full the
  *oldest* waiting event is dropped: it is the one most likely stale already (its devices
  may have pulled since), while the newest describes a change nobody has heard of yet.
- While Redis is known to be down, events are dropped as they are published, and those
  waiting are dropped when it is found down: a poke sent minutes late only sets off pulls
  the devices' own polling has done, and memory stays flat however long Redis is away.
- The publisher and the reader outlive every error (``redis_link`` reconnects).
- A shutdown gives the queue ``FYNLO_REDIS_TIMEOUT_SECONDS`` to empty, then drops the rest.

Every dropped event counts in ``fynlo_realtime_publish_dropped_total``, by reason; a full
queue is logged at most once a minute. Nothing else is lost: the change a poke announces is
committed, and devices pull it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

from litestar.channels import ChannelsPlugin

from server import domain_metrics

if TYPE_CHECKING:
    from litestar.channels.backends.base import ChannelsBackend
    from litestar.types import LitestarEncodableType

    from server.realtime.redis_link import RedisLink

log = logging.getLogger("fynlo.realtime")

FULL_LOG_EVERY_SECONDS: Final = 60.0
_READER_PAUSE_SECONDS: Final = 1.0


class Channels(ChannelsPlugin):
    def __init__(
        self,
        backend: ChannelsBackend,
        *,
        publish_queue: int,
        shutdown_seconds: float,
        link: RedisLink | None = None,
        **options: Any,
    ) -> None:
        super().__init__(backend, **options)
        self.link = link
        """Redis's state when the backend is Redis; None in memory."""
        self._bound = publish_queue
        self._shutdown_seconds = shutdown_seconds
        self._full_logged_at = -FULL_LOG_EVERY_SECONDS

    def publish(self, data: LitestarEncodableType, channels: str | Iterable[str]) -> None:
        """Queue ``data`` for ``channels``, or drop it (counted) when it cannot be sent."""
        queue = self._pub_queue
        if queue is None:  # stopped (a socket's last presence event during a shutdown)
            domain_metrics.PUBLISH_DROPPED.labels("shutdown").inc()
            return
        if self.link is not None and not self.link.up:
            domain_metrics.PUBLISH_DROPPED.labels("redis_down").inc()
            return
        if queue.qsize() >= self._bound:
            queue.get_nowait()
            queue.task_done()
            domain_metrics.PUBLISH_DROPPED.labels("queue_full").inc()
            now = time.monotonic()
            if now - self._full_logged_at >= FULL_LOG_EVERY_SECONDS:
                self._full_logged_at = now
                log.warning("real-time publish queue full; dropping the oldest events")
        targets = [channels] if isinstance(channels, str) else list(channels)
        queue.put_nowait((self.encode_data(data), targets))

    def waiting(self) -> int:
        """Events queued for the backend now."""
        return 0 if self._pub_queue is None else self._pub_queue.qsize()

    async def _pub_worker(self) -> None:
        queue = self._pub_queue
        if queue is None:
            return  # stopped before this task first ran
        while True:
            data, channels = await queue.get()
            try:
                if self.link is not None and not self.link.up:
                    domain_metrics.PUBLISH_DROPPED.labels("redis_down").inc()
                    continue
                await self._backend.publish(data, channels)
            except Exception as error:  # the publisher must outlive every failure
                domain_metrics.PUBLISH_DROPPED.labels("redis_down").inc()
                if self.link is not None:
                    self.link.lost(error)
                    _drop_all(queue, "redis_down")
                else:
                    log.error("real-time publish failed", exc_info=error)
            finally:
                queue.task_done()

    async def _sub_worker(self) -> None:
        # The Redis reader reconnects by itself; this only stops an unforeseen error from
        # ending delivery for the life of the process.
        while True:
            try:
                await super()._sub_worker()
            except Exception:
                log.exception("real-time reader failed; restarting it")
            await asyncio.sleep(_READER_PAUSE_SECONDS)

    async def _on_shutdown(self) -> None:
        queue, task = self._pub_queue, self._pub_task
        if queue is not None and task is not None:
            try:
                async with asyncio.timeout(self._shutdown_seconds):
                    await queue.join()
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                _drop_all(queue, "shutdown")
        await super()._on_shutdown()


def _drop_all(queue: asyncio.Queue[Any], reason: str) -> None:
    while not queue.empty():
        queue.get_nowait()
        queue.task_done()
        domain_metrics.PUBLISH_DROPPED.labels(reason).inc()
