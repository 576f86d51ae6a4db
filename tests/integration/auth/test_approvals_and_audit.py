"""A manager's PIN approves a lower role's void; everything lands in the append-only log."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from litestar import Litestar

from server.audit.tables import AuditEntry
from server.auth.tables import Role
from server.orders.tables import OrderStatus
from tests.factories import Ipad, Tenant, make_employee, make_ipad, make_order, sign_in

MANAGER_PIN = "530917"


async def _approval(
    client: httpx.AsyncClient, ipad: Ipad, approver: object, pin: str, permission: str
) -> httpx.Response:
    body = {"employee_id": str(approver), "pin": pin, "permission": permission}
    return await client.post("/api/v1/auth/approvals", json=body, headers=ipad.headers)


async def _void(
    client: httpx.AsyncClient, headers: dict[str, str], order: object
) -> httpx.Response:
    return await client.post(
        f"/api/v1/orders/{order}/void", json={"reason": "customer walked out"}, headers=headers
    )


@pytest.fixture
async def setting(app: Litestar, tenant: Tenant) -> tuple[Ipad, object]:
    server = await make_employee(tenant, role=Role.server)
    manager = await make_employee(tenant, role=Role.manager, pin=MANAGER_PIN)
    return await sign_in(app, await make_ipad(app, tenant), server), manager


async def test_a_server_needs_a_managers_approval_to_void(
    client: httpx.AsyncClient, tenant: Tenant, setting: tuple[Ipad, object]
) -> None:
    ipad, manager = setting
    order = await make_order(tenant, seq=7)
    refused = await _void(client, ipad.headers, order)
    assert refused.status_code == 403
    assert refused.json()["needs_approval"] is True

    approval = await _approval(client, ipad, manager, MANAGER_PIN, "orders.void")
    assert approval.status_code == 200, approval.text
    headers = {**ipad.headers, "X-Fynlo-Approval": approval.json()["approval_token"]}
    voided = await _void(client, headers, order)
    assert voided.status_code == 200, voided.text
    assert voided.json()["status"] == "voided"

    entry = (
        await AuditEntry.select()
        .where(
            (AuditEntry.restaurant_id == tenant.restaurant_id) & (AuditEntry.action == "void_order")
        )
        .first()
    )
    assert entry is not None
    assert entry["actor_id"] == ipad.employee_id and entry["role"] == "server"
    assert entry["device_id"] == ipad.device_id and entry["approved_by"] == manager
    assert entry["target_type"] == "order" and entry["target_id"] == str(order)

    # An approval is spent by the one request it approved.
    again = await _void(client, headers, await make_order(tenant, seq=8))
    assert again.status_code == 403 and again.json()["reason"] == "approval_spent"


async def test_approvals_come_only_from_managers_with_their_pin(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, setting: tuple[Ipad, object]
) -> None:
    ipad, manager = setting
    cashier = await make_employee(tenant, role=Role.cashier, pin="739152")
    not_manager = await _approval(client, ipad, cashier, "739152", "orders.void")
    assert not_manager.status_code == 403
    wrong_pin = await _approval(client, ipad, manager, "913724", "orders.void")
    assert wrong_pin.status_code == 401


async def test_an_approval_is_for_one_action_on_one_ipad(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, setting: tuple[Ipad, object]
) -> None:
    ipad, manager = setting
    order = await make_order(tenant, seq=9)
    refund = await _approval(client, ipad, manager, MANAGER_PIN, "payments.refund")
    headers = {**ipad.headers, "X-Fynlo-Approval": refund.json()["approval_token"]}
    assert (await _void(client, headers, order)).json()["reason"] == "approval_mismatch"

    void = await _approval(client, ipad, manager, MANAGER_PIN, "orders.void")
    other = await sign_in(app, await make_ipad(app, tenant, name="Till 2"), ipad.employee_id)  # type: ignore[arg-type]
    headers = {**other.headers, "X-Fynlo-Approval": void.json()["approval_token"]}
    assert (await _void(client, headers, order)).json()["reason"] == "approval_mismatch"


async def test_a_manager_voids_alone_but_a_paid_order_never_reopens(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    open_order = await make_order(tenant, seq=10)
    assert (await _void(client, tenant.headers, open_order)).status_code == 200
    # Voiding twice is harmless.
    assert (await _void(client, tenant.headers, open_order)).json()["status"] == "voided"
    paid = await make_order(tenant, seq=11, status=OrderStatus.paid)
    response = await _void(client, tenant.headers, paid)
    assert response.status_code == 409 and response.json()["code"] == "conflict"


async def test_every_change_is_in_the_audit_log_and_reads_are_not(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post(
        "/api/v1/categories", json={"name": "Brunch"}, headers=tenant.headers
    )
    await client.get("/api/v1/categories", headers=tenant.headers)
    refused = await client.post("/api/v1/categories", json={"name": ""}, headers=tenant.headers)
    assert refused.status_code == 400
    log = (await client.get("/api/v1/audit", headers=tenant.headers)).json()["items"]
    assert [(e["action"], e["actor_kind"], e["role"]) for e in log] == [
        ("create_category", "user", "owner")
    ]
    assert log[0]["actor_id"] == str(tenant.user_id)
    assert (log[0]["target_type"], log[0]["target_id"]) == ("categories", created.json()["id"])


async def test_the_audit_log_is_append_only(tenant: Tenant, client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/categories", json={"name": "Brunch"}, headers=tenant.headers)
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await AuditEntry.update({AuditEntry.action: "nothing"}).where(
            AuditEntry.restaurant_id == tenant.restaurant_id
        )
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await AuditEntry.delete().where(AuditEntry.restaurant_id == tenant.restaurant_id)
