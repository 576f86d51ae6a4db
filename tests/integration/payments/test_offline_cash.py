"""Cash taken on an offline iPad arrives through sync and is checked against its order."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
from litestar import Litestar

from server.auth.tables import Role
from server.db.engine import DB
from tests.factories import Ipad, Tenant, make_ipad
from tests.integration.payments.api import order_payments, refund
from tests.integration.sync.test_push_rules import (
    change,
    line_fields,
    order_fields,
    prefix_of,
    push,
)


def cash_fields(amount: int, **more: Any) -> dict[str, Any]:
    """Cash fields; without an ``order_id`` they pay the order pushed with them."""
    return {
        "amount": amount,
        "tendered": amount,
        "currency": "GBP",
        "taken_at": "2026-11-26T12:30:00Z",
        **more,
    }


async def sold_offline(
    client: httpx.AsyncClient, ipad: Ipad, payments: list[tuple[UUID, dict[str, Any]]]
) -> tuple[UUID, httpx.Response]:
    """One flat white (320p) sold and paid in cash while offline, pushed as one batch."""
    prefix = await prefix_of(ipad)
    order_id = uuid4()
    changes = [
        change(ipad, 1, "order", order_id, order_fields(prefix, 1)),
        change(ipad, 2, "order_line", uuid4(), line_fields(order_id)),
    ]
    for seq, (payment_id, fields) in enumerate(payments, start=3):
        fields = {"order_id": str(order_id), **fields}
        changes.append(change(ipad, seq, "cash_payment", payment_id, fields))
    return order_id, await push(client, ipad, changes)


async def test_offline_cash_enters_the_ledger_and_pays_the_order(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, cash_only: object
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    payment_id = uuid4()
    fields = cash_fields(320, tip=30, tendered=400)
    order_id, response = await sold_offline(client, ipad, [(payment_id, fields)])
    assert response.status_code == 200, response.text
    assert [r["outcome"] for r in response.json()["results"]] == ["applied"] * 3
    summary = await order_payments(client, tenant.headers, order_id)
    assert (summary["order_status"], summary["paid"], summary["tips"]) == ("paid", 320, 30)
    [payment] = summary["payments"]
    assert (payment["id"], payment["method"], payment["change"]) == (str(payment_id), "cash", 50)
    # A cash refund afterwards goes through the same ledger as any other payment.
    assert (await refund(client, tenant.headers, str(payment_id), amount=20)).status_code == 201


async def test_the_same_cash_pushed_twice_is_counted_once(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, cash_only: object
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    fields = cash_fields(100)
    payment_id = uuid4()
    order_id, first = await sold_offline(client, ipad, [(payment_id, fields)])
    again = await push(
        client,
        ipad,
        [change(ipad, 3, "cash_payment", payment_id, {**fields, "order_id": str(order_id)})],
        batch_id=UUID(first.json()["batch_id"]),
    )
    assert again.status_code == 200
    summary = await order_payments(client, tenant.headers, order_id)
    assert (summary["paid"], len(summary["payments"]), summary["order_status"]) == (100, 1, "open")


async def test_cash_for_an_unknown_order_is_quarantined_not_lost(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, cash_only: object
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    stray = uuid4()
    _, response = await sold_offline(
        client, ipad, [(stray, cash_fields(320, order_id=str(uuid4())))]
    )
    outcomes = [(r["outcome"], r.get("reason")) for r in response.json()["results"]]
    assert outcomes == [("applied", None), ("applied", None), ("rejected", "unknown_order")]
    quarantined = await client.get("/api/v1/sync/quarantine", headers=tenant.headers)
    [kept] = quarantined.json()["items"]
    assert (kept["reason"], kept["change"]["entity_id"]) == ("unknown_order", str(stray))
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM payments WHERE id = $1", stray) == 0


async def test_cash_in_another_currency_is_quarantined(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, cash_only: object
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    fields = cash_fields(320, currency="EUR")
    _, response = await sold_offline(client, ipad, [(uuid4(), fields)])
    assert response.json()["results"][2]["reason"] == "currency_mismatch"
