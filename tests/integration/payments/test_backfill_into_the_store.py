"""Orders the server wrote beside the store before it owned every write (an old `make run`
database's demo orders) enter it by migration, then void, settle and sync like any other."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import httpx
from litestar import Litestar

from server.db.engine import DB
from server.sync.piccolo_migrations.sync_2026_12_04t19_00_00_000000 import (
    BACKFILL_LINES,
    BACKFILL_ORDERS,
)
from tests.factories import Tenant, make_ipad
from tests.integration.payments.api import cash, order_payments
from tests.integration.sync.test_push_rules import device


async def legacy_order(tenant: Tenant, seq: int) -> UUID:
    """An order and its line inserted the old way: rows only, nothing in the sync store."""
    order_id = uuid4()
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO orders (id, restaurant_id, location_id, number, device_prefix,"
            " device_seq, status, covers, notes, currency, discount_reason, service_charge_bp,"
            " tip, subtotal, discount_total, vat_total, service_charge, total_due, opened_at,"
            " created_at, updated_at) VALUES ($1, $2, $3, $4, 'L', $5, 'sent', 2, 'old', 'GBP',"
            " '', 0, 0, 300, 0, 50, 0, 300, $6, now(), now())",
            order_id, tenant.restaurant_id, tenant.location_id, f"L-{seq:04d}", seq,
            datetime(2026, 11, 26, 12, tzinfo=UTC),
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO order_lines (id, restaurant_id, order_id, name, unit_price, quantity,"
            " vat_rate_bp, modifiers, voided, notes, position, created_at, updated_at)"
            " VALUES ($1, $2, $3, 'Tea', 300, 1, 2000, '[]', false, '', 0, now(), now())",
            uuid4(), tenant.restaurant_id, order_id,
        )  # fmt: skip
        await conn.execute(BACKFILL_ORDERS)
        await conn.execute(BACKFILL_LINES)
    return order_id


async def test_a_legacy_order_enters_the_store_and_is_pulled_voided_and_settled(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, cash_only: object
) -> None:
    voided, settled = await legacy_order(tenant, 1), await legacy_order(tenant, 2)
    till = await device(client, await make_ipad(app, tenant))
    assert await till.pull()
    shown = till.get("order", voided)
    assert shown is not None
    assert (shown.data["status"], shown.data["opened_at"]) == (
        "sent",
        "2026-11-26T12:00:00.000000Z",
    )
    assert sum(1 for key in till.store if key.startswith("order_line/")) == 2

    answer = await client.post(
        f"/api/v1/orders/{voided}/void", json={"reason": "old"}, headers=tenant.headers
    )
    assert (answer.status_code, answer.json()["status"]) == (200, "voided"), answer.text
    assert (await cash(client, tenant.headers, settled, 300)).status_code == 201
    assert (await order_payments(client, tenant.headers, settled))["order_status"] == "paid"
    assert await till.pull()
    assert till.get("order", settled).data["status"] == "paid"  # type: ignore[union-attr]
    assert till.get("order", voided).data["status"] == "voided"  # type: ignore[union-attr]
