"""Where a location's trading days fall: its time zone, and the same business day in SQL.

A business day is the location's calendar day starting at the restaurant's ``day_starts_at``
rather than midnight (``server.timeclock.services.business_day``: a sale or a shift at 01:30
belongs to the evening before when the day starts at 04:00). Reports that add up money per
day do it in SQL with ``business_day_sql``, the same rule on the location's wall clock;
``tests/integration/timeclock/test_labour_reports_business_days.py`` holds the two to each other,
across both clock changes.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg


def business_day_sql(instant: str, timezone: str, day_starts_at: str) -> str:
    """SQL for the business day of ``instant`` (timestamptz) at a location in ``timezone``
    (an IANA name) when days start at ``day_starts_at`` (a ``time``): the local wall-clock
    time less the start of day, as a date. Arguments are SQL expressions (columns,
    ``$n`` parameters)."""
    return f"(({instant} AT TIME ZONE {timezone}) - ({day_starts_at})::time::interval)::date"


async def time_zones(conn: asyncpg.Connection, restaurant_id: UUID) -> dict[UUID, str]:
    """Each location's IANA time zone, archived ones too (their history is still reported)."""
    rows = await conn.fetch(
        "SELECT id, timezone FROM locations WHERE restaurant_id = $1", restaurant_id
    )
    return {row["id"]: row["timezone"] for row in rows}
