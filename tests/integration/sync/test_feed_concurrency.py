"""The pull cursor never skips a committed row, whatever order transactions commit in.

Writers use their own connections, so every row carries a real transaction id, and many of
them hold their transaction open for a while, so commits land out of xid order: the trap of
notes §3 (a cursor on a sequence or timestamp skips the slow transaction's rows). Readers
pull all the while with small pages, some from the first moment, some bootstrapping halfway.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import msgspec
import pytest_asyncio
from litestar import Litestar

import server.sync.entities  # noqa: F401  (registers the entity types write_entities tiers)
from server.db.cluster import PostgresCluster
from server.db.engine import DB
from server.sync import feed
from server.sync.protocol import PullResponse
from server.sync.registry import DeviceContext
from server.sync.rules import Version
from server.sync.store import Current
from server.sync.store import write as write_entities
from tests.factories import Ipad, Tenant, make_ipad
from tests.integration.sync.test_push_pull import prefix_of

# table_state: location-scoped, deletable, and with no projection into domain tables, so the
# writers below exercise only the feed.
ENTITY_TYPE = "table_state"
WRITERS = 20
TRANSACTIONS_PER_WRITER = 12
ENTITIES = 40
READERS = 4


async def pulled(*, device: DeviceContext, cursor: str | None, limit: int) -> PullResponse:
    """A pull's page as the iPad reads it: its JSON decoded as the documented response."""
    page = await feed.pull(device=device, cursor=cursor, limit=limit)
    return msgspec.json.decode(msgspec.json.encode(page), type=PullResponse)


async def device_of(app: Litestar, tenant: Tenant, name: str) -> tuple[Ipad, DeviceContext]:
    ipad = await make_ipad(app, tenant, name=name)
    context = DeviceContext(
        device_id=ipad.device_id,
        restaurant_id=tenant.restaurant_id,
        location_id=tenant.location_id,
        prefix=await prefix_of(ipad),
    )
    return ipad, context


@pytest_asyncio.fixture
async def writer_connections(postgres: PostgresCluster) -> AsyncIterator[list[asyncpg.Connection]]:
    connections = [await asyncpg.connect(postgres.dsn) for _ in range(WRITERS)]
    try:
        yield connections
    finally:
        for conn in connections:
            await conn.close(timeout=5)


def state_of(version: int, writer: str, *, deleted: bool = False) -> Version:
    """The entity's ``version`` is its server clock entry, so tombstones carry it too."""
    data: dict[str, Any] = {} if deleted else {"status": "seated", "covers": 2, "by": writer}
    return Version(data=data, clock={"server": version}, field_hlcs={}, deleted=deleted)


