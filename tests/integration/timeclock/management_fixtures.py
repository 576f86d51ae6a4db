"""Helpers for the time clock management tests: the callers of one restaurant, requests to the
management routes, and what an iPad pulls."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID, uuid4

import httpx
from litestar import Litestar

from server.auth.tables import Role, User
from server.auth.tokens import Caller, issue_access_token
from server.restaurants.tables import Location
from server.settings import get_settings
from tests.factories import Ipad, Tenant, make_employee, make_ipad, sign_in, staff_member
from tests.integration.sync.test_push_pull import pull_all

BASE = "/api/v1/time-clock"
JOB_ROLES = f"{BASE}/job-roles"
BREAK_TYPES = f"{BASE}/break-types"
SCHEDULES = f"{BASE}/schedules"
SETTINGS = f"{BASE}/settings"


def wage_rates(employee_id: UUID | str) -> str:
    return f"{BASE}/employees/{employee_id}/wage-rates"


@dataclass(frozen=True)
class Callers:
    """One restaurant's people as the routes see them: the owner and a manager in the back
    office, a manager and a cashier signed in on an iPad, and the iPad with nobody."""

    owner: dict[str, str]
    manager: dict[str, str]
    manager_on_ipad: dict[str, str]
    cashier_on_ipad: dict[str, str]
    bare_ipad: dict[str, str]


async def back_office_user(app: Litestar, tenant: Tenant, role: Role) -> dict[str, str]:
    """The headers of another back-office account of ``tenant``'s restaurant."""
    user_id = uuid4()
    await User.insert(
        User(
            id=user_id,
            restaurant_id=tenant.restaurant_id,
            email=f"{user_id.hex}@test.fynlo.app",
            name=f"Test {role}",
            password_hash="unused",
            role=role,
        )
    )
    caller = Caller(user_id=user_id, restaurant_id=tenant.restaurant_id, role=role)
    token = issue_access_token(
        app.state.signing_keys, caller, issuer=get_settings().jwt_issuer, ttl=900
    )
    return {"Authorization": f"Bearer {token}"}


async def callers_of(app: Litestar, tenant: Tenant) -> Callers:
    ipad = await make_ipad(app, tenant)
    manager = await staff_member(tenant, Role.manager)
    cashier = await staff_member(tenant, Role.cashier)
    return Callers(
        owner=tenant.headers,
        manager=await back_office_user(app, tenant, Role.manager),
        manager_on_ipad=(await sign_in(app, ipad, manager)).headers,
        cashier_on_ipad=(await sign_in(app, ipad, cashier)).headers,
        bare_ipad=ipad.headers,
    )


async def another_location(tenant: Tenant, *, timezone: str = "Europe/London") -> Tenant:
    """``tenant`` seen from a second location of the same restaurant."""
    location_id = uuid4()
    await Location.insert(
        Location(
            id=location_id, restaurant_id=tenant.restaurant_id, name="Annex", timezone=timezone
        )
    )
    return replace(tenant, location_id=location_id)


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def create_job_role(client: httpx.AsyncClient, tenant: Tenant, name: str) -> dict[str, Any]:
    body: dict[str, Any] = await ok(
        await client.post(JOB_ROLES, json={"name": name}, headers=tenant.headers), 201
    )
    return body


async def create_break_type(
    client: httpx.AsyncClient, tenant: Tenant, name: str, *, paid: bool = False, minutes: int = 30
) -> dict[str, Any]:
    body: dict[str, Any] = await ok(
        await client.post(
            BREAK_TYPES,
            json={"name": name, "paid": paid, "expected_minutes": minutes},
            headers=tenant.headers,
        ),
        201,
    )
    return body


async def employee_of(tenant: Tenant, role: Role = Role.server) -> UUID:
    return await make_employee(tenant, role=role)


async def pulled(
    client: httpx.AsyncClient, ipad: Ipad, entity_type: str, entity_id: UUID | str
) -> dict[str, Any] | None:
    """The state of one entity as ``ipad`` pulls it from an empty cursor (None if absent)."""
    changes, _ = await pull_all(client, ipad)
    return next(
        (
            change
            for change in changes
            if change["entity_type"] == entity_type and change["entity_id"] == str(entity_id)
        ),
        None,
    )
