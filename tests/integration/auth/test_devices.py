"""Enrolling iPads with one-time codes, and cutting off a lost one at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from litestar import Litestar

from server.auth.tables import Role
from server.devices.tables import EnrolmentCode
from tests.factories import Tenant, make_employee, make_ipad, make_order, sign_in


async def _code(client: httpx.AsyncClient, tenant: Tenant) -> str:
    body = {"location_id": str(tenant.location_id)}
    response = await client.post(
        "/api/v1/devices/enrolment-codes", json=body, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    code: str = response.json()["code"]
    return code


async def _enrol(client: httpx.AsyncClient, code: str, name: str = "Bar iPad") -> httpx.Response:
    return await client.post("/api/v1/devices/enroll", json={"code": code, "name": name})


async def test_a_code_enrols_one_ipad_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    code = await _code(client, tenant)
    response = await _enrol(client, code.lower())  # typed in lower case on the iPad
    assert response.status_code == 201, response.text
    enrolled = response.json()
    assert enrolled["device"]["location_id"] == str(tenant.location_id)
    assert enrolled["device"]["prefix"] == "A" and enrolled["device"]["epoch"] == 1
    headers = {"Authorization": f"Bearer {enrolled['access_token']}"}
    assert (await client.get("/api/v1/products", headers=headers)).status_code == 200
    assert (await _enrol(client, code)).status_code == 401


async def test_two_ipads_racing_for_one_code_enrol_one(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    code = await _code(client, tenant)
    results = await asyncio.gather(*(_enrol(client, code, f"iPad {n}") for n in range(5)))
    assert sorted(r.status_code for r in results) == [201, 401, 401, 401, 401]


async def test_expired_and_wrong_codes_are_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    code = await _code(client, tenant)
    await EnrolmentCode.update(
        {EnrolmentCode.expires_at: datetime.now(UTC) - timedelta(seconds=1)}
    ).where(EnrolmentCode.location_id == tenant.location_id)
    assert (await _enrol(client, code)).status_code == 401
    assert (await _enrol(client, "ZZZZ-ZZZZ")).status_code == 401


async def test_each_ipad_gets_its_own_prefix_and_epoch(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # Orders already numbered A-… at this location keep "A" from being handed out again.
    await make_order(tenant, seq=1, device_prefix="A")
    first = (await _enrol(client, await _code(client, tenant))).json()["device"]
    second = (await _enrol(client, await _code(client, tenant))).json()["device"]
    assert (first["prefix"], second["prefix"]) == ("B", "C")
    assert second["epoch"] == first["epoch"] + 1


async def test_revoking_cuts_off_the_device_its_refresh_and_its_sessions_at_once(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await sign_in(
        app, await make_ipad(app, tenant), await make_employee(tenant, role=Role.server)
    )
    assert (await client.get("/api/v1/orders", headers=ipad.headers)).status_code == 200

    response = await client.post(f"/api/v1/devices/{ipad.device_id}/revoke", headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json()["revoked_at"] is not None

    assert (await client.get("/api/v1/orders", headers=ipad.headers)).status_code == 401
    refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": ipad.refresh_token})
    assert refresh.status_code == 401
    listed = (await client.get("/api/v1/devices", headers=tenant.headers)).json()
    assert [d["revoked_at"] is not None for d in listed if d["id"] == str(ipad.device_id)] == [True]


async def test_another_restaurant_cannot_revoke_or_see_a_device(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    path = f"/api/v1/devices/{ipad.device_id}"
    assert (await client.post(f"{path}/revoke", headers=other_tenant.headers)).status_code == 404
    assert (await client.get(path, headers=other_tenant.headers)).status_code == 404
    assert (await client.get("/api/v1/products", headers=ipad.headers)).status_code == 200
    # A code for another restaurant's location cannot be made.
    body = {"location_id": str(tenant.location_id)}
    response = await client.post(
        "/api/v1/devices/enrolment-codes", json=body, headers=other_tenant.headers
    )
    assert response.status_code == 400 and response.json()["field"] == "location_id"
