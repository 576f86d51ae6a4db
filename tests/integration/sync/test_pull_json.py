"""A pull's changes are the stored states' wire form (``sync_entities.state_json``, written
by PostgreSQL) passed on unparsed; they must say what the server's own encoding of the same
states says, for values jsonb prints its own way too, and so must a push's results
(``feed.visible_states``, decoded from the same column)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import msgspec
from litestar import Litestar

import server.sync.entities  # noqa: F401  (registers the entity types write_entities tiers)
from server.db.engine import DB
from server.sync import feed
from server.sync.protocol import EntityState, PullResponse
from server.sync.rules import Version
from server.sync.store import Current
from server.sync.store import write as write_entities
from tests.factories import Tenant
from tests.integration.sync.test_feed_concurrency import device_of

AWKWARD: dict[str, Any] = {
    "note": 'a "quote", a \\ backslash, a\nnewline, a\ttab, \u0001, é, 🍕',
    "ratio": 0.1,
    "tiny": 1e-07,
    "huge": 1e300,
    "price": 1.5,
    "big": 2**70,
    "negative": -3,
    "nested": {"list": [1, 2.5, None, True, "x"], "empty": {}},
    "nothing": None,
}
# Byte order, not the database's collation, decides the newest: "é" sorts after "z".
HLCS = {
    "note": "1795719731000:00001:z-node",
    "ratio": "1795719731000:00001:é-node",
    "tiny": '1795719731000:00000:quote"node',
}


async def test_pulled_states_are_what_the_server_encodes_for_them(
    app: Litestar, tenant: Tenant
) -> None:
    _, device = await device_of(app, tenant, "Reader")
    live, gone = uuid4(), uuid4()
    states = [
        ("table_state", live, Current(tenant.location_id, Version(AWKWARD, {"a": 2**40}, HLCS))),
        ("table_state", gone, Current(tenant.location_id, Version({}, {"a": 3}, {}, True))),
    ]
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        async with conn.transaction():
            await write_entities(conn, tenant.restaurant_id, states)
        keys = [("table_state", live), ("table_state", gone)]
        answered = await feed.visible_states(conn, device, keys)

    # What msgspec writes for these states; jsonb keeps numbers as decimals and prints 1e300
    # in digits, so that is what any answer of this server (before this column too) says.
    expected = {
        live: EntityState(
            entity_type="table_state",
            entity_id=live,
            location_id=tenant.location_id,
            data={**AWKWARD, "huge": 10**300},
            clock={"a": 2**40},
            deleted=False,
            hlc=HLCS["ratio"],
        ),
        gone: EntityState(
            entity_type="table_state",
            entity_id=gone,
            location_id=tenant.location_id,
            data={},
            clock={"a": 3},
            deleted=True,
            hlc=None,
        ),
    }
    body = msgspec.json.encode(await feed.pull(device=device, cursor=None, limit=2000))
    pulled = {
        UUID(state["entity_id"]): state
        for state in msgspec.json.decode(body)["changes"]
        if state["entity_type"] == "table_state"
    }
    assert pulled == {
        entity_id: msgspec.to_builtins(state) for entity_id, state in expected.items()
    }
    assert answered == {("table_state", entity_id): state for entity_id, state in expected.items()}
    assert max(HLCS.values()) == HLCS["ratio"]
    # The whole page reads as the documented response, members and types.
    assert msgspec.json.decode(body, type=PullResponse).phase == "snapshot"
