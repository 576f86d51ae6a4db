"""Tombstone GC across restaurants (``feed.purge_all_tombstones``): what ``fynlo sync gc`` and the
server's hourly run do."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

import httpx
from litestar import Litestar

from server.auth.tables import Role
from server.db.engine import DB
from server.sync.feed import purge_all_tombstones
from tests.factories import Tenant, make_ipad
from tests.integration.sync.test_push_rules import device


async def tombstone_and_live_row(app: Litestar, client: httpx.AsyncClient, tenant: Tenant) -> None:
    """A deleted table state and a live one."""
    till = await device(client, await make_ipad(app, tenant, signed_in=Role.manager))
    gone, kept = uuid4(), uuid4()
    till.edit("table_state", gone, {"status": "seated"})
    till.edit("table_state", kept, {"status": "seated"})
    assert await till.sync()
    till.delete("table_state", gone)
    assert await till.sync()


async def rows(tenant: Tenant) -> dict[bool, int]:
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        found = await conn.fetch(
            "SELECT deleted, count(*) FROM sync_entities WHERE restaurant_id = $1"
            " AND entity_type = 'table_state' GROUP BY deleted",
            tenant.restaurant_id,
        )
    return {row["deleted"]: row["count"] for row in found}


async def test_gc_purges_every_restaurants_old_tombstones_and_keeps_live_rows(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    for restaurant in (tenant, other_tenant):
        await tombstone_and_live_row(app, client, restaurant)
        assert await rows(restaurant) == {False: 1, True: 1}

    await purge_all_tombstones(max_offline=timedelta(days=1))
    assert await rows(tenant) == {False: 1, True: 1}  # too young to go
    await asyncio.sleep(0.01)  # older than a cutoff of now
    assert await purge_all_tombstones(max_offline=timedelta(0)) >= 2

    for restaurant in (tenant, other_tenant):
        assert await rows(restaurant) == {False: 1}
