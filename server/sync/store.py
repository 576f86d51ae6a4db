"""The one way into synced state. Every writer of a synced entity comes through here: an
iPad's push (``engine``), the back office, payment settlement, the demo loader.

- :func:`lock` takes the entities' locks (an advisory lock per entity, so one that does not
  exist yet is covered too, in one sorted order so writers cannot deadlock; then the rows)
  and returns their current states.
- :func:`write` stores new states, each stamped with this transaction's feed position, and
  hands them to their domain's projection (``registry``), which writes the domain's tables.
- :func:`server_change` is the server as an actor: under the same locks, it lays its fields
  over the current state with its own clock entry and an HLC later than every field's, so
  the change dominates what any iPad has seen and an iPad's stale edit cannot undo it.
- :func:`after_batch` runs domain work once a whole batch is written (an order is settled
  after every change of the push that paid it), so one batch reads as one decision.

Nothing else writes ``sync_entities``; ``feed`` reads it to serve pulls.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from server import events
from server.db.engine import DB, connection
from server.sync import registry
from server.sync.clock import Hlc, format_hlc, increment, parse_hlc, receive
from server.sync.registry import Written
from server.sync.rules import Version

SERVER_ACTOR = "server"

Key = tuple[str, UUID]


@dataclass
class Current:
    location_id: UUID | None
    version: Version


AfterBatch = Callable[[asyncpg.Connection], Awaitable[None]]
_after_batch: ContextVar[dict[Any, AfterBatch] | None] = ContextVar("after_batch", default=None)
_writing: ContextVar[dict[str, list[Written]] | None] = ContextVar("writing", default=None)


async def lock(
    conn: asyncpg.Connection, restaurant_id: UUID, keys: Sequence[Key]
) -> dict[Key, Current]:
    """The current states of ``keys``, locked until the transaction ends.

    Row locks cannot cover an entity that does not exist yet, so two writers creating the
    same one at once (availability ids are derived, not random) would both see "new" and
    the second write would replace the first. A transaction-scoped advisory lock per entity,
    taken in one sorted order, serialises them without deadlocks. The rows are read by a
    statement of their own: its snapshot, taken once the advisory locks are held, sees an
    entity that the writer it waited for has just created.
    """
    types = [entity_type for entity_type, _ in keys]
    ids = [entity_id for _, entity_id in keys]
    await conn.execute(
        "SELECT pg_advisory_xact_lock(key) FROM (SELECT DISTINCT hashtextextended("
        "$1::text || ':' || kind || ':' || id::text, 0) AS key"
        " FROM unnest($2::text[], $3::uuid[]) AS batch (kind, id) ORDER BY key) AS keys",
        str(restaurant_id),
        types,
        ids,
    )
    rows = await conn.fetch(
        "SELECT entity_type, entity_id, location_id, data, clock, field_hlcs, deleted"
        " FROM sync_entities WHERE restaurant_id = $1 AND (entity_type, entity_id) IN"
        " (SELECT * FROM unnest($2::text[], $3::uuid[])) ORDER BY entity_type, entity_id"
        " FOR UPDATE",
        restaurant_id,
        types,
        ids,
    )
    return {(row["entity_type"], row["entity_id"]): _current(row) for row in rows}


async def write(
    conn: asyncpg.Connection, restaurant_id: UUID, states: Sequence[tuple[str, UUID, Current]]
) -> None:
    """Store states (locked by the caller), stamped with this transaction's feed position;
    then project them into their domains' tables."""
    for entity_type, _, _ in states:
        if registry.registered(entity_type) is None:  # a writer that skipped sync.entities
            raise LookupError(f"entity type {entity_type!r} is not registered")
    # One statement for the whole batch, the rows as arrays: a statement per row would cost
    # PostgreSQL a parse-bind-execute each (asyncpg's executemany runs one per row).
    await conn.execute(
        "INSERT INTO sync_entities (restaurant_id, entity_type, entity_id, location_id, data,"
        " clock, field_hlcs, deleted, tier) SELECT $1, kind, id, location_id, data::jsonb,"
        " clock::jsonb, field_hlcs::jsonb, deleted, tier FROM unnest($2::text[], $3::uuid[],"
        " $4::uuid[], $5::text[], $6::text[], $7::text[], $8::boolean[], $9::smallint[])"
        " AS written (kind, id, location_id, data, clock, field_hlcs, deleted, tier)"
        " ON CONFLICT (restaurant_id, entity_type, entity_id) DO UPDATE SET"
        " location_id = excluded.location_id, data = excluded.data, clock = excluded.clock,"
        " field_hlcs = excluded.field_hlcs, deleted = excluded.deleted, tier = excluded.tier,"
        " change_xid = pg_current_xact_id(), change_seq = nextval('sync_change_seq'),"
        " updated_at = now()",
        restaurant_id,
        [entity_type for entity_type, _, _ in states],
        [entity_id for _, entity_id, _ in states],
        [current.location_id for _, _, current in states],
        [_json(current.version.data) for _, _, current in states],
        [_json(current.version.clock) for _, _, current in states],
        [_json(current.version.field_hlcs) for _, _, current in states],
        [current.version.deleted for _, _, current in states],
        [_tier(entity_type, current.version.data) for entity_type, _, current in states],
    )
    by_type: dict[str, list[Written]] = {}
    for entity_type, entity_id, current in states:
        by_type.setdefault(entity_type, []).append(
            Written(entity_id, current.location_id, current.version)
        )
    # Projections run parents first (orders, then their lines, then the payments that settle
    # them: ``registry.entity_types_in_order``), whatever order the batch had, and each sees
    # the whole write (``written_now``) to leave to a later one what it will do anyway.
    token = _writing.set(by_type)
    try:
        for entity_type in registry.entity_types_in_order():
            entry = registry.registered(entity_type)
            if entity_type in by_type and entry is not None and entry.project is not None:
                await entry.project(conn, restaurant_id, by_type[entity_type])
    finally:
        _writing.reset(token)


