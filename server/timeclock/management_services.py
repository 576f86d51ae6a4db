"""Managing the time clock: job roles, wage rates with history, break types, schedules and the
restaurant's clock rules.

Roles, break types, schedules and rules are synced to the iPads (``server/timeclock/sync.py``):
each write goes to its table and through the sync store in one transaction, so an iPad never
holds a role the server lacks, nor misses one it has. Wage rates are never synced: pay is
private, and an iPad is shared by everyone at the till. Setting a rate is audited.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import msgspec

from server import events
from server.audit.services import record
from server.auth.tokens import Caller
from server.db import engine, scoped
from server.db.engine import DB
from server.employees.tables import Employee
from server.errors import Conflict, NotFound, ValidationFailed
from server.pagination import check_instant
from server.restaurants.services import currency_of
from server.restaurants.tables import Location
from server.sync import store
from server.timeclock import management_schemas as s
from server.timeclock.management_errors import ScheduleOverlaps, WageRateExists
from server.timeclock.services import Settings, day_bounds, load_settings
from server.wire import instant

LONGEST_SCHEDULED_SHIFT = timedelta(hours=24)
SETTINGS_ENTITY = "time_clock_settings"


@contextlib.asynccontextmanager
async def _unit_of_work() -> AsyncIterator[asyncpg.Connection]:
    """One transaction for the table, the sync store and the audit log (Piccolo's, so
    ``record`` joins it); devices are poked once it commits."""
    async with events.collect(), DB.transaction(), store.transaction() as conn:
        yield conn


def _unset_as_none(value: Any) -> Any:
    """A PATCH member left out, as SQL's ``coalesce(NULL, column)`` keeps the column."""
    return None if value is msgspec.UNSET else value


# --- job roles --------------------------------------------------------------------------------

_ROLE_COLUMNS = "id, name, archived, created_at"


async def list_job_roles(*, restaurant_id: UUID, include_archived: bool) -> list[s.JobRole]:
    async with engine.connection() as conn:
        rows = await conn.fetch(
            f"SELECT {_ROLE_COLUMNS} FROM job_roles WHERE restaurant_id = $1"
            " AND ($2 OR NOT archived) ORDER BY name",
            restaurant_id,
            include_archived,
        )
    return [s.JobRole(**dict(row)) for row in rows]


async def get_job_role(*, restaurant_id: UUID, job_role_id: UUID) -> s.JobRole:
    async with engine.connection() as conn:
        row = await conn.fetchrow(
            f"SELECT {_ROLE_COLUMNS} FROM job_roles WHERE id = $1 AND restaurant_id = $2",
            job_role_id,
            restaurant_id,
        )
    if row is None:
        raise NotFound("no such job role")
    return s.JobRole(**dict(row))


async def create_job_role(*, restaurant_id: UUID, body: s.JobRoleCreate) -> s.JobRole:
    role_id = body.id or uuid4()
    async with _unit_of_work() as conn:
        await _refuse_taken_id(conn, "job_roles", role_id)
        row = await conn.fetchrow(
            "INSERT INTO job_roles (id, restaurant_id, name) VALUES ($1, $2, $3)"
            f" ON CONFLICT DO NOTHING RETURNING {_ROLE_COLUMNS}",
            role_id,
            restaurant_id,
            body.name,
        )
        if row is None:
            raise Conflict("the restaurant already has a job role with that name", field="name")
        return await _publish_job_role(conn, restaurant_id, s.JobRole(**dict(row)))


async def update_job_role(
    *, restaurant_id: UUID, job_role_id: UUID, body: s.JobRoleUpdate
) -> s.JobRole:
    """Rename, archive (no longer offered at clock-in) or bring back a role."""
    async with _unit_of_work() as conn:
        try:
            row = await conn.fetchrow(
                "UPDATE job_roles SET name = coalesce($3, name), archived = coalesce($4, archived)"
                f" WHERE id = $1 AND restaurant_id = $2 RETURNING {_ROLE_COLUMNS}",
                job_role_id,
                restaurant_id,
                _unset_as_none(body.name),
                _unset_as_none(body.archived),
            )
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(
                "the restaurant already has a job role with that name", field="name"
            ) from exc
        if row is None:
            raise NotFound("no such job role")
        return await _publish_job_role(conn, restaurant_id, s.JobRole(**dict(row)))


