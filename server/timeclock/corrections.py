"""Managers' corrections of punches: new records that reference the original, never edits.

A correction adds a punch, moves one to another time, or voids one, always with a reason.
In one transaction it is stored (``time_punch_corrections``, append-only like the punches),
written as the ``time_punch_correction`` sync entity so every iPad of the location derives
the same shifts, and written to the audit log with the punch before and after. The punch an
iPad sent stays as it was sent, and the shifts show both (docs/time-clock.md, "Corrections").
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from uuid import UUID, uuid4

import asyncpg

from server import events
from server.audit.services import record
from server.auth.tokens import Caller
from server.db.engine import DB
from server.errors import Conflict, NotFound, ValidationFailed
from server.pagination import check_instant
from server.sync import store
from server.timeclock import services
from server.timeclock import shift_schemas as s
from server.timeclock.punch_history import History, histories
from server.timeclock.shift_views import punch_state
from server.timeclock.shifts import Correction, Kind, Punch
from server.timeclock.sync import MAX_AHEAD, TIME_PUNCH, TIME_PUNCH_CORRECTION
from server.wire import instant

AUDIT_ACTION = "timeclock.correction"

_ONLY_FOR_ADD = ("employee_id", "location_id", "kind", "paid", "job_role_id", "declared_tips")


def check_members(body: s.CorrectionCreate, *, now: datetime) -> None:
    """Each action's members, as ``CorrectionCreate.openapi_variants`` declares them."""
    if body.action == "add":
        for name in ("employee_id", "location_id", "kind", "at"):
            if getattr(body, name) is None:
                raise ValidationFailed(f"{name} is required to add a punch", field=name)
        if body.punch_id is not None:
            raise ValidationFailed(
                "an added punch gets a new id: leave punch_id out", field="punch_id"
            )
    else:
        if body.punch_id is None:
            raise ValidationFailed(
                f"punch_id is required to {body.action} a punch", field="punch_id"
            )
        for name in _ONLY_FOR_ADD:
            if getattr(body, name) is not None:
                raise ValidationFailed(f"{name} is only for adding a punch", field=name)
        if (body.at is None) == (body.action == "move"):
            raise ValidationFailed("at is required to move a punch, and only then", field="at")
    if body.at is not None:
        check_instant(body.at, field="at")
        if body.at > now + MAX_AHEAD:
            raise ValidationFailed("at must not be more than 5 minutes ahead", field="at")
    if body.declared_tips and body.kind is not Kind.clock_out:
        raise ValidationFailed("tips are declared when clocking out", field="declared_tips")
    if body.job_role_id is not None and body.kind is not Kind.clock_in:
        raise ValidationFailed("a role is chosen when clocking in", field="job_role_id")


async def correct(*, caller: Caller, body: s.CorrectionCreate, now: datetime) -> s.Correction:
    """Store, sync and audit one correction; answer it with the punch before and after."""
    check_members(body, now=now)
    assert caller.actor_id is not None  # only people hold timeclock.correct
    correction_id = uuid4()
    async with events.collect(), DB.transaction(), store.transaction() as conn:
        before: Punch | None = None
        after: Punch | None = None
        if body.action == "add":
            punch = after = await _added(conn, caller.restaurant_id, body)
        else:
            assert body.punch_id is not None
            punch = before = await _counting(conn, caller.restaurant_id, body.punch_id)
            if body.action == "move":
                after = _moved(before, body)
        row = await conn.fetchrow(
            "INSERT INTO time_punch_corrections (id, restaurant_id, location_id, employee_id,"
            " action, punch_id, kind, at, paid, job_role_id, declared_tips, reason,"
            " corrected_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
            " $12, $13, $14) RETURNING *",
            correction_id,
            caller.restaurant_id,
            punch.location_id,
            punch.employee_id,
            body.action,
            punch.id,
            punch.kind.value,
            None if after is None else after.at,
            punch.paid,
            punch.job_role_id,
            punch.declared_tips,
            body.reason,
            caller.actor_id,
            now,
        )
        await store.server_change(
            conn,
            restaurant_id=caller.restaurant_id,
            entity_type=TIME_PUNCH_CORRECTION.entity_type,
            entity_id=correction_id,
            location_id=punch.location_id,
            data=synced(row),
        )
        await record(
            caller=caller,
            action=AUDIT_ACTION,
            target_type=TIME_PUNCH.entity_type,
            target_id=str(punch.id),
            details={
                "correction_id": str(correction_id),
                "action": body.action,
                "employee_id": str(punch.employee_id),
                "reason": body.reason,
                "before": _audited(before),
                "after": _audited(after),
            },
        )
        name = await conn.fetchval(
            "SELECT name FROM users WHERE id = $1 UNION ALL SELECT name FROM employees"
            " WHERE id = $1 LIMIT 1",
            caller.actor_id,
        )
    return s.Correction(
        id=correction_id,
        action=body.action,
        punch_id=punch.id,
        employee_id=punch.employee_id,
        location_id=punch.location_id,
        reason=body.reason,
        corrected_by=caller.actor_id,
        corrected_by_name=name,
        created_at=row["created_at"],
        before=punch_state(before),
        after=punch_state(after),
    )


