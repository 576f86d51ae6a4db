"""Drawer sessions as iPads make them: opened, given paid-ins and paid-outs, closed blind.

Each step arrives as an append-only sync entity (``drawer_sync``) and is written here into
the domain's tables, in the push's transaction. The server's answer (which session is the
drawer's open one, and, once closed, its expected cash and over/short) goes back to every
iPad of the location as a ``drawer_session`` entity through the sync store.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from server.audit.services import record_in
from server.cashup import drawers_cash as cash
from server.cashup.drawers_rules import (
    Opening,
    count_total,
    is_flagged,
    over_short,
    surviving,
)
from server.sync import store
from server.sync.registry import ProjectionRefused
from server.wire import instant

SESSION_ENTITY = "drawer_session"
DEFAULT_THRESHOLD = 500
"""£5.00: a difference a busy evening's change-giving can make, not one a manager ignores."""


async def load_threshold(conn: asyncpg.Connection, restaurant_id: UUID) -> int:
    threshold = await conn.fetchval(
        "SELECT over_short_threshold FROM cashup_settings WHERE restaurant_id = $1", restaurant_id
    )
    return DEFAULT_THRESHOLD if threshold is None else int(threshold)


async def session_row(
    conn: asyncpg.Connection, restaurant_id: UUID, session_id: UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {cash.SESSION_COLUMNS} FROM {cash.SESSION_FROM}"
        " WHERE s.id = $1 AND s.restaurant_id = $2" + (" FOR UPDATE OF s" if lock else ""),
        session_id,
        restaurant_id,
    )


async def record_open(
    conn: asyncpg.Connection,
    restaurant_id: UUID,
    location_id: UUID,
    session_id: UUID,
    fields: Any,
) -> None:
    """Start a session with its counted float, then settle which of the drawer's sessions
    is its open one. ``fields`` is a checked ``drawer_sync.OpenFields``."""
    drawer = await conn.fetchrow(
        "SELECT location_id, archived FROM cash_drawers WHERE id = $1 AND restaurant_id = $2"
        " FOR UPDATE",  # one drawer's opens are settled one push at a time
        fields.drawer_id,
        restaurant_id,
    )
    if drawer is None or drawer["location_id"] != location_id:
        raise ProjectionRefused("unknown_drawer", "a drawer this location does not have")
    if drawer["archived"]:
        raise ProjectionRefused("drawer_archived", "the drawer is archived: it cannot be opened")
    await conn.execute(
        "INSERT INTO drawer_sessions (id, restaurant_id, location_id, drawer_id, currency,"
        " opened_at, opened_by, opened_device_id, opening_float, float_counts)"
        " SELECT $1, $2, $3, $4, currency, $5, $6, $7, $8, $9 FROM restaurants WHERE id = $2"
        " ON CONFLICT (id) DO NOTHING",
        session_id,
        restaurant_id,
        location_id,
        fields.drawer_id,
        fields.at,
        fields.employee_id,
        fields.device_id,
        count_total(fields.float_counts),
        json.dumps(fields.float_counts),
    )
    await settle_drawer(conn, restaurant_id, fields.drawer_id, also=session_id)


async def settle_drawer(
    conn: asyncpg.Connection, restaurant_id: UUID, drawer_id: UUID, *, also: UUID
) -> None:
    """Make the earliest of the drawer's sessions not yet closed its open one, merge every
    other into it, and send each session whose standing changed (and ``also``) to iPads."""
    rows = await conn.fetch(
        "SELECT s.id, s.opened_at, s.status, s.merged_into FROM drawer_sessions s"
        " LEFT JOIN drawer_sessions owner ON owner.id = s.merged_into"
        " WHERE s.drawer_id = $1 AND s.restaurant_id = $2"
        " AND (s.status = 'open' OR (s.status = 'merged' AND owner.status <> 'closed'))",
        drawer_id,
        restaurant_id,
    )
    changed = {also}
    if rows:
        winner = surviving(Opening(row["id"], row["opened_at"]) for row in rows).session_id
        for row in rows:
            status, into = ("open", None) if row["id"] == winner else ("merged", winner)
            if (row["status"], row["merged_into"]) != (status, into):
                await conn.execute(
                    "UPDATE drawer_sessions SET status = $2, merged_into = $3 WHERE id = $1",
                    row["id"],
                    status,
                    into,
                )
                changed.add(row["id"])
    for session_id in sorted(changed):
        await publish(conn, restaurant_id, session_id)


