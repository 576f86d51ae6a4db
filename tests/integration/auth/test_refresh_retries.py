"""A refresh whose answer is lost can be retried however late, and theft is still caught.

Issue 12, finding 10: an iPad whose refresh answer was lost and that retried after the old
30 s grace was locked out for good. A previous token is now traded again for as long as the
successor it was traded for has never been used; once that successor has been used, the
previous token (or a successor replaced by a retry) is a replay: the family is revoked.
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx
from litestar import Litestar

from server.audit.tables import AuditEntry
from server.auth.passwords import hash_password
from server.auth.tables import RefreshToken, Role, User
from tests.factories import Tenant, make_ipad

LATE = timedelta(hours=6)  # far beyond any grace window; the stored times are moved instead


def _jti(token: str) -> UUID:
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return UUID(claims["jti"])


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def _ok(client: httpx.AsyncClient, token: str) -> str:
    """Refresh and return the new refresh token."""
    response = await _refresh(client, token)
    assert response.status_code == 200, response.text
    refreshed: str = response.json()["refresh_token"]
    return refreshed


async def _happened_long_ago(token: str) -> None:
    """Move every stored time of ``token``'s family back by ``LATE`` (no sleeping in tests)."""
    family = await RefreshToken.select(RefreshToken.family_id).where(RefreshToken.id == _jti(token))
    await RefreshToken.raw(
        "UPDATE refresh_tokens SET issued_at = issued_at - {}::interval,"
        " used_at = used_at - {}::interval"
        " WHERE family_id = {}",
        LATE,
        LATE,
        family[0]["family_id"],
    )


async def _live_tokens(token: str) -> list[UUID]:
    """Ids of the tokens in ``token``'s family that could still be traded as never used."""
    rows = await RefreshToken.raw(
        "SELECT id FROM refresh_tokens WHERE family_id ="
        " (SELECT family_id FROM refresh_tokens WHERE id = {})"
        " AND used_at IS NULL AND revoked_at IS NULL AND superseded_at IS NULL",
        _jti(token),
    )
    return [row["id"] for row in rows]


async def _ipad_refresh_token(app: Litestar, tenant: Tenant) -> str:
    return (await make_ipad(app, tenant)).refresh_token