async def current_xid(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT pg_current_xact_id()::text"))


# ---------------------------------------------------------------------------------------
# Readers


@dataclass
class Seen:
    version: int
    deleted: bool
    data: dict[str, Any]


@dataclass
class Reader:
    name: str
    context: DeviceContext
    ipad: Ipad
    client: httpx.AsyncClient | None
    """Pull over HTTP when set, else call the feed directly."""
    from_start: bool
    cursor: str | None = None
    pages: int = 0
    last: dict[UUID, Seen] = field(default_factory=dict)
    delivered: set[tuple[UUID, int]] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    async def pull(self, limit: int) -> tuple[list[dict[str, Any]], bool]:
        if self.client is None:
            page: dict[str, Any] = msgspec.json.decode(
                msgspec.json.encode(
                    await feed.pull(device=self.context, cursor=self.cursor, limit=limit)
                )
            )
        else:
            params: dict[str, Any] = {"schema_version": 1, "app_version": "1.0.0", "limit": limit}
            if self.cursor:
                params["cursor"] = self.cursor
            response = await self.client.get(
                "/api/v1/sync/pull", params=params, headers=self.ipad.headers
            )
            assert response.status_code == 200, response.text
            page = response.json()
        assert len(page["changes"]) <= limit
        self.cursor = page["cursor"]
        self.pages += 1
        for change in page["changes"]:
            self.absorb(change)
        return page["changes"], bool(page["has_more"])

    def absorb(self, change: dict[str, Any]) -> None:
        assert change["entity_type"] == ENTITY_TYPE
        entity_id = UUID(change["entity_id"])
        seen = Seen(change["clock"]["server"], change["deleted"], change["data"])
        key = (entity_id, seen.version)
        if key in self.delivered:
            self.problems.append(f"{self.name} got {key} twice")
        self.delivered.add(key)
        before = self.last.get(entity_id)
        if before is not None and before.version >= seen.version:
            self.problems.append(
                f"{self.name} got {entity_id} v{seen.version} after v{before.version}"
            )
        self.last[entity_id] = seen

    def position(self) -> tuple[int, int] | None:
        cursor = feed.decode_cursor(self.cursor)
        return (cursor.xid, cursor.seq) if isinstance(cursor, feed.FeedCursor) else None


async def read_until(reader: Reader, done: asyncio.Event, rng: random.Random) -> None:
    """Pull continuously with small pages until the writers are done."""
    while not done.is_set():
        changes, _ = await reader.pull(rng.randint(1, 7))
        if not changes:
            await asyncio.sleep(rng.uniform(0, 0.01))


async def drain(reader: Reader, target: tuple[int, int], rng: random.Random) -> None:
    """Pull until the feed is exhausted and the cursor has reached the newest row."""
    for _ in range(5000):
        _, has_more = await reader.pull(rng.randint(1, 7))
        position = reader.position()
        if not has_more and position is not None and position >= target:
            return
        if not has_more:
            await asyncio.sleep(0.01)  # a pull's own bookkeeping transaction may hold xmin
    raise AssertionError(f"{reader.name} did not catch up with {target}")


# ---------------------------------------------------------------------------------------
# Writers


@dataclass
class Ledger:
    """What the writers committed, as they saw it."""

    committed: dict[tuple[UUID, int], Version] = field(default_factory=dict)
    commit_xids: list[int] = field(default_factory=list)
    rolled_back: int = 0


class Rollback(Exception):
    pass


async def write_once(
    conn: asyncpg.Connection,
    tenant: Tenant,
    entity_ids: list[UUID],
    writer: str,
    rng: random.Random,
    ledger: Ledger,
) -> None:
    written: dict[tuple[UUID, int], Version] = {}
    try:
        async with conn.transaction():
            xid = await current_xid(conn)  # take the xid now; commit maybe much later
            if rng.random() < 0.3:
                await asyncio.sleep(rng.uniform(0.05, 0.4))
            else:
                await asyncio.sleep(rng.uniform(0, 0.02))
            states = []
            for entity_id in sorted(entity_ids):  # one lock order: no deadlocks
                # Serialise writers per entity (inserts included), so versions count up in
                # commit order and (entity, version) names one committed write.
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", str(entity_id)
                )
                clock = await conn.fetchval(
                    "SELECT clock FROM sync_entities WHERE restaurant_id = $1"
                    " AND entity_type = $2 AND entity_id = $3",
                    tenant.restaurant_id,
                    ENTITY_TYPE,
                    entity_id,
                )
                version = (json.loads(clock)["server"] if clock else 0) + 1
                state = state_of(version, writer, deleted=rng.random() < 0.15)
                written[(entity_id, version)] = state
                states.append((ENTITY_TYPE, entity_id, Current(tenant.location_id, state)))
            await write_entities(conn, tenant.restaurant_id, states)
            if rng.random() < 0.2:
                await asyncio.sleep(rng.uniform(0, 0.03))  # hold the row locks a little
            if rng.random() < 0.05:
                raise Rollback
    except Rollback:
        ledger.rolled_back += 1
        return
    ledger.commit_xids.append(xid)
    ledger.committed.update(written)


async def run_writer(
    conn: asyncpg.Connection,
    tenant: Tenant,
    entity_ids: list[UUID],
    number: int,
    rng: random.Random,
    ledger: Ledger,
) -> None:
    for round_ in range(TRANSACTIONS_PER_WRITER):
        chosen = rng.sample(entity_ids, rng.randint(1, 3))
        if rng.random() < 0.5:
            # A new entity written once: if its one row were skipped, no later write would
            # hide that, as rewriting a shared entity would.
            chosen.append(UUID(int=rng.getrandbits(128), version=4))
        await write_once(conn, tenant, chosen, f"w{number}/{round_}", rng, ledger)


def inversions(xids: list[int]) -> int:
    """Pairs of transactions that committed in the opposite order of their xids."""
    return sum(1 for a, b in itertools.combinations(xids, 2) if a > b)


