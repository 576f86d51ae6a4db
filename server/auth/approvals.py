"""A manager's approval: a short-lived token for one permission on one iPad, spent once."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from server.auth.keys import SigningKeys
from server.auth.permissions import APPROVERS, Permission
from server.auth.ratelimit import RateLimiter
from server.auth.tables import ApprovalUse, Role
from server.auth.tokens import Caller, TokenKind, issue, verify
from server.employees.services import verify_pin
from server.employees.tables import Employee
from server.errors import Forbidden, ValidationFailed
from server.settings import Settings, get_settings

# Long enough for the manager to hand the iPad back, short enough to be useless later.
APPROVAL_TTL_SECONDS = 120


async def grant(
    keys: SigningKeys,
    settings: Settings,
    *,
    caller: Caller,
    approver_id: UUID,
    pin: str,
    permission: Permission,
    limiter: RateLimiter,
) -> str:
    """Check the approver's PIN on the caller's iPad and sign an approval for ``permission``."""
    if caller.device_id is None:
        raise ValidationFailed("approvals are given on an enrolled iPad", field="employee_id")
    approver = await verify_pin(
        restaurant_id=caller.restaurant_id,
        employee_id=approver_id,
        pin=pin,
        device_id=caller.device_id,
        limiter=limiter,
    )
    if approver.role not in APPROVERS:
        raise Forbidden("only a manager or owner can approve", reason="not_an_approver")
    return issue(
        keys,
        TokenKind.approval,
        subject=approver.id,
        restaurant_id=caller.restaurant_id,
        issuer=settings.jwt_issuer,
        ttl=APPROVAL_TTL_SECONDS,
        did=str(caller.device_id),
        perm=permission.value,
        role=approver.role.value,
    )


async def spend(keys: SigningKeys, token: str, *, permission: Permission, caller: Caller) -> UUID:
    """The approver of a valid, unspent approval for this permission on this iPad, who is
    still an active manager or owner (deactivated or demoted since, the approval is void)."""
    claims = verify(keys, token, TokenKind.approval, issuer=get_settings().jwt_issuer)
    if (
        claims.perm != permission.value
        or claims.rid != caller.restaurant_id
        or caller.device_id is None
        or claims.did != caller.device_id
    ):
        raise Forbidden("this approval is for another action or iPad", reason="approval_mismatch")
    approver = (
        await Employee.select(Employee.role, Employee.active)
        .where((Employee.id == claims.sub) & (Employee.restaurant_id == claims.rid))
        .first()
    )
    if approver is None or not approver["active"] or Role(approver["role"]) not in APPROVERS:
        raise Forbidden("the approver can no longer approve", reason="approver_revoked")
    try:
        await ApprovalUse.insert(ApprovalUse(id=claims.jti, used_at=datetime.now(UTC)))
    except asyncpg.UniqueViolationError as exc:
        raise Forbidden("this approval was already used", reason="approval_spent") from exc
    return claims.sub
