"""The floor plan of each location."""

from __future__ import annotations

from uuid import UUID, uuid4

import asyncpg
import msgspec

from server import events
from server.db import scoped
from server.db.engine import DB
from server.errors import Conflict
from server.floor import schemas as s
from server.floor.tables import FloorTable
from server.pagination import Page, Position
from server.restaurants.tables import Location
from server.sync.store import record_server_change


async def list_tables(
    *,
    restaurant_id: UUID,
    location_id: UUID | None,
    include_archived: bool,
    after: Position | None,
    limit: int,
) -> Page[s.FloorTable]:
    filters: list[scoped.Condition] = []
    if location_id is not None:
        filters.append(FloorTable.location_id == location_id)
    if not include_archived:
        filters.append(FloorTable.archived == False)  # noqa: E712
    rows, cursor = await scoped.page(
        FloorTable,
        restaurant_id=restaurant_id,
        filters=filters,
        sort=FloorTable.created_at,
        after=after,
        limit=limit,
        newest_first=False,
    )
    return Page(items=msgspec.convert(rows, list[s.FloorTable]), next_cursor=cursor)


async def get_table(*, restaurant_id: UUID, table_id: UUID) -> s.FloorTable:
    row = await scoped.get_or_raise(FloorTable, restaurant_id=restaurant_id, row_id=table_id)
    return msgspec.convert(row, s.FloorTable)


async def create_table(*, restaurant_id: UUID, body: s.FloorTableCreate) -> s.FloorTable:
    await scoped.require_reference(
        Location, restaurant_id=restaurant_id, row_id=body.location_id, field="location_id"
    )
    table_id = body.id or uuid4()
    await scoped.refuse_taken_id(FloorTable, table_id)
    values = {**msgspec.structs.asdict(body), "id": table_id, "restaurant_id": restaurant_id}
    async with events.collect(), DB.transaction():
        try:
            row = await scoped.insert(FloorTable, values)
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(
                "this location already has a table with that name", field="name"
            ) from exc
        published = await _published(restaurant_id, msgspec.convert(row, s.FloorTable))
    return published


async def update_table(
    *, restaurant_id: UUID, table_id: UUID, body: s.FloorTableUpdate
) -> s.FloorTable:
    values = scoped.changes(msgspec.structs.asdict(body))
    async with events.collect(), DB.transaction():
        try:
            row = await scoped.update_or_raise(
                FloorTable, restaurant_id=restaurant_id, row_id=table_id, values=values
            )
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(
                "this location already has a table with that name", field="name"
            ) from exc
        published = await _published(restaurant_id, msgspec.convert(row, s.FloorTable))
    return published


async def _published(restaurant_id: UUID, table: s.FloorTable) -> s.FloorTable:
    """Send the saved table to the iPads at its location and hand it back; called in the
    transaction that saved it, so a table is never saved without being sent."""
    await record_server_change(
        restaurant_id=restaurant_id,
        entity_type="floor_table",
        entity_id=table.id,
        location_id=table.location_id,
        data=msgspec.to_builtins(table),
    )
    return table
