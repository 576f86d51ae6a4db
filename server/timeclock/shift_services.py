"""What the shift routes ask: a period read once (``shift_reading``), shown as shifts,
timesheets or corrections. Who may read whose is the caller's business (``shift_routes``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg

from server.db.engine import connection
from server.errors import NotFound
from server.timeclock import shift_schemas as s
from server.timeclock.corrections import punch_history
from server.timeclock.shift_reading import Period, Reading, read
from server.timeclock.shift_views import corrections_in, punch_detail, shift_list, shift_out
from server.timeclock.timesheets import timesheets

SHIFT_SPAN_DAYS = 2
"""The longest a shift lasts (the clock rules' longest auto-close, 48 h), in days: a punch
may belong to a shift that started this long before it."""


async def list_shifts(
    *,
    restaurant_id: UUID,
    period: Period,
    now: datetime,
    employee_id: UUID | None,
    location_id: UUID | None,
    wages: bool,
) -> s.ShiftList:
    reading = await _read(restaurant_id, period, now, employee_id, location_id)
    return shift_list(reading, wages=wages)


async def list_timesheets(
    *,
    restaurant_id: UUID,
    period: Period,
    now: datetime,
    employee_id: UUID | None,
    location_id: UUID | None,
    wages: bool,
) -> s.TimesheetList:
    reading = await _read(restaurant_id, period, now, employee_id, location_id)
    return timesheets(reading, period, wages=wages)


async def list_corrections(
    *, restaurant_id: UUID, period: Period, now: datetime, employee_id: UUID | None
) -> list[s.Correction]:
    reading = await _read(restaurant_id, period, now, employee_id, None)
    return corrections_in(reading)


async def get_shift(
    *, restaurant_id: UUID, shift_id: UUID, now: datetime, only_of: UUID | None, wages: bool
) -> s.Shift:
    """The shift opened by the clock-in ``shift_id``; ``only_of`` an employee, someone
    else's answers as a missing one."""
    async with connection() as conn:
        reading = await _around(conn, restaurant_id, shift_id, now, only_of, days_before=0)
    item = next((i for i in reading.shifts if i.shift.id == shift_id), None) if reading else None
    if reading is None or item is None:
        raise NotFound("no such shift")
    return shift_out(reading, item, wages=wages)


async def get_punch(*, restaurant_id: UUID, punch_id: UUID, now: datetime) -> s.PunchDetail:
    async with connection() as conn:
        reading = await _around(
            conn, restaurant_id, punch_id, now, None, days_before=SHIFT_SPAN_DAYS
        )
    found = punch_detail(reading, punch_id) if reading else None
    if found is None:
        raise NotFound("no such punch")
    return found


async def _around(
    conn: asyncpg.Connection,
    restaurant_id: UUID,
    punch_id: UUID,
    now: datetime,
    only_of: UUID | None,
    *,
    days_before: int,
) -> Reading | None:
    """The reading of the punch's employee around the punch (as it counts, or last counted):
    the business days its shift may have started on. None if there is no such punch here."""
    history = await punch_history(conn, restaurant_id, punch_id)
    punch = None if history is None else history.last
    if punch is None or only_of not in (None, punch.employee_id):
        return None
    # A business day is within a day of the UTC date, whatever the zone and day start.
    day = punch.at.astimezone(UTC).date()
    period = Period(day - timedelta(days=days_before + 1), day + timedelta(days=1))
    return await read(
        conn, restaurant_id=restaurant_id, period=period, now=now, employee_id=punch.employee_id
    )


async def _read(
    restaurant_id: UUID,
    period: Period,
    now: datetime,
    employee_id: UUID | None,
    location_id: UUID | None,
) -> Reading:
    async with connection() as conn:
        return await read(
            conn,
            restaurant_id=restaurant_id,
            period=period,
            now=now,
            employee_id=employee_id,
            location_id=location_id,
        )
