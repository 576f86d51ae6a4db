"""Nobody grants, or acts on, a role above their own (issue 13, finding 2).

A manager who could create an owner employee (or promote one, or reset an owner's PIN) could
sign in as that owner on an iPad and reach owner-only routes. Every refusal is a 403
``employees.role_above_own`` and changes nothing.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
import pytest
from litestar import Litestar

from server.auth.tables import Role
from tests.factories import Tenant, make_employee, make_ipad, make_tenant, sign_in
from tests.problems import assert_problem

CODE = "employees.role_above_own"


@pytest.fixture
async def manager(app: Litestar) -> Tenant:
    """A restaurant whose signed-in back-office user is a manager."""
    return await make_tenant(app, role=Role.manager)


async def _employee(client: httpx.AsyncClient, tenant: Tenant, employee: UUID) -> dict[str, Any]:
    response = await client.get(f"/api/v1/employees/{employee}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_manager_cannot_create_an_owner(client: httpx.AsyncClient, manager: Tenant) -> None:
    body = {"name": "Mallory", "role": "owner", "pin": "482615"}
    response = await client.post("/api/v1/employees", json=body, headers=manager.headers)
    problem = assert_problem(response, 403, CODE)
    assert problem["role"] == "owner"
    listed = await client.get("/api/v1/employees", headers=manager.headers)
    assert [e for e in listed.json() if e["role"] == "owner"] == []


async def test_a_manager_cannot_promote_anyone_to_owner(
    client: httpx.AsyncClient, manager: Tenant
) -> None:
    cashier = await make_employee(manager, role=Role.cashier)
    response = await client.patch(
        f"/api/v1/employees/{cashier}", json={"role": "owner"}, headers=manager.headers
    )
    assert_problem(response, 403, CODE)
    assert (await _employee(client, manager, cashier))["role"] == "cashier"


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("PATCH", "", {"role": "server"}),
        ("PATCH", "", {"active": False}),
        ("PATCH", "", {"name": "Renamed"}),
        ("PUT", "/pin", {"pin": "593718"}),
    ],
    ids=["demote", "deactivate", "rename", "reset-pin"],
)
async def test_a_manager_cannot_act_on_an_owner(
    client: httpx.AsyncClient, manager: Tenant, method: str, suffix: str, body: dict[str, Any]
) -> None:
    """Resetting an owner's PIN would let the manager sign in as them, so it is refused too."""
    owner = await make_employee(manager, role=Role.owner)
    before = await _employee(client, manager, owner)
    response = await client.request(
        method, f"/api/v1/employees/{owner}{suffix}", json=body, headers=manager.headers
    )
    assert_problem(response, 403, CODE)
    assert await _employee(client, manager, owner) == before


async def test_a_manager_signed_in_on_an_ipad_cannot_grant_owner_either(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await sign_in(
        app, await make_ipad(app, tenant), await make_employee(tenant, role=Role.manager)
    )
    body = {"name": "Mallory", "role": "owner", "pin": "482615"}
    assert_problem(
        await client.post("/api/v1/employees", json=body, headers=ipad.headers), 403, CODE
    )
    server = await make_employee(tenant, role=Role.server)
    response = await client.patch(
        f"/api/v1/employees/{server}", json={"role": "owner"}, headers=ipad.headers
    )
    assert_problem(response, 403, CODE)


async def test_the_escalation_path_is_closed(
    app: Litestar, client: httpx.AsyncClient, manager: Tenant
) -> None:
    """The finding end to end: a manager makes an owner employee, then uses it on an iPad."""
    assert (
        await client.post("/api/v1/locations", json={"name": "X"}, headers=manager.headers)
    ).status_code == 403
    body = {"name": "Sock puppet", "role": "owner", "pin": "482615"}
    created = await client.post("/api/v1/employees", json=body, headers=manager.headers)
    assert created.status_code == 403
    kitchen = await make_employee(manager, role=Role.kitchen)
    promoted = await client.patch(
        f"/api/v1/employees/{kitchen}", json={"role": "owner"}, headers=manager.headers
    )
    assert promoted.status_code == 403
    ipad = await sign_in(app, await make_ipad(app, manager), kitchen)
    response = await client.post("/api/v1/locations", json={"name": "X"}, headers=ipad.headers)
    assert response.status_code == 403


async def test_a_manager_grants_up_to_their_own_role(
    client: httpx.AsyncClient, manager: Tenant
) -> None:
    body = {"name": "Deputy", "role": "manager", "pin": "482615"}
    created = await client.post("/api/v1/employees", json=body, headers=manager.headers)
    assert created.status_code == 201, created.text
    server = await make_employee(manager, role=Role.server)
    promoted = await client.patch(
        f"/api/v1/employees/{server}", json={"role": "manager"}, headers=manager.headers
    )
    assert promoted.status_code == 200, promoted.text
    # Another manager is not above a manager: deactivating one is allowed.
    other = await make_employee(manager, role=Role.manager)
    off = await client.patch(
        f"/api/v1/employees/{other}", json={"active": False}, headers=manager.headers
    )
    assert off.status_code == 200, off.text


async def test_an_owner_grants_any_role(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = {"name": "Partner", "role": "owner", "pin": "482615"}
    created = await client.post("/api/v1/employees", json=body, headers=tenant.headers)
    assert created.status_code == 201, created.text
    cashier = await make_employee(tenant, role=Role.cashier)
    promoted = await client.patch(
        f"/api/v1/employees/{cashier}", json={"role": "owner"}, headers=tenant.headers
    )
    assert promoted.status_code == 200, promoted.text
