"""Three ``fynlo serve`` processes on one PostgreSQL and one Redis (issue 21, item 5).

Several iPads push batches spread across the servers, each iPad's consecutive pushes landing
on different ones; one server is SIGKILLed with a push in flight and the iPad retries the same
batch on another. Then: every change applied exactly once (each device's sequence, the rows),
a pull from any surviving server sees everything, a socket on each server hears the poke for a
push made on another, and each background job's lease is held by exactly one server at a
time, the killed holder's taken over by a survivor once it expires.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from litestar import Litestar

from server.auth.tables import Role
from server.db.engine import DB
from server.settings import Settings
from tests.e2e.processes import stop
from tests.factories import Ipad, Tenant, make_ipad
from tests.integration.realtime.conftest import Server, next_of, serve, socket
from tests.integration.sync.test_push_rules import change, order_fields, prefix_of
from tests.optional import require
from tests.redis_server import redis_server

DEVICES = 3
BATCHES = 6
ORDERS_PER_BATCH = 5  # an order and a line each: 10 changes a batch
BIG = 150
"""Orders in the batch in flight when its server is killed: long enough to be caught open."""
LEASE_SECONDS = 4
LEASES = ("payments_sweep", "tombstone_gc")
WAIT_SECONDS = 20.0


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    require("redis")
    with redis_server() as redis:
        yield redis.url


@pytest.fixture
def fleet(app: Litestar, settings: Settings, redis_url: str) -> Iterator[list[Server]]:
    servers: list[Server] = []
    try:
        for _ in range(3):
            servers.append(
                serve(
                    settings,
                    FYNLO_REDIS_URL=redis_url,
                    FYNLO_BACKGROUND_LEASE_SECONDS=str(LEASE_SECONDS),
                )
            )
        yield servers
    finally:
        for server in servers:
            if server.process.poll() is None:
                stop(server.process, signal.SIGTERM)
            elif server.process.stdout is not None:  # the one killed
                server.process.stdout.close()


def batch(
    ipad: Ipad, prefix: str, first_seq: int, first_number: int, orders: int = ORDERS_PER_BATCH
) -> dict[str, Any]:
    changes = []
    for offset in range(orders):
        number = first_number + offset
        order_id = uuid4()
        seq = first_seq + 2 * offset
        changes.append(change(ipad, seq, "order", order_id, order_fields(prefix, number)))
        line = {
            "order_id": str(order_id),
            "name": f"Dish {number}",
            "unit_price": 100 + number,
            "quantity": 1,
            "vat_rate_bp": 2000,
        }
        changes.append(change(ipad, seq + 1, "order_line", uuid4(), line))
    return {
        "batch_id": str(uuid4()),
        "device_id": str(ipad.device_id),
        "schema_version": 1,
        "app_version": "1.0.0",
        "changes": [ipad.signed(c) for c in changes],
    }


async def push_until_acknowledged(
    servers: list[Server], first: int, ipad: Ipad, body: dict[str, Any]
) -> int:
    """Push ``body`` to ``servers[first]``, then to the next on a lost answer, as an iPad
    retries; answers the index of the server that acknowledged it."""
    async with httpx.AsyncClient(timeout=WAIT_SECONDS, trust_env=False) as http:
        for attempt in range(3 * len(servers)):
            index = (first + attempt) % len(servers)
            if servers[index].process.poll() is not None:
                continue
            try:
                answer = await http.post(
                    f"{servers[index].base}/api/v1/sync/push", json=body, headers=ipad.headers
                )
            except httpx.TransportError:
                await asyncio.sleep(0.2)
                continue
            assert answer.status_code == 200, answer.text
            results = answer.json()["results"]
            assert [r["seq"] for r in results] == [c["seq"] for c in body["changes"]]
            assert {r["outcome"] for r in results} <= {"applied", "duplicate"}, results
            return index
    raise AssertionError("the batch was never acknowledged")


async def pulled_orders(server: Server, ipad: Ipad) -> set[str]:
    """Every order id a full pull from ``server`` returns to ``ipad``."""
    ids: set[str] = set()
    cursor = None
    async with httpx.AsyncClient(base_url=server.base, timeout=WAIT_SECONDS) as http:
        for _ in range(200):
            params: dict[str, Any] = {"schema_version": 1, "app_version": "1.0.0"}
            if cursor is not None:
                params["cursor"] = cursor
            page = await http.get("/api/v1/sync/pull", params=params, headers=ipad.headers)
            assert page.status_code == 200, page.text
            body = page.json()
            ids |= {c["entity_id"] for c in body["changes"] if c["entity_type"] == "order"}
            cursor = body["cursor"]
            if not body["has_more"]:
                return ids
    raise AssertionError("the pull never ended")


# A transaction that has written something has an xid (``test_sync_crash.py``); the only
# writer while it is polled is the big push (lease renewals are single short statements).
OPEN_WRITES = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
    " AND backend_xid IS NOT NULL AND state <> 'idle'"
)


async def wait_until(sql: str, want: int, *, seconds: float = WAIT_SECONDS) -> bool:
    assert DB.pool is not None
    deadline = time.monotonic() + seconds
    async with DB.pool.acquire() as conn:
        while time.monotonic() < deadline:
            if await conn.fetchval(sql) == want:
                return True
            await asyncio.sleep(0.002)
    return False


LEASE_HELD = re.compile(r'^fynlo_background_lease_held\{name="(\w+)"\} 1\.0$', re.M)


async def leases_held(servers: list[Server]) -> dict[str, list[int]]:
    """For each lease, the indexes of the live servers whose /metrics say they hold it."""
    held: dict[str, list[int]] = {name: [] for name in LEASES}
    async with httpx.AsyncClient(timeout=WAIT_SECONDS, trust_env=False) as http:
        for index, server in enumerate(servers):
            if server.process.poll() is not None:
                continue
            metrics = await http.get(f"{server.base}/metrics")
            for name in LEASE_HELD.findall(metrics.text):
                held.setdefault(name, []).append(index)
    return held


async def holders_in_database() -> dict[str, int]:
    """Each live lease's holder's pid, as the table has it."""
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT name, holder FROM background_leases WHERE expires_at > now()"
        )
    return {row["name"]: int(row["holder"].split(":")[1]) for row in rows}


async def one_holder_each(servers: list[Server]) -> dict[str, int]:
    """Wait until every lease is held by exactly one live server; then check it stays so for
    a few renewals, and that the table agrees. Answers each lease's holder's index."""
    deadline = time.monotonic() + WAIT_SECONDS
    held = await leases_held(servers)
    while any(len(held[name]) != 1 for name in LEASES):
        assert all(len(held[name]) <= 1 for name in LEASES), held  # never two at once
        assert time.monotonic() < deadline, f"leases not taken: {held}"
        await asyncio.sleep(0.2)
        held = await leases_held(servers)
    for _ in range(LEASE_SECONDS * 4):  # samples over a lease length: three renewals
        again = await leases_held(servers)
        assert again == held, (held, again)
        await asyncio.sleep(0.25)
    holders = {name: indexes[0] for name, indexes in held.items() if name in LEASES}
    pids = await holders_in_database()
    assert {name: servers[index].process.pid for name, index in holders.items()} == {
        name: pids[name] for name in LEASES
    }
    return holders


async def test_three_servers_keep_the_sync_invariants_pokes_and_leases(
    app: Litestar, tenant: Tenant, fleet: list[Server]
) -> None:
    servers = fleet
    # A manager signs the batches: their lines are open items, priced by hand.
    ipads = [
        await make_ipad(app, tenant, name=f"Till {n}", signed_in=Role.manager)
        for n in range(DEVICES)
    ]
    prefixes = [await prefix_of(ipad) for ipad in ipads]
    holders = await one_holder_each(servers)

    # A socket on each server hears the poke for a push made on every other.
    listener = await make_ipad(app, tenant, name="Listener")
    async with (
        socket(servers[0], listener.access_token) as ws0,
        socket(servers[1], listener.access_token) as ws1,
        socket(servers[2], listener.access_token) as ws2,
    ):
        sockets = [ws0, ws1, ws2]
        for pusher in range(3):
            body = batch(ipads[pusher], prefixes[pusher], 1, 1)
            assert await push_until_acknowledged(servers, pusher, ipads[pusher], body) == pusher
            for index, ws in enumerate(sockets):
                poke = await next_of(ws, "sync.poke")
                assert poke["location_id"] == str(tenant.location_id), (index, poke)

    # Batches 2..BATCHES: device d's batch b goes to server (d + b) % 3, so one device's
    # consecutive pushes land on different servers. Before batch 3, device 0 sends a big
    # batch to the payment sweep's holder, which is SIGKILLed once the push's transaction is
    # open; the device retries the same batch on the next server.
    victim = holders["payments_sweep"]
    orders = [ORDERS_PER_BATCH] * DEVICES
    seqs = [2 * ORDERS_PER_BATCH] * DEVICES
    landed: list[list[int]] = [[d] for d in range(DEVICES)]
    for number in range(2, BATCHES + 1):
        if number == 3:
            body = batch(ipads[0], prefixes[0], seqs[0] + 1, orders[0] + 1, orders=BIG)
            orders[0] += BIG
            seqs[0] += 2 * BIG
            in_flight = asyncio.create_task(
                push_until_acknowledged(servers, victim, ipads[0], body)
            )
            assert await wait_until(OPEN_WRITES, 1), "the push never opened a transaction"
            servers[victim].process.kill()
            servers[victim].process.wait(timeout=WAIT_SECONDS)
            retried_on = await in_flight
            assert retried_on != victim  # the answer was lost with the server
            landed[0].append(retried_on)
        pushes = []
        for d, ipad in enumerate(ipads):
            body = batch(ipad, prefixes[d], seqs[d] + 1, orders[d] + 1)
            orders[d] += ORDERS_PER_BATCH
            seqs[d] += 2 * ORDERS_PER_BATCH
            pushes.append(push_until_acknowledged(servers, (d + number) % 3, ipad, body))
        for d, index in enumerate(await asyncio.gather(*pushes)):
            landed[d].append(index)
    for d in range(DEVICES):
        assert len(set(landed[d])) >= 2, landed  # each device's pushes went to several servers
        before_the_kill = landed[d][:2]
        assert before_the_kill[0] != before_the_kill[1], landed

    # Exactly once: each device's sequence, its orders and lines, its stored results.
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        for d, ipad in enumerate(ipads):
            device = await conn.fetchrow(
                "SELECT last_seq, (SELECT count(*) FROM sync_results r WHERE r.device_id = $1)"
                " AS results FROM sync_devices WHERE device_id = $1",
                ipad.device_id,
            )
            assert (device["last_seq"], device["results"]) == (seqs[d], seqs[d])
            counted = await conn.fetchval(
                "SELECT count(*) FROM orders WHERE restaurant_id = $1 AND number LIKE $2",
                tenant.restaurant_id,
                f"{prefixes[d]}-%",
            )
            assert counted == orders[d]
        lines = await conn.fetchval(
            "SELECT count(*) FROM order_lines WHERE restaurant_id = $1", tenant.restaurant_id
        )
        assert lines == sum(orders)

    # A pull from any surviving server sees every order.
    expected = sum(orders)
    for server in servers:
        if server.process.poll() is None:
            assert len(await pulled_orders(server, listener)) == expected

    # The killed server's leases are taken over by one survivor each, after they expire.
    taken_over = await one_holder_each(servers)
    assert victim not in taken_over.values()
