"""Punches sync from iPads; corrections, job roles, break types and schedules sync to them.

A punch (clock in, break start and end, clock out) is an append-only event made on any iPad,
offline too: the spec refuses edits and deletes, so two iPads never merge one, they just both
add theirs. Shifts are derived from the punches by ``shifts.derive``, the same rule the
iPad runs (``shared/schema/vectors/timeclock.json``), so nothing contradictory is ever
refused here: it is kept and flagged for a manager (docs/time-clock.md). What is refused
(and kept in the quarantine) is a punch that cannot be a fact: another iPad's, one dated
in the future, or one for an employee the restaurant does not have.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal
from uuid import UUID

import asyncpg
import msgspec

from server.auth.permissions import Permission
from server.sync.protocol import ChangeIn
from server.sync.registry import (
    Admission,
    DeviceContext,
    FieldRule,
    ProjectionRefused,
    Written,
    needs_of,
    register,
)
from server.sync.rules import Change, EntitySpec, Rejected, Version

TIME_PUNCH = EntitySpec(
    entity_type="time_punch",
    scope="location",
    immutable=True,
    required_on_create=frozenset({"employee_id", "kind", "at", "device_id"}),
)

# Written by the server only (docs/time-clock.md): iPads read them to derive the same shifts,
# offer the restaurant's roles and breaks, and hold an early clock-in to the schedule.
TIME_PUNCH_CORRECTION = EntitySpec(
    entity_type="time_punch_correction", scope="location", pushable=False
)
JOB_ROLE = EntitySpec(entity_type="job_role", scope="restaurant", pushable=False)
BREAK_TYPE = EntitySpec(entity_type="break_type", scope="restaurant", pushable=False)
SCHEDULED_SHIFT = EntitySpec(
    entity_type="scheduled_shift", scope="location", pushable=False, deletable=True
)

MAX_AHEAD = timedelta(minutes=5)
"""How far past the server's clock a punch may be dated: an iPad's clock a little fast is
forgiven; a punch hours ahead would pay hours nobody worked."""
MAX_DECLARED_TIPS = 1_000_000
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""No punch is dated before this: an iPad whose clock was reset (to 1970, or to nothing)
would otherwise pay a shift on a day nobody worked, or one no period can read."""


class PunchFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    employee_id: UUID
    kind: Literal["clock_in", "break_start", "break_end", "clock_out"]
    at: datetime
    device_id: UUID
    """The iPad that punched (checked against the pushing iPad's token)."""
    paid: bool = False
    break_type_id: UUID | None = None
    job_role_id: UUID | None = None
    declared_tips: int = 0


def validate_punch(change: Change, current: Version | None, device: DeviceContext) -> None:
    if change.op == "delete" or current is not None:
        return  # the spec refuses deletes and edits with its own reasons
    fields = punch_fields(change.fields)
    if fields.device_id != device.device_id:
        raise Rejected("invalid_fields", "device_id must be the pushing iPad's own")
    if fields.at.tzinfo is None:
        raise Rejected("invalid_fields", "at must carry a time zone offset")
    if fields.at < EARLIEST:
        raise Rejected("invalid_fields", "at is before 2000: the iPad's clock is wrong")
    if fields.at > datetime.now(UTC) + MAX_AHEAD:
        raise Rejected("punch_in_future", "the punch is dated more than 5 minutes ahead")
    if not 0 <= fields.declared_tips <= MAX_DECLARED_TIPS:
        raise Rejected("invalid_fields", f"declared_tips must be 0 to {MAX_DECLARED_TIPS}")
    if fields.declared_tips and fields.kind != "clock_out":
        raise Rejected("invalid_fields", "tips are declared when clocking out")


def punch_fields(fields: dict[str, object]) -> PunchFields:
    try:
        return msgspec.convert(fields, PunchFields, strict=False)
    except msgspec.ValidationError as exc:
        raise Rejected("invalid_fields", str(exc)) from exc


# Everyone clocks themself; a punch for someone else needs a manager (or their approval).
PUNCH_FIELDS = {
    name: FieldRule(
        Permission.timeclock_punch,
        when={"someone_else": Permission.timeclock_punch_others} if name == "employee_id" else {},
    )
    for name in PunchFields.__struct_fields__
}


def admit_punch(change: ChangeIn, current: Version | None, _facts: object) -> Admission:
    """``change.actor`` is the proven maker by now (``authority.of`` runs first). A change
    to a stored punch (refused by the spec whoever sends it) is the punched employee's own
    when they send it, so they hear why it is refused rather than that a manager could."""
    maker = change.actor.employee_id if change.actor is not None else None
    punched = change.fields.get("employee_id", current.data.get("employee_id") if current else None)
    conditions = (
        []
        if maker is not None and str(maker) == str(punched)
        else [("employee_id", "someone_else")]
    )
    return Admission(needs_of(PUNCH_FIELDS, change.fields, conditions))


async def project_punches(
    conn: asyncpg.Connection, restaurant_id: UUID, written: Sequence[Written]
) -> None:
    for item in written:
        fields = punch_fields(item.version.data)
        known = await conn.fetchval(
            "SELECT true FROM employees WHERE id = $1 AND restaurant_id = $2",
            fields.employee_id,
            restaurant_id,
        )
        if not known or item.location_id is None:
            raise ProjectionRefused("unknown_employee", "a punch for an employee the server lacks")
        await conn.execute(
            "INSERT INTO time_punches (id, restaurant_id, location_id, employee_id, kind, at,"
            " hlc, paid, break_type_id, job_role_id, declared_tips, device_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            " ON CONFLICT (id) DO NOTHING",
            item.entity_id,
            restaurant_id,
            item.location_id,
            fields.employee_id,
            fields.kind,
            fields.at,
            item.version.field_hlcs.get("kind", ""),
            fields.paid,
            fields.break_type_id,
            fields.job_role_id,
            fields.declared_tips,
            fields.device_id,
        )


register(
    TIME_PUNCH,
    tier=1,
    admit=admit_punch,
    fields=PUNCH_FIELDS,
    validate=validate_punch,
    project=project_punches,
)
register(TIME_PUNCH_CORRECTION, tier=1)
register(JOB_ROLE, tier=0)
register(BREAK_TYPE, tier=0)
register(SCHEDULED_SHIFT, tier=1)
register(EntitySpec(entity_type="time_clock_settings", scope="restaurant", pushable=False), tier=0)
