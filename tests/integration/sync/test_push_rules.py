"""The push rules over HTTP (reliability notes E5, sync notes §5): exactly once, never wedged.

Raw requests where the exact bytes matter; the reference device
(``server/sync/reference_client.py``) where a test needs an iPad that keeps its own clocks,
outbox and cursor.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from litestar import Litestar

from server.auth.tables import Role
from server.catalog.sync import availability_id
from server.db.engine import DB
from server.devices.tables import Device
from server.restaurants.tables import Location
from server.sync import feed, registry
from server.sync.reference_client import ReferenceDevice
from tests.factories import Ipad, Tenant, make_ipad

WALL_MS = 1_795_700_000_000
NEVER_APPLIES = {
    2: "wrong_prefix",
    3: "invalid_fields",
    4: "delete_not_allowed",
    5: "read_only",
    8: "state_backwards",
    9: "immutable",
    # A line added after seq 7 paid its order: the bill is final (docs/sync-protocol.md), the
    # same answer whether seq 7 came in this batch or an earlier one.
    10: "order_closed",
}


async def prefix_of(ipad: Ipad) -> str:
    row = await Device.select(Device.prefix).where(Device.id == ipad.device_id).first()
    assert row is not None
    return str(row["prefix"])


def change(
    ipad: Ipad,
    seq: int,
    entity_type: str,
    entity_id: UUID,
    fields: dict[str, Any],
    *,
    clock: int | dict[str, int] = 1,
    op: str = "upsert",
    wall_ms: int = WALL_MS,
) -> dict[str, Any]:
    """A change as an iPad sends it; ``clock`` is this iPad's own count, or a whole clock."""
    actor = str(ipad.device_id)
    return {
        "seq": seq,
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "op": op,
        "fields": fields,
        "clock": {actor: clock} if isinstance(clock, int) else clock,
        "hlc": f"{wall_ms + seq:013d}:00000:{actor}",
    }


def order_fields(prefix: str, number: int, **more: Any) -> dict[str, Any]:
    return {
        "number": f"{prefix}-{number:04d}",
        "device_prefix": prefix,
        "device_seq": number,
        "opened_at": "2026-11-26T12:00:00Z",
        "status": "open",
        **more,
    }


def line_fields(order_id: UUID, **more: Any) -> dict[str, Any]:
    return {
        "order_id": str(order_id),
        "name": "Flat white",
        "unit_price": 320,
        "quantity": 1,
        "vat_rate_bp": 2000,
        **more,
    }


async def push(
    client: httpx.AsyncClient,
    ipad: Ipad,
    changes: list[dict[str, Any]],
    batch_id: UUID | None = None,
    **body: Any,
) -> httpx.Response:
    payload = {
        "batch_id": str(batch_id or uuid4()),
        "device_id": str(ipad.device_id),
        "schema_version": 1,
        "app_version": "1.0.0",
        "changes": [ipad.signed(change) for change in changes],
        **body,
    }
    return await client.post("/api/v1/sync/push", json=payload, headers=ipad.headers)


async def pull_page(
    client: httpx.AsyncClient, ipad: Ipad, cursor: str | None = None, schema_version: int = 1
) -> httpx.Response:
    params: dict[str, Any] = {"schema_version": schema_version, "app_version": "1.0.0"}
    if cursor is not None:
        params["cursor"] = cursor
    return await client.get("/api/v1/sync/pull", params=params, headers=ipad.headers)


async def device(
    client: httpx.AsyncClient, ipad: Ipad, *, start_ms: int = WALL_MS
) -> ReferenceDevice:
    """A reference iPad over the in-process app, with its own steadily ticking wall clock."""

    async def send(
        method: str, path: str, *, json: Any = None, params: Any = None
    ) -> tuple[int, Any]:
        response = await client.request(
            method, path, json=json, params=params, headers=ipad.headers
        )
        return response.status_code, response.json()

    ticks = iter(range(start_ms, start_ms + 10**9, 1000))
    reference = ReferenceDevice(
        send, device_id=ipad.device_id, prefix=await prefix_of(ipad), now_ms=lambda: next(ticks)
    )
    reference.signed_in = ipad.signed_in
    return reference


