"""Who is asking and whether they may: two guards that run before anything else.

Authentication is a guard rather than a dependency so that it runs first: an anonymous
request learns nothing (not even whether its body would have been valid) before its 401.
Routes open to anonymous callers say so with ``opt=PUBLIC``; every other route declares a
permission with ``allow(Permission.x)`` and is checked against ``permissions.POLICY``.

- A back-office user sends ``Authorization: Bearer <at+jwt>``.
- An iPad sends ``Authorization: Bearer <device+jwt>``, and while an employee is signed in
  also ``X-Fynlo-Employee: <employee+jwt>`` issued to that same device.
- A lower role doing an approvable action adds ``X-Fynlo-Approval: <approval+jwt>``.
"""

from __future__ import annotations

import base64
import json
from typing import Any, NamedTuple
from uuid import UUID

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from server.auth import approvals
from server.auth.keys import SigningKeys
from server.auth.permissions import DEVICE, Permission, decide
from server.auth.tokens import Caller, TokenKind, access_caller, verify
from server.db import engine
from server.devices.schemas import Device
from server.devices.tables import Device as DeviceRow
from server.errors import Forbidden, NotAuthenticated
from server.settings import get_settings

PUBLIC: dict[str, Any] = {"public": True}
EMPLOYEE_HEADER = "x-fynlo-employee"
APPROVAL_HEADER = "x-fynlo-approval"
LAST_SEEN_EVERY_SECONDS = 60
"""An iPad's requests move its ``last_seen_at`` at most this often (see ``_current_device``)."""


def allow(permission: Permission) -> dict[str, Any]:
    """Route ``opt`` declaring the permission a route needs."""
    return {"permission": permission}


async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The app's one guard: ``authenticate``, then ``authorize``.

    One guard rather than two because Litestar copies the route handler for every guard it
    calls, on every request (docs/performance.md, "Authenticated reads").
    """
    await authenticate(connection, handler)
    await authorize(connection, handler)


async def authenticate(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: verify the tokens of every non-public route and keep the caller."""
    if handler.opt.get("public"):
        return
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated("send a token as 'Authorization: Bearer <token>'")
    keys: SigningKeys = connection.app.state.signing_keys
    employee_token = connection.headers.get(EMPLOYEE_HEADER)
    identity = await identify(keys, token, employee_token)
    connection.state.caller = identity.caller
    # Kept for handlers that need more of the iPad than its token says (its order prefix),
    # so a sync request does not look the device up twice.
    connection.state.device = identity.device


class Identity(NamedTuple):
    caller: Caller
    expires_at: int
    """Unix seconds when the first of the tokens expires."""
    device: Device | None
    """The enrolled iPad, checked active, when the token is a device token."""


async def identify(keys: SigningKeys, token: str, employee_token: str | None = None) -> Identity:
    """Who the tokens name, and until when.

    A back-office access token, or an iPad's device token with an optional employee
    session token issued to that same device. Anything else is ``NotAuthenticated``.
    """
    issuer = get_settings().jwt_issuer
    if _token_type(token) != TokenKind.device.value:
        claims = verify(keys, token, TokenKind.access, issuer=issuer)
        caller = access_caller(claims)
        await _require_current_user(caller)
        return Identity(caller, claims.exp, None)
    return await _device_caller(keys, token, issuer, employee_token)


