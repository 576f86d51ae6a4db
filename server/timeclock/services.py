"""Reading the time clock: the restaurant's rules, punches and corrections, the shifts they
derive, wage rates in force, and business days. The routes, reports and tips build on these.

Shifts are derived when read, never stored: every punch that ever arrives (late, from an
iPad offline for a week) changes the answer at once, and there is no second copy to drift.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from server.timeclock.shifts import Correction, Kind, Punch, Shift, derive


@dataclass(frozen=True)
class Settings:
    """The restaurant's time clock rules (``time_clock_settings``; these defaults until set)."""

    auto_close_after_minutes: int = 960
    early_clock_in_minutes: int = 15
    late_after_minutes: int = 5
    weekly_overtime_minutes: int = 2880
    day_starts_at: time = time(4, 0)
    tip_pooling: str = "none"

    @property
    def auto_close_after(self) -> timedelta:
        return timedelta(minutes=self.auto_close_after_minutes)


async def load_settings(conn: asyncpg.Connection, restaurant_id: UUID) -> Settings:
    row = await conn.fetchrow(
        "SELECT auto_close_after_minutes, early_clock_in_minutes, late_after_minutes,"
        " weekly_overtime_minutes, day_starts_at, tip_pooling"
        " FROM time_clock_settings WHERE restaurant_id = $1",
        restaurant_id,
    )
    return Settings() if row is None else Settings(**dict(row))


def business_day(at: datetime, zone: str, day_starts_at: time) -> date:
    """The trading day ``at`` belongs to: the location's calendar day, starting at
    ``day_starts_at`` rather than midnight (a shift or a sale at 01:30 belongs to the
    evening before when the day starts at 04:00)."""
    local = at.astimezone(ZoneInfo(zone))
    start = datetime.combine(local.date(), day_starts_at)
    return local.date() - timedelta(days=1) if local.replace(tzinfo=None) < start else local.date()


def day_bounds(day: date, zone: str, day_starts_at: time) -> tuple[datetime, datetime]:
    """The instants a business day starts and ends (23 or 25 hours across a clock change)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, day_starts_at, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), day_starts_at, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


async def derived_shifts(
    conn: asyncpg.Connection,
    restaurant_id: UUID,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    employee_id: UUID | None = None,
    location_id: UUID | None = None,
) -> list[Shift]:
    """The shifts that started in ``[start, end)``, every employee's or one's, by start."""
    settings = await load_settings(conn, restaurant_id)
    # A shift that started in the window may end after it, and the punches just before
    # the window decide whether the first punches inside it open a shift.
    margin = settings.auto_close_after
    punches = await conn.fetch(
        "SELECT id, employee_id, location_id, kind, at, hlc, paid, break_type_id, job_role_id,"
        " declared_tips, device_id FROM time_punches"
        " WHERE restaurant_id = $1 AND ($4::uuid IS NULL OR employee_id = $4)"
        " AND (at >= $2 AND at < $3 OR id IN (SELECT punch_id FROM time_punch_corrections"
        "   WHERE restaurant_id = $1 AND action = 'move'))",
        restaurant_id,
        start - margin,
        end + margin,
        employee_id,
    )
    corrections = await conn.fetch(
        "SELECT id, employee_id, location_id, action, punch_id, kind, at, paid, job_role_id,"
        " declared_tips, created_at FROM time_punch_corrections"
        " WHERE restaurant_id = $1 AND ($2::uuid IS NULL OR employee_id = $2)",
        restaurant_id,
        employee_id,
    )
    by_employee: dict[UUID, list[Punch]] = defaultdict(list)
    for row in punches:
        by_employee[row["employee_id"]].append(punch_of(row))
    fixes: dict[UUID, list[Correction]] = defaultdict(list)
    for row in corrections:
        fixes[row["employee_id"]].append(correction_of(row))
        by_employee.setdefault(row["employee_id"], [])
    shifts = [
        shift
        for employee, theirs in by_employee.items()
        for shift in derive(
            theirs, fixes[employee], now=now, auto_close_after=settings.auto_close_after
        ).shifts
        if start <= shift.started_at < end
        and (location_id is None or shift.location_id == location_id)
    ]
    return sorted(shifts, key=lambda shift: (shift.started_at, str(shift.employee_id)))


def punch_of(row: asyncpg.Record) -> Punch:
    return Punch(
        id=row["id"],
        employee_id=row["employee_id"],
        location_id=row["location_id"],
        kind=Kind(row["kind"]),
        at=row["at"],
        hlc=row["hlc"],
        paid=row["paid"],
        break_type_id=row["break_type_id"],
        job_role_id=row["job_role_id"],
        declared_tips=row["declared_tips"],
        device_id=row["device_id"],
    )


def correction_of(row: asyncpg.Record) -> Correction:
    added = None
    if row["action"] == "add":
        added = Punch(
            id=row["punch_id"],
            employee_id=row["employee_id"],
            location_id=row["location_id"],
            kind=Kind(row["kind"]),
            at=row["at"],
            paid=row["paid"],
            job_role_id=row["job_role_id"],
            declared_tips=row["declared_tips"],
        )
    return Correction(
        id=row["id"],
        action=row["action"],
        created_at=row["created_at"],
        punch_id=row["punch_id"],
        at=row["at"],
        punch=added,
    )


@dataclass(frozen=True)
class Rate:
    employee_id: UUID
    job_role_id: UUID
    hourly_rate: int
    currency: str
    effective_from: date


class Rates:
    """Every wage rate of some employees, with history: which was in force on a day."""

    def __init__(self, rates: Iterable[Rate]) -> None:
        self._by_employee: dict[UUID, list[Rate]] = defaultdict(list)
        for rate in sorted(rates, key=lambda r: (r.effective_from, str(r.job_role_id))):
            self._by_employee[rate.employee_id].append(rate)

    def on(self, employee_id: UUID, day: date, job_role_id: UUID | None) -> Rate | None:
        """The rate for the role on ``day``: the latest that took effect by then. With no
        role named, the rate that took effect last by then, whatever its role (the
        employee's current job)."""
        usable = [r for r in self._by_employee.get(employee_id, []) if r.effective_from <= day]
        if job_role_id is not None:
            usable = [r for r in usable if r.job_role_id == job_role_id]
        return usable[-1] if usable else None


async def load_rates(
    conn: asyncpg.Connection, restaurant_id: UUID, employee_ids: Sequence[UUID] | None = None
) -> Rates:
    rows = await conn.fetch(
        "SELECT employee_id, job_role_id, hourly_rate, currency, effective_from FROM wage_rates"
        " WHERE restaurant_id = $1 AND ($2::uuid[] IS NULL OR employee_id = ANY($2::uuid[]))",
        restaurant_id,
        None if employee_ids is None else list(employee_ids),
    )
    return Rates(
        Rate(
            employee_id=row["employee_id"],
            job_role_id=row["job_role_id"],
            hourly_rate=row["hourly_rate"],
            currency=row["currency"].strip(),
            effective_from=row["effective_from"],
        )
        for row in rows
    )
