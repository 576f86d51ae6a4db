"""Token pairs, retry-safe refresh rotation with reuse detection, and employee PIN sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import msgspec

from server.audit.services import record_system_event
from server.auth.keys import SigningKeys
from server.auth.permissions import BACK_OFFICE_ROLES
from server.auth.ratelimit import REFRESH_PER_FAMILY, RateLimiter
from server.auth.schemas import EmployeeSession, TokenPair
from server.auth.tables import RefreshToken, Role, User
from server.auth.tokens import Caller, TokenKind, issue, issue_access_token, verify
from server.db.engine import DB
from server.devices.schemas import Device
from server.devices.tables import Device as DeviceRow
from server.employees.services import verify_pin
from server.errors import NotAuthenticated
from server.settings import Settings


async def user_pair(
    keys: SigningKeys,
    settings: Settings,
    *,
    caller: Caller,
    family_id: UUID | None = None,
    refresh_id: UUID | None = None,
) -> TokenPair:
    """An access and a refresh token (``refresh_id`` its jti) for a back-office user."""
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
        jti=refresh_id,
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
    refresh_id: UUID | None = None,
) -> TokenPair:
    """An access and a refresh token (``refresh_id`` its jti) for an enrolled iPad."""
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
        jti=refresh_id,
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
    """Exchange a refresh token for a new pair: RFC 9700 §4.14.2 rotation, safe to retry.

    - An unused token is spent, and the token issued for it is recorded as its successor.
    - A spent token presented again while its successor has never been used is a retry
      whose answer was lost, however late: the unused successor is superseded (it will
      never be accepted) and a new successor issued in its place. However many retries
      race, they take turns on the family's lock, so one token of the family stays live.
    - A spent token whose successor has been used, or a superseded token, is a token that
      two parties hold: presumed stolen, its whole family is revoked and the event audited.
    """
    claims = verify(keys, token, TokenKind.refresh, issuer=settings.jwt_issuer)
    await limiter.hit(REFRESH_PER_FAMILY, str(claims.fam or claims.jti))
    now = datetime.now(UTC)
    async with DB.transaction():
        found = await RefreshToken.select(RefreshToken.family_id, RefreshToken.device_id).where(
            RefreshToken.id == claims.jti
        )
        if not found:
            raise NotAuthenticated("this refresh token is no longer valid")
        family_id: UUID = found[0]["family_id"]
        # Lock order, the same everywhere: the device, the family, then its tokens oldest
        # first. The device lock keeps a revocation or a new enrolment of the device from
        # missing the token issued here.
        device = await _lock_device(found[0]["device_id"])
        await RefreshToken.raw(
            "SELECT pg_advisory_xact_lock(hashtextextended({}, 0))", f"refresh:{family_id}"
        )
        rows = await RefreshToken.raw(
            "SELECT * FROM refresh_tokens WHERE id = {} FOR UPDATE", claims.jti
        )
        if not rows or rows[0]["revoked_at"] is not None or rows[0]["expires_at"] <= now:
            raise NotAuthenticated("this refresh token is no longer valid")
        row: dict[str, Any] = rows[0]
        pair: TokenPair | None = None
        if await _replayed(row):
            await RefreshToken.update({RefreshToken.revoked_at: now}).where(
                (RefreshToken.family_id == family_id) & RefreshToken.revoked_at.is_null()
            )
        else:
            pair = await _successor(keys, settings, row, device, now=now)
    if pair is None:
        await record_system_event(
            restaurant_id=row["restaurant_id"],
            action="auth.refresh_reuse",
            target_type="refresh_family",
            target_id=str(family_id),
            details={"user_id": _str(row["user_id"]), "device_id": _str(row["device_id"])},
        )
        raise NotAuthenticated("this refresh token was already used; sign in again")
    return pair


async def _lock_device(device_id: UUID | None) -> Device | None:
    """The iPad a device family belongs to, locked against revocation and re-enrolment."""
    if device_id is None:
        return None
    row = (
        await DeviceRow.select()
        .where(DeviceRow.id == device_id)
        .lock_rows("SHARE", of=(DeviceRow,))
        .first()
    )
    if row is None or row["revoked_at"] is not None:
        raise NotAuthenticated("this device is not enrolled")
    return msgspec.convert(row, Device)


async def _replayed(row: dict[str, Any]) -> bool:
    """Whether presenting this (locked, unrevoked) token is a replay rather than a retry."""
    if row["superseded_at"] is not None:
        return True
    if row["used_at"] is None:
        return False
    if row["successor_id"] is None:  # spent before successors were recorded
        return True
    successor = await RefreshToken.raw(
        "SELECT used_at, revoked_at, superseded_at FROM refresh_tokens WHERE id = {} FOR UPDATE",
        row["successor_id"],
    )
    return not successor or any(
        successor[0][column] is not None for column in ("used_at", "revoked_at", "superseded_at")
    )


async def _successor(
    keys: SigningKeys,
    settings: Settings,
    row: dict[str, Any],
    device: Device | None,
    *,
    now: datetime,
) -> TokenPair:
    """A new pair for the holder of ``row``; its refresh token becomes ``row``'s successor."""
    successor_id = uuid4()
    if row["successor_id"] is not None:  # a retry: the successor it was answered never arrived
        await RefreshToken.update({RefreshToken.superseded_at: now}).where(
            RefreshToken.id == row["successor_id"]
        )
    await RefreshToken.update(
        {RefreshToken.used_at: row["used_at"] or now, RefreshToken.successor_id: successor_id}
    ).where(RefreshToken.id == row["id"])
    if device is not None:
        return await device_pair(
            keys,
            settings,
            restaurant_id=row["restaurant_id"],
            device_id=device.id,
            location_id=device.location_id,
            family_id=row["family_id"],
            refresh_id=successor_id,
        )
    # The role is read afresh, so a demotion or deactivation applies at the next refresh
    # (and every request checks it too, see server.auth.dependencies).
    user = await User.select().where(User.id == row["user_id"]).first()
    if user is None or not user["active"] or Role(user["role"]) not in BACK_OFFICE_ROLES:
        raise NotAuthenticated("this account is disabled")
    caller = Caller(
        user_id=user["id"], restaurant_id=user["restaurant_id"], role=Role(user["role"])
    )
    return await user_pair(
        keys, settings, caller=caller, family_id=row["family_id"], refresh_id=successor_id
    )