def written_now(entity_type: str) -> Sequence[Written]:
    """The states of ``entity_type`` that the ``write`` being projected stores (none outside
    one): a projection skips what another projection of the same write will do."""
    return (_writing.get() or {}).get(entity_type, [])


async def server_change(
    conn: asyncpg.Connection,
    *,
    restaurant_id: UUID,
    entity_type: str,
    entity_id: UUID,
    location_id: UUID | None,
    data: dict[str, Any],
    deleted: bool = False,
    current: Current | None = None,
) -> Version:
    """Write the server's fields of an entity so every device pulls them, then poke them.

    Fields the server does not set (an iPad's notes) are kept. Pass ``current`` when the
    caller has already locked the entity (to check a rule against it); otherwise it is
    locked here. Runs in the caller's transaction.
    """
    if current is None:
        current = (await lock(conn, restaurant_id, [(entity_type, entity_id)])).get(
            (entity_type, entity_id)
        )
    before = current.version if current is not None else Version(data={}, clock={}, field_hlcs={})
    version = Version(
        data={**before.data, **data},
        clock=increment(before.clock, SERVER_ACTOR),
        field_hlcs={**before.field_hlcs, **dict.fromkeys(data, server_hlc(before))},
        deleted=deleted,
    )
    await write(conn, restaurant_id, [(entity_type, entity_id, Current(location_id, version))])
    await events.announce(
        events.SyncPoke(
            restaurant_id=str(restaurant_id),
            location_id=None if location_id is None else str(location_id),
        )
    )
    return version


async def record_server_change(
    *,
    restaurant_id: UUID,
    entity_type: str,
    entity_id: UUID,
    location_id: UUID | None,
    data: dict[str, Any],
    deleted: bool = False,
) -> None:
    """``server_change`` in the caller's Piccolo transaction, or in one of its own."""
    async with transaction() as conn:
        await server_change(
            conn,
            restaurant_id=restaurant_id,
            entity_type=entity_type,
            entity_id=entity_id,
            location_id=location_id,
            data=data,
            deleted=deleted,
        )


@contextlib.asynccontextmanager
async def transaction() -> AsyncIterator[asyncpg.Connection]:
    """The connection of the caller's Piccolo transaction, or a new transaction whose events
    are published once it commits."""
    running = DB.current_transaction.get()
    if running is not None:
        yield running.connection
        return
    async with events.collect(), connection() as conn, conn.transaction():
        yield conn


def server_hlc(before: Version) -> str:
    """Now, or just after the newest HLC the entity holds if a device's clock runs ahead."""
    newest = max((parse_hlc(hlc) for hlc in before.field_hlcs.values()), default=None)
    now_ms = int(time.time() * 1000)
    if newest is None:
        return format_hlc(Hlc(wall_ms=now_ms, counter=0, node=SERVER_ACTOR))
    return format_hlc(receive(None, newest, now_ms=now_ms, node=SERVER_ACTOR))


