"""Push and pull over HTTP against the real database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
from litestar import Litestar

from server.auth.tables import Role
from server.devices.tables import Device
from tests.factories import Ipad, Tenant, make_ipad

HLC = "1795700000000:00000:"


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
    counter: int = 1,
    op: str = "upsert",
) -> dict[str, Any]:
    actor = str(ipad.device_id)
    return {
        "seq": seq,
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "op": op,
        "fields": fields,
        "clock": {actor: counter},
        "hlc": f"{HLC}{actor}",
    }


async def push(
    client: httpx.AsyncClient,
    ipad: Ipad,
    changes: list[dict[str, Any]],
    batch_id: UUID | None = None,
) -> httpx.Response:
    body = {
        "batch_id": str(batch_id or uuid4()),
        "device_id": str(ipad.device_id),
        "schema_version": 1,
        "app_version": "1.0.0",
        "changes": [ipad.signed(change) for change in changes],
    }
    return await client.post("/api/v1/sync/push", json=body, headers=ipad.headers)


async def pull_all(
    client: httpx.AsyncClient, ipad: Ipad, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str]:
    seen: list[dict[str, Any]] = []
    for _ in range(100):
        params = {"schema_version": 1, "app_version": "1.0.0", "limit": 50}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/api/v1/sync/pull", params=params, headers=ipad.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += page["changes"]
        cursor = page["cursor"]
        if not page["has_more"]:
            return seen, cursor
    raise AssertionError("pull did not finish")


def new_order(prefix: str, seq: int) -> dict[str, Any]:
    return {
        "number": f"{prefix}-{seq:04d}",
        "device_prefix": prefix,
        "device_seq": seq,
        "opened_at": datetime.now(UTC).isoformat(),
        "status": "open",
    }


async def test_an_order_pushed_offline_is_applied_once_and_pulled_by_another_ipad(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till, bar = (
        await make_ipad(app, tenant, signed_in=Role.manager),
        await make_ipad(app, tenant, signed_in=Role.manager, name="Bar"),
    )
    order_id, line_id = uuid4(), uuid4()
    prefix = await prefix_of(till)
    changes = [
        change(till, 1, "order", order_id, new_order(prefix, 1)),
        change(
            till,
            2,
            "order_line",
            line_id,
            {
                "order_id": str(order_id),
                "name": "Tea",
                "unit_price": 300,
                "quantity": 2,
                "vat_rate_bp": 2000,
            },
        ),
    ]
    batch = uuid4()
    first = await push(client, till, changes, batch)
    assert first.status_code == 200, first.text
    assert [r["outcome"] for r in first.json()["results"]] == ["applied", "applied"]
    again = await push(client, till, changes, batch)
    assert again.json() == first.json()

    order = (await client.get(f"/api/v1/orders/{order_id}", headers=tenant.headers)).json()
    assert order["total_due"] == 600 and order["number"] == f"{prefix}-0001"

    seen, _ = await pull_all(client, bar)
    ids = [c["entity_id"] for c in seen]
    assert ids.count(str(order_id)) == 1 and ids.count(str(line_id)) == 1
