"""Tombstone GC: drop deletions every active iPad has pulled past
(``feed.purge_all_tombstones``), hourly, in one process of the fleet (the holder of the
lease ``tombstone_gc``, ``server/background/leases.py``); ``fynlo sync gc`` does it once."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

from server.background import leases
from server.settings import Settings
from server.sync.feed import purge_all_tombstones

log = logging.getLogger("fynlo.sync.gc")

EVERY = 3600.0
"""Seconds between collections across the fleet."""


def collecting(settings: Settings) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """Lifespan: collect tombstones hourly while this process holds the lease."""
    window = timedelta(days=settings.sync_max_offline_days)

    async def collect() -> None:
        purged = await purge_all_tombstones(max_offline=window)
        if purged:
            log.info("tombstones purged", extra={"purged": purged})

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        async with leases.running(
            "tombstone_gc", collect, every=EVERY, lease_seconds=settings.background_lease_seconds
        ):
            yield

    return lifespan
