"""Reading a period's shifts for people: the one shift rule over the punches and corrections
(``shifts.derive``), each shift placed in its location's business day, with every punch it
holds (counted, flagged or voided), the corrections of those punches, the planned shift it
answers to, and the wage rate in force that day.

A period is business days, ``start`` to ``end`` inclusive. A shift belongs to the business
day its clock-in falls in, at its location (the location's time zone and the restaurant's
day start), so a shift from 18:00 to 02:00 is one day's. A voided punch is shown in the
shift whose span holds it as it last counted; a punch that belongs to no shift (flagged
``not_clocked_in``, or voided outside any shift) is a stray, shown apart. Nothing is hidden.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from uuid import UUID

import asyncpg

from server.timeclock import services
from server.timeclock.punch_history import History, histories
from server.timeclock.services import Rate, Rates, Settings
from server.timeclock.shift_words import Scheduled
from server.timeclock.shifts import Correction, Flagged, Hours, Punch, Shift, derive, pay


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    """Inclusive."""

    def holds(self, day: date) -> bool:
        return self.start <= day <= self.end

    def readable(self) -> Period | None:
        """The part of the period instants can be computed for (a day in year 1 has no
        start in every time zone); None if there is none. No punch is dated outside it."""
        start, end = max(self.start, _EARLIEST), min(self.end, _LATEST)
        return Period(start, end) if start <= end else None


_EARLIEST, _LATEST = date(1970, 1, 2), date(9998, 12, 30)


@dataclass(frozen=True)
class Place:
    name: str
    zone: str


@dataclass
class ShiftRead:
    shift: Shift
    business_day: date
    hours: Hours
    rate: Rate | None
    pay: int | None
    voided: list[History] = field(default_factory=list)
    planned: list[Scheduled] = field(default_factory=list)


@dataclass(frozen=True)
class Stray:
    history: History
    business_day: date
    flag: Flagged | None


@dataclass
class Reading:
    """A period's shifts and strays, and the names and rules needed to show them."""

    settings: Settings
    currency: str
    places: dict[UUID, Place]
    now: datetime
    """Open shifts and breaks count up to here."""
    shifts: list[ShiftRead] = field(default_factory=list)
    strays: list[Stray] = field(default_factory=list)
    histories: dict[UUID, History] = field(default_factory=dict)
    corrections: dict[UUID, asyncpg.Record] = field(default_factory=dict)
    """Every correction row of the employees read, by id."""
    employees: dict[UUID, str] = field(default_factory=dict)
    job_roles: dict[UUID, str] = field(default_factory=dict)
    devices: dict[UUID, str] = field(default_factory=dict)
    people: dict[UUID, str] = field(default_factory=dict)
    """Users and employees by id: who made corrections."""

    def day_of(self, at: datetime, location_id: UUID) -> date:
        return services.business_day(at, self.places[location_id].zone, self.settings.day_starts_at)


async def read(
    conn: asyncpg.Connection,
    *,
    restaurant_id: UUID,
    period: Period,
    now: datetime,
    employee_id: UUID | None = None,
    location_id: UUID | None = None,
) -> Reading:
    """The shifts that started in ``period`` (one employee's, one location's, or all), by
    start, with the strays of the period. Runs in one snapshot of the database."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        settings = await services.load_settings(conn, restaurant_id)
        reading = Reading(
            settings=settings,
            currency=await _currency(conn, restaurant_id),
            places=await _places(conn, restaurant_id),
            now=now,
        )
        zones = [
            place.zone
            for place_id, place in reading.places.items()
            if location_id in (None, place_id)
        ]
        readable = period.readable()
        if not zones or readable is None:
            return reading  # another restaurant's location reads as an empty one
        bounds = [
            edge
            for zone in zones
            for edge in (
                services.day_bounds(readable.start, zone, settings.day_starts_at)[0],
                services.day_bounds(readable.end, zone, settings.day_starts_at)[1],
            )
        ]
        derived = await _derive(conn, reading, restaurant_id, min(bounds), max(bounds), employee_id)
        _keep(reading, derived, readable, location_id)
        await _names(conn, reading, restaurant_id)
        await _plans(conn, reading, restaurant_id, min(bounds), max(bounds))
        await _wages(conn, reading, restaurant_id)
    reading.shifts.sort(key=lambda r: (r.shift.started_at, str(r.shift.employee_id)))
    reading.strays.sort(key=lambda s: (_last(s.history).at, str(s.history.punch_id)))
    return reading


@dataclass
class _Derived:
    """One employee's derivation, before the period is cut from it."""

    shifts: list[Shift]
    ignored: list[Flagged]
    histories: dict[UUID, History]


