"""Token pairs, refresh rotation with reuse detection, and employee PIN sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from server.audit.services import record_system_event
from server.auth.keys import SigningKeys
from server.auth.ratelimit import REFRESH_PER_FAMILY, RateLimiter
from server.auth.schemas import EmployeeSession, TokenPair
from server.auth.tables import RefreshToken, Role, User
from server.auth.tokens import Caller, TokenKind, issue, issue_access_token, verify
from server.db.engine import DB
from server.devices.services import require_active_device
from server.employees.services import verify_pin
from server.errors import NotAuthenticated
from server.settings import Settings


async def user_pair(
    keys: SigningKeys, settings: Settings, *, caller: Caller, family_id: UUID | None = None
) -> TokenPair:
    """An access and a refresh token for a back-office user."""
    assert caller.user_id is not None
    access = issue_access_token(
        keys, caller, issuer=settings.jwt_issuer, ttl=settings.access_token_ttl_seconds
    )
    refresh = await _refresh_token(
        keys,
        settings,
        restaurant_id=caller.restaurant_id,
        subject=caller.user_id,
        family_id=family_id,
        ttl=settings.refresh_token_ttl_seconds,
        user_id=caller.user_id,
    )
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        token_type="Bearer",  # noqa: S106 - the OAuth token type name
        expires_in=settings.access_token_ttl_seconds,
    )


async def device_pair(
    keys: SigningKeys,
    settings: Settings,
    *,
    restaurant_id: UUID,
    device_id: UUID,
    location_id: UUID,
    family_id: UUID | None = None,
) -> TokenPair:
    """An access and a refresh token for an enrolled iPad."""
    access = issue(
        keys,
        TokenKind.device,
        subject=device_id,
        restaurant_id=restaurant_id,
        issuer=settings.jwt_issuer,
        ttl=settings.access_token_ttl_seconds,
        lid=str(location_id),
    )
    refresh = await _refresh_token(
        keys,
        settings,
        restaurant_id=restaurant_id,
        subject=device_id,
        family_id=family_id,
        ttl=settings.device_refresh_token_ttl_seconds,
        device_id=device_id,
    )
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        token_type="Bearer",  # noqa: S106 - the OAuth token type name
        expires_in=settings.access_token_ttl_seconds,
    )


async def rotate(
    keys: SigningKeys, settings: Settings, token: str, *, limiter: RateLimiter
) -> TokenPair:
    """Exchange a refresh token for a new pair (RFC 9700 §4.14.2 rotation).

    A token used again within the grace window (a retry, or two tabs refreshing at once)
    gets a fresh pair too; used again later, it is presumed stolen and its whole family,
    including the tokens issued from it, is revoked.
    """
    claims = verify(keys, token, TokenKind.refresh, issuer=settings.jwt_issuer)
    await limiter.hit(REFRESH_PER_FAMILY, str(claims.fam or claims.jti))
    now = datetime.now(UTC)
    stolen_family: UUID | None = None
    async with DB.transaction():
        rows = await RefreshToken.raw(
            "SELECT * FROM refresh_tokens WHERE id = {} FOR UPDATE", claims.jti
        )
        if not rows or rows[0]["revoked_at"] is not None or rows[0]["expires_at"] <= now:
            raise NotAuthenticated("this refresh token is no longer valid")
        row: dict[str, Any] = rows[0]
        grace = timedelta(seconds=settings.refresh_reuse_grace_seconds)
        if row["used_at"] is not None and now - row["used_at"] > grace:
            await RefreshToken.update({RefreshToken.revoked_at: now}).where(
                (RefreshToken.family_id == row["family_id"]) & RefreshToken.revoked_at.is_null()
            )
            stolen_family = row["family_id"]
        elif row["used_at"] is None:
            await RefreshToken.update({RefreshToken.used_at: now}).where(
                RefreshToken.id == claims.jti
            )
    if stolen_family is not None:
        await record_system_event(
            restaurant_id=row["restaurant_id"],
            action="auth.refresh_reuse",
            target_type="refresh_family",
            target_id=str(stolen_family),
            details={"user_id": _str(row["user_id"]), "device_id": _str(row["device_id"])},
        )
        raise NotAuthenticated("this refresh token was already used; sign in again")
    if row["device_id"] is not None:
        device = await require_active_device(
            restaurant_id=row["restaurant_id"], device_id=row["device_id"]
        )
        return await device_pair(
            keys,
            settings,
            restaurant_id=row["restaurant_id"],
            device_id=device.id,
            location_id=device.location_id,
            family_id=row["family_id"],
        )
    # The role is read afresh, so a demotion or deactivation applies at the next refresh.
    user = await User.select().where(User.id == row["user_id"]).first()
    if user is None or not user["active"]:
        raise NotAuthenticated("this account is disabled")
    caller = Caller(
        user_id=user["id"], restaurant_id=user["restaurant_id"], role=Role(user["role"])
    )
    return await user_pair(keys, settings, caller=caller, family_id=row["family_id"])


async def revoke_family(keys: SigningKeys, settings: Settings, token: str) -> None:
    """Sign out: the refresh token's family stops working."""
    claims = verify(keys, token, TokenKind.refresh, issuer=settings.jwt_issuer)
    family = (
        await RefreshToken.select(RefreshToken.family_id)
        .where(RefreshToken.id == claims.jti)
        .first()
    )
    if family is not None:
        await RefreshToken.update({RefreshToken.revoked_at: datetime.now(UTC)}).where(
            (RefreshToken.family_id == family["family_id"]) & RefreshToken.revoked_at.is_null()
        )


async def employee_session(
    keys: SigningKeys, settings: Settings, *, caller: Caller, employee_id: UUID, pin: str
) -> EmployeeSession:
    """Sign an employee in on the caller's iPad with their PIN."""
    assert caller.device_id is not None and caller.location_id is not None
    employee = await verify_pin(
        restaurant_id=caller.restaurant_id, employee_id=employee_id, pin=pin
    )
    token = issue(
        keys,
        TokenKind.employee,
        subject=employee.id,
        restaurant_id=caller.restaurant_id,
        issuer=settings.jwt_issuer,
        ttl=settings.employee_session_ttl_seconds,
        did=str(caller.device_id),
        lid=str(caller.location_id),
        role=employee.role.value,
    )
    return EmployeeSession(
        employee_token=token,
        expires_in=settings.employee_session_ttl_seconds,
        employee_id=employee.id,
        name=employee.name,
        role=employee.role,
    )


async def _refresh_token(
    keys: SigningKeys,
    settings: Settings,
    *,
    restaurant_id: UUID,
    subject: UUID,
    family_id: UUID | None,
    ttl: int,
    user_id: UUID | None = None,
    device_id: UUID | None = None,
) -> str:
    jti, family = uuid4(), family_id or uuid4()
    now = datetime.now(UTC)
    await RefreshToken.insert(
        RefreshToken(
            id=jti,
            family_id=family,
            restaurant_id=restaurant_id,
            user_id=user_id,
            device_id=device_id,
            issued_at=now,
            expires_at=now + timedelta(seconds=ttl),
        )
    )
    return issue(
        keys,
        TokenKind.refresh,
        subject=subject,
        restaurant_id=restaurant_id,
        issuer=settings.jwt_issuer,
        ttl=ttl,
        jti=jti,
        fam=str(family),
    )


def _str(value: UUID | None) -> str | None:
    return None if value is None else str(value)