async def authorize(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: the caller's role (or bare device) must hold the route's permission."""
    if handler.opt.get("public"):
        return
    permission = handler.opt.get("permission")
    if not isinstance(permission, Permission):
        raise Forbidden("this route declares no permission")
    caller: Caller = connection.state.caller
    actor = caller.role or DEVICE
    verdict = decide(permission, actor)
    if verdict == "allow":
        return
    if verdict == "approval":
        approval = connection.headers.get(APPROVAL_HEADER)
        if approval:
            keys: SigningKeys = connection.app.state.signing_keys
            connection.state.approved_by = await approvals.spend(
                keys, approval, permission=permission, caller=caller
            )
            return
        raise Forbidden(
            f"{permission} needs a manager's approval", needs_approval=True, permission=permission
        )
    raise Forbidden(f"{actor} may not {permission}", permission=permission)


async def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    """The caller the guards verified."""
    caller: Caller = request.state.caller
    return caller


_CURRENT_USER_SQL = "SELECT role, active FROM users WHERE id = $1 AND restaurant_id = $2"


async def _require_current_user(caller: Caller) -> None:
    """The back-office user is still active and still has the role their token names.

    One primary-key read per back-office request, so that deactivating or demoting someone
    takes effect at their next request rather than when their access token runs out. A
    refresh then issues a token with the role they have now.
    """
    # A fixed statement on asyncpg directly: Piccolo would build its SQL text anew on every
    # request, which cost more CPU than the read itself (docs/performance.md).
    async with engine.connection() as conn:
        row = await conn.fetchrow(_CURRENT_USER_SQL, caller.user_id, caller.restaurant_id)
    if row is None or not row["active"] or row["role"] != caller.role:
        raise NotAuthenticated("this account was disabled or its role changed; sign in again")


async def _device_caller(
    keys: SigningKeys, token: str, issuer: str, employee_token: str | None
) -> Identity:
    claims = verify(keys, token, TokenKind.device, issuer=issuer)
    session = None
    if employee_token:
        session = verify(keys, employee_token, TokenKind.employee, issuer=issuer)
        if session.did != claims.sub or session.rid != claims.rid or session.role is None:
            raise NotAuthenticated("the employee session belongs to another device")
    # Checked on every request, in one query, so that revoking a lost iPad and deactivating
    # or demoting the employee signed in on it take effect at once.
    device, employee = await _current_device(
        restaurant_id=claims.rid,
        device_id=claims.sub,
        employee_id=session.sub if session is not None else None,
    )
    if session is None:
        caller = Caller(
            restaurant_id=claims.rid,
            role=None,
            device_id=claims.sub,
            location_id=device.location_id,
        )
        return Identity(caller, claims.exp, device)
    if employee is None or not employee["active"] or employee["role"] != session.role:
        raise NotAuthenticated("this employee was deactivated or their role changed; sign in again")
    caller = Caller(
        restaurant_id=claims.rid,
        role=session.role,
        device_id=claims.sub,
        employee_id=session.sub,
        location_id=device.location_id,
    )
    return Identity(caller, min(claims.exp, session.exp), device)


async def _current_device(
    *, restaurant_id: UUID, device_id: UUID, employee_id: UUID | None
) -> tuple[Device, dict[str, Any] | None]:
    """The enrolled iPad a token names and, when a session is signed in on it, the employee's
    role and ``active`` flag now. A revoked or unknown iPad is a 401.

    The same statement moves the iPad's ``last_seen_at`` (the back office's device status),
    so any request shows it alive, not only its socket. It costs no extra round trip, and it
    writes only when the stored value is older than ``LAST_SEEN_EVERY_SECONDS``: most requests
    update nothing. The database decides, so it holds across server processes, where an
    in-process map of last writes would write once per process and grow with every device.
    """
    rows: list[dict[str, Any]] = await DeviceRow.raw(
        "WITH seen AS (UPDATE devices SET last_seen_at = now()"
        " WHERE id = {} AND restaurant_id = {} AND revoked_at IS NULL"
        " AND (last_seen_at IS NULL OR last_seen_at < now() - interval"
        f" '{LAST_SEEN_EVERY_SECONDS} seconds'))"
        " SELECT d.*, e.id AS employee_id, e.role AS employee_role, e.active AS employee_active"
        " FROM devices d LEFT JOIN employees e"
        " ON e.id = {} AND e.restaurant_id = d.restaurant_id"
        " WHERE d.id = {} AND d.restaurant_id = {}",
        device_id,
        restaurant_id,
        employee_id,
        device_id,
        restaurant_id,
    )
    if not rows or rows[0]["revoked_at"] is not None:
        raise NotAuthenticated("this device is not enrolled")
    row = rows[0]
    employee = None
    if row["employee_id"] is not None:
        employee = {"role": row["employee_role"], "active": row["employee_active"]}
    return msgspec.convert(row, Device), employee


def _token_type(token: str) -> str | None:
    """The ``typ`` a token claims, read before verification only to pick the verifier."""
    try:
        segment = token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        kind = header.get("typ") if isinstance(header, dict) else None
        return kind if isinstance(kind, str) else None
    # A header of a few thousand "[" is valid base64 and blows the JSON decoder's stack.
    except (ValueError, RecursionError):
        return None
