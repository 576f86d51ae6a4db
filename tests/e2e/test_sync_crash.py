"""``kill -9`` the server in the middle of a big push: the retried batch applies exactly once.

Reliability notes E1 (Jepsen's "set" workload, one device): a real ``fynlo serve`` on the
session's database takes a 400-change batch, and is killed while PostgreSQL shows the push's
transaction open, at a few depths into it (``KILL_DELAYS``), and restarted each time. At least
one kill must land mid-transaction: open when the server died, rolled back by PostgreSQL
after. A kill that comes after the commit ends the series (the answer was lost; the retry is
a replay). Then the iPad retries the very same batch until it is acknowledged, and every
order and line must be there exactly once, the device's sequence must have moved to 400, and
a further replay must be answered from the stored results, byte for byte.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from litestar import Litestar

from server.auth.tables import Role
from server.db.engine import DB
from server.devices.tables import Device
from server.settings import Settings
from tests.e2e.processes import FYNLO, free_port, fynlo_env, wait_for
from tests.factories import Ipad, Tenant, make_ipad

ORDERS = 200  # and one line each: 400 changes in one batch
KILL_DELAYS = (0.0, 0.08, 0.3)
"""How long after the push's transaction opens the server is killed (seconds)."""
CRASH_RUNS = int(os.environ.get("SYNC_CRASH_RUNS", "1"))
"""Runs of the whole test; a release run sets ``SYNC_CRASH_RUNS=100`` (docs/testing.md)."""
SEED = 20261206


def kill_delays(run: int) -> tuple[float, ...]:
    """The first run's delays are fixed; each later run draws its own from its own seed, one
    from each of the fixed delays' spans, so the first kill still lands early in the push."""
    if run == 0:
        return KILL_DELAYS
    draw = random.Random(SEED + run)
    spans = zip((0.0, *KILL_DELAYS[1:]), (*KILL_DELAYS[1:], 2 * KILL_DELAYS[-1]), strict=True)
    return tuple(round(draw.uniform(low, high), 3) for low, high in spans)


STEP_SECONDS = 30


@dataclass
class Kill:
    delay: float
    in_transaction: bool
    last_seq_after: int
    answered: bool

    @property
    def mid_transaction(self) -> bool:
        """Killed with the batch's transaction open, and PostgreSQL rolled it back."""
        return self.in_transaction and self.last_seq_after == 0 and not self.answered


@dataclass
class Server:
    process: subprocess.Popen[str]
    base_url: str