async def record_movement(
    conn: asyncpg.Connection,
    restaurant_id: UUID,
    location_id: UUID,
    movement_id: UUID,
    fields: Any,
) -> None:
    """Keep a paid-in or paid-out with its session (``drawer_sync.MovementFields``)."""
    session = await conn.fetchrow(
        "SELECT location_id, currency FROM drawer_sessions WHERE id = $1 AND restaurant_id = $2",
        fields.session_id,
        restaurant_id,
    )
    if session is None or session["location_id"] != location_id:
        raise ProjectionRefused("unknown_session", "a drawer session this location lacks")
    await conn.execute(
        "INSERT INTO drawer_movements (id, restaurant_id, location_id, session_id, kind, amount,"
        " currency, reason, employee_id, approved_by, device_id, at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING",
        movement_id,
        restaurant_id,
        location_id,
        fields.session_id,
        fields.kind,
        fields.amount,
        session["currency"],
        fields.reason,
        fields.employee_id,
        fields.approved_by,
        fields.device_id,
        fields.at,
    )


async def check_close(
    conn: asyncpg.Connection, restaurant_id: UUID, location_id: UUID, fields: Any
) -> None:
    """Refuse (into the quarantine) a close naming no session of this location, or dated
    before its session opened (``drawer_sync.CloseFields``)."""
    session = await conn.fetchrow(
        "SELECT location_id, opened_at FROM drawer_sessions WHERE id = $1 AND restaurant_id = $2",
        fields.session_id,
        restaurant_id,
    )
    if session is None or session["location_id"] != location_id:
        raise ProjectionRefused("unknown_session", "a drawer session this location lacks")
    if fields.at < session["opened_at"]:
        raise ProjectionRefused("close_before_open", "the close is dated before the opening")


async def close(
    conn: asyncpg.Connection, restaurant_id: UUID, close_id: UUID, fields: Any
) -> asyncpg.Record | None:
    """Close the session a close names (or the one it was merged into) with its blind count:
    work out the expected cash and over/short, flag it past the threshold, send it to iPads
    and audit it. Answers the session closed, or None if it was closed already (the close is
    kept and flagged)."""
    named = await session_row(conn, restaurant_id, fields.session_id, lock=True)
    assert named is not None  # checked when the close was projected
    session = named
    if named["status"] == "merged":
        session = await session_row(conn, restaurant_id, named["merged_into"], lock=True)
        assert session is not None
    if session["status"] == "closed":
        return None
    reckoning = await cash.reckon(conn, session, until=fields.at)
    expected = reckoning.expected.total
    counted = count_total(fields.counts)
    difference = over_short(counted, expected)
    threshold = await load_threshold(conn, restaurant_id)
    flagged = is_flagged(difference, threshold)
    await conn.execute(
        "UPDATE drawer_sessions SET status = 'closed', closed_at = $2, closed_by = $3,"
        " closed_device_id = $4, counts = $5, counted_cash = $6, expected_cash = $7,"
        " over_short = $8, flagged = $9, close_id = $10, threshold = $11 WHERE id = $1",
        session["id"],
        fields.at,
        fields.employee_id,
        fields.device_id,
        json.dumps(fields.counts),
        counted,
        expected,
        difference,
        flagged,
        close_id,
        threshold,
    )
    await publish(conn, restaurant_id, session["id"])
    await record_in(
        conn,
        restaurant_id=restaurant_id,
        action="cashup.drawer_closed",
        actor_kind="employee",
        actor_id=fields.employee_id,
        device_id=fields.device_id,
        target_type="drawer_session",
        target_id=str(session["id"]),
        details={
            "counted_cash": counted,
            "expected_cash": expected,
            "over_short": difference,
            "threshold": threshold,
            "flagged": flagged,
            "close_id": str(close_id),
        },
    )
    return await session_row(conn, restaurant_id, session["id"])


async def publish(conn: asyncpg.Connection, restaurant_id: UUID, session_id: UUID) -> None:
    """Send a session's standing to its location's iPads. The expected figures ride along
    once it is closed; the app shows them, and the over/short, to managers only."""
    row = await session_row(conn, restaurant_id, session_id)
    assert row is not None
    await store.server_change(
        conn,
        restaurant_id=restaurant_id,
        entity_type=SESSION_ENTITY,
        entity_id=session_id,
        location_id=row["location_id"],
        data=session_entity(row),
    )


def session_entity(row: asyncpg.Record) -> dict[str, Any]:
    def at(value: datetime | None) -> str | None:
        return None if value is None else instant(value)

    def text(value: UUID | None) -> str | None:
        return None if value is None else str(value)

    return {
        "drawer_id": str(row["drawer_id"]),
        "status": row["status"],
        "merged_into": text(row["merged_into"]),
        "opened_at": instant(row["opened_at"]),
        "opened_by": str(row["opened_by"]),
        "opening_float": row["opening_float"],
        "closed_at": at(row["closed_at"]),
        "closed_by": text(row["closed_by"]),
        "counted_cash": row["counted_cash"],
        "expected_cash": row["expected_cash"],
        "over_short": row["over_short"],
        "threshold": row["threshold"],
        "flagged": row["flagged"],
    }
