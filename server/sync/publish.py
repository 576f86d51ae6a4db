"""Changes the server makes itself (the back office editing the menu) enter the feed here."""

from __future__ import annotations

import json
import time
from typing import Any
from uuid import UUID

import asyncpg

from server import events
from server.db.engine import DB
from server.sync.clock import Hlc, format_hlc, increment
from server.sync.engine import SERVER_ACTOR, Current, write_entities
from server.sync.rules import Version


async def record_server_change(
    *,
    restaurant_id: UUID,
    entity_type: str,
    entity_id: UUID,
    location_id: UUID | None,
    data: dict[str, Any],
    deleted: bool = False,
) -> None:
    """Store the server's new state of an entity so every device pulls it, then poke them.

    Runs in the caller's transaction when there is one, so the domain row and its feed
    entry commit together.
    """

    async def write(conn: asyncpg.Connection) -> None:
        await record_server_change_in(
            conn,
            restaurant_id=restaurant_id,
            entity_type=entity_type,
            entity_id=entity_id,
            location_id=location_id,
            data=data,
            deleted=deleted,
        )

    transaction = DB.current_transaction.get()
    if transaction is not None:
        await write(transaction.connection)
        return
    assert DB.pool is not None
    async with events.collect(), DB.pool.acquire() as conn, conn.transaction():
        await write(conn)


async def record_server_change_in(
    conn: asyncpg.Connection,
    *,
    restaurant_id: UUID,
    entity_type: str,
    entity_id: UUID,
    location_id: UUID | None,
    data: dict[str, Any],
    deleted: bool = False,
) -> None:
    """``record_server_change`` on the caller's own asyncpg connection and transaction."""
    await _record(conn, restaurant_id, entity_type, entity_id, location_id, data, deleted)
    await events.announce(
        events.SyncPoke(
            restaurant_id=str(restaurant_id),
            location_id=None if location_id is None else str(location_id),
        )
    )


async def _record(
    conn: asyncpg.Connection,
    restaurant_id: UUID,
    entity_type: str,
    entity_id: UUID,
    location_id: UUID | None,
    data: dict[str, Any],
    deleted: bool,
) -> None:
    previous = await conn.fetchrow(
        "SELECT data, clock, field_hlcs FROM sync_entities WHERE restaurant_id = $1"
        " AND entity_type = $2 AND entity_id = $3 FOR UPDATE",
        restaurant_id,
        entity_type,
        entity_id,
    )
    before: dict[str, Any] = json.loads(previous["data"]) if previous else {}
    hlcs: dict[str, str] = json.loads(previous["field_hlcs"]) if previous else {}
    clock = increment(json.loads(previous["clock"]) if previous else {}, SERVER_ACTOR)
    hlc = format_hlc(Hlc(wall_ms=int(time.time() * 1000), counter=0, node=SERVER_ACTOR))
    # Fields the server does not set (an iPad's portion count) are kept.
    version = Version(
        data={**before, **data},
        clock=clock,
        field_hlcs={**hlcs, **dict.fromkeys(data, hlc)},
        deleted=deleted,
    )
    await write_entities(
        conn, restaurant_id, [(entity_type, entity_id, Current(location_id, version))]
    )
