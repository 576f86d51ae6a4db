"""Voids per employee per day: within the restaurant's limit alone, above it approved.

The limit is the restaurant's (``GET/PUT /api/v1/orders/void-limits``; 3 voids and 10,000
minor units of voided orders' ``total_due`` a day by default). A void that would take the
employee past it needs a manager's approval (``X-Fynlo-Approval`` for ``orders.void``) from
someone other than the employee; without one it is 403 ``void.needs_approval`` and the order
is unchanged. Owners raise the limit (a manager may only lower it) and are not held to it.
Until the time clock gives shifts, the day is the calendar day of the order's location.
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
from server.errors import Forbidden
from server.orders import void_limits
from tests.factories import Ipad, Tenant, make_employee, make_ipad, make_order, make_tenant, sign_in
from tests.problems import assert_problem

MANAGER_PIN = "583920"
OTHER_MANAGER_PIN = "719364"
SERVER_PIN = "264815"
LIMITS = "/api/v1/orders/void-limits"


async def on_ipad(app: Litestar, tenant: Tenant, role: Role, pin: str) -> Ipad:
    employee = await make_employee(tenant, role=role, pin=pin)
    return await sign_in(app, await make_ipad(app, tenant, name=f"Till {pin}"), employee, pin)


async def approval(
    client: httpx.AsyncClient, ipad: Ipad, approver: UUID | None, pin: str
) -> dict[str, str]:
    """``ipad``'s headers with a fresh approval of ``orders.void`` by ``approver``."""
    body = {"employee_id": str(approver), "pin": pin, "permission": "orders.void"}
    granted = await client.post("/api/v1/auth/approvals", json=body, headers=ipad.headers)
    assert granted.status_code == 200, granted.text
    return {**ipad.headers, "X-Fynlo-Approval": granted.json()["approval_token"]}


async def orders(tenant: Tenant, count: int, *, price: int = 300, first: int = 1) -> list[UUID]:
    return [
        await make_order(tenant, seq=seq, lines=[("Feast", price, 1, 2000)])
        for seq in range(first, first + count)
    ]


async def void(client: httpx.AsyncClient, headers: dict[str, str], order: UUID) -> httpx.Response:
    return await client.post(
        f"/api/v1/orders/{order}/void", json={"reason": "walked out"}, headers=headers
    )


async def status_of(client: httpx.AsyncClient, tenant: Tenant, order: UUID) -> str:
    read = await client.get(f"/api/v1/orders/{order}", headers=tenant.headers)
    assert read.status_code == 200, read.text
    status: str = read.json()["status"]
    return status


async def limit(client: httpx.AsyncClient, tenant: Tenant, **limits: int) -> None:
    changed = await client.put(LIMITS, json=limits, headers=tenant.headers)
    assert changed.status_code == 200, changed.text


