"""Refunds per employee per day: within the restaurant's limit alone, above it approved.

The limit is the restaurant's (``GET/PUT /api/v1/payments/refund-limits``; 5 refunds and
10,000 minor units a day by default). A refund that would take the employee past it needs a
manager's approval (``X-Fynlo-Approval`` for ``payments.refund``) from someone other than the
employee; without one it is 403 ``refund.needs_approval`` and nothing is refunded. Owners
raise the limit (a manager may only lower it) and are not held to it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID, uuid4

import httpx
import pytest
from litestar import Litestar

from server.auth.tables import Role
from server.db.engine import DB
from tests.factories import Ipad, Tenant, make_employee, make_ipad, make_order, sign_in
from tests.integration.payments.api import cash, keyed, refund
from tests.problems import assert_problem

pytestmark = pytest.mark.usefixtures("cash_only")

MANAGER_PIN = "583920"
OTHER_MANAGER_PIN = "719364"
CASHIER_PIN = "264815"
TAB = 20_000
"""A bill big enough for many refunds (£200)."""


async def on_ipad(app: Litestar, tenant: Tenant, role: Role, pin: str) -> Ipad:
    employee = await make_employee(tenant, role=role, pin=pin)
    return await sign_in(app, await make_ipad(app, tenant, name=f"Till {pin}"), employee, pin)


async def approval(
    client: httpx.AsyncClient, ipad: Ipad, approver: UUID | None, pin: str
) -> dict[str, str]:
    """``ipad``'s headers with a fresh approval of ``payments.refund`` by ``approver``."""
    body = {"employee_id": str(approver), "pin": pin, "permission": "payments.refund"}
    granted = await client.post("/api/v1/auth/approvals", json=body, headers=ipad.headers)
    assert granted.status_code == 200, granted.text
    return {**ipad.headers, "X-Fynlo-Approval": granted.json()["approval_token"]}


async def paid(client: httpx.AsyncClient, tenant: Tenant, seq: int = 1) -> str:
    order_id = await make_order(tenant, seq=seq, lines=[("Feast", TAB, 1, 2000)])
    payment = await cash(client, tenant.headers, order_id, TAB)
    assert payment.status_code == 201, payment.text
    return str(payment.json()["id"])


async def limit(client: httpx.AsyncClient, tenant: Tenant, **limits: int) -> None:
    changed = await client.put(
        "/api/v1/payments/refund-limits", json=limits, headers=tenant.headers
    )
    assert changed.status_code == 200, changed.text