async def _publish_job_role(
    conn: asyncpg.Connection, restaurant_id: UUID, role: s.JobRole
) -> s.JobRole:
    await store.server_change(
        conn,
        restaurant_id=restaurant_id,
        entity_type="job_role",
        entity_id=role.id,
        location_id=None,
        data={"name": role.name, "archived": role.archived},
    )
    return role


async def _require_job_role(conn: asyncpg.Connection, restaurant_id: UUID, role_id: UUID) -> None:
    """A body naming a role refuses one the restaurant lacks, another's alike."""
    found = await conn.fetchval(
        "SELECT true FROM job_roles WHERE id = $1 AND restaurant_id = $2", role_id, restaurant_id
    )
    if not found:
        raise ValidationFailed("no such job role", field="job_role_id")


# --- wage rates -------------------------------------------------------------------------------

_RATE_SELECT = (
    "SELECT w.id, w.employee_id, w.job_role_id, r.name AS job_role_name, w.hourly_rate,"
    " w.currency, w.effective_from, w.set_by, w.created_at"
    " FROM wage_rates w JOIN job_roles r ON r.id = w.job_role_id"
)


def _rate(row: asyncpg.Record) -> s.WageRate:
    return s.WageRate(**{**dict(row), "currency": row["currency"].strip()})


async def list_wage_rates(*, restaurant_id: UUID, employee_id: UUID) -> list[s.WageRate]:
    """Every rate the employee ever had, oldest first: the history is the payroll's record."""
    await scoped.get_or_raise(Employee, restaurant_id=restaurant_id, row_id=employee_id)
    async with engine.connection() as conn:
        rows = await conn.fetch(
            f"{_RATE_SELECT} WHERE w.restaurant_id = $1 AND w.employee_id = $2"
            " ORDER BY w.effective_from, r.name, w.id",
            restaurant_id,
            employee_id,
        )
    return [_rate(row) for row in rows]


async def set_wage_rate(*, caller: Caller, employee_id: UUID, body: s.WageRateCreate) -> s.WageRate:
    """Add a rate from a day on: a new row, never an edit, and audited with the rate it
    follows. The same role and day again is refused (``WageRateExists``)."""
    restaurant_id = caller.restaurant_id
    await scoped.get_or_raise(Employee, restaurant_id=restaurant_id, row_id=employee_id)
    currency = await currency_of(restaurant_id)
    async with _unit_of_work() as conn:
        await _require_job_role(conn, restaurant_id, body.job_role_id)
        previous = await conn.fetchrow(
            "SELECT hourly_rate, effective_from FROM wage_rates WHERE restaurant_id = $1"
            " AND employee_id = $2 AND job_role_id = $3 AND effective_from < $4"
            " ORDER BY effective_from DESC LIMIT 1",
            restaurant_id,
            employee_id,
            body.job_role_id,
            body.effective_from,
        )
        rate_id = await conn.fetchval(
            "INSERT INTO wage_rates (id, restaurant_id, employee_id, job_role_id, hourly_rate,"
            " currency, effective_from, set_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (employee_id, job_role_id, effective_from) DO NOTHING RETURNING id",
            uuid4(),
            restaurant_id,
            employee_id,
            body.job_role_id,
            body.hourly_rate,
            currency,
            body.effective_from,
            caller.actor_id,
        )
        if rate_id is None:
            raise WageRateExists(
                "this employee already has a rate for this role from this day; set a new"
                " rate from a later day instead",
                field="effective_from",
            )
        await record(
            caller=caller,
            action="timeclock.wage_rate_set",
            target_type="employee",
            target_id=str(employee_id),
            details={
                "wage_rate_id": str(rate_id),
                "job_role_id": str(body.job_role_id),
                "hourly_rate": body.hourly_rate,
                "currency": currency,
                "effective_from": body.effective_from.isoformat(),
                "previous_hourly_rate": previous["hourly_rate"] if previous else None,
                "previous_effective_from": (
                    previous["effective_from"].isoformat() if previous else None
                ),
            },
        )
        row = await conn.fetchrow(f"{_RATE_SELECT} WHERE w.id = $1", rate_id)
    return _rate(row)


# --- break types ------------------------------------------------------------------------------

_BREAK_COLUMNS = "id, name, paid, expected_minutes, archived, created_at"


async def list_break_types(*, restaurant_id: UUID, include_archived: bool) -> list[s.BreakType]:
    async with engine.connection() as conn:
        rows = await conn.fetch(
            f"SELECT {_BREAK_COLUMNS} FROM break_types WHERE restaurant_id = $1"
            " AND ($2 OR NOT archived) ORDER BY name",
            restaurant_id,
            include_archived,
        )
    return [s.BreakType(**dict(row)) for row in rows]