async def _derive(
    conn: asyncpg.Connection,
    reading: Reading,
    restaurant_id: UUID,
    start: datetime,
    end: datetime,
    employee_id: UUID | None,
) -> list[_Derived]:
    # A shift that started in the window may end after it, and the punches just before the
    # window decide whether the first ones inside it open a shift (as ``derived_shifts``).
    margin = reading.settings.auto_close_after
    punch_rows = await conn.fetch(
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
    correction_rows = await conn.fetch(
        "SELECT id, employee_id, location_id, action, punch_id, kind, at, paid, job_role_id,"
        " declared_tips, reason, corrected_by, created_at FROM time_punch_corrections"
        " WHERE restaurant_id = $1 AND ($2::uuid IS NULL OR employee_id = $2)",
        restaurant_id,
        employee_id,
    )
    reading.corrections = {row["id"]: row for row in correction_rows}
    punches: dict[UUID, list[Punch]] = defaultdict(list)
    for row in punch_rows:
        punches[row["employee_id"]].append(services.punch_of(row))
    fixes: dict[UUID, list[Correction]] = defaultdict(list)
    for row in correction_rows:
        fixes[row["employee_id"]].append(services.correction_of(row))
    derived = []
    for employee in sorted(set(punches) | set(fixes), key=str):
        theirs, their_fixes = punches[employee], fixes[employee]
        result = derive(
            theirs, their_fixes, now=reading.now, auto_close_after=reading.settings.auto_close_after
        )
        history = histories(theirs, their_fixes)
        reading.histories.update(history)
        derived.append(_Derived(result.shifts, result.ignored, history))
    return derived


def _keep(
    reading: Reading, derivations: list[_Derived], period: Period, location_id: UUID | None
) -> None:
    """Cut the period's shifts and strays from the derivations, with their voided punches."""
    for derived in derivations:
        kept: dict[UUID, ShiftRead] = {}
        for shift in derived.shifts:
            day = reading.day_of(shift.started_at, shift.location_id)
            if period.holds(day) and location_id in (None, shift.location_id):
                hours = shift.seconds(reading.now)
                kept[shift.id] = ShiftRead(shift, day, hours, None, None)
                reading.shifts.append(kept[shift.id])
        strays: list[tuple[History, Flagged | None]] = [
            (derived.histories[flagged.punch_id], flagged) for flagged in derived.ignored
        ]
        for history in derived.histories.values():
            if not history.voided:
                continue
            at = _last(history).at
            home = next(
                (s for s in derived.shifts if s.started_at <= at <= (s.ended_at or reading.now)),
                None,
            )
            if home is None:
                strays.append((history, None))
            elif home.id in kept:
                kept[home.id].voided.append(history)
        for history, flagged in strays:
            punch = _last(history)
            day = reading.day_of(punch.at, punch.location_id)
            if period.holds(day) and location_id in (None, punch.location_id):
                reading.strays.append(Stray(history, day, flagged))


def _last(history: History) -> Punch:
    assert history.last is not None  # every history the derivation names has counted once
    return history.last


async def _currency(conn: asyncpg.Connection, restaurant_id: UUID) -> str:
    currency: str = await conn.fetchval(
        "SELECT currency FROM restaurants WHERE id = $1", restaurant_id
    )
    return currency.strip()


async def _places(conn: asyncpg.Connection, restaurant_id: UUID) -> dict[UUID, Place]:
    rows = await conn.fetch(
        "SELECT id, name, timezone FROM locations WHERE restaurant_id = $1", restaurant_id
    )
    return {row["id"]: Place(row["name"], row["timezone"]) for row in rows}


async def _names(conn: asyncpg.Connection, reading: Reading, restaurant_id: UUID) -> None:
    # Small per restaurant (staff, roles, iPads), so read whole rather than id by id.
    rows = await conn.fetch(
        "SELECT 'employee' AS kind, id, name FROM employees WHERE restaurant_id = $1"
        " UNION ALL SELECT 'user', id, name FROM users WHERE restaurant_id = $1"
        " UNION ALL SELECT 'job_role', id, name FROM job_roles WHERE restaurant_id = $1"
        " UNION ALL SELECT 'device', id, name FROM devices WHERE restaurant_id = $1",
        restaurant_id,
    )
    for row in rows:
        if row["kind"] in ("employee", "user"):
            reading.people[row["id"]] = row["name"]
        if row["kind"] == "employee":
            reading.employees[row["id"]] = row["name"]
        elif row["kind"] == "job_role":
            reading.job_roles[row["id"]] = row["name"]
        elif row["kind"] == "device":
            reading.devices[row["id"]] = row["name"]


async def _plans(
    conn: asyncpg.Connection, reading: Reading, restaurant_id: UUID, start: datetime, end: datetime
) -> None:
    """Each shift's planned shifts: the employee's at its location on its business day."""
    if not reading.shifts:
        return
    rows = await conn.fetch(
        "SELECT employee_id, location_id, starts_at FROM scheduled_shifts"
        " WHERE restaurant_id = $1 AND employee_id = ANY($2::uuid[])"
        " AND starts_at >= $3 AND starts_at < $4",
        restaurant_id,
        list({r.shift.employee_id for r in reading.shifts}),
        start - timedelta(days=1),
        end + timedelta(days=1),
    )
    planned: dict[tuple[UUID, UUID, date], list[Scheduled]] = defaultdict(list)
    for row in rows:
        day = reading.day_of(row["starts_at"], row["location_id"])
        planned[(row["employee_id"], row["location_id"], day)].append(Scheduled(row["starts_at"]))
    for item in reading.shifts:
        key = (item.shift.employee_id, item.shift.location_id, item.business_day)
        item.planned = planned.get(key, [])


async def _wages(conn: asyncpg.Connection, reading: Reading, restaurant_id: UUID) -> None:
    """The rate in force on each shift's business day for its role, and the shift's pay."""
    if not reading.shifts:
        return
    rates: Rates = await services.load_rates(
        conn, restaurant_id, sorted({r.shift.employee_id for r in reading.shifts}, key=str)
    )
    for item in reading.shifts:
        shift = item.shift
        item.rate = rates.on(shift.employee_id, item.business_day, shift.job_role_id)
        if item.rate is not None:
            item.pay = pay(item.hours.paid, item.rate.hourly_rate)