async def database_states(tenant: Tenant) -> dict[UUID, Seen]:
    assert DB.pool is not None
    rows = await DB.pool.fetch(
        "SELECT entity_id, data, clock, deleted FROM sync_entities WHERE restaurant_id = $1",
        tenant.restaurant_id,
    )
    return {
        row["entity_id"]: Seen(
            json.loads(row["clock"])["server"], row["deleted"], json.loads(row["data"])
        )
        for row in rows
    }


async def newest_position(tenant: Tenant) -> tuple[int, int]:
    assert DB.pool is not None
    row = await DB.pool.fetchrow(
        "SELECT change_xid::text AS xid, change_seq FROM sync_entities WHERE restaurant_id = $1"
        " ORDER BY change_xid DESC, change_seq DESC LIMIT 1",
        tenant.restaurant_id,
    )
    return int(row["xid"]), int(row["change_seq"])


async def test_concurrent_writers_with_slow_commits_never_make_a_reader_skip_a_row(
    app: Litestar,
    client: httpx.AsyncClient,
    tenant: Tenant,
    writer_connections: list[asyncpg.Connection],
) -> None:
    rng = random.Random(20261126)
    entity_ids = [uuid4() for _ in range(ENTITIES)]
    readers = []
    for number in range(READERS):
        ipad, context = await device_of(app, tenant, f"Reader {number}")
        readers.append(
            Reader(
                name=f"reader{number}",
                context=context,
                ipad=ipad,
                client=client if number == 0 else None,  # one reader goes through HTTP
                from_start=number < 2,  # the others bootstrap while the writers write
            )
        )
    ledger = Ledger()
    writers_done = asyncio.Event()

    async def writers() -> None:
        try:
            await asyncio.gather(
                *(
                    run_writer(conn, tenant, entity_ids, n, random.Random(rng.random()), ledger)
                    for n, conn in enumerate(writer_connections)
                )
            )
        finally:
            writers_done.set()

    async def reader_task(reader: Reader) -> None:
        reader_rng = random.Random(rng.random())
        if not reader.from_start:
            await asyncio.sleep(reader_rng.uniform(0.3, 0.8))
        await read_until(reader, writers_done, reader_rng)

    async with asyncio.timeout(25):
        for reader in readers[:2]:
            await reader.pull(5)  # bootstrap an empty location before any write
        await asyncio.gather(writers(), *(reader_task(reader) for reader in readers))
        target = await newest_position(tenant)
        await asyncio.gather(*(drain(reader, target, random.Random(1)) for reader in readers))

    stored = await database_states(tenant)
    # The writers' own record and the database agree, and the trap was really set.
    assert len(ledger.commit_xids) > WRITERS * TRANSACTIONS_PER_WRITER // 2
    assert inversions(ledger.commit_xids) > 0, "no transaction committed out of xid order"
    newest: dict[UUID, int] = {}
    for entity_id, version in ledger.committed:
        newest[entity_id] = max(newest.get(entity_id, 0), version)
    assert {entity_id: seen.version for entity_id, seen in stored.items()} == newest
    for entity_id, seen in stored.items():
        assert ledger.committed[(entity_id, seen.version)].data == seen.data

    live = {entity_id: seen for entity_id, seen in stored.items() if not seen.deleted}
    for reader in readers:
        assert reader.problems == []
        # Everything a reader got was committed, with the content that was committed.
        for entity_id, version in reader.delivered:
            assert (entity_id, version) in ledger.committed, f"{reader.name}: uncommitted write"
        # Each entity's final state reached every reader: its local copy is the database.
        held = {entity_id: seen for entity_id, seen in reader.last.items() if not seen.deleted}
        assert held == live, reader.name
        for entity_id, seen in stored.items():
            if reader.from_start or entity_id in reader.last:
                assert reader.last[entity_id] == seen, f"{reader.name}: {entity_id}"
        assert reader.pages > 10, f"{reader.name} hardly pulled"