def start_server(settings: Settings, log_path: Path) -> Server:
    port = free_port()
    env = fynlo_env(
        FYNLO_DATABASE_URL=settings.database_url or "",
        FYNLO_DATA_DIR=str(settings.data_dir),  # the tests' signing keys
        FYNLO_PORT=str(port),
    )
    with log_path.open("a") as log:
        process = subprocess.Popen(
            [FYNLO, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
    base_url = f"http://127.0.0.1:{port}"
    wait_for(f"{base_url}/ready", process, seconds=STEP_SECONDS)
    return Server(process, base_url)


def kill_9(server: Server) -> None:
    server.process.kill()
    server.process.wait(timeout=STEP_SECONDS)


def batch_body(ipad: Ipad, prefix: str, orders: int = ORDERS) -> dict[str, Any]:
    """One batch of ``orders`` new orders with a line each, sequenced from 1."""
    actor = str(ipad.device_id)
    changes: list[dict[str, Any]] = []
    for number in range(1, orders + 1):
        order_id = str(uuid4())
        for entity_type, fields in (
            (
                "order",
                {
                    "number": f"{prefix}-{number:04d}",
                    "device_prefix": prefix,
                    "device_seq": number,
                    "opened_at": "2026-11-26T12:00:00Z",
                    "status": "open",
                },
            ),
            (
                "order_line",
                {
                    "order_id": order_id,
                    "name": f"Dish {number}",
                    "unit_price": 100 + number,
                    "quantity": 1,
                    "vat_rate_bp": 2000,
                },
            ),
        ):
            seq = len(changes) + 1
            changes.append(
                ipad.signed(
                    {
                        "seq": seq,
                        "entity_type": entity_type,
                        "entity_id": order_id if entity_type == "order" else str(uuid4()),
                        "op": "upsert",
                        "fields": fields,
                        "clock": {actor: 1},
                        "hlc": f"{1_795_700_000_000 + seq:013d}:00000:{actor}",
                    }
                )
            )
    return {
        "batch_id": str(uuid4()),
        "device_id": actor,
        "schema_version": 1,
        "app_version": "1.0.0",
        "changes": changes,
    }


async def fetchval(sql: str, *args: Any) -> Any:
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        return await conn.fetchval(sql, *args)


# A transaction that has written (or locked) something has an xid; the tests' own pool only
# reads while the server is up, so an xid here is the server's push.
OPEN_WRITES = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
    " AND backend_xid IS NOT NULL"
)


async def wait_until(sql: str, want: int, *, seconds: float, poll: float = 0.002) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if int(await fetchval(sql)) == want:
            return True
        await asyncio.sleep(poll)
    return False


async def push_and_kill(server: Server, ipad: Ipad, body: dict[str, Any], delay: float) -> Kill:
    async with httpx.AsyncClient(timeout=STEP_SECONDS) as http:
        in_flight = asyncio.create_task(
            http.post(f"{server.base_url}/api/v1/sync/push", json=body, headers=ipad.headers)
        )
        opened = await wait_until(OPEN_WRITES, 1, seconds=STEP_SECONDS)
        assert opened or in_flight.done(), "the push never opened a transaction"
        await asyncio.sleep(delay)
        in_transaction = int(await fetchval(OPEN_WRITES)) == 1
        kill_9(server)
        try:
            answered = (await in_flight).status_code == 200
        except httpx.TransportError:
            answered = False
    # PostgreSQL notices the dead client and rolls its transaction back.
    assert await wait_until(OPEN_WRITES, 0, seconds=STEP_SECONDS, poll=0.05)
    last_seq = await fetchval(
        "SELECT last_seq FROM sync_devices WHERE device_id = $1", ipad.device_id
    )
    return Kill(delay, in_transaction, int(last_seq or 0), answered)


@pytest.mark.parametrize("run", range(CRASH_RUNS))
async def test_a_push_killed_mid_transaction_applies_exactly_once_when_retried(
    app: Litestar, settings: Settings, tenant: Tenant, tmp_path: Path, run: int
) -> None:
    # A manager signs the batch: its lines are open items, priced by hand.
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    row = await Device.select(Device.prefix).where(Device.id == ipad.device_id).first()
    assert row is not None
    body = batch_body(ipad, row["prefix"])
    log_path = tmp_path / "server.log"
    print(f"fynlo serve logs to {log_path}")

    kills: list[Kill] = []
    for delay in kill_delays(run):
        server = await asyncio.to_thread(start_server, settings, log_path)
        kills.append(await push_and_kill(server, ipad, body, delay))
        if kills[-1].last_seq_after:
            break  # committed before the kill: later kills would only hit replays
    print("kills:", kills)
    assert any(kill.mid_transaction for kill in kills), kills

    server = await asyncio.to_thread(start_server, settings, log_path)
    try:
        async with httpx.AsyncClient(timeout=STEP_SECONDS) as http:
            url = f"{server.base_url}/api/v1/sync/push"
            acknowledged = None
            for _ in range(10):
                try:
                    response = await http.post(url, json=body, headers=ipad.headers)
                except httpx.TransportError:
                    await asyncio.sleep(0.5)
                    continue
                if response.status_code == 200:
                    acknowledged = response
                    break
                assert response.status_code >= 500, response.text
                await asyncio.sleep(0.5)
            assert acknowledged is not None, "the batch was never acknowledged"
            replay = await http.post(url, json=body, headers=ipad.headers)
            orders = await http.get(
                f"{server.base_url}/api/v1/orders",
                params={"location_id": str(tenant.location_id), "limit": 200},
                headers=tenant.headers,
            )
    finally:
        server.process.terminate()
        server.process.wait(timeout=STEP_SECONDS)

    answer = acknowledged.json()
    assert answer["last_applied_seq"] == 2 * ORDERS
    assert [result["seq"] for result in answer["results"]] == list(range(1, 2 * ORDERS + 1))
    assert {result["outcome"] for result in answer["results"]} == {"applied"}
    assert replay.status_code == 200 and replay.content == acknowledged.content

    assert orders.status_code == 200 and len(orders.json()["items"]) == ORDERS
    assert orders.json()["next_cursor"] is None
    counted = await fetchval(
        "SELECT count(*) FROM orders WHERE restaurant_id = $1", tenant.restaurant_id
    )
    assert counted == ORDERS
    line_ids = [change["entity_id"] for change in body["changes"][1::2]]
    assert (
        await fetchval(
            "SELECT count(*) FROM order_lines WHERE id::text = ANY($1::text[])", line_ids
        )
        == ORDERS
    )
    assert (
        await fetchval(
            "SELECT count(DISTINCT order_id) FROM order_lines WHERE restaurant_id = $1",
            tenant.restaurant_id,
        )
        == ORDERS
    )
    assert (
        await fetchval("SELECT count(*) FROM sync_results WHERE device_id = $1", ipad.device_id)
        == 2 * ORDERS
    )
    assert (
        await fetchval("SELECT last_seq FROM sync_devices WHERE device_id = $1", ipad.device_id)
        == 2 * ORDERS
    )
    assert (
        await fetchval(
            "SELECT count(*) FROM sync_entities WHERE restaurant_id = $1", tenant.restaurant_id
        )
        == 2 * ORDERS
    )