async def get_break_type(*, restaurant_id: UUID, break_type_id: UUID) -> s.BreakType:
    async with engine.connection() as conn:
        row = await conn.fetchrow(
            f"SELECT {_BREAK_COLUMNS} FROM break_types WHERE id = $1 AND restaurant_id = $2",
            break_type_id,
            restaurant_id,
        )
    if row is None:
        raise NotFound("no such break type")
    return s.BreakType(**dict(row))


async def create_break_type(*, restaurant_id: UUID, body: s.BreakTypeCreate) -> s.BreakType:
    break_id = body.id or uuid4()
    async with _unit_of_work() as conn:
        await _refuse_taken_id(conn, "break_types", break_id)
        row = await conn.fetchrow(
            "INSERT INTO break_types (id, restaurant_id, name, paid, expected_minutes)"
            f" VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING {_BREAK_COLUMNS}",
            break_id,
            restaurant_id,
            body.name,
            body.paid,
            body.expected_minutes,
        )
        if row is None:
            raise Conflict("the restaurant already has a break type with that name", field="name")
        return await _publish_break_type(conn, restaurant_id, s.BreakType(**dict(row)))


async def update_break_type(
    *, restaurant_id: UUID, break_type_id: UUID, body: s.BreakTypeUpdate
) -> s.BreakType:
    """Change or archive a break type; breaks already taken keep what was punched."""
    async with _unit_of_work() as conn:
        try:
            row = await conn.fetchrow(
                "UPDATE break_types SET name = coalesce($3, name), paid = coalesce($4, paid),"
                " expected_minutes = coalesce($5, expected_minutes),"
                " archived = coalesce($6, archived)"
                f" WHERE id = $1 AND restaurant_id = $2 RETURNING {_BREAK_COLUMNS}",
                break_type_id,
                restaurant_id,
                _unset_as_none(body.name),
                _unset_as_none(body.paid),
                _unset_as_none(body.expected_minutes),
                _unset_as_none(body.archived),
            )
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(
                "the restaurant already has a break type with that name", field="name"
            ) from exc
        if row is None:
            raise NotFound("no such break type")
        return await _publish_break_type(conn, restaurant_id, s.BreakType(**dict(row)))


async def _publish_break_type(
    conn: asyncpg.Connection, restaurant_id: UUID, kind: s.BreakType
) -> s.BreakType:
    await store.server_change(
        conn,
        restaurant_id=restaurant_id,
        entity_type="break_type",
        entity_id=kind.id,
        location_id=None,
        data={
            "name": kind.name,
            "paid": kind.paid,
            "expected_minutes": kind.expected_minutes,
            "archived": kind.archived,
        },
    )
    return kind


# --- schedules --------------------------------------------------------------------------------

_SHIFT_COLUMNS = "id, employee_id, location_id, job_role_id, starts_at, ends_at, created_at"
_SHIFT_COLUMNS_OF_X = ", ".join(f"x.{column}" for column in _SHIFT_COLUMNS.split(", "))


async def list_schedules(
    *,
    restaurant_id: UUID,
    start: date,
    end: date,
    employee_id: UUID | None,
    location_id: UUID | None,
) -> list[s.ScheduledShift]:
    """The scheduled shifts starting on the business days ``start`` to ``end`` (inclusive),
    each location's days by its own clock and the restaurant's day start."""
    day_starts_at = (await _settings(restaurant_id)).day_starts_at
    locations = await Location.select(Location.id, Location.timezone).where(
        Location.restaurant_id == restaurant_id
    )
    if location_id is not None:
        locations = [place for place in locations if place["id"] == location_id]
    bounds = [
        (
            place["id"],
            day_bounds(start, place["timezone"], day_starts_at)[0],
            day_bounds(end, place["timezone"], day_starts_at)[1],
        )
        for place in locations
    ]
    async with engine.connection() as conn:
        rows = await conn.fetch(
            f"SELECT {_SHIFT_COLUMNS_OF_X}"
            " FROM scheduled_shifts x JOIN unnest($2::uuid[], $3::timestamptz[],"
            " $4::timestamptz[]) AS days (location_id, opens, closes)"
            " ON x.location_id = days.location_id"
            " WHERE x.restaurant_id = $1 AND x.starts_at >= days.opens"
            " AND x.starts_at < days.closes AND ($5::uuid IS NULL OR x.employee_id = $5)"
            " ORDER BY x.starts_at, x.employee_id, x.id",
            restaurant_id,
            [place for place, _, _ in bounds],
            [opens for _, opens, _ in bounds],
            [closes for _, _, closes in bounds],
            employee_id,
        )
    return [s.ScheduledShift(**dict(row)) for row in rows]