async def after_batch(conn: asyncpg.Connection, key: Any, work: AfterBatch) -> None:
    """Run ``work`` once the current batch is written, once per ``key``; at once outside one."""
    pending = _after_batch.get()
    if pending is None:
        await work(conn)
    else:
        pending.setdefault(key, work)


@contextlib.asynccontextmanager
async def batch(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """Defer ``after_batch`` work to the end of the block (nested blocks join the outer)."""
    if _after_batch.get() is not None:
        yield
        return
    token = _after_batch.set({})
    try:
        yield
        await _drain(conn)
    finally:
        _after_batch.reset(token)


async def _drain(conn: asyncpg.Connection) -> None:
    pending = _after_batch.get()
    assert pending is not None
    # Work may defer more work (settling writes an order); bounded by the entities it touches.
    for _ in range(100):
        if not pending:
            return
        key = next(iter(pending))
        work = pending.pop(key)
        await work(conn)
    raise RuntimeError("after-batch work kept deferring more work")


def _current(row: asyncpg.Record) -> Current:
    return Current(
        row["location_id"],
        Version(
            data=msgspec.json.decode(row["data"]),
            clock=msgspec.json.decode(row["clock"]),
            field_hlcs=msgspec.json.decode(row["field_hlcs"]),
            deleted=row["deleted"],
        ),
    )


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


def _tier(entity_type: str, data: dict[str, Any]) -> int:
    entry = registry.registered(entity_type)
    return entry.tier(data) if entry is not None else 9


def state_json(version: Version) -> str:
    """A version as the conflict log keeps it."""
    return json.dumps({"data": version.data, "clock": version.clock, "deleted": version.deleted})


@dataclass
class Child:
    entity_id: UUID
    parent_id: UUID
    data: dict[str, Any]
    tier: int


async def children(
    conn: asyncpg.Connection,
    restaurant_id: UUID,
    entity_type: str,
    parent_field: str,
    parent_ids: Sequence[UUID],
) -> list[Child]:
    """The stored entities of ``entity_type`` whose ``parent_field`` names one of
    ``parent_ids`` (an order's lines), whether or not their parent's rows exist yet."""
    rows = await conn.fetch(
        "SELECT entity_id, (data->>$3)::uuid AS parent_id, data, tier FROM sync_entities"
        " WHERE restaurant_id = $1 AND entity_type = $2 AND (data->>$3)::uuid = ANY($4::uuid[])",
        restaurant_id,
        entity_type,
        parent_field,
        parent_ids,
    )
    return [
        Child(row["entity_id"], row["parent_id"], json.loads(row["data"]), row["tier"])
        for row in rows
    ]


async def read(
    conn: asyncpg.Connection, restaurant_id: UUID, keys: Sequence[Key]
) -> dict[Key, Current]:
    """Current states of ``keys`` without locking them (for a derived value such as a tier)."""
    rows = await conn.fetch(
        "SELECT entity_type, entity_id, location_id, data, clock, field_hlcs, deleted"
        " FROM sync_entities WHERE restaurant_id = $1 AND (entity_type, entity_id) IN"
        " (SELECT * FROM unnest($2::text[], $3::uuid[]))",
        restaurant_id,
        [entity_type for entity_type, _ in keys],
        [entity_id for _, entity_id in keys],
    )
    return {(row["entity_type"], row["entity_id"]): _current(row) for row in rows}


async def retier(
    conn: asyncpg.Connection,
    restaurant_id: UUID,
    entity_type: str,
    moved: Sequence[tuple[UUID, int]],
) -> None:
    """Give entities a new bootstrap tier, stamped as a new write.

    A snapshot in progress only walks rows written before it began, so moving one inside it
    could skip or repeat it; devices receive the entity once more through the feed, unchanged.
    """
    if not moved:
        return
    await conn.execute(
        "UPDATE sync_entities AS entity SET tier = moved.tier,"
        " change_xid = pg_current_xact_id(), change_seq = nextval('sync_change_seq')"
        " FROM unnest($3::uuid[], $4::smallint[]) AS moved (entity_id, tier)"
        " WHERE entity.restaurant_id = $1 AND entity.entity_type = $2"
        " AND entity.entity_id = moved.entity_id AND entity.tier <> moved.tier",
        restaurant_id,
        entity_type,
        [entity_id for entity_id, _ in moved],
        [tier for _, tier in moved],
    )