async def test_the_default_limits_are_readable_and_only_an_owner_raises_them(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    manager = await on_ipad(app, tenant, Role.manager, MANAGER_PIN)
    read = await client.get("/api/v1/payments/refund-limits", headers=manager.headers)
    assert read.json() == {"count": 5, "amount": 10_000}
    raised = await client.put(
        "/api/v1/payments/refund-limits", json={"count": 50}, headers=manager.headers
    )
    assert assert_problem(raised, 403, "forbidden")["reason"] == "owner_only"
    lowered = await client.put(
        "/api/v1/payments/refund-limits", json={"count": 2}, headers=manager.headers
    )
    assert lowered.json() == {"count": 2, "amount": 10_000}
    raised = await client.put(
        "/api/v1/payments/refund-limits", json={"amount": 20_000}, headers=tenant.headers
    )
    assert raised.json() == {"count": 2, "amount": 20_000}
    # The surcharge policy lives beside the limits and leaves them as they are.
    await client.put(
        "/api/v1/payments/policy", json={"surcharge": "pass_on"}, headers=tenant.headers
    )
    read = await client.get("/api/v1/payments/refund-limits", headers=tenant.headers)
    assert read.json() == {"count": 2, "amount": 20_000}


async def test_a_manager_past_the_daily_count_needs_another_managers_approval(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    payment_id = await paid(client, tenant)
    manager = await on_ipad(app, tenant, Role.manager, MANAGER_PIN)
    other = await make_employee(tenant, role=Role.manager, pin=OTHER_MANAGER_PIN)
    for _ in range(5):
        alone = await refund(client, manager.headers, payment_id, amount=100)
        assert alone.status_code == 201, alone.text

    sixth = await refund(client, manager.headers, payment_id, amount=100)
    problem = assert_problem(sixth, 403, "refund.needs_approval")
    assert (problem["needs_approval"], problem["permission"]) == (True, "payments.refund")
    assert (problem["refunds_today"], problem["refunded_today"]) == (5, 500)

    own = await approval(client, manager, manager.employee_id, MANAGER_PIN)
    assert_problem(await refund(client, own, payment_id, amount=100), 403, "refund.needs_approval")
    approved = await refund(
        client, await approval(client, manager, other, OTHER_MANAGER_PIN), payment_id, amount=100
    )
    assert approved.status_code == 201, approved.text

    log = (await client.get("/api/v1/audit", headers=tenant.headers)).json()["items"]
    assert str(other) in [e["approved_by"] for e in log if e["action"] == "refund_payment"]
    listed = await client.get(f"/api/v1/payments/{payment_id}/refunds", headers=tenant.headers)
    assert len(listed.json()) == 6


async def test_one_refund_past_the_daily_amount_needs_approval(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    payment_id = await paid(client, tenant)
    manager = await on_ipad(app, tenant, Role.manager, MANAGER_PIN)
    assert (await refund(client, manager.headers, payment_id, amount=9_000)).status_code == 201
    over = await refund(client, manager.headers, payment_id, amount=1_001)
    assert assert_problem(over, 403, "refund.needs_approval")["refund_limit_amount"] == 10_000
    exactly = await refund(client, manager.headers, payment_id, amount=1_000)
    assert exactly.status_code == 201, exactly.text


async def test_yesterdays_refunds_do_not_count_and_owners_are_not_limited(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await limit(client, tenant, count=1)
    payment_id = await paid(client, tenant)
    manager = await on_ipad(app, tenant, Role.manager, MANAGER_PIN)
    first = await refund(client, manager.headers, payment_id, amount=100)
    assert first.status_code == 201
    assert (await refund(client, manager.headers, payment_id, amount=100)).status_code == 403
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        await conn.execute(
            "UPDATE refunds SET created_at = created_at - $2::interval WHERE id = $1",
            UUID(first.json()["id"]),
            timedelta(days=1),
        )
    assert (await refund(client, manager.headers, payment_id, amount=100)).status_code == 201
    for _ in range(3):  # the owner, in the back office
        assert (await refund(client, tenant.headers, payment_id, amount=100)).status_code == 201


async def test_a_cashiers_refunds_are_each_approved_and_count_towards_the_limit(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await limit(client, tenant, count=1)
    payment_id = await paid(client, tenant)
    cashier = await on_ipad(app, tenant, Role.cashier, CASHIER_PIN)
    manager = await make_employee(tenant, role=Role.manager, pin=MANAGER_PIN)
    for _ in range(2):  # under and over the limit alike, the one approval is enough
        approved = await approval(client, cashier, manager, MANAGER_PIN)
        assert (await refund(client, approved, payment_id, amount=100)).status_code == 201


async def test_concurrent_refunds_cannot_slip_past_the_limit_together(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    payment_id = await paid(client, tenant)
    manager = await on_ipad(app, tenant, Role.manager, MANAGER_PIN)
    answers = await asyncio.gather(
        *(refund(client, manager.headers, payment_id, amount=100) for _ in range(12))
    )
    assert sorted(a.status_code for a in answers) == [201] * 5 + [403] * 7


async def test_the_retry_of_an_approved_refund_needs_no_second_approval(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await limit(client, tenant, count=0)
    payment_id = await paid(client, tenant)
    manager = await on_ipad(app, tenant, Role.manager, MANAGER_PIN)
    other = await make_employee(tenant, role=Role.manager, pin=OTHER_MANAGER_PIN)
    key = str(uuid4())
    approved = await approval(client, manager, other, OTHER_MANAGER_PIN)
    first = await refund(client, approved, payment_id, key=key, amount=100)
    again = await client.post(
        f"/api/v1/payments/{payment_id}/refunds",
        json={"amount": 100, "reason": "customer changed their mind"},
        headers=keyed(manager.headers, key),
    )
    assert first.status_code == 201, first.text
    assert (again.status_code, again.content) == (201, first.content)