async def get_schedule(
    *, restaurant_id: UUID, at_location: UUID | None, scheduled_shift_id: UUID
) -> s.ScheduledShift:
    async with engine.connection() as conn:
        row = await conn.fetchrow(
            f"SELECT {_SHIFT_COLUMNS} FROM scheduled_shifts WHERE id = $1 AND restaurant_id = $2"
            " AND ($3::uuid IS NULL OR location_id = $3)",
            scheduled_shift_id,
            restaurant_id,
            at_location,
        )
    if row is None:
        raise NotFound("no such scheduled shift")
    return s.ScheduledShift(**dict(row))


async def create_schedule(
    *, restaurant_id: UUID, at_location: UUID | None, body: s.ScheduledShiftCreate
) -> s.ScheduledShift:
    """Plan a shift; ``at_location`` limits a manager signed in on an iPad to its location."""
    check_instant(body.starts_at, field="starts_at")
    check_instant(body.ends_at, field="ends_at")
    if not timedelta(0) < body.ends_at - body.starts_at <= LONGEST_SCHEDULED_SHIFT:
        raise ValidationFailed(
            "ends_at must be after starts_at, at most 24 hours later", field="ends_at"
        )
    if at_location is not None and body.location_id != at_location:
        raise ValidationFailed("no such location", field="location_id")
    await scoped.require_reference(
        Location, restaurant_id=restaurant_id, row_id=body.location_id, field="location_id"
    )
    await scoped.require_reference(
        Employee, restaurant_id=restaurant_id, row_id=body.employee_id, field="employee_id"
    )
    shift_id = body.id or uuid4()
    async with _unit_of_work() as conn:
        if body.job_role_id is not None:
            await _require_job_role(conn, restaurant_id, body.job_role_id)
        await _refuse_taken_id(conn, "scheduled_shifts", shift_id)
        # One employee's schedules are checked for overlaps one writer at a time.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('scheduled_shifts:' || $1::text, 0))",
            str(body.employee_id),
        )
        overlapping = await conn.fetchval(
            "SELECT id FROM scheduled_shifts WHERE restaurant_id = $1 AND employee_id = $2"
            " AND starts_at < $4 AND ends_at > $3 ORDER BY starts_at LIMIT 1",
            restaurant_id,
            body.employee_id,
            body.starts_at,
            body.ends_at,
        )
        if overlapping is not None:
            raise ScheduleOverlaps(
                "the employee is already scheduled during part of this time",
                field="starts_at",
                overlaps=str(overlapping),
            )
        row = await conn.fetchrow(
            "INSERT INTO scheduled_shifts (id, restaurant_id, location_id, employee_id,"
            " job_role_id, starts_at, ends_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            f" RETURNING {_SHIFT_COLUMNS}",
            shift_id,
            restaurant_id,
            body.location_id,
            body.employee_id,
            body.job_role_id,
            body.starts_at,
            body.ends_at,
        )
        shift = s.ScheduledShift(**dict(row))
        await store.server_change(
            conn,
            restaurant_id=restaurant_id,
            entity_type="scheduled_shift",
            entity_id=shift.id,
            location_id=shift.location_id,
            data={
                "employee_id": str(shift.employee_id),
                "job_role_id": None if shift.job_role_id is None else str(shift.job_role_id),
                "starts_at": instant(shift.starts_at),
                "ends_at": instant(shift.ends_at),
            },
        )
    return shift


async def delete_schedule(
    *, restaurant_id: UUID, at_location: UUID | None, scheduled_shift_id: UUID
) -> None:
    """Remove a planned shift; the iPads of its location drop it on their next pull."""
    async with _unit_of_work() as conn:
        location_id = await conn.fetchval(
            "DELETE FROM scheduled_shifts WHERE id = $1 AND restaurant_id = $2"
            " AND ($3::uuid IS NULL OR location_id = $3) RETURNING location_id",
            scheduled_shift_id,
            restaurant_id,
            at_location,
        )
        if location_id is None:
            raise NotFound("no such scheduled shift")
        await store.server_change(
            conn,
            restaurant_id=restaurant_id,
            entity_type="scheduled_shift",
            entity_id=scheduled_shift_id,
            location_id=location_id,
            data={},
            deleted=True,
        )


