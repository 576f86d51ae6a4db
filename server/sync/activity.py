"""What the sync engine did in the last hour, minute by minute, for the back office's charts.

Read from ``sync_results``: one row per change a device pushed, stamped ``created_at`` when
the engine first answered it, with that answer (``applied``, ``merged``, ``stale`` or
``rejected``). A replayed push is answered from the stored row, so it is not counted again;
a quarantined change retried later keeps its first answer's minute. Each figure is one query,
bounded to the hour by the ``sync_results_recent`` index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from server.db.engine import connection

OUTCOMES = ("applied", "merged", "stale", "rejected")
"""The answers a change can get, in the order the charts stack them."""
PUSH_OUTCOMES = ("clean", "merged", "refused")
"""A push is ``refused`` if any of its changes was, else ``merged`` if any was merged."""
WINDOW = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Minute:
    """One minute of the hour: how many changes (or pushes) got each answer."""

    start: datetime
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def minutes_up_to(now: datetime) -> list[datetime]:
    """The starts of the sixty minutes that end with the one holding ``now``, oldest first."""
    last = now.replace(second=0, microsecond=0)
    return [last - MINUTE * back for back in range(59, -1, -1)]


_CHANGES = """
SELECT date_trunc('minute', r.created_at) AS minute, r.result->>'outcome' AS outcome,
       count(*) AS n
FROM sync_devices d JOIN sync_results r ON r.device_id = d.device_id
WHERE d.restaurant_id = $1 AND ($2::uuid IS NULL OR d.location_id = $2)
  AND r.created_at >= $3 AND r.created_at < $4
GROUP BY 1, 2
"""

_PUSHES = """
SELECT minute, CASE WHEN refused THEN 'refused' WHEN merged THEN 'merged' ELSE 'clean' END
       AS outcome, count(*) AS n
FROM (
    SELECT date_trunc('minute', min(r.created_at)) AS minute,
           bool_or(r.result->>'outcome' = 'rejected') AS refused,
           bool_or(r.result->>'outcome' = 'merged') AS merged
    FROM sync_devices d JOIN sync_results r ON r.device_id = d.device_id
    WHERE d.restaurant_id = $1 AND ($2::uuid IS NULL OR d.location_id = $2)
      AND r.created_at >= $3 AND r.created_at < $4
    GROUP BY r.device_id, r.batch_id
) AS pushes
GROUP BY 1, 2
"""


async def changes_per_minute(
    *, restaurant_id: UUID, location_id: UUID | None, now: datetime
) -> list[Minute]:
    """Changes pushed in each minute of the hour up to ``now``, by the engine's answer."""
    return await _per_minute(_CHANGES, restaurant_id, location_id, now)


async def pushes_per_minute(
    *, restaurant_id: UUID, location_id: UUID | None, now: datetime
) -> list[Minute]:
    """Pushes (batches) first answered in each minute of the hour, by their worst answer."""
    return await _per_minute(_PUSHES, restaurant_id, location_id, now)


async def _per_minute(
    query: str, restaurant_id: UUID, location_id: UUID | None, now: datetime
) -> list[Minute]:
    starts = minutes_up_to(now)
    buckets = {start: Minute(start) for start in starts}
    async with connection() as conn:
        rows = await conn.fetch(query, restaurant_id, location_id, starts[0], starts[-1] + MINUTE)
    for row in rows:
        bucket = buckets.get(row["minute"])
        if bucket is not None:
            bucket.counts[row["outcome"]] = bucket.counts.get(row["outcome"], 0) + row["n"]
    return [buckets[start] for start in starts]
