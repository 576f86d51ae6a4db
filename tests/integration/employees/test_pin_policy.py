"""PINs follow NIST SP 800-63B-4's rules for activation secrets by default: at least six
digits, none of the obvious ones. An owner may allow four digits for their restaurant; that
choice is an API call, written to the audit log (issue 13, finding 5)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
import pytest
from litestar import Litestar

from server.audit.tables import AuditEntry
from server.auth.tables import Role
from tests.factories import Tenant, make_employee, make_ipad, make_tenant, sign_in
from tests.problems import assert_problem

POLICY = "/api/v1/employees/pin-policy"

WEAK = [
    "4826",  # four digits: only with the restaurant's setting
    "48261",  # five digits: likewise
    "123456",
    "654321",
    "000000",
    "111111",
    "121212",
    "123123",
    "112233",
    "147258",
    "890123",  # a straight run, wrapping round
    "12341234",
    "159753",
]


async def _create(client: httpx.AsyncClient, tenant: Tenant, pin: str) -> httpx.Response:
    body = {"name": "Kim", "role": "server", "pin": pin}
    return await client.post("/api/v1/employees", json=body, headers=tenant.headers)


async def _set_policy(
    client: httpx.AsyncClient, headers: dict[str, str], allow: bool
) -> httpx.Response:
    return await client.put(POLICY, json={"allow_four_digit_pins": allow}, headers=headers)


@pytest.mark.parametrize("pin", WEAK)
async def test_by_default_short_and_obvious_pins_are_refused(
    client: httpx.AsyncClient, tenant: Tenant, pin: str
) -> None:
    assert_problem(await _create(client, tenant, pin), 400, "validation_failed", field="pin")
    employee = await make_employee(tenant, role=Role.server)
    reset = await client.put(
        f"/api/v1/employees/{employee}/pin", json={"pin": pin}, headers=tenant.headers
    )
    assert_problem(reset, 400, "validation_failed", field="pin")


async def test_six_digits_off_the_blocklist_are_accepted(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    assert (await _create(client, tenant, "730592")).status_code == 201
    assert (await _create(client, tenant, "73059218")).status_code == 201


async def test_the_default_policy_reads_six_digits(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get(POLICY, headers=tenant.headers)
    assert response.status_code == 200, response.text
    policy = response.json()
    assert policy["allow_four_digit_pins"] is False
    assert (policy["min_length"], policy["max_length"]) == (6, 8)


async def test_only_an_owner_allows_four_digits_and_it_is_audited(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    manager = await make_tenant(app, role=Role.manager)
    assert_problem(await _set_policy(client, manager.headers, True), 403, "forbidden")
    ipad = await sign_in(
        app, await make_ipad(app, tenant), await make_employee(tenant, role=Role.manager)
    )
    assert_problem(await _set_policy(client, ipad.headers, True), 403, "forbidden")

    allowed = await _set_policy(client, tenant.headers, True)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["allow_four_digit_pins"] is True
    assert allowed.json()["min_length"] == 4
    assert allowed.json()["changed_by"] == str(tenant.user_id)

    entries = (
        await AuditEntry.select()
        .where(
            (AuditEntry.restaurant_id == tenant.restaurant_id)
            & (AuditEntry.action == "employees.pin_policy")
        )
        .output(load_json=True)
    )
    assert len(entries) == 1
    entry: dict[str, Any] = entries[0]
    assert entry["actor_id"] == tenant.user_id and entry["role"] == "owner"
    assert entry["details"] == {"allow_four_digit_pins": True, "was": False}

    assert (await _create(client, tenant, "4826")).status_code == 201
    assert (await _create(client, tenant, "48261")).status_code == 201
    # The blocklist still applies to four digits.
    assert_problem(await _create(client, tenant, "1234"), 400, "validation_failed", field="pin")


async def test_turning_four_digits_off_retires_short_pins_at_once(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    assert (await _set_policy(client, tenant.headers, True)).status_code == 200
    short = await make_employee(tenant, role=Role.server, pin="4826")
    long = await make_employee(tenant, role=Role.server)
    ipad = await make_ipad(app, tenant)

    async def pin(employee: UUID, value: str) -> int:
        body = {"employee_id": str(employee), "pin": value}
        response = await client.post("/api/v1/auth/pin", json=body, headers=ipad.headers)
        return response.status_code

    assert await pin(short, "4826") == 200
    assert (await _set_policy(client, tenant.headers, False)).status_code == 200
    assert await pin(short, "4826") == 401
    assert await pin(long, "482615") == 200


async def test_one_restaurants_setting_is_its_own(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    assert (await _set_policy(client, tenant.headers, True)).status_code == 200
    assert (await client.get(POLICY, headers=other_tenant.headers)).json()[
        "allow_four_digit_pins"
    ] is False
    assert_problem(await _create(client, other_tenant, "4826"), 400, "validation_failed")


async def test_the_demo_restaurant_allows_its_four_digit_pins(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    """``make run`` prints four-digit demo PINs; loading the demo turns the setting on."""
    from server import demo
    from server.auth.sessions import device_pair
    from server.devices.services import enrol
    from server.settings import get_settings

    await demo.load_demo()
    credentials = await demo.fresh_credentials()
    assert credentials.enrolment_code is not None
    device, restaurant_id = await enrol(code=credentials.enrolment_code, name="Demo till")
    pair = await device_pair(
        app.state.signing_keys,
        get_settings(),
        restaurant_id=restaurant_id,
        device_id=device.id,
        location_id=device.location_id,
    )
    headers = {"Authorization": f"Bearer {pair.access_token}"}
    for employee in credentials.employees:
        assert len(employee.pin) == 4
        body = {"employee_id": str(employee.id), "pin": employee.pin}
        response = await client.post("/api/v1/auth/pin", json=body, headers=headers)
        assert response.status_code == 200, response.text
