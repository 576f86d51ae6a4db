"""Refunds that settle later: pending until the bank says executed or failed, by webhook.

A failed refund gives its amount back to what may be refunded; an executed one keeps it.
Each payment here has settled in the merchant account first: TrueLayer refunds nothing
before (``test_bank_settlement`` has refunds that wait for it).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
import pytest

from server.db.engine import DB
from tests.factories import Tenant, make_order
from tests.fakes.open_banking import OpenBankingSandbox
from tests.integration.payments.api import pay, payer_starts, refund
from tests.problems import assert_problem

pytestmark = pytest.mark.usefixtures("with_bank")
ROUTE = "/api/v1/payments/webhooks/open-banking"


async def reference(table: str, row_id: str) -> str:
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        found: str = await conn.fetchval(
            f"SELECT provider_reference FROM {table} WHERE id = $1",
            UUID(row_id),
        )
    return found


async def deliver_all(
    client: httpx.AsyncClient, sandbox: OpenBankingSandbox, kind: str
) -> list[dict[str, Any]]:
    answers = []
    for item in await sandbox.webhooks(kind):
        response = await client.post(ROUTE, content=item["body"].encode(), headers=item["headers"])
        assert response.status_code == 200, response.text
        answers.append(response.json())
    return answers


async def paid_by_bank(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: OpenBankingSandbox
) -> dict[str, Any]:
    order_id = await make_order(tenant, seq=1, lines=[("Pizza", 2500, 1, 2000)])
    payment: dict[str, Any] = (
        await pay(client, tenant.headers, order_id, method="open_banking", amount=2500)
    ).json()
    assert (await payer_starts(client, payment)).status_code == 303
    await sandbox.approve(await reference("payments", payment["id"]), until="executed")
    await sandbox.settle(await reference("payments", payment["id"]))
    await deliver_all(client, sandbox, "payment_executed")
    await deliver_all(client, sandbox, "payment_settled")
    return payment


async def test_a_refund_is_pending_until_the_bank_executes_it(
    client: httpx.AsyncClient, tenant: Tenant, open_banking_sandbox: OpenBankingSandbox
) -> None:
    payment = await paid_by_bank(client, tenant, open_banking_sandbox)
    pending = await refund(client, tenant.headers, payment["id"], amount=1000)
    assert (pending.status_code, pending.json()["state"]) == (201, "pending")
    # Pending refunds count against what is left, so this one is refused.
    too_much = await refund(client, tenant.headers, payment["id"], amount=1501)
    assert_problem(too_much, 409, "refund.exceeds_captured", "amount")

    await open_banking_sandbox.advance_clock(10)  # the bank pays the refund out
    await deliver_all(client, open_banking_sandbox, "refund_executed")
    listed = await client.get(f"/api/v1/payments/{payment['id']}/refunds", headers=tenant.headers)
    assert [r["state"] for r in listed.json()] == ["succeeded"]
    read = await client.get(f"/api/v1/payments/{payment['id']}", headers=tenant.headers)
    assert read.json()["refunded"] == 1000


async def test_a_failed_refund_can_be_made_again(
    client: httpx.AsyncClient, tenant: Tenant, open_banking_sandbox: OpenBankingSandbox
) -> None:
    payment = await paid_by_bank(client, tenant, open_banking_sandbox)
    first = (await refund(client, tenant.headers, payment["id"])).json()
    assert (first["amount"], first["state"]) == (2500, "pending")
    await open_banking_sandbox.fail_refund(await reference("refunds", first["id"]))
    await deliver_all(client, open_banking_sandbox, "refund_failed")
    listed = await client.get(f"/api/v1/payments/{payment['id']}/refunds", headers=tenant.headers)
    assert [(r["state"], r["failure_reason"]) for r in listed.json()] == [("failed", "returned")]
    again = await refund(client, tenant.headers, payment["id"])
    assert (again.status_code, again.json()["amount"]) == (201, 2500)