async def test_a_lost_answer_retried_hours_later_gets_a_working_pair(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    token = await _ipad_refresh_token(app, tenant)
    lost = await _ok(client, token)  # the answer never reaches the iPad
    await _happened_long_ago(token)

    retried = await _refresh(client, token)
    assert retried.status_code == 200, retried.text
    pair = retried.json()
    assert pair["refresh_token"] != lost
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    assert (await client.get("/api/v1/products", headers=headers)).status_code == 200
    # The iPad carries on with what it received, as often as it likes.
    assert await _ok(client, await _ok(client, pair["refresh_token"]))
    # The lost successor was replaced, never to be used: one live token in the family.
    assert await _live_tokens(token) != [] and _jti(lost) not in await _live_tokens(token)


async def test_a_lost_answer_can_be_lost_again_and_retried_again(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    token = await _ipad_refresh_token(app, tenant)
    for _ in range(3):
        await _ok(client, token)  # each answer lost in turn
        await _happened_long_ago(token)
    kept = await _ok(client, token)
    assert await _live_tokens(token) == [_jti(kept)]
    assert await _ok(client, kept)


async def test_once_the_successor_was_used_the_previous_token_is_theft(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    token = await _ipad_refresh_token(app, tenant)
    successor = await _ok(client, token)
    newest = await _ok(client, successor)  # the rightful holder moved on
    await _happened_long_ago(token)

    replay = await _refresh(client, token)
    assert replay.status_code == 401
    assert replay.json()["code"] == "not_authenticated"
    # The whole family is revoked, the rightful holder's newest token with it.
    assert (await _refresh(client, newest)).status_code == 401
    assert await _live_tokens(token) == []
    events = await AuditEntry.select(AuditEntry.action, AuditEntry.target_id).where(
        AuditEntry.restaurant_id == tenant.restaurant_id
    )
    family = await RefreshToken.select(RefreshToken.family_id).where(RefreshToken.id == _jti(token))
    assert {"action": "auth.refresh_reuse", "target_id": str(family[0]["family_id"])} in events


async def test_a_used_token_replayed_at_once_is_theft_too(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """No grace window: what matters is whether the successor was used, not how long ago."""
    token = await _ipad_refresh_token(app, tenant)
    successor = await _ok(client, token)
    newest = await _ok(client, successor)
    assert (await _refresh(client, token)).status_code == 401
    assert (await _refresh(client, newest)).status_code == 401


async def test_a_successor_replaced_by_a_retry_is_theft_when_it_turns_up(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Whoever holds the replaced successor got it from a copy of the previous token."""
    token = await _ipad_refresh_token(app, tenant)
    first = await _ok(client, token)
    second = await _ok(client, token)  # the retry replaces ``first``
    assert (await _refresh(client, first)).status_code == 401
    assert (await _refresh(client, second)).status_code == 401  # the family went with it
    assert (await _refresh(client, token)).status_code == 401


async def test_a_thief_retrying_the_previous_token_is_caught_at_the_holders_next_refresh(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    token = await _ipad_refresh_token(app, tenant)
    holders = await _ok(client, token)
    thiefs = await _ok(client, token)  # a copy of the previous token, traded again
    # The rightful holder's next refresh is refused and takes the thief's token down too.
    assert (await _refresh(client, holders)).status_code == 401
    assert (await _refresh(client, thiefs)).status_code == 401


async def test_two_retries_racing_leave_exactly_one_live_token(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    token = await _ipad_refresh_token(app, tenant)
    await _ok(client, token)  # lost
    await _happened_long_ago(token)

    answers = await asyncio.gather(*(_refresh(client, token) for _ in range(4)))
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    issued = {_jti(a.json()["refresh_token"]) for a in answers}
    assert len(issued) == 4
    live = await _live_tokens(token)
    # Not four independent valid tokens: one, and it is one of the answers.
    assert len(live) == 1 and live[0] in issued
    winner = next(
        a.json()["refresh_token"] for a in answers if _jti(a.json()["refresh_token"]) == live[0]
    )
    assert await _ok(client, winner)


async def test_two_first_refreshes_racing_leave_exactly_one_live_token(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    token = await _ipad_refresh_token(app, tenant)
    answers = await asyncio.gather(_refresh(client, token), _refresh(client, token))
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    live = await _live_tokens(token)
    assert len(live) == 1
    assert live[0] in {_jti(a.json()["refresh_token"]) for a in answers}


async def test_a_back_office_user_retrying_a_lost_answer_stays_signed_in(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    email, password = f"{uuid4().hex[:10]}@test.fynlo.app", "correct horse battery"
    await User.insert(
        User(
            restaurant_id=tenant.restaurant_id,
            email=email,
            name="Pat",
            password_hash=await hash_password(password),
            role=Role.manager,
        )
    )
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    token = login.json()["refresh_token"]
    await _ok(client, token)  # lost
    await _happened_long_ago(token)
    assert await _ok(client, await _ok(client, token))


async def test_a_retry_is_refused_once_the_device_is_revoked(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    await _ok(client, ipad.refresh_token)  # lost
    revoked = await client.post(f"/api/v1/devices/{ipad.device_id}/revoke", headers=tenant.headers)
    assert revoked.status_code == 200, revoked.text
    assert (await _refresh(client, ipad.refresh_token)).status_code == 401


async def test_an_expired_previous_token_is_not_traded_again(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    token = await _ipad_refresh_token(app, tenant)
    await _ok(client, token)  # lost
    await RefreshToken.update(
        {RefreshToken.expires_at: datetime.now(UTC) - timedelta(seconds=1)}
    ).where(RefreshToken.id == _jti(token))
    assert (await _refresh(client, token)).status_code == 401
