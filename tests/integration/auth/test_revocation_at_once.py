"""Deactivating or demoting someone takes effect at their next request (issue 13, finding 4).

Before, an employee's session worked for up to 30 minutes after they were deactivated or
demoted, and a back-office user's access token for up to 15. Now every request checks the
person behind the token, as it already checks the iPad (reliability A5).
"""

from __future__ import annotations

from uuid import uuid4

import httpx
from litestar import Litestar

from server.auth.passwords import hash_password
from server.auth.tables import Role, User
from tests.factories import Tenant, make_employee, make_ipad, make_order, sign_in

PASSWORD = "correct horse battery"


async def _user(tenant: Tenant, role: Role) -> str:
    email = f"{uuid4().hex[:10]}@test.fynlo.app"
    await User.insert(
        User(
            restaurant_id=tenant.restaurant_id,
            email=email,
            name="Pat",
            password_hash=await hash_password(PASSWORD),
            role=role,
        )
    )
    return email


async def _login(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    pair: dict[str, str] = response.json()
    return pair


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_deactivated_employees_session_stops_at_their_next_request(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    cashier = await make_employee(tenant, role=Role.cashier)
    ipad = await sign_in(app, await make_ipad(app, tenant), cashier)
    assert (await client.get("/api/v1/orders", headers=ipad.headers)).status_code == 200

    off = await client.patch(
        f"/api/v1/employees/{cashier}", json={"active": False}, headers=tenant.headers
    )
    assert off.status_code == 200, off.text
    response = await client.get("/api/v1/orders", headers=ipad.headers)
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "not_authenticated"
    # The iPad itself is still enrolled: without the session it works as a bare device.
    bare = {"Authorization": ipad.headers["Authorization"]}
    assert (await client.get("/api/v1/products", headers=bare)).status_code == 200


async def test_a_demoted_managers_session_stops_at_their_next_request(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    manager = await make_employee(tenant, role=Role.manager)
    ipad = await sign_in(app, await make_ipad(app, tenant), manager)
    order = await make_order(tenant, seq=1)
    assert (await client.get("/api/v1/employees", headers=ipad.headers)).status_code == 200

    demoted = await client.patch(
        f"/api/v1/employees/{manager}", json={"role": "server"}, headers=tenant.headers
    )
    assert demoted.status_code == 200, demoted.text
    void = await client.post(
        f"/api/v1/orders/{order}/void", json={"reason": "test"}, headers=ipad.headers
    )
    assert void.status_code == 401, void.text
    assert (await client.get("/api/v1/employees", headers=ipad.headers)).status_code == 401
    # Signing in again gives a session with the new role.
    again = await sign_in(app, ipad, manager)
    assert (await client.get("/api/v1/employees", headers=again.headers)).status_code == 403
    assert (await client.get("/api/v1/orders", headers=again.headers)).status_code == 200


async def test_a_demoted_managers_approval_cannot_be_spent(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    manager = await make_employee(tenant, role=Role.manager)
    ipad = await sign_in(
        app, await make_ipad(app, tenant), await make_employee(tenant, role=Role.server)
    )
    approval = await client.post(
        "/api/v1/auth/approvals",
        json={"employee_id": str(manager), "pin": "482615", "permission": "orders.void"},
        headers=ipad.headers,
    )
    assert approval.status_code == 200, approval.text
    off = await client.patch(
        f"/api/v1/employees/{manager}", json={"active": False}, headers=tenant.headers
    )
    assert off.status_code == 200
    headers = {**ipad.headers, "X-Fynlo-Approval": approval.json()["approval_token"]}
    order = await make_order(tenant, seq=2)
    void = await client.post(
        f"/api/v1/orders/{order}/void", json={"reason": "test"}, headers=headers
    )
    assert void.status_code == 403, void.text
    assert (await client.get(f"/api/v1/orders/{order}", headers=tenant.headers)).json()[
        "status"
    ] != "voided"


async def test_a_deactivated_users_access_token_stops_at_once(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    email = await _user(tenant, Role.manager)
    pair = await _login(client, email)
    assert (
        await client.get("/api/v1/orders", headers=_bearer(pair["access_token"]))
    ).status_code == 200

    await User.update({User.active: False}).where(User.email == email)
    response = await client.get("/api/v1/orders", headers=_bearer(pair["access_token"]))
    assert response.status_code == 401, response.text
    refresh = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert refresh.status_code == 401


async def test_a_demoted_users_access_token_stops_and_a_refresh_carries_the_new_role(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    email = await _user(tenant, Role.owner)
    pair = await _login(client, email)
    headers = _bearer(pair["access_token"])
    assert (await client.get("/api/v1/employees", headers=headers)).status_code == 200

    await User.update({User.role: Role.manager}).where(User.email == email)
    created = await client.post("/api/v1/locations", json={"name": "Annex"}, headers=headers)
    assert created.status_code == 401, created.text
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    headers = _bearer(refreshed.json()["access_token"])
    assert (await client.get("/api/v1/employees", headers=headers)).status_code == 200
    refused = await client.post("/api/v1/locations", json={"name": "Annex"}, headers=headers)
    assert refused.status_code == 403


async def test_an_access_token_for_another_restaurants_user_is_refused(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    """The check reads the user within the token's restaurant, never across restaurants."""
    from server.auth.tokens import Caller, issue_access_token
    from server.settings import get_settings

    forged = Caller(
        user_id=tenant.user_id, restaurant_id=other_tenant.restaurant_id, role=Role.owner
    )
    token = issue_access_token(
        app.state.signing_keys, forged, issuer=get_settings().jwt_issuer, ttl=900
    )
    assert (await client.get("/api/v1/orders", headers=_bearer(token))).status_code == 401