def synced(row: asyncpg.Record) -> dict[str, object]:
    """The ``time_punch_correction`` entity: all an iPad needs to apply it as the server does
    (``shifts.Correction``; the location is the entity's)."""
    return {
        "action": row["action"],
        "punch_id": str(row["punch_id"]),
        "employee_id": str(row["employee_id"]),
        "location_id": str(row["location_id"]),
        "kind": row["kind"],
        "at": None if row["at"] is None else instant(row["at"]),
        "paid": row["paid"],
        "job_role_id": None if row["job_role_id"] is None else str(row["job_role_id"]),
        "declared_tips": row["declared_tips"],
        "reason": row["reason"],
        "corrected_by": str(row["corrected_by"]),
        "created_at": instant(row["created_at"]),
    }


async def _added(conn: asyncpg.Connection, restaurant_id: UUID, body: s.CorrectionCreate) -> Punch:
    assert body.employee_id and body.location_id and body.kind and body.at
    for table, noun, field, row_id in (
        ("employees", "employee", "employee_id", body.employee_id),
        ("locations", "location", "location_id", body.location_id),
        ("job_roles", "job role", "job_role_id", body.job_role_id),
    ):
        if row_id is not None and not await conn.fetchval(
            f"SELECT true FROM {table} WHERE id = $1 AND restaurant_id = $2",
            row_id,
            restaurant_id,
        ):
            raise ValidationFailed(f"no such {noun}", field=field)
    return Punch(
        id=uuid4(),
        employee_id=body.employee_id,
        location_id=body.location_id,
        kind=body.kind,
        at=body.at,
        paid=bool(body.paid),
        job_role_id=body.job_role_id,
        declared_tips=body.declared_tips or 0,
    )


async def _counting(conn: asyncpg.Connection, restaurant_id: UUID, punch_id: UUID) -> Punch:
    """The punch as it counts now, locked against another correction of it at once."""
    # The punch's sync lock: a second manager correcting it waits, then sees this correction.
    await store.lock(conn, restaurant_id, [(TIME_PUNCH.entity_type, punch_id)])
    history = await punch_history(conn, restaurant_id, punch_id)
    if history is None:
        raise NotFound("no such punch")
    if history.current is None:
        raise Conflict("the punch is voided: add a new one instead", field="punch_id")
    return history.current


async def punch_history(
    conn: asyncpg.Connection, restaurant_id: UUID, punch_id: UUID
) -> History | None:
    """One punch of this restaurant (sent by an iPad or added by a manager) and what its
    corrections did to it; None if there is no such punch here."""
    rows = await conn.fetch(
        "SELECT id, employee_id, location_id, kind, at, hlc, paid, break_type_id, job_role_id,"
        " declared_tips, device_id FROM time_punches WHERE id = $1 AND restaurant_id = $2",
        punch_id,
        restaurant_id,
    )
    fixes = await conn.fetch(
        "SELECT id, employee_id, location_id, action, punch_id, kind, at, paid, job_role_id,"
        " declared_tips, created_at FROM time_punch_corrections"
        " WHERE punch_id = $1 AND restaurant_id = $2",
        punch_id,
        restaurant_id,
    )
    corrections: list[Correction] = [services.correction_of(row) for row in fixes]
    found = histories([services.punch_of(row) for row in rows], corrections)
    return found.get(punch_id)


def _moved(punch: Punch, body: s.CorrectionCreate) -> Punch:
    assert body.at is not None
    return replace(punch, at=body.at)


def _audited(punch: Punch | None) -> dict[str, object] | None:
    if punch is None:
        return None
    return {
        "kind": punch.kind.value,
        "at": instant(punch.at),
        "location_id": str(punch.location_id),
        "paid": punch.paid,
        "job_role_id": None if punch.job_role_id is None else str(punch.job_role_id),
        "declared_tips": punch.declared_tips,
    }
