"""Managing drawers and the over/short threshold from the back office (or a manager's iPad).

A drawer belongs to one location and is synced to its iPads as ``cash_drawer``: each write
goes to the table and through the sync store in one transaction. The threshold is the
restaurant's; setting it is audited with what it replaced.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import msgspec

from server import events
from server.audit.services import record
from server.auth.tokens import Caller
from server.cashup import drawers_schemas as s
from server.cashup.drawers_sessions import DEFAULT_THRESHOLD
from server.db import engine
from server.db.engine import DB
from server.errors import Conflict, NotFound, ValidationFailed
from server.sync import store

DRAWER_ENTITY = "cash_drawer"
_COLUMNS = "id, location_id, name, archived, created_at"


@contextlib.asynccontextmanager
async def _unit_of_work() -> AsyncIterator[asyncpg.Connection]:
    """The table, the sync store and the audit log in one transaction (Piccolo's, so
    ``record`` joins it); devices are poked once it commits."""
    async with events.collect(), DB.transaction(), store.transaction() as conn:
        yield conn


async def list_drawers(
    *, restaurant_id: UUID, location_id: UUID | None, include_archived: bool
) -> list[s.Drawer]:
    async with engine.connection() as conn:
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM cash_drawers WHERE restaurant_id = $1"
            " AND ($2::uuid IS NULL OR location_id = $2) AND ($3 OR NOT archived)"
            " ORDER BY location_id, name",
            restaurant_id,
            location_id,
            include_archived,
        )
    return [s.Drawer(**dict(row)) for row in rows]


async def get_drawer(*, caller: Caller, drawer_id: UUID) -> s.Drawer:
    async with engine.connection() as conn:
        row = await _drawer(conn, caller, drawer_id)
    return s.Drawer(**dict(row))


async def create_drawer(*, caller: Caller, body: s.DrawerCreate) -> s.Drawer:
    location_id = caller.location_id or body.location_id
    if location_id is None:
        raise ValidationFailed("location_id is required from the back office", field="location_id")
    if caller.location_id is not None and body.location_id not in (None, caller.location_id):
        raise ValidationFailed("an iPad adds drawers at its own location", field="location_id")
    drawer_id = body.id or uuid4()
    async with _unit_of_work() as conn:
        known = await conn.fetchval(
            "SELECT true FROM locations WHERE id = $1 AND restaurant_id = $2",
            location_id,
            caller.restaurant_id,
        )
        if not known:
            raise ValidationFailed("no such location", field="location_id")
        if await conn.fetchval("SELECT true FROM cash_drawers WHERE id = $1", drawer_id):
            raise Conflict("a row with this id already exists", field="id")
        row = await conn.fetchrow(
            "INSERT INTO cash_drawers (id, restaurant_id, location_id, name)"
            f" VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING {_COLUMNS}",
            drawer_id,
            caller.restaurant_id,
            location_id,
            body.name,
        )
        if row is None:
            raise Conflict("the location already has a drawer with that name", field="name")
        return await _publish(conn, caller.restaurant_id, s.Drawer(**dict(row)))


async def update_drawer(*, caller: Caller, drawer_id: UUID, body: s.DrawerUpdate) -> s.Drawer:
    """Rename a drawer, or archive it (it can no longer be opened) or bring it back."""
    async with _unit_of_work() as conn:
        await _drawer(conn, caller, drawer_id)
        try:
            row = await conn.fetchrow(
                "UPDATE cash_drawers SET name = coalesce($2, name),"
                f" archived = coalesce($3, archived) WHERE id = $1 RETURNING {_COLUMNS}",
                drawer_id,
                _unset_as_none(body.name),
                _unset_as_none(body.archived),
            )
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(
                "the location already has a drawer with that name", field="name"
            ) from exc
        assert row is not None
        return await _publish(conn, caller.restaurant_id, s.Drawer(**dict(row)))


async def _drawer(conn: asyncpg.Connection, caller: Caller, drawer_id: UUID) -> asyncpg.Record:
    """The caller's drawer; another restaurant's, or another location's for an iPad, is
    missing."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM cash_drawers WHERE id = $1 AND restaurant_id = $2"
        " AND ($3::uuid IS NULL OR location_id = $3)",
        drawer_id,
        caller.restaurant_id,
        caller.location_id,
    )
    if row is None:
        raise NotFound("no such drawer")
    return row


async def _publish(conn: asyncpg.Connection, restaurant_id: UUID, drawer: s.Drawer) -> s.Drawer:
    await store.server_change(
        conn,
        restaurant_id=restaurant_id,
        entity_type=DRAWER_ENTITY,
        entity_id=drawer.id,
        location_id=drawer.location_id,
        data={"name": drawer.name, "archived": drawer.archived},
    )
    return drawer


def _unset_as_none(value: Any) -> Any:
    return None if value is msgspec.UNSET else value


# --- the threshold ----------------------------------------------------------------------------


async def get_settings(*, restaurant_id: UUID) -> s.CashupSettings:
    async with engine.connection() as conn:
        row = await conn.fetchrow(
            "SELECT over_short_threshold, updated_at FROM cashup_settings WHERE restaurant_id = $1",
            restaurant_id,
        )
    if row is None:
        return s.CashupSettings(over_short_threshold=DEFAULT_THRESHOLD, updated_at=None)
    return s.CashupSettings(**dict(row))


async def set_settings(*, caller: Caller, body: s.CashupSettingsUpdate) -> s.CashupSettings:
    """Set the threshold for sessions closed from now on (a closed session keeps the one it
    was closed under), audited with what it replaced."""
    was = await get_settings(restaurant_id=caller.restaurant_id)
    async with _unit_of_work() as conn:
        row = await conn.fetchrow(
            "INSERT INTO cashup_settings (restaurant_id, over_short_threshold) VALUES ($1, $2)"
            " ON CONFLICT (restaurant_id) DO UPDATE SET"
            " over_short_threshold = excluded.over_short_threshold, updated_at = now()"
            " RETURNING over_short_threshold, updated_at",
            caller.restaurant_id,
            body.over_short_threshold,
        )
        await record(
            caller=caller,
            action="cashup.threshold_set",
            target_type="restaurant",
            target_id=str(caller.restaurant_id),
            details={
                "over_short_threshold": body.over_short_threshold,
                "was": was.over_short_threshold,
            },
        )
    return s.CashupSettings(**dict(row))