# --- clock rules ------------------------------------------------------------------------------


async def _settings(restaurant_id: UUID) -> Settings:
    async with engine.connection() as conn:
        return await load_settings(conn, restaurant_id)


def _settings_out(settings: Settings, updated_at: datetime | None) -> s.ClockSettings:
    return s.ClockSettings(
        auto_close_after_minutes=settings.auto_close_after_minutes,
        early_clock_in_minutes=settings.early_clock_in_minutes,
        late_after_minutes=settings.late_after_minutes,
        weekly_overtime_minutes=settings.weekly_overtime_minutes,
        day_starts_at=settings.day_starts_at.strftime("%H:%M"),
        # The table's CHECK allows only these two.
        tip_pooling="by_hours" if settings.tip_pooling == "by_hours" else "none",
        updated_at=updated_at,
    )


async def get_clock_settings(*, restaurant_id: UUID) -> s.ClockSettings:
    async with engine.connection() as conn:
        settings = await load_settings(conn, restaurant_id)
        updated_at = await conn.fetchval(
            "SELECT updated_at FROM time_clock_settings WHERE restaurant_id = $1", restaurant_id
        )
    return _settings_out(settings, updated_at)


async def set_clock_settings(*, caller: Caller, body: s.ClockSettingsUpdate) -> s.ClockSettings:
    """Set every rule at once, sync them to the iPads (they close forgotten shifts and hold
    early clock-ins by them) and audit the change with what it replaced."""
    restaurant_id = caller.restaurant_id
    settings = Settings(
        auto_close_after_minutes=body.auto_close_after_minutes,
        early_clock_in_minutes=body.early_clock_in_minutes,
        late_after_minutes=body.late_after_minutes,
        weekly_overtime_minutes=body.weekly_overtime_minutes,
        day_starts_at=time.fromisoformat(body.day_starts_at),
        tip_pooling=body.tip_pooling,
    )
    async with _unit_of_work() as conn:
        was = await load_settings(conn, restaurant_id)
        updated_at = await conn.fetchval(
            "INSERT INTO time_clock_settings (restaurant_id, auto_close_after_minutes,"
            " early_clock_in_minutes, late_after_minutes, weekly_overtime_minutes,"
            " day_starts_at, tip_pooling) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (restaurant_id) DO UPDATE SET"
            " auto_close_after_minutes = excluded.auto_close_after_minutes,"
            " early_clock_in_minutes = excluded.early_clock_in_minutes,"
            " late_after_minutes = excluded.late_after_minutes,"
            " weekly_overtime_minutes = excluded.weekly_overtime_minutes,"
            " day_starts_at = excluded.day_starts_at, tip_pooling = excluded.tip_pooling,"
            " updated_at = now() RETURNING updated_at",
            restaurant_id,
            settings.auto_close_after_minutes,
            settings.early_clock_in_minutes,
            settings.late_after_minutes,
            settings.weekly_overtime_minutes,
            settings.day_starts_at,
            settings.tip_pooling,
        )
        out = _settings_out(settings, updated_at)
        rules = _rules(out)
        await store.server_change(
            conn,
            restaurant_id=restaurant_id,
            entity_type=SETTINGS_ENTITY,
            entity_id=restaurant_id,
            location_id=None,
            data=rules,
        )
        await record(
            caller=caller,
            action="timeclock.settings_set",
            target_type="restaurant",
            target_id=str(restaurant_id),
            details={**rules, "was": _rules(_settings_out(was, None))},
        )
    return out


def _rules(settings: s.ClockSettings) -> dict[str, Any]:
    """The rules as the iPads and the audit log hold them."""
    return {
        "auto_close_after_minutes": settings.auto_close_after_minutes,
        "early_clock_in_minutes": settings.early_clock_in_minutes,
        "late_after_minutes": settings.late_after_minutes,
        "weekly_overtime_minutes": settings.weekly_overtime_minutes,
        "day_starts_at": settings.day_starts_at,
        "tip_pooling": settings.tip_pooling,
    }


# --- shared -----------------------------------------------------------------------------------


async def _refuse_taken_id(conn: asyncpg.Connection, table: str, row_id: UUID) -> None:
    """A client-chosen id already used (by any restaurant) is a 409, never an overwrite."""
    if await conn.fetchval(f"SELECT true FROM {table} WHERE id = $1", row_id):
        raise Conflict("a row with this id already exists", field="id")