def outcomes(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [result["outcome"] for result in response.json()["results"]]


async def entity_ids(ipad_device: ReferenceDevice) -> set[str]:
    assert await ipad_device.pull()
    return {key.split("/", 1)[1] for key, entity in ipad_device.store.items() if not entity.deleted}


async def count(sql: str, *args: Any) -> int:
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        return int(await conn.fetchval(sql, *args))


async def quarantine(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/sync/quarantine", headers=tenant.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def conflicts(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/sync/conflicts", headers=tenant.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def get_order(client: httpx.AsyncClient, tenant: Tenant, order_id: UUID) -> dict[str, Any]:
    response = await client.get(f"/api/v1/orders/{order_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def create_product(client: httpx.AsyncClient, tenant: Tenant, name: str) -> str:
    response = await client.post(
        "/api/v1/products", json={"name": name, "price": 450}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    product_id: str = response.json()["id"]
    return product_id


# The sequence ------------------------------------------------------------------------------


async def test_a_gap_in_the_sequence_is_refused_with_the_seq_the_server_expects(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await make_ipad(app, tenant, signed_in=Role.manager)
    prefix = await prefix_of(till)
    order_id = uuid4()

    skipped = await push(
        client, till, [change(till, 2, "order", order_id, order_fields(prefix, 1))]
    )
    assert skipped.status_code == 409
    assert skipped.json()["code"] == "sequence_gap" and skipped.json()["expected_seq"] == 1

    first = await push(client, till, [change(till, 1, "order", order_id, order_fields(prefix, 1))])
    assert outcomes(first) == ["applied"]
    jumped = await push(client, till, [change(till, 5, "order", order_id, {"notes": "x"}, clock=2)])
    assert jumped.status_code == 409 and jumped.json()["expected_seq"] == 2
    assert (
        await count("SELECT last_seq FROM sync_devices WHERE device_id = $1", till.device_id) == 1
    )


async def test_a_replayed_batch_answers_byte_for_byte_and_applies_nothing_twice(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await make_ipad(app, tenant, signed_in=Role.manager)
    prefix = await prefix_of(till)
    order_id = uuid4()
    changes = [
        change(till, 1, "order", order_id, order_fields(prefix, 1, notes="by the window")),
        change(till, 2, "order_line", uuid4(), line_fields(order_id, quantity=2)),
        change(till, 3, "order_line", uuid4(), line_fields(order_id, name="Scone")),
    ]
    batch_id = uuid4()

    first = await push(client, till, changes, batch_id)
    again = await push(client, till, changes, batch_id)

    assert outcomes(first) == ["applied", "applied", "applied"]
    assert again.content == first.content
    order = await get_order(client, tenant, order_id)
    assert len(order["lines"]) == 2 and order["total_due"] == 3 * 320
    assert await count("SELECT count(*) FROM orders WHERE id = $1", order_id) == 1
    assert (
        await count("SELECT count(*) FROM sync_results WHERE device_id = $1", till.device_id) == 3
    )

    # An old batch arriving after a newer one is a replay too: its outcomes, nothing applied,
    # and each entity as the server holds it now.
    later = await push(client, till, [change(till, 4, "order", order_id, {"covers": 2}, clock=2)])
    assert outcomes(later) == ["applied"]
    late = await push(client, till, changes, batch_id)
    replayed, original = late.json()["results"], first.json()["results"]
    assert [r["outcome"] for r in replayed] == [r["outcome"] for r in original]
    assert replayed[0]["state"] == later.json()["results"][0]["state"]
    assert replayed[1:] == original[1:]  # the lines have not changed since
    assert late.json()["last_applied_seq"] == 4
    assert (await get_order(client, tenant, order_id))["covers"] == 2


async def test_a_batch_of_applied_and_new_changes_applies_only_the_new_ones(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await make_ipad(app, tenant, signed_in=Role.manager)
    prefix = await prefix_of(till)
    order_id, line_id = uuid4(), uuid4()
    first_two = [
        change(till, 1, "order", order_id, order_fields(prefix, 1)),
        change(till, 2, "order_line", line_id, line_fields(order_id)),
    ]
    answered = await push(client, till, first_two)
    # The answer was lost; the iPad re-froze a bigger batch under a new id.
    all_four = [
        *first_two,
        change(till, 3, "order_line", uuid4(), line_fields(order_id, name="Scone")),
        change(till, 4, "order", order_id, {"status": "sent"}, clock=2),
    ]

    response = await push(client, till, all_four)

    assert outcomes(response) == ["applied"] * 4
    results = response.json()["results"]
    # The first two keep their first answers' outcomes; every state is as the server has it now.
    for result, first in zip(results[:2], answered.json()["results"], strict=True):
        assert {**result, "state": None} == {**first, "state": None}
    assert results[0]["state"] == results[3]["state"]
    assert results[1]["state"] == answered.json()["results"][1]["state"]
    assert response.json()["last_applied_seq"] == 4
    order = await get_order(client, tenant, order_id)
    assert order["status"] == "sent" and len(order["lines"]) == 2
    assert sorted(line["id"] for line in order["lines"]).count(str(line_id)) == 1


# Who may push ------------------------------------------------------------------------------


async def test_a_device_ahead_of_a_restored_server_renumbers_from_the_expected_seq(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """The server was restored from a backup taken before it acknowledged seqs 1..4."""
    till = await device(client, await make_ipad(app, tenant, signed_in=Role.manager))
    table = uuid4()
    till.edit("table_state", table, {"status": "seated"})
    saved = till.state()
    for change_ in saved["outbox"]:
        change_["seq"] += 4
    saved["next_seq"] += 4
    ahead = ReferenceDevice.restore(till.send, saved, now_ms=till.now_ms)

    assert await ahead.push() is None  # 409 sequence_gap, expected_seq 1: renumbered
    assert [change_.seq for change_ in ahead.outbox] == [1] and ahead.next_seq == 2
    answer = await ahead.push()

    assert answer is not None and answer["last_applied_seq"] == 1
    assert answer["results"][0]["outcome"] == "applied"
    assert ahead.edit("table_state", table, {"status": "dirty"}) == 2


async def test_a_batch_naming_another_device_is_forbidden(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till, bar = (
        await make_ipad(app, tenant, signed_in=Role.manager),
        await make_ipad(app, tenant, signed_in=Role.manager, name="Bar"),
    )
    prefix = await prefix_of(till)

    response = await push(
        client,
        till,
        [change(till, 1, "order", uuid4(), order_fields(prefix, 1))],
        device_id=str(bar.device_id),
    )

    assert response.status_code == 403 and response.json()["code"] == "device_mismatch"
    assert await count("SELECT count(*) FROM sync_results WHERE device_id = $1", bar.device_id) == 0


async def test_a_back_office_user_cannot_push_or_pull(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await make_ipad(app, tenant, signed_in=Role.manager)
    body = {
        "batch_id": str(uuid4()),
        "device_id": str(till.device_id),
        "schema_version": 1,
        "app_version": "1.0.0",
        "changes": [change(till, 1, "table_state", uuid4(), {"status": "seated"})],
    }

    pushed = await client.post("/api/v1/sync/push", json=body, headers=tenant.headers)
    pulled = await client.get(
        "/api/v1/sync/pull",
        params={"schema_version": 1, "app_version": "1.0.0"},
        headers=tenant.headers,
    )

    assert pushed.status_code == 400 and pushed.json()["field"] == "device_id"
    assert pulled.status_code == 400


async def test_an_unknown_schema_version_must_upgrade_on_push_and_pull(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await make_ipad(app, tenant, signed_in=Role.manager)
    state = change(till, 1, "table_state", uuid4(), {"status": "seated"})

    pushed = await push(client, till, [state], schema_version=99)
    pulled = await pull_page(client, till, schema_version=99)

    for response in (pushed, pulled):
        assert response.status_code == 426
        assert response.json()["code"] == "upgrade_required"
        assert response.json()["supported"] == [1]
    assert (
        await count("SELECT count(*) FROM sync_results WHERE device_id = $1", till.device_id) == 0
    )


# Changes that can never apply --------------------------------------------------------------


async def test_a_change_that_can_never_apply_is_quarantined_and_the_queue_moves_on(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await make_ipad(app, tenant, signed_in=Role.manager)
    prefix = await prefix_of(till)
    order_id, payment_id, line_id = uuid4(), uuid4(), uuid4()
    payment = {
        "order_id": str(order_id),
        "amount": 640,
        "tendered": 1000,
        "currency": "GBP",
        "taken_at": "2026-11-26T12:30:00Z",
    }
    batch = [
        change(till, 1, "order", order_id, order_fields(prefix, 1)),
        change(till, 2, "order", uuid4(), order_fields("ZZ", 1)),
        change(till, 3, "order_line", uuid4(), line_fields(order_id, quantity=0)),
        change(till, 4, "order", order_id, {}, op="delete", clock=2),
        change(till, 5, "product", uuid4(), {"name": "Free lunch", "price": 0}),
        change(till, 6, "cash_payment", payment_id, payment),
        change(till, 7, "order", order_id, {"status": "paid"}, clock=3),
        change(till, 8, "order", order_id, {"status": "open"}, clock=4),
        change(till, 9, "cash_payment", payment_id, {**payment, "amount": 1}, clock=2),
        change(till, 10, "order_line", line_id, line_fields(order_id, quantity=2)),
    ]

    response = await push(client, till, batch)

    results = response.json()["results"]
    assert response.json()["last_applied_seq"] == 10
    for result in results:
        if result["seq"] in NEVER_APPLIES:
            assert result["outcome"] == "rejected", result
            assert result["reason"] == NEVER_APPLIES[result["seq"]], result
            assert result["detail"]
        else:
            assert result["outcome"] == "applied", result
    kept = await quarantine(client, tenant)
    assert {item["seq"]: item["reason"] for item in kept} == NEVER_APPLIES
    assert all(item["device_id"] == str(till.device_id) for item in kept)
    assert {item["change"]["seq"] for item in kept} == set(NEVER_APPLIES)
    order = await get_order(client, tenant, order_id)
    # Paid with nothing on the bill but what the payment covered: the refused line is not in it.
    assert order["status"] == "paid" and order["lines"] == []

    # The queue is not wedged: the next batch continues at the next seq.
    following = await push(
        client, till, [change(till, 11, "order", order_id, {"tip": 50}, clock=5)]
    )
    assert outcomes(following) == ["applied"]
    assert following.json()["last_applied_seq"] == 11


async def test_a_change_the_database_refuses_is_isolated_and_the_rest_apply(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till, bar = (
        await make_ipad(app, tenant, signed_in=Role.manager),
        await make_ipad(app, tenant, signed_in=Role.manager, name="Bar"),
    )
    prefix = await prefix_of(till)
    kept_id, refused_id, line_id = uuid4(), uuid4(), uuid4()
    no_such_table = str(uuid4())
    batch = [
        change(till, 1, "order", kept_id, order_fields(prefix, 1)),
        change(till, 2, "order", refused_id, order_fields(prefix, 2, table_id=no_such_table)),
        change(till, 3, "order_line", line_id, line_fields(kept_id)),
    ]

    response = await push(client, till, batch)

    assert outcomes(response) == ["applied", "rejected", "applied"]
    refused = response.json()["results"][1]
    assert refused["reason"] == "database_refused"
    assert "orders_table_id_fkey" in refused["detail"]
    assert refused["detail"].startswith("it names a table the server does not have")
    assert response.json()["last_applied_seq"] == 3
    assert [item["seq"] for item in await quarantine(client, tenant)] == [2]
    assert len((await get_order(client, tenant, kept_id))["lines"]) == 1
    missing = await client.get(f"/api/v1/orders/{refused_id}", headers=tenant.headers)
    assert missing.status_code == 404
    seen = await entity_ids(await device(client, bar))
    assert {str(kept_id), str(line_id)} <= seen and str(refused_id) not in seen
    # The same batch again is answered from the stored results, refusal included.
    assert (await push(client, till, batch, UUID(response.json()["batch_id"]))).content == (
        response.content
    )


async def test_a_deadlock_fails_the_push_for_a_retry_instead_of_quarantining_the_change(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transient database error is no fault of the change: the iPad retries the batch."""
    till = await make_ipad(app, tenant, signed_in=Role.manager)
    deadlocks = [True]

    async def deadlocked(conn: Any, restaurant_id: UUID, written: Any) -> None:
        if deadlocks[0]:
            raise asyncpg.exceptions.DeadlockDetectedError("deadlock detected")

    entry = registry.registered("table_state")
    assert entry is not None
    monkeypatch.setitem(
        registry._REGISTRY, "table_state", dataclasses.replace(entry, project=deadlocked)
    )
    batch = [change(till, 1, "table_state", uuid4(), {"status": "seated"})]
    batch_id = uuid4()

    failed = await push(client, till, batch, batch_id)

    assert failed.status_code == 500
    assert await quarantine(client, tenant) == []
    assert (
        await count("SELECT count(*) FROM sync_results WHERE device_id = $1", till.device_id) == 0
    )
    deadlocks[0] = False
    retried = await push(client, till, batch, batch_id)
    assert outcomes(retried) == ["applied"]


# Concurrent edits --------------------------------------------------------------------------


async def test_concurrent_notes_merge_last_writer_wins_and_are_logged(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till_ipad, bar_ipad = (
        await make_ipad(app, tenant, signed_in=Role.manager),
        await make_ipad(app, tenant, signed_in=Role.manager, name="Bar"),
    )
    till = await device(client, till_ipad, start_ms=WALL_MS)
    bar = await device(client, bar_ipad, start_ms=WALL_MS + 30_000)
    order_id = till.open_order()
    assert await till.sync() and await bar.sync()

    till.edit("order", order_id, {"notes": "window seat"})
    bar.edit("order", order_id, {"notes": "birthday, bring a candle"})  # its clock says later
    first, second = await till.push(), await bar.push()

    assert first is not None and first["results"][0]["outcome"] == "applied"
    assert second is not None and second["results"][0]["outcome"] == "merged"
    [entry] = await conflicts(client, tenant)
    assert entry["entity_id"] == str(order_id) and entry["rule"] == "lww"
    assert entry["device_id"] == str(bar_ipad.device_id)
    assert entry["current"]["data"]["notes"] == "window seat"
    assert entry["incoming"]["fields"] == {"notes": "birthday, bring a candle"}
    assert entry["current"]["clock"] == {str(till_ipad.device_id): 2}
    assert entry["incoming"]["clock"] == {
        str(till_ipad.device_id): 1,
        str(bar_ipad.device_id): 1,
    }
    assert entry["outcome"]["data"]["notes"] == "birthday, bring a candle"
    assert await till.sync() and await bar.sync()
    assert till.store == bar.store
    assert (await get_order(client, tenant, order_id))["notes"] == "birthday, bring a candle"


async def test_paid_beats_a_later_void_when_two_ipads_close_one_order(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # The till's bill (nothing on it: 0p due) is paid first; the bar's offline void loses.
    # A void that arrives first wins instead: see payments/test_one_write_path.py.
    till_ipad, bar_ipad = (
        await make_ipad(app, tenant, signed_in=Role.manager),
        await make_ipad(app, tenant, signed_in=Role.manager, name="Bar"),
    )
    till, bar = await device(client, till_ipad), await device(client, bar_ipad)
    order_id = till.open_order()
    assert await till.sync() and await bar.sync()

    bar.edit("order", order_id, {"status": "voided"})
    till.edit("order", order_id, {"status": "paid"})
    assert await till.sync() and await bar.sync() and await till.sync()

    [entry] = await conflicts(client, tenant)
    assert entry["rule"] == "state_rank"
    assert entry["current"]["data"]["status"] == "paid"
    assert entry["outcome"]["data"]["status"] == "paid"
    assert till.store == bar.store
    assert bar.get("order", order_id).data["status"] == "paid"  # type: ignore[union-attr]
    assert (await get_order(client, tenant, order_id))["status"] == "paid"


async def test_a_change_with_an_old_clock_is_stale_and_answered_with_the_current_state(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await make_ipad(app, tenant, signed_in=Role.manager)
    prefix = await prefix_of(till)
    order_id = uuid4()
    actor = str(till.device_id)
    batch = [
        change(till, 1, "order", order_id, order_fields(prefix, 1)),
        change(till, 2, "order", order_id, {"notes": "newer"}, clock=2),
    ]
    assert outcomes(await push(client, till, batch)) == ["applied", "applied"]

    response = await push(client, till, [change(till, 3, "order", order_id, {"notes": "older"})])

    [result] = response.json()["results"]
    assert result["outcome"] == "stale"
    assert result["state"]["data"]["notes"] == "newer" and result["state"]["clock"] == {actor: 2}
    assert (await get_order(client, tenant, order_id))["notes"] == "newer"


async def test_portion_counts_from_two_ipads_add_up(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till_ipad, bar_ipad = (
        await make_ipad(app, tenant, signed_in=Role.manager),
        await make_ipad(app, tenant, signed_in=Role.manager, name="Bar"),
    )
    till, bar = await device(client, till_ipad), await device(client, bar_ipad)
    product_id = await create_product(client, tenant, "Brownie")
    stock = availability_id(tenant.location_id, UUID(product_id))

    till.edit("availability", stock, {"product_id": product_id, "remaining": 12})
    assert await till.sync() and await bar.sync()
    till.edit("availability", stock, {"product_id": product_id, "remaining": -2})
    bar.edit("availability", stock, {"product_id": product_id, "remaining": -3})
    assert bar.get("availability", stock).data["remaining"] == 9  # type: ignore[union-attr]
    assert await till.sync() and await bar.sync() and await till.sync()

    for ipad in (till, bar):
        assert ipad.get("availability", stock).data["remaining"] == 7  # type: ignore[union-attr]
    assert (await conflicts(client, tenant))[0]["rule"] == "counter"


async def test_portion_counts_pushed_at_the_same_moment_add_up(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Two tills counting down a dish nobody has counted yet: both create its row at once."""
    ipads = [
        await make_ipad(app, tenant, signed_in=Role.manager, name=f"Till {n}") for n in range(3)
    ]
    for round_number in range(8):
        product_id = await create_product(client, tenant, f"Special {round_number}")
        stock = availability_id(tenant.location_id, UUID(product_id))
        pushes = [
            push(
                client,
                ipad,
                [change(ipad, round_number + 1, "availability", stock, {
                    "product_id": product_id, "remaining": -(n + 1)
                })],
            )
            for n, ipad in enumerate(ipads)
        ]  # fmt: skip

        responses = await asyncio.gather(*pushes)

        assert all(response.status_code == 200 for response in responses)
        assert await count(
            "SELECT (data->>'remaining')::int FROM sync_entities WHERE entity_id = $1", stock
        ) == -(1 + 2 + 3)


# What reaches which iPad -------------------------------------------------------------------


async def test_catalog_edits_in_the_back_office_reach_the_ipads(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await device(client, await make_ipad(app, tenant, signed_in=Role.manager))
    assert await till.pull()

    product_id = await create_product(client, tenant, "Cinnamon bun")
    renamed = await client.patch(
        f"/api/v1/products/{product_id}", json={"price": 395}, headers=tenant.headers
    )
    assert renamed.status_code == 200, renamed.text
    assert await till.pull()

    product = till.get("product", product_id)
    assert product is not None
    assert product.data["name"] == "Cinnamon bun" and product.data["price"] == 395


async def test_a_revoked_ipad_is_folded_out_of_clocks_written_afterwards(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    lost_ipad, bar_ipad = (
        await make_ipad(app, tenant, signed_in=Role.manager),
        await make_ipad(app, tenant, signed_in=Role.manager, name="Bar"),
    )
    lost, bar = await device(client, lost_ipad), await device(client, bar_ipad)
    order_id = lost.open_order()
    assert await lost.sync() and await bar.sync()
    bar.edit("order", order_id, {"covers": 4})
    assert await bar.sync()
    lost_actor, bar_actor = str(lost_ipad.device_id), str(bar_ipad.device_id)
    assert bar.get("order", order_id).clock == {lost_actor: 1, bar_actor: 1}  # type: ignore[union-attr]

    revoked = await client.post(
        f"/api/v1/devices/{lost_ipad.device_id}/revoke", headers=tenant.headers
    )
    assert revoked.status_code == 200, revoked.text
    bar.edit("order", order_id, {"covers": 5})
    answer = await bar.push()

    assert answer is not None and answer["results"][0]["outcome"] == "applied"
    assert answer["results"][0]["state"]["clock"] == {bar_actor: 2}
    lost.edit("order", order_id, {"covers": 1})
    refused = await push(client, lost_ipad, [lost.outbox[0].wire()])
    assert refused.status_code == 401


async def test_another_restaurant_never_sees_or_touches_these_changes(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    till_ipad, stranger_ipad = (
        await make_ipad(app, tenant, signed_in=Role.manager),
        await make_ipad(app, other_tenant, signed_in=Role.manager),
    )
    till, stranger = await device(client, till_ipad), await device(client, stranger_ipad)
    order_id = till.open_order(notes="ours")
    till.edit("table_state", uuid4(), {"status": "seated"})
    await create_product(client, tenant, "Our secret sauce")
    assert await till.sync()

    seen = await entity_ids(stranger)
    assert seen.isdisjoint(await entity_ids(till))
    # The same order id pushed from the other restaurant is its own row, never ours.
    stranger_order = stranger.open_order(order_id, notes="theirs", status="paid")
    assert stranger_order == order_id
    answer = await stranger.push()
    assert answer is not None and answer["results"][0]["outcome"] == "applied"
    ours = await get_order(client, tenant, order_id)
    assert ours["notes"] == "ours" and ours["status"] == "open"
    assert ours["number"] == till.get("order", order_id).data["number"]  # type: ignore[union-attr]
    newcomer = await device(
        client, await make_ipad(app, tenant, signed_in=Role.manager, name="Newcomer")
    )
    assert str(order_id) in await entity_ids(newcomer)
    assert newcomer.get("order", order_id).data["notes"] == "ours"  # type: ignore[union-attr]


async def test_an_ipad_at_another_location_sees_the_menu_but_not_this_floor(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    other_location = uuid4()
    await Location.insert(
        Location(id=other_location, restaurant_id=tenant.restaurant_id, name="Harbour")
    )
    elsewhere = Tenant(tenant.restaurant_id, other_location, tenant.user_id, tenant.token)
    till = await device(client, await make_ipad(app, tenant, signed_in=Role.manager))
    harbour = await device(
        client, await make_ipad(app, elsewhere, signed_in=Role.manager, name="Harbour till")
    )
    product_id = await create_product(client, tenant, "Fish finger sandwich")
    order_id = till.open_order()
    till.edit("table_state", uuid4(), {"status": "seated"})
    till.edit(
        "availability",
        availability_id(tenant.location_id, UUID(product_id)),
        {"product_id": product_id, "sold_out": True},
    )
    assert await till.sync()

    assert await harbour.pull()

    assert harbour.get("product", product_id) is not None
    location_scoped = {"order", "order_line", "table_state", "availability", "cash_payment"}
    assert not [key for key in harbour.store if key.split("/")[0] in location_scoped]
    # Nor can it write into this location's rows.
    harbour.edit("order", order_id, {"notes": "from the harbour"})
    answer = await harbour.push()
    assert answer is not None and answer["results"][0]["reason"] == "wrong_location"


# Tombstones --------------------------------------------------------------------------------


async def test_a_first_pull_after_pushing_drops_what_was_deleted_meanwhile(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """The snapshot brings the deletion's tombstone, clock and all (found by E4's machine)."""
    till_ipad, bar_ipad = (
        await make_ipad(app, tenant, signed_in=Role.manager),
        await make_ipad(app, tenant, signed_in=Role.manager, name="Bar"),
    )
    till, bar = await device(client, till_ipad), await device(client, bar_ipad)
    table = uuid4()
    till.edit("table_state", table, {"status": "seated"})
    assert await till.push() is not None  # pushed, never pulled: its cursor is still empty
    assert await bar.pull()
    bar.delete("table_state", table)
    assert await bar.sync()

    assert await till.pull()

    assert till.get("table_state", table) is None
    assert till.store == bar.store
    assert till.store[f"table_state/{table}"].deleted


async def test_a_device_offline_past_the_tombstone_horizon_must_resync_but_can_push(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till_ipad, bar_ipad = (
        await make_ipad(app, tenant, signed_in=Role.manager),
        await make_ipad(app, tenant, signed_in=Role.manager, name="Bar"),
    )
    till, bar = await device(client, till_ipad), await device(client, bar_ipad)
    table = uuid4()
    till.edit("table_state", table, {"status": "seated", "covers": 2})
    assert await till.sync() and await bar.sync()
    assert bar.get("table_state", table) is not None
    till.delete("table_state", table)
    assert await till.sync()
    await asyncio.sleep(0.01)  # the tombstone must be older than the cutoff

    purged = await feed.purge_tombstones(
        restaurant_id=tenant.restaurant_id, max_offline=timedelta(0)
    )

    assert purged == 1
    behind = await pull_page(client, bar_ipad, bar.cursor)
    assert behind.status_code == 410 and behind.json()["code"] == "resync_required"
    bar.edit("table_state", uuid4(), {"status": "dirty"})
    assert await bar.push() is not None  # its changes are still accepted
    assert await bar.pull()  # the reference device starts over from an empty cursor
    assert bar.get("table_state", table) is None
    assert await till.sync()
    assert bar.store == till.store


async def test_seats_and_courses_sync_into_the_order_and_change_no_price(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)  # open items: priced by hand
    prefix = await prefix_of(ipad)
    order_id, first, second, bad = uuid4(), uuid4(), uuid4(), uuid4()
    response = await push(
        client,
        ipad,
        [
            change(ipad, 1, "order", order_id, order_fields(prefix, 1)),
            change(ipad, 2, "order_line", first, line_fields(order_id, seat=1, course=1)),
            change(ipad, 3, "order_line", second, line_fields(order_id, seat=None, course=2)),
            change(ipad, 4, "order_line", bad, line_fields(order_id, seat=0)),
            change(ipad, 5, "order_line", first, {"seat": 2, "course": None}, clock=2),
        ],
    )

    assert outcomes(response) == ["applied", "applied", "applied", "rejected", "applied"]
    assert response.json()["results"][3]["reason"] == "invalid_fields"
    order = await get_order(client, tenant, order_id)
    seats = {line["id"]: (line["seat"], line["course"]) for line in order["lines"]}
    assert seats == {str(first): (2, None), str(second): (None, 2)}
    assert order["total_due"] == 2 * 320


async def test_a_line_voided_before_sending_is_a_fix_even_when_the_send_is_in_the_same_batch(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """An iPad offline takes a line back before sending the order, then sends: one batch
    carries both, and the void was still made before the kitchen saw the order."""
    ipad = await make_ipad(app, tenant)
    prefix = await prefix_of(ipad)
    product = await create_product(client, tenant, "Soup")
    order_id, kept, mistake = uuid4(), uuid4(), uuid4()
    soup = {"product_id": product, "unit_price": 450}
    response = await push(
        client,
        ipad,
        [
            change(ipad, 1, "order", order_id, order_fields(prefix, 1)),
            change(ipad, 2, "order_line", kept, line_fields(order_id, **soup)),
            change(ipad, 3, "order_line", mistake, line_fields(order_id, **soup)),
            change(ipad, 4, "order_line", mistake, {"voided": True}, clock=2),
            change(ipad, 5, "order", order_id, {"status": "sent"}, clock=2),
            change(ipad, 6, "order_line", kept, {"voided": True}, clock=2),
        ],
    )

    assert outcomes(response)[:5] == ["applied"] * 5
    # Taking back a dish the kitchen was sent is a void: not this iPad's alone.
    assert response.json()["results"][5]["outcome"] == "rejected"
    order = await get_order(client, tenant, order_id)
    assert {line["id"]: line["voided"] for line in order["lines"]} == {
        str(kept): False,
        str(mistake): True,
    }
    assert order["total_due"] == 450
