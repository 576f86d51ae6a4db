"""Sign-in, refresh rotation with reuse detection, and sign-out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
from litestar import Litestar

from server.auth.passwords import hash_password
from server.auth.tables import RefreshToken, Role, User
from tests.factories import Tenant, make_ipad


async def _user(tenant: Tenant, role: Role = Role.manager) -> tuple[str, str]:
    email, password = f"{uuid4().hex[:10]}@test.fynlo.app", "correct horse battery"
    await User.insert(
        User(
            restaurant_id=tenant.restaurant_id,
            email=email,
            name="Pat",
            password_hash=await hash_password(password),
            role=role,
        )
    )
    return email, password


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def _age_used_token(token_id: object, seconds: int) -> None:
    """Pretend the token was rotated ``seconds`` ago (no sleeping in tests)."""
    await RefreshToken.update(
        {RefreshToken.used_at: datetime.now(UTC) - timedelta(seconds=seconds)}
    ).where(RefreshToken.id == token_id)


def _jti(token: str) -> str:
    import base64
    import json

    payload = token.split(".")[1]
    claims: dict[str, str] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims["jti"]


async def test_login_returns_a_pair_and_the_access_token_works(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    email, password = await _user(tenant)
    response = await _login(client, email.upper(), password)
    assert response.status_code == 200, response.text
    pair = response.json()
    assert pair["token_type"] == "Bearer" and pair["expires_in"] == 900
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    assert (await client.get("/api/v1/products", headers=headers)).status_code == 200
    # A refresh token is not an access token.
    headers = {"Authorization": f"Bearer {pair['refresh_token']}"}
    assert (await client.get("/api/v1/products", headers=headers)).status_code == 401


async def test_wrong_password_and_unknown_account_answer_alike(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    email, _ = await _user(tenant)
    wrong = await _login(client, email, "not it")
    unknown = await _login(client, f"nobody-{uuid4().hex}@test.fynlo.app", "not it")
    assert wrong.status_code == unknown.status_code == 401
    strip = {"request_id", "instance"}
    assert {k: v for k, v in wrong.json().items() if k not in strip} == {
        k: v for k, v in unknown.json().items() if k not in strip
    }


async def test_staff_roles_cannot_sign_in_to_the_back_office(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    email, password = await _user(tenant, Role.cashier)
    assert (await _login(client, email, password)).status_code == 401


async def test_refresh_rotates_and_replay_after_the_successor_was_used_revokes_the_family(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    first = (await _login(client, *await _user(tenant))).json()
    second = await _refresh(client, first["refresh_token"])
    assert second.status_code == 200, second.text
    assert second.json()["refresh_token"] != first["refresh_token"]
    third = await _refresh(client, second.json()["refresh_token"])
    assert third.status_code == 200, third.text

    await _age_used_token(_jti(first["refresh_token"]), seconds=120)
    replay = await _refresh(client, first["refresh_token"])
    assert replay.status_code == 401
    # The thief's replay also kills the legitimate holder's newer token.
    assert (await _refresh(client, third.json()["refresh_token"])).status_code == 401


# Two refreshes racing with one token: tests/integration/auth/test_refresh_retries.py.


async def test_a_deactivated_user_cannot_refresh(client: httpx.AsyncClient, tenant: Tenant) -> None:
    email, password = await _user(tenant)
    pair = (await _login(client, email, password)).json()
    await User.update({User.active: False}).where(User.email == email)
    assert (await _refresh(client, pair["refresh_token"])).status_code == 401


async def test_logout_revokes_the_family(client: httpx.AsyncClient, tenant: Tenant) -> None:
    pair = (await _login(client, *await _user(tenant))).json()
    response = await client.post(
        "/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]}
    )
    assert response.status_code == 204
    assert (await _refresh(client, pair["refresh_token"])).status_code == 401


async def test_an_ipad_refreshes_its_device_tokens(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    response = await _refresh(client, ipad.refresh_token)
    assert response.status_code == 200, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert (await client.get("/api/v1/products", headers=headers)).status_code == 200


# A burst of wrong passwords from one address, and wrong passwords that cannot lock the
# owner out elsewhere: tests/integration/auth/test_sign_in_abuse.py.