async def test_the_default_limits_are_readable_and_only_an_owner_raises_them(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    manager = await on_ipad(app, tenant, Role.manager, MANAGER_PIN)
    server = await on_ipad(app, tenant, Role.server, SERVER_PIN)
    assert (await client.get(LIMITS, headers=server.headers)).json() == {
        "count": 3,
        "amount": 10_000,
    }
    raised = await client.put(LIMITS, json={"count": 50}, headers=manager.headers)
    assert assert_problem(raised, 403, "forbidden")["reason"] == "owner_only"
    raised = await client.put(LIMITS, json={"count": 1, "amount": 10_001}, headers=manager.headers)
    assert assert_problem(raised, 403, "forbidden")["reason"] == "owner_only"
    assert_problem(
        await client.put(LIMITS, json={"count": 1}, headers=server.headers), 403, "forbidden"
    )
    lowered = await client.put(LIMITS, json={"count": 2}, headers=manager.headers)
    assert lowered.json() == {"count": 2, "amount": 10_000}
    raised = await client.put(LIMITS, json={"amount": 20_000}, headers=tenant.headers)
    assert raised.json() == {"count": 2, "amount": 20_000}
    assert_problem(
        await client.put(LIMITS, json={"count": -1}, headers=tenant.headers),
        400,
        "validation_failed",
    )
    # The refund limits are another policy and stay as they were.
    refunds = await client.get("/api/v1/payments/refund-limits", headers=tenant.headers)
    assert refunds.json() == {"count": 5, "amount": 10_000}
    read = await client.get(LIMITS, headers=manager.headers)
    assert read.json() == {"count": 2, "amount": 20_000}


async def test_a_managers_fourth_void_needs_another_managers_approval(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    manager = await on_ipad(app, tenant, Role.manager, MANAGER_PIN)
    other = await make_employee(tenant, role=Role.manager, pin=OTHER_MANAGER_PIN)
    *first, fourth = await orders(tenant, 4)
    for order in first:
        alone = await void(client, manager.headers, order)
        assert alone.status_code == 200, alone.text

    refused = await void(client, manager.headers, fourth)
    problem = assert_problem(refused, 403, "void.needs_approval")
    assert (problem["needs_approval"], problem["permission"]) == (True, "orders.void")
    assert (problem["voids_today"], problem["voided_today"]) == (3, 900)
    assert (problem["void_limit_count"], problem["void_limit_amount"]) == (3, 10_000)
    assert await status_of(client, tenant, fourth) == "open"

    own = await approval(client, manager, manager.employee_id, MANAGER_PIN)
    by_self = assert_problem(await void(client, own, fourth), 403, "void.needs_approval")
    assert by_self["reason"] == "approval_by_self"
    assert await status_of(client, tenant, fourth) == "open"

    approved = await void(client, await approval(client, manager, other, OTHER_MANAGER_PIN), fourth)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "voided"
    log = (await client.get("/api/v1/audit", headers=tenant.headers)).json()["items"]
    assert str(other) in [e["approved_by"] for e in log if e["action"] == "void_order"]
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT order_id, employee_id, user_id, approved_by, amount FROM order_voids"
            " WHERE restaurant_id = $1",
            tenant.restaurant_id,
        )
    assert {r["order_id"]: r["approved_by"] for r in rows} == {
        **dict.fromkeys(first, None),
        fourth: other,
    }
    assert {(r["employee_id"], r["user_id"], r["amount"]) for r in rows} == {
        (manager.employee_id, None, 300)
    }

    # Voiding it again changes nothing and is not counted again.
    again = await void(client, manager.headers, fourth)
    assert again.status_code == 200, again.text


async def test_one_void_past_the_daily_amount_needs_approval(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    manager = await on_ipad(app, tenant, Role.manager, MANAGER_PIN)
    (big,) = await orders(tenant, 1, price=9_000)
    (over,) = await orders(tenant, 1, price=1_001, first=2)
    (exactly,) = await orders(tenant, 1, price=1_000, first=3)
    assert (await void(client, manager.headers, big)).status_code == 200
    problem = assert_problem(await void(client, manager.headers, over), 403, "void.needs_approval")
    assert (problem["voided_today"], problem["void_limit_amount"]) == (9_000, 10_000)
    assert await status_of(client, tenant, over) == "open"
    voided = await void(client, manager.headers, exactly)
    assert voided.status_code == 200, voided.text


async def test_owners_are_not_limited(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await limit(client, tenant, count=0, amount=0)
    for order in await orders(tenant, 5, price=5_000):  # the owner, in the back office
        voided = await void(client, tenant.headers, order)
        assert voided.status_code == 200, voided.text


async def test_a_back_office_manager_is_counted_by_their_account(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    manager = await make_tenant(app, role=Role.manager)
    *first, fourth = await orders(manager, 4)
    for order in first:
        assert (await void(client, manager.headers, order)).status_code == 200
    assert_problem(await void(client, manager.headers, fourth), 403, "void.needs_approval")


async def test_front_of_house_voids_carry_their_approval_and_count(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await limit(client, tenant, count=1)
    server = await on_ipad(app, tenant, Role.server, SERVER_PIN)
    manager = await make_employee(tenant, role=Role.manager, pin=MANAGER_PIN)
    ordered = await orders(tenant, 2)
    for order in ordered:  # under and over the limit alike, the one approval is enough
        approved = await approval(client, server, manager, MANAGER_PIN)
        voided = await void(client, approved, order)
        assert voided.status_code == 200, voided.text
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        counted = await conn.fetch(
            "SELECT approved_by FROM order_voids WHERE employee_id = $1", server.employee_id
        )
    assert [r["approved_by"] for r in counted] == [manager, manager]


async def test_concurrent_voids_cannot_slip_past_the_limit_together(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    manager = await on_ipad(app, tenant, Role.manager, MANAGER_PIN)
    ordered = await orders(tenant, 8)
    answers = await asyncio.gather(*(void(client, manager.headers, order) for order in ordered))
    assert sorted(a.status_code for a in answers) == [200] * 3 + [403] * 5
    statuses = [await status_of(client, tenant, order) for order in ordered]
    assert sorted(statuses) == ["open"] * 5 + ["voided"] * 3


async def test_yesterdays_voids_do_not_count(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await limit(client, tenant, count=1)
    manager = await on_ipad(app, tenant, Role.manager, MANAGER_PIN)
    first, second, third = await orders(tenant, 3)
    assert (await void(client, manager.headers, first)).status_code == 200
    assert (await void(client, manager.headers, second)).status_code == 403
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        await conn.execute(
            "UPDATE order_voids SET voided_at = voided_at - $2::interval WHERE order_id = $1",
            first,
            timedelta(days=1),
        )
    assert (await void(client, manager.headers, second)).status_code == 200
    assert (await void(client, manager.headers, third)).status_code == 403


async def test_check_and_record_run_inside_the_callers_transaction(tenant: Tenant) -> None:
    """What the sync path calls: the two functions on its own connection and transaction."""
    employee, approver = uuid4(), uuid4()
    order = await make_order(tenant, seq=1)
    where = {"restaurant_id": tenant.restaurant_id, "location_id": tenant.location_id}
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        with pytest.raises(Forbidden) as nobody:
            async with conn.transaction():
                await void_limits.check_void(
                    conn,
                    **where,
                    employee_id=None,
                    user_id=None,
                    role=None,
                    approved_by=None,
                    amount=0,
                )
        assert nobody.value.extra["reason"] == "no_actor"

        async with conn.transaction():
            for _ in range(2):  # recorded once, however often
                await void_limits.record_void(
                    conn,
                    **where,
                    order_id=order,
                    employee_id=employee,
                    user_id=None,
                    approved_by=None,
                    amount=20_000,
                )
        async with conn.transaction():
            with pytest.raises(void_limits.VoidNeedsApproval):
                await void_limits.check_void(
                    conn,
                    **where,
                    employee_id=employee,
                    user_id=None,
                    role=Role.manager,
                    approved_by=None,
                    amount=0,
                )
            await void_limits.check_void(
                conn,
                **where,
                employee_id=employee,
                user_id=None,
                role=Role.manager,
                approved_by=approver,
                amount=0,
            )
            await void_limits.check_void(
                conn,
                **where,
                employee_id=employee,
                user_id=None,
                role=Role.owner,
                approved_by=None,
                amount=0,
            )
        assert (
            await conn.fetchval("SELECT count(*) FROM order_voids WHERE employee_id = $1", employee)
            == 1
        )
