"""Tombstone GC: drop deletions every active iPad has pulled past (``feed.purge_tombstones``).

The server does it hourly, in one process of the fleet (the holder of the lease
``tombstone_gc``, ``server/background/leases.py``); ``fynlo sync gc`` does the same once.
Only restaurants that have tombstones are visited: the partial index of deleted rows
(``sync_entities_snapshot_tombstones``) lists them without reading the live ones.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

from server.background import leases
from server.db.engine import connection
from server.settings import Settings
from server.sync.feed import purge_tombstones

log = logging.getLogger("fynlo.sync.gc")

EVERY = 3600.0
"""Seconds between collections across the fleet."""


async def purge_all(*, max_offline: timedelta) -> int:
    """Purge every restaurant's tombstones older than ``max_offline``; answers how many."""
    async with connection() as conn:
        rows = await conn.fetch("SELECT DISTINCT restaurant_id FROM sync_entities WHERE deleted")
    total = 0
    for row in rows:
        total += await purge_tombstones(restaurant_id=row["restaurant_id"], max_offline=max_offline)
    return total


def collecting(settings: Settings) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """Lifespan: collect tombstones hourly while this process holds the lease."""
    window = timedelta(days=settings.sync_max_offline_days)

    async def collect() -> None:
        purged = await purge_all(max_offline=window)
        if purged:
            log.info("tombstones purged", extra={"purged": purged})

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        async with leases.running(
            "tombstone_gc", collect, every=EVERY, lease_seconds=settings.background_lease_seconds
        ):
            yield

    return lifespan
