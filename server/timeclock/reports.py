"""Reading what the labour and tips reports add up, in one snapshot of the database.

The arithmetic is in ``labour`` and ``tips``; here are the shifts (derived when read, so a
punch that arrived late counts at once), rates, sales, tips taken and names they need.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import asyncpg

from server.db.engine import connection
from server.employees.services import list_employees
from server.errors import NotFound, ValidationFailed
from server.orders.sales import net_sales_by_day
from server.payments.tips import tips_taken
from server.restaurants.business_days import time_zones
from server.restaurants.services import currency_of
from server.timeclock import labour, tips
from server.timeclock import report_schemas as s
from server.timeclock.services import (
    Settings,
    day_bounds,
    derived_shifts,
    load_rates,
    load_settings,
)
from server.timeclock.worked import Period, Worked, monday_of, place

MAX_DAYS = 366
READABLE = (date(1970, 1, 1), date(9998, 12, 31))
"""The days shifts are read on, at most: no iPad punches before 1970 or in the future, and
the instants of these days stay within Python's years whatever the zone."""
PERIOD_REFUSED = "end must be on or after start, at most a year later"
"""Worded as ``GET /api/v1/payments/reports/daily`` words it: the same rule, the same answer."""


def period_of(start: date, end: date, location_id: UUID | None) -> Period:
    if end < start or (end - start).days > MAX_DAYS:
        raise ValidationFailed(PERIOD_REFUSED, field="end")
    return Period(start, end, location_id)


async def labour_report(
    *,
    restaurant_id: UUID,
    location_id: UUID | None,
    start: date,
    end: date,
    costs_visible: bool,
    now: datetime,
) -> s.LabourReport:
    period = period_of(start, end, location_id)
    async with connection() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        settings = await load_settings(conn, restaurant_id)
        # Overtime counts the whole week, so the shifts are read from its Monday, and at
        # every location: the threshold is the employee's, wherever they worked.
        worked = await _worked(
            conn, restaurant_id, settings, period, first=monday_of(start), now=now
        )
        rates = await load_rates(conn, restaurant_id, sorted({w.employee_id for w in worked}))
        sales = await net_sales_by_day(
            conn,
            restaurant_id,
            location_id=location_id,
            first=start,
            last=end,
            day_starts_at=settings.day_starts_at,
        )
        roles = await _role_names(conn, restaurant_id)
    return labour.labour_report(
        worked,
        period=period,
        rates=rates,
        currency=await currency_of(restaurant_id),
        net_sales=sales,
        weekly_overtime_minutes=settings.weekly_overtime_minutes,
        costs_visible=costs_visible,
        employee_names=await _employee_names(restaurant_id),
        role_names=roles,
    )


async def tips_report(
    *, restaurant_id: UUID, location_id: UUID | None, start: date, end: date, now: datetime
) -> s.TipsReport:
    period = period_of(start, end, location_id)
    async with connection() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        settings = await load_settings(conn, restaurant_id)
        worked = await _worked(conn, restaurant_id, settings, period, first=start, now=now)
        taken = await tips_taken(
            conn,
            restaurant_id,
            location_id=location_id,
            first=start,
            last=end,
            day_starts_at=settings.day_starts_at,
        )
    pooling: tips.Pooling = "by_hours" if settings.tip_pooling == "by_hours" else "none"
    return tips.tips_report(
        taken,
        worked,
        period=period,
        pooling=pooling,
        currency=await currency_of(restaurant_id),
        employee_names=await _employee_names(restaurant_id),
    )


async def _worked(
    conn: asyncpg.Connection,
    restaurant_id: UUID,
    settings: Settings,
    period: Period,
    *,
    first: date,
    now: datetime,
) -> list[Worked]:
    """Every shift on business days ``first`` to the period's end, at every location."""
    zones = await time_zones(conn, restaurant_id)
    if period.location_id is not None and period.location_id not in zones:
        raise NotFound("no such location", field="location_id")
    if not zones:
        return []
    earliest, latest = READABLE
    low = min(max(first, earliest), latest)
    high = max(min(period.end, latest), earliest)
    # The instants those days span at the earliest and the latest of the locations' zones.
    starts = [day_bounds(low, zone, settings.day_starts_at)[0] for zone in zones.values()]
    ends = [day_bounds(high, zone, settings.day_starts_at)[1] for zone in zones.values()]
    shifts = await derived_shifts(conn, restaurant_id, start=min(starts), end=max(ends), now=now)
    placed = place(shifts, zones=zones, day_starts_at=settings.day_starts_at, now=now)
    return [shift for shift in placed if first <= shift.day <= period.end]


async def _role_names(conn: asyncpg.Connection, restaurant_id: UUID) -> dict[UUID, str]:
    rows = await conn.fetch(
        "SELECT id, name FROM job_roles WHERE restaurant_id = $1", restaurant_id
    )
    return {row["id"]: row["name"] for row in rows}


async def _employee_names(restaurant_id: UUID) -> dict[UUID, str]:
    return {e.id: e.name for e in await list_employees(restaurant_id=restaurant_id)}
