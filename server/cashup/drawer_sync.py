"""Drawer sessions sync from iPads, offline too; drawers and the server's answers sync back.

An iPad opens a drawer with a counted float (``drawer_open``), records paid-ins and paid-outs
(``drawer_movement``) and closes it with a blind count (``drawer_close``). Each is an
append-only event, like a time punch: the spec refuses edits and deletes, so two iPads never
merge one, they each add theirs, and what contradicts (a second open of one drawer, a close
of a closed session, a paid-out after the close) is kept and flagged for a manager, never
dropped (docs/cash-up.md). What is refused, and kept in the quarantine, is what cannot be a
fact: a count that is not notes and coins, a claimed total the count does not make, another
iPad's name, a time ahead of the server's clock, a drawer or session the location lacks,
another employee's name, or a paid-out by a cashier without a manager's approval.

The server writes ``cash_drawer`` (the location's drawers) and ``drawer_session`` (which
session is a drawer's open one, and its expected cash and over/short once closed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar
from uuid import UUID

import asyncpg
import msgspec

from server.auth.permissions import Permission
from server.cashup import drawers_sessions as sessions
from server.cashup.drawers_rules import BadCount, count_total
from server.sync.conflict_log import log_conflict
from server.sync.protocol import ChangeIn
from server.sync.registry import (
    Admission,
    DeviceContext,
    FieldRule,
    Written,
    register,
)
from server.sync.rules import Change, EntitySpec, Rejected, Version

DRAWER_OPEN = EntitySpec(
    entity_type="drawer_open",
    scope="location",
    immutable=True,
    required_on_create=frozenset({"drawer_id", "float_counts", "at", "device_id", "employee_id"}),
)
DRAWER_MOVEMENT = EntitySpec(
    entity_type="drawer_movement",
    scope="location",
    immutable=True,
    required_on_create=frozenset(
        {"session_id", "kind", "amount", "reason", "at", "device_id", "employee_id"}
    ),
)
DRAWER_CLOSE = EntitySpec(
    entity_type="drawer_close",
    scope="location",
    immutable=True,
    required_on_create=frozenset({"session_id", "counts", "at", "device_id", "employee_id"}),
)
CASH_DRAWER = EntitySpec(entity_type="cash_drawer", scope="location", pushable=False)
DRAWER_SESSION = EntitySpec(entity_type="drawer_session", scope="location", pushable=False)

MAX_AHEAD = timedelta(minutes=5)
"""How far past the server's clock an iPad may date a step (a clock a little fast)."""
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""No step is dated before this: an iPad whose clock was reset would date it in 1970."""
MAX_MOVEMENT = 10_000_000
"""£100,000: more than any till holds, so a typing slip, not a paid-out."""


class _Step(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    at: datetime
    device_id: UUID
    """The iPad that made it (checked against the pushing iPad's token)."""
    employee_id: UUID
    """Who made it: the employee whose PIN signed the change."""


class OpenFields(_Step, kw_only=True, forbid_unknown_fields=True):
    drawer_id: UUID
    float_counts: dict[str, int]
    """Notes and coins counted into the drawer, per denomination in pence."""
    opening_float: int | None = None
    """The iPad's total of the count, if it sends one: checked, never believed."""


class MovementFields(_Step, kw_only=True, forbid_unknown_fields=True):
    session_id: UUID
    kind: Literal["paid_in", "paid_out"]
    amount: int
    reason: str
    approved_by: UUID | None = None
    """The manager who approved it with their PIN, when the maker needs one."""


class CloseFields(_Step, kw_only=True, forbid_unknown_fields=True):
    session_id: UUID
    counts: dict[str, int]
    """The blind count, per denomination in pence. No expected figure travels this way."""
    counted_cash: int | None = None
    """The iPad's total of the count, if it sends one: checked, never believed."""


Step = TypeVar("Step", bound=_Step)


def fields_of(fields: Mapping[str, object], kind: type[Step]) -> Step:
    try:
        return msgspec.convert(fields, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise Rejected("invalid_fields", str(exc)) from exc


def _check_step(step: _Step, device: DeviceContext) -> None:
    if step.device_id != device.device_id:
        raise Rejected("invalid_fields", "device_id must be the pushing iPad's own")
    if step.at.tzinfo is None:
        raise Rejected("invalid_fields", "at must carry a time zone offset")
    if step.at < EARLIEST:
        raise Rejected("invalid_fields", "at is before 2000: the iPad's clock is wrong")
    if step.at > datetime.now(UTC) + MAX_AHEAD:
        raise Rejected("in_future", "it is dated more than 5 minutes ahead")


def _check_count(counts: Mapping[str, object], claimed: int | None, field: str) -> None:
    try:
        total = count_total(counts)
    except BadCount as exc:
        raise Rejected("invalid_fields", str(exc)) from exc
    if claimed is not None and claimed != total:
        raise Rejected("invalid_fields", f"{field} is {claimed} but the count makes {total}")


def validate_open(change: Change, current: Version | None, device: DeviceContext) -> None:
    if change.op == "delete" or current is not None:
        return  # the spec refuses deletes and edits with its own reasons
    fields = fields_of(change.fields, OpenFields)
    _check_step(fields, device)
    _check_count(fields.float_counts, fields.opening_float, "opening_float")


def validate_movement(change: Change, current: Version | None, device: DeviceContext) -> None:
    if change.op == "delete" or current is not None:
        return
    fields = fields_of(change.fields, MovementFields)
    _check_step(fields, device)
    if not 0 < fields.amount <= MAX_MOVEMENT:
        raise Rejected("invalid_fields", f"amount must be 1 to {MAX_MOVEMENT} pence")
    if not 3 <= len(fields.reason.strip()) <= 500:
        raise Rejected("invalid_fields", "reason must say why, in 3 to 500 characters")


def validate_close(change: Change, current: Version | None, device: DeviceContext) -> None:
    if change.op == "delete" or current is not None:
        return
    fields = fields_of(change.fields, CloseFields)
    _check_step(fields, device)
    _check_count(fields.counts, fields.counted_cash, "counted_cash")


# Whoever takes cash opens and closes a drawer; money in or out for anything but a sale is a
# manager's, or a cashier's with a manager's approval (server/auth/permissions.py).
OPEN_FIELDS = {name: FieldRule(Permission.drawer_use) for name in OpenFields.__struct_fields__}
CLOSE_FIELDS = {name: FieldRule(Permission.drawer_use) for name in CloseFields.__struct_fields__}
MOVEMENT_FIELDS = {
    name: FieldRule(Permission.drawer_cash_movement) for name in MovementFields.__struct_fields__
}


def _made_by_maker(change: ChangeIn, current: Version | None) -> None:
    """A step is its maker's: the ``employee_id`` it names must have signed it. A resend of a
    stored step is left to the spec (a duplicate, or refused as an edit)."""
    if current is not None:
        return
    maker = change.actor.employee_id if change.actor is not None else None
    if maker is not None and str(change.fields.get("employee_id")) != str(maker):
        raise Rejected("invalid_fields", "employee_id must be the employee whose PIN signed it")


def admit_use(change: ChangeIn, current: Version | None, _facts: object) -> Admission:
    _made_by_maker(change, current)
    return Admission(frozenset({Permission.drawer_use}))


def admit_movement(change: ChangeIn, current: Version | None, _facts: object) -> Admission:
    """A paid-in or paid-out needs ``drawer.cash_movement``; a cashier's carries a manager's
    approval (proved by the engine), and ``approved_by`` must name that manager."""
    _made_by_maker(change, current)
    if current is None:
        approver = change.approval.approver_id if change.approval is not None else None
        named = change.fields.get("approved_by")
        if (None if named is None else str(named)) != (None if approver is None else str(approver)):
            raise Rejected("invalid_fields", "approved_by must be the manager who approved it")
    return Admission(frozenset({Permission.drawer_cash_movement}))


# --- into the domain's tables -----------------------------------------------------------------


async def project_opens(
    conn: asyncpg.Connection, restaurant_id: UUID, written: Sequence[Written]
) -> None:
    for item in written:
        assert item.location_id is not None  # a location-scoped type
        fields = fields_of(item.version.data, OpenFields)
        await sessions.record_open(conn, restaurant_id, item.location_id, item.entity_id, fields)


async def project_movements(
    conn: asyncpg.Connection, restaurant_id: UUID, written: Sequence[Written]
) -> None:
    for item in written:
        assert item.location_id is not None
        fields = fields_of(item.version.data, MovementFields)
        await sessions.record_movement(
            conn, restaurant_id, item.location_id, item.entity_id, fields
        )


async def project_closes(
    conn: asyncpg.Connection, restaurant_id: UUID, written: Sequence[Written]
) -> None:
    """Check a close names a session here; it is applied once the whole batch is written
    (``close_after_the_batch``), so the cash and paid-outs pushed with it are counted."""
    for item in written:
        assert item.location_id is not None
        fields = fields_of(item.version.data, CloseFields)
        await sessions.check_close(conn, restaurant_id, item.location_id, fields)


# --- what needs the whole batch, and the pushing iPad -------------------------------------------


async def flag_merged_opens(
    conn: asyncpg.Connection,
    device: DeviceContext,
    applied: Sequence[Any],
    _before: Mapping[UUID, Version | None],
) -> list[tuple[int, str, str]]:
    """Log a conflict for each session the batch's opens merged (two iPads opened one
    drawer): the one merged, with its float, and the one it now belongs to."""
    for change in applied:
        merged = await conn.fetch(
            "SELECT id, merged_into, opening_float, opened_at FROM drawer_sessions"
            " WHERE restaurant_id = $1 AND status = 'merged' AND (id = $2 OR merged_into = $2)",
            device.restaurant_id,
            change.entity_id,
        )
        for row in merged:
            await log_conflict(
                conn,
                device,
                entity_type="drawer_open",
                entity_id=row["id"],
                rule="one_open_session",
                current={"session_id": str(row["merged_into"])},
                incoming={"fields": change.fields, "entity_id": str(change.entity_id)},
                outcome={
                    "status": "merged",
                    "merged_into": str(row["merged_into"]),
                    "opening_float": row["opening_float"],
                },
            )
    return []


async def flag_late_movements(
    conn: asyncpg.Connection,
    device: DeviceContext,
    applied: Sequence[Any],
    _before: Mapping[UUID, Version | None],
) -> list[tuple[int, str, str]]:
    """A paid-in or paid-out made after its session closed is kept (the money moved) and
    flagged: it is not in the closed session's expected cash."""
    for change in applied:
        fields = fields_of(change.fields, MovementFields)
        closed_at = await conn.fetchval(
            "SELECT owner.closed_at FROM drawer_sessions s"
            " JOIN drawer_sessions owner ON owner.id = coalesce(s.merged_into, s.id)"
            " WHERE s.id = $1 AND s.restaurant_id = $2",
            fields.session_id,
            device.restaurant_id,
        )
        if closed_at is not None and fields.at >= closed_at:
            await log_conflict(
                conn,
                device,
                entity_type="drawer_movement",
                entity_id=change.entity_id,
                rule="movement_after_close",
                current={"session_id": str(fields.session_id), "closed_at": str(closed_at)},
                incoming={"fields": change.fields},
                outcome={"counted": False},
            )
    return []


async def close_after_the_batch(
    conn: asyncpg.Connection,
    device: DeviceContext,
    applied: Sequence[Any],
    _before: Mapping[UUID, Version | None],
) -> list[tuple[int, str, str]]:
    """Close each session, in the order the closes were made; a close for a session already
    closed is kept and flagged (a physical drawer is counted once)."""
    for change in sorted(applied, key=lambda change: change.seq):
        fields = fields_of(change.fields, CloseFields)
        closed = await sessions.close(conn, device.restaurant_id, change.entity_id, fields)
        if closed is None:
            await log_conflict(
                conn,
                device,
                entity_type="drawer_close",
                entity_id=change.entity_id,
                rule="already_closed",
                current={"session_id": str(fields.session_id)},
                incoming={"fields": change.fields},
                outcome={"counted": False},
            )
    return []


register(
    DRAWER_OPEN,
    tier=1,
    admit=admit_use,
    fields=OPEN_FIELDS,
    validate=validate_open,
    project=project_opens,
    after=flag_merged_opens,
)
register(
    DRAWER_MOVEMENT,
    tier=1,
    admit=admit_movement,
    fields=MOVEMENT_FIELDS,
    validate=validate_movement,
    project=project_movements,
    after=flag_late_movements,
)
register(
    DRAWER_CLOSE,
    tier=1,
    admit=admit_use,
    fields=CLOSE_FIELDS,
    validate=validate_close,
    project=project_closes,
    after=close_after_the_batch,
)
register(CASH_DRAWER, tier=0)
register(DRAWER_SESSION, tier=1)
