"""A device that starts over from an empty cursor learns every deletion's clock (issue 12, #8).

A table's state has a fixed id (the table's), so it is deleted and made again under the same
id. A device that restarts its pull from an empty cursor (after a 410, a lost cursor, a
reinstall under the same enrolment) must still know the clock of a deletion it had seen, or
its next write on that table carries a clock the server's tombstone already dominates and is
answered ``stale``: ignored, with no conflict logged. So snapshots carry tombstones
(``deleted: true``, no data, their clock) until ``fynlo sync gc`` removes them; after that
there is no row, and a write on the id is simply a new entity.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import uuid4

import httpx
from litestar import Litestar

from server.restaurants.tables import Location
from server.sync import feed
from tests.factories import Tenant, make_ipad
from tests.integration.sync.test_push_rules import conflicts, device, pull_page


async def test_a_restarted_device_writes_a_deleted_table_again_and_it_applies(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till_ipad, bar_ipad = await make_ipad(app, tenant), await make_ipad(app, tenant, name="Bar")
    till, bar = await device(client, till_ipad), await device(client, bar_ipad)
    table = uuid4()
    till.edit("table_state", table, {"status": "seated", "covers": 2})
    assert await till.sync() and await bar.sync()
    bar.delete("table_state", table)
    assert await bar.sync()

    # The till starts over from an empty cursor, as the protocol says, keeping its store.
    till.cursor = None
    assert await till.pull()
    assert till.get("table_state", table) is None

    till.edit("table_state", table, {"status": "seated", "covers": 4})
    answer = await till.push()

    assert answer is not None
    [result] = answer["results"]
    assert result["outcome"] == "applied", result
    assert result["state"]["deleted"] is False
    assert result["state"]["data"] == {"status": "seated", "covers": 4}
    # It was judged against the deletion's clock, which the snapshot handed the till.
    assert result["state"]["clock"] == {str(till_ipad.device_id): 2, str(bar_ipad.device_id): 1}
    assert await bar.sync() and await till.sync()
    assert bar.get("table_state", table).data == {"status": "seated", "covers": 4}  # type: ignore[union-attr]
    assert till.store == bar.store
    assert await conflicts(client, tenant) == []


async def test_the_snapshot_carries_tombstones_with_their_clocks_and_only_this_locations(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till_ipad = await make_ipad(app, tenant)
    till = await device(client, till_ipad)
    here, gone = uuid4(), uuid4()
    till.edit("table_state", here, {"status": "seated"})
    till.edit("table_state", gone, {"status": "dirty"})
    assert await till.sync()
    till.delete("table_state", gone)
    assert await till.sync()
    # Another location's tombstone is never this location's business.
    harbour = uuid4()
    await Location.insert(Location(id=harbour, restaurant_id=tenant.restaurant_id, name="Harbour"))
    elsewhere = Tenant(tenant.restaurant_id, harbour, tenant.user_id, tenant.token)
    far = await device(client, await make_ipad(app, elsewhere, name="Harbour till"))
    far_table = uuid4()
    far.edit("table_state", far_table, {"status": "seated"})
    assert await far.sync()
    far.delete("table_state", far_table)
    assert await far.sync()

    newcomer = await make_ipad(app, tenant, name="Newcomer")
    page = await pull_page(client, newcomer)

    assert page.status_code == 200, page.text
    body = page.json()
    assert body["phase"] == "snapshot"
    states: dict[str, dict[str, Any]] = {s["entity_id"]: s for s in body["changes"]}
    assert str(far_table) not in states
    assert states[str(here)]["deleted"] is False
    assert states[str(gone)]["deleted"] is True
    assert states[str(gone)]["data"] == {}
    assert states[str(gone)]["clock"] == {str(till_ipad.device_id): 2}


async def test_after_gc_a_write_on_a_purged_tombstones_id_is_a_new_entity(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till_ipad, bar_ipad = await make_ipad(app, tenant), await make_ipad(app, tenant, name="Bar")
    till, bar = await device(client, till_ipad), await device(client, bar_ipad)
    table = uuid4()
    bar.edit("table_state", table, {"status": "seated", "covers": 2})
    assert await bar.sync() and await till.sync()
    till.delete("table_state", table)
    assert await till.sync()
    await asyncio.sleep(0.01)  # the tombstone must be older than the cutoff
    assert await feed.purge_tombstones(restaurant_id=tenant.restaurant_id, max_offline=timedelta(0))

    assert await bar.pull()  # 410, then from an empty cursor: the table is simply gone
    assert f"table_state/{table}" not in bar.store
    bar.edit("table_state", table, {"status": "dirty"})
    answer = await bar.push()

    assert answer is not None and answer["results"][0]["outcome"] == "applied"
    assert await till.sync() and await bar.sync()
    assert till.get("table_state", table).data == {"status": "dirty"}  # type: ignore[union-attr]