async def test_a_slow_older_transaction_is_not_skipped_when_a_newer_one_commits_first(
    app: Litestar, tenant: Tenant, writer_connections: list[asyncpg.Connection]
) -> None:
    _, device = await device_of(app, tenant, "Reader")
    t1, t2 = writer_connections[0], writer_connections[1]
    slow, quick = uuid4(), uuid4()

    async def pull(cursor: str) -> tuple[list[UUID], str]:
        page = await pulled(device=device, cursor=cursor, limit=10)
        assert page.phase == "feed"
        return [change.entity_id for change in page.changes], page.cursor

    async with asyncio.timeout(10):
        first = await pulled(device=device, cursor=None, limit=10)
        assert first.changes == [] and first.phase == "snapshot"
        cursor = first.cursor

        older = t1.transaction()
        await older.start()
        try:
            xid1 = await current_xid(t1)  # T1 takes its xid and holds it
            async with t2.transaction():
                xid2 = await current_xid(t2)
                await write_entities(
                    t2,
                    tenant.restaurant_id,
                    [(ENTITY_TYPE, quick, Current(tenant.location_id, state_of(1, "t2")))],
                )
            assert xid1 < xid2  # T2 is newer and has committed

            seen, cursor = await pull(cursor)
            assert seen == [], "T2's row was served while the older T1 could still commit"
            # T1 writes only now, after T2's commit, yet its row sorts before T2's.
            await write_entities(
                t1,
                tenant.restaurant_id,
                [(ENTITY_TYPE, slow, Current(tenant.location_id, state_of(1, "t1")))],
            )
            seen, cursor = await pull(cursor)
            assert seen == []
        finally:
            await older.commit()

        seen, cursor = await pull(cursor)
        assert seen == [slow, quick]  # feed order is xid order, not commit order
        seen, cursor = await pull(cursor)
        assert seen == []


async def test_a_rolled_back_older_transaction_releases_the_newer_rows(
    app: Litestar, tenant: Tenant, writer_connections: list[asyncpg.Connection]
) -> None:
    _, device = await device_of(app, tenant, "Reader")
    t1, t2 = writer_connections[0], writer_connections[1]
    abandoned, kept = uuid4(), uuid4()
    async with asyncio.timeout(10):
        cursor = (await pulled(device=device, cursor=None, limit=10)).cursor
        older = t1.transaction()
        await older.start()
        try:
            await write_entities(
                t1,
                tenant.restaurant_id,
                [(ENTITY_TYPE, abandoned, Current(tenant.location_id, state_of(1, "t1")))],
            )
            async with t2.transaction():
                await write_entities(
                    t2,
                    tenant.restaurant_id,
                    [(ENTITY_TYPE, kept, Current(tenant.location_id, state_of(1, "t2")))],
                )
            page = await pulled(device=device, cursor=cursor, limit=10)
            assert page.changes == [] and page.cursor == cursor
        finally:
            await older.rollback()
        page = await pulled(device=device, cursor=cursor, limit=10)
        assert [change.entity_id for change in page.changes] == [kept]
        assert not page.has_more


async def test_the_snapshot_hands_over_to_the_feed_at_its_watermark_without_gap_or_overlap(
    app: Litestar, tenant: Tenant, writer_connections: list[asyncpg.Connection]
) -> None:
    _, device = await device_of(app, tenant, "New iPad")
    t1, t2, t3 = writer_connections[:3]
    before = [uuid4() for _ in range(3)]
    slow, quick = uuid4(), uuid4()

    def states(*entity_ids: UUID) -> list[tuple[str, UUID, Current]]:
        return [
            (ENTITY_TYPE, entity_id, Current(tenant.location_id, state_of(1, "w")))
            for entity_id in entity_ids
        ]

    snapshot: list[UUID] = []
    fed: list[UUID] = []
    async with asyncio.timeout(10):
        async with t3.transaction():
            await write_entities(t3, tenant.restaurant_id, states(*before))
        older = t1.transaction()
        await older.start()
        try:
            xid1 = await current_xid(t1)
            await write_entities(t1, tenant.restaurant_id, states(slow))
            async with t2.transaction():
                await write_entities(t2, tenant.restaurant_id, states(quick))
            # Bootstrapping starts while T1 is open: its xid is the watermark.
            page = await pulled(device=device, cursor=None, limit=1)
            cursor = feed.decode_cursor(page.cursor)
            assert isinstance(cursor, feed.SnapshotCursor) and cursor.watermark == xid1
            snapshot += [change.entity_id for change in page.changes]
        finally:
            await older.commit()  # T1's row now exists, stamped exactly at the watermark

        for _ in range(20):
            page = await pulled(device=device, cursor=page.cursor, limit=1)
            ids = [change.entity_id for change in page.changes]
            (snapshot if page.phase == "snapshot" else fed).extend(ids)
            if not page.has_more:
                break

    assert sorted(snapshot) == sorted(before)  # committed below the watermark
    assert fed == [slow, quick]  # at or above it: through the feed, once, in xid order
