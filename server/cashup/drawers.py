"""Drawer sessions for the day's close: what each closed drawer held, for the Z-report.

``drawer_summary`` is the one reading the Z-report makes of drawers (docs/cash-up.md): every
session of a location closed on the business days ``first`` to ``last`` (the business day
of its ``closed_at``), with its expected cash as the rules work it out from the facts, so
re-running a past day gives the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from uuid import UUID

import asyncpg

from server.cashup import drawers_cash as cash
from server.cashup.drawers_rules import is_flagged, over_short
from server.timeclock.services import business_day, day_bounds


@dataclass(frozen=True)
class DrawerDay:
    """One closed drawer session, in pence."""

    day: date
    session_id: UUID
    drawer_id: UUID
    drawer_name: str
    opening_float: int
    cash_sales: int
    """Cash taken for sales, with the tips taken in cash (they stay in the drawer)."""
    cash_refunds: int
    paid_in: int
    paid_out: int
    expected_cash: int
    counted_cash: int
    over_short: int
    """Counted - expected: positive over, negative short."""
    flagged: bool
    """More than the threshold in force when the drawer was closed, either way."""
    status: str


async def drawer_summary(
    conn: asyncpg.Connection,
    restaurant_id: UUID,
    location_id: UUID,
    first: date,
    last: date,
    day_starts_at: time,
) -> list[DrawerDay]:
    """The location's sessions closed on business days ``first`` to ``last``, in close order."""
    zone = await conn.fetchval(
        "SELECT timezone FROM locations WHERE id = $1 AND restaurant_id = $2",
        location_id,
        restaurant_id,
    )
    if zone is None:
        return []
    since, _ = day_bounds(first, zone, day_starts_at)
    _, until = day_bounds(last, zone, day_starts_at)
    rows = await conn.fetch(
        f"SELECT {cash.SESSION_COLUMNS} FROM {cash.SESSION_FROM}"
        " WHERE s.restaurant_id = $1 AND s.location_id = $2 AND s.status = 'closed'"
        " AND s.closed_at >= $3 AND s.closed_at < $4 ORDER BY s.closed_at, s.id",
        restaurant_id,
        location_id,
        since,
        until,
    )
    days = []
    for row in rows:
        expected = (await cash.reckon(conn, row, until=row["closed_at"])).expected
        difference = over_short(row["counted_cash"], expected.total)
        days.append(
            DrawerDay(
                day=business_day(row["closed_at"], zone, day_starts_at),
                session_id=row["id"],
                drawer_id=row["drawer_id"],
                drawer_name=row["drawer_name"],
                opening_float=expected.opening_float,
                cash_sales=expected.cash_sales,
                cash_refunds=expected.cash_refunds,
                paid_in=expected.paid_in,
                paid_out=expected.paid_out,
                expected_cash=expected.total,
                counted_cash=row["counted_cash"],
                over_short=difference,
                flagged=is_flagged(difference, row["threshold"]),
                status=row["status"],
            )
        )
    return days
