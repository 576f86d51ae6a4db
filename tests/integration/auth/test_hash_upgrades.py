"""Hashes made with older argon2 parameters still sign in, and are rehashed when they do."""

from __future__ import annotations

from uuid import UUID, uuid4

import httpx
from argon2 import PasswordHasher, extract_parameters
from litestar import Litestar

from server.auth.passwords import PARAMETERS
from server.auth.tables import Role, User
from server.employees.tables import Employee
from tests.factories import DEFAULT_PIN, Tenant, make_employee, make_ipad

# argon2-cffi's defaults, which every hash was made with before OWASP's minimum was chosen.
OLDER = PasswordHasher(time_cost=3, memory_cost=65_536, parallelism=4)
PASSWORD = "correct horse battery"


async def _user_with_older_hash(tenant: Tenant) -> tuple[str, UUID]:
    email = f"{uuid4().hex[:10]}@test.fynlo.app"
    user_id = uuid4()
    await User.insert(
        User(
            id=user_id,
            restaurant_id=tenant.restaurant_id,
            email=email,
            name="Pat",
            password_hash=OLDER.hash(PASSWORD),
            role=Role.manager,
        )
    )
    return email, user_id


async def _password_hash(user_id: UUID) -> str:
    row = await User.select(User.password_hash).where(User.id == user_id).first()
    assert row is not None
    return str(row["password_hash"])


async def _pin_hash(employee_id: UUID) -> str:
    row = await Employee.select(Employee.pin_hash).where(Employee.id == employee_id).first()
    assert row is not None
    return str(row["pin_hash"])


async def test_an_older_password_hash_signs_in_and_is_rehashed(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    email, user_id = await _user_with_older_hash(tenant)
    wrong = {"email": email, "password": "wrong horse battery"}
    assert (await client.post("/api/v1/auth/login", json=wrong)).status_code == 401
    assert extract_parameters(await _password_hash(user_id)) != PARAMETERS  # not on a failure
    right = {"email": email, "password": PASSWORD}
    assert (await client.post("/api/v1/auth/login", json=right)).status_code == 200
    assert extract_parameters(await _password_hash(user_id)) == PARAMETERS
    assert (await client.post("/api/v1/auth/login", json=right)).status_code == 200


async def test_an_older_pin_hash_signs_in_and_is_rehashed(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    employee = await make_employee(tenant, role=Role.server)
    older = OLDER.hash(DEFAULT_PIN)
    await Employee.update({Employee.pin_hash: older}).where(Employee.id == employee)

    async def pin(value: str) -> int:
        body = {"employee_id": str(employee), "pin": value}
        response = await client.post("/api/v1/auth/pin", json=body, headers=ipad.headers)
        return response.status_code

    assert await pin("913724") == 401
    assert await _pin_hash(employee) == older
    assert await pin(DEFAULT_PIN) == 200
    assert extract_parameters(await _pin_hash(employee)) == PARAMETERS
    assert await pin(DEFAULT_PIN) == 200


async def test_an_upgrade_never_overwrites_a_password_changed_meanwhile(tenant: Tenant) -> None:
    from server.auth.services import _store_upgraded

    _, user_id = await _user_with_older_hash(tenant)
    read_at_sign_in = await _password_hash(user_id)
    changed = PasswordHasher.from_parameters(PARAMETERS).hash("a new password")
    await User.update({User.password_hash: changed}).where(User.id == user_id)
    await _store_upgraded(user_id, was=read_at_sign_in, now="upgraded")
    assert await _password_hash(user_id) == changed
    await _store_upgraded(user_id, was=changed, now="upgraded")  # the same write, unchanged
    assert await _password_hash(user_id) == "upgraded"
