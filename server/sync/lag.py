"""Feed lag per device over time: a sample a minute of how far each iPad's pull is behind.

``sample`` is one statement: it stamps every active device (not revoked, pulled in the last
day) with the figures the device list shows now (``feed.behind_joins``: the age of the
oldest change it has not pulled, and how many there are, counted up to ``BEHIND_COUNT_CAP``)
and deletes the samples older than ``KEPT``. A sample is stamped with its minute, and a
device has one per minute (the table's key), so two server processes sampling in the same
minute write one: so it runs in every process, with no lease (``server/background/leases.py``).
``run_forever`` samples once a minute from the app's lifespan; the Activity page reads the
last hour (``recent``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from server.db.engine import connection
from server.sync import feed
from server.sync.device_status import BEHIND_COUNT_CAP

log = logging.getLogger("fynlo.sync.lag")

EVERY = 60.0
"""Seconds between samples."""
KEPT = timedelta(hours=24)
ACTIVE = timedelta(days=1)
"""A device that has not pulled for a day is offline or put away: no sample, no line."""

_SAMPLE = f"""
WITH expired AS (DELETE FROM sync_lag_samples WHERE at < $2)
INSERT INTO sync_lag_samples (device_id, restaurant_id, at, behind_seconds, behind_changes)
SELECT d.id, d.restaurant_id, $1,
       CASE WHEN first_unpulled.updated_at IS NULL THEN 0
            ELSE greatest(0, floor(extract(epoch FROM $1 - first_unpulled.updated_at)))::int
       END,
       behind.changes
FROM devices d
JOIN sync_devices s ON s.device_id = d.id
{feed.behind_joins(BEHIND_COUNT_CAP)}
WHERE d.revoked_at IS NULL AND s.pulled_xid IS NOT NULL AND s.last_pull_at >= $3
ON CONFLICT (device_id, at) DO NOTHING
"""

_RECENT = """
SELECT l.device_id, d.name, l.at, l.behind_seconds, l.behind_changes
FROM sync_lag_samples l JOIN devices d ON d.id = l.device_id
WHERE l.restaurant_id = $1 AND ($2::uuid IS NULL OR d.location_id = $2)
  AND l.at >= $3 AND l.at <= $4
ORDER BY d.name, l.device_id, l.at
"""


@dataclass(frozen=True)
class Sample:
    at: datetime
    behind_seconds: int
    behind_changes: int


@dataclass(frozen=True)
class DeviceLag:
    """One device's samples over the window, oldest first."""

    device_id: UUID
    name: str
    samples: list[Sample] = field(default_factory=list)


async def sample(*, now: datetime) -> int:
    """Sample every active device's lag at ``now``'s minute; answers how many were written."""
    at = now.replace(second=0, microsecond=0)
    async with connection() as conn:
        status = await conn.execute(_SAMPLE, at, now - KEPT, now - ACTIVE)
    return int(status.rsplit(" ", 1)[-1])


async def recent(
    *, restaurant_id: UUID, location_id: UUID | None, now: datetime, window: timedelta
) -> list[DeviceLag]:
    """Each device's samples in the ``window`` up to ``now``, devices by name."""
    async with connection() as conn:
        rows = await conn.fetch(_RECENT, restaurant_id, location_id, now - window, now)
    devices: dict[UUID, DeviceLag] = {}
    for row in rows:
        device = devices.setdefault(row["device_id"], DeviceLag(row["device_id"], row["name"]))
        device.samples.append(Sample(row["at"], row["behind_seconds"], row["behind_changes"]))
    return list(devices.values())


async def run_forever(
    every: float = EVERY, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> None:
    """Sample every ``every`` seconds until cancelled (the app's lifespan owns the task)."""
    while True:
        await asyncio.sleep(every)
        try:
            await sample(now=clock())
        except Exception:  # a bad sample must not stop the next one
            log.exception("feed lag sample failed")


@contextlib.asynccontextmanager
async def sampling(_: Any) -> AsyncIterator[None]:
    """Lifespan: sample the feed lag once a minute in the background."""
    task = asyncio.create_task(run_forever())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
