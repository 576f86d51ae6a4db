"""PIN sign-in on an enrolled iPad: rules, and answers that reveal nothing."""

from __future__ import annotations

from uuid import uuid4

import httpx
import pytest
from litestar import Litestar

from server.auth.tables import Role
from server.auth.throttle import PIN
from tests.factories import DEFAULT_PIN, Tenant, make_employee, make_ipad, sign_in

STRIP = {"request_id", "instance"}
WRONG = "913724"


async def _pin(
    client: httpx.AsyncClient, headers: dict[str, str], employee: object, pin: str
) -> httpx.Response:
    body = {"employee_id": str(employee), "pin": pin}
    return await client.post("/api/v1/auth/pin", json=body, headers=headers)


async def test_a_pin_signs_in_and_the_session_is_bound_to_the_device(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    cashier = await make_employee(tenant, role=Role.cashier)
    response = await _pin(client, ipad.headers, cashier, DEFAULT_PIN)
    assert response.status_code == 200, response.text
    session = response.json()
    assert session["role"] == "cashier" and session["expires_in"] == 1800
    headers = {**ipad.headers, "X-Fynlo-Employee": session["employee_token"]}
    assert (await client.get("/api/v1/orders", headers=headers)).status_code == 200
    # The same session presented with another iPad's device token is refused.
    other = await make_ipad(app, tenant, name="Till 2")
    stolen = {**other.headers, "X-Fynlo-Employee": session["employee_token"]}
    assert (await client.get("/api/v1/orders", headers=stolen)).status_code == 401


async def test_unknown_employee_and_wrong_pin_answer_alike(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    employee = await make_employee(tenant, role=Role.server)
    wrong = await _pin(client, ipad.headers, employee, WRONG)
    unknown = await _pin(client, ipad.headers, uuid4(), WRONG)
    assert wrong.status_code == unknown.status_code == 401
    assert {k: v for k, v in wrong.json().items() if k not in STRIP} == {
        k: v for k, v in unknown.json().items() if k not in STRIP
    }


# Wrong PINs hold back the iPad they come from, never the PIN everywhere, and answer the
# same for an unknown id: tests/integration/auth/test_sign_in_abuse.py.


async def test_a_success_resets_the_consecutive_count(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    employee = await make_employee(tenant, role=Role.server)
    for _ in range(PIN.free - 1):
        assert (await _pin(client, ipad.headers, employee, WRONG)).status_code == 401
    assert (await _pin(client, ipad.headers, employee, DEFAULT_PIN)).status_code == 200
    for _ in range(PIN.free - 1):
        assert (await _pin(client, ipad.headers, employee, WRONG)).status_code == 401
    assert (await _pin(client, ipad.headers, employee, DEFAULT_PIN)).status_code == 200


@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", "1234", "0000", "11223344", "9876"])
async def test_weak_or_malformed_pins_are_refused(
    client: httpx.AsyncClient, tenant: Tenant, pin: str
) -> None:
    body = {"name": "Kim", "role": "server", "pin": pin}
    response = await client.post("/api/v1/employees", json=body, headers=tenant.headers)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "pin"


async def test_a_back_office_user_cannot_pin_sign_in(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    employee = await make_employee(tenant, role=Role.server)
    response = await _pin(client, tenant.headers, employee, DEFAULT_PIN)
    assert response.status_code == 400
    assert response.json()["field"] == "employee_id"


async def test_pin_hashes_never_leave_the_server(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await make_employee(tenant, role=Role.kitchen)
    response = await client.get("/api/v1/employees", headers=tenant.headers)
    assert response.status_code == 200
    assert "argon2" not in response.text and "pin_hash" not in response.text
    assert all(set(e) >= {"has_pin", "pin_locked"} for e in response.json())


async def test_a_signed_in_kitchen_employee_still_cannot_edit_the_menu(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await sign_in(
        app, await make_ipad(app, tenant), await make_employee(tenant, role=Role.kitchen)
    )
    response = await client.post(
        "/api/v1/categories", json={"name": "Secret"}, headers=ipad.headers
    )
    assert response.status_code == 403