async def revoke_family(keys: SigningKeys, settings: Settings, token: str) -> None:
    """Sign out: the refresh token's family stops working."""
    claims = verify(keys, token, TokenKind.refresh, issuer=settings.jwt_issuer)
    family = (
        await RefreshToken.select(RefreshToken.family_id)
        .where(RefreshToken.id == claims.jti)
        .first()
    )
    if family is not None:
        async with DB.transaction():
            # After any rotation in flight, so the token it issues is revoked too.
            await RefreshToken.raw(
                "SELECT pg_advisory_xact_lock(hashtextextended({}, 0))",
                f"refresh:{family['family_id']}",
            )
            await RefreshToken.update({RefreshToken.revoked_at: datetime.now(UTC)}).where(
                (RefreshToken.family_id == family["family_id"]) & RefreshToken.revoked_at.is_null()
            )


async def employee_session(
    keys: SigningKeys,
    settings: Settings,
    *,
    caller: Caller,
    employee_id: UUID,
    pin: str,
    limiter: RateLimiter,
) -> EmployeeSession:
    """Sign an employee in on the caller's iPad with their PIN.

    The session names the employee's role; every request checks it is still their role and
    that they are still active (``server.auth.dependencies``).
    """
    assert caller.device_id is not None and caller.location_id is not None
    employee = await verify_pin(
        restaurant_id=caller.restaurant_id,
        employee_id=employee_id,
        pin=pin,
        device_id=caller.device_id,
        limiter=limiter,
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
    jti: UUID | None = None,
) -> str:
    jti, family = jti or uuid4(), family_id or uuid4()
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
