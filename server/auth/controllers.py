"""Sign-in, refresh, PIN sessions, approvals, and the public keys that verify our tokens."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from server.auth import approvals, ratelimit, services, sessions
from server.auth.dependencies import PUBLIC, allow
from server.auth.permissions import Permission
from server.auth.schemas import (
    Approval,
    ApprovalRequest,
    EmployeeSession,
    LoginRequest,
    PinSignIn,
    RefreshRequest,
    TokenPair,
)
from server.auth.tokens import Caller
from server.errors import ValidationFailed
from server.settings import get_settings

Req = Request[Any, Any, Any]


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/login", status_code=200, summary="Sign in to the back office", opt=PUBLIC, security=[])
    async def login(self, request: Req, data: JSONBody[LoginRequest]) -> TokenPair:
        limiter: ratelimit.RateLimiter = request.app.state.limiter
        address = ratelimit.client_address(request)
        await limiter.hit(ratelimit.LOGIN_PER_CLIENT, address)
        return await services.login(
            body=data,
            keys=request.app.state.signing_keys,
            settings=get_settings(),
            limiter=limiter,
            source=address,
        )

    @post(
        "/refresh",
        status_code=200,
        summary="Rotate a refresh token for a new pair",
        opt=PUBLIC,
        security=[],
    )
    async def refresh(self, request: Req, data: JSONBody[RefreshRequest]) -> TokenPair:
        return await sessions.rotate(
            request.app.state.signing_keys,
            get_settings(),
            data.refresh_token,
            limiter=request.app.state.limiter,
        )

    @post("/logout", status_code=204, summary="Revoke a refresh token's family", opt=PUBLIC)
    async def logout(self, request: Req, data: JSONBody[RefreshRequest]) -> None:
        await sessions.revoke_family(
            request.app.state.signing_keys, get_settings(), data.refresh_token
        )

    @post(
        "/pin",
        status_code=200,
        summary="Sign an employee in on this iPad with their PIN",
        opt=allow(Permission.pin_sign_in),
    )
    async def pin(
        self, request: Req, caller: NamedDependency[Caller], data: JSONBody[PinSignIn]
    ) -> EmployeeSession:
        if caller.device_id is None:
            raise ValidationFailed("PIN sign-in happens on an enrolled iPad", field="employee_id")
        limiter: ratelimit.RateLimiter = request.app.state.limiter
        await limiter.hit(ratelimit.PIN_PER_DEVICE, str(caller.device_id))
        return await sessions.employee_session(
            request.app.state.signing_keys,
            get_settings(),
            caller=caller,
            employee_id=data.employee_id,
            pin=data.pin,
            limiter=limiter,
        )

    @post(
        "/approvals",
        status_code=200,
        summary="A manager approves one sensitive action with their PIN",
        opt=allow(Permission.approve),
    )
    async def approve(
        self, request: Req, caller: NamedDependency[Caller], data: JSONBody[ApprovalRequest]
    ) -> Approval:
        limiter: ratelimit.RateLimiter = request.app.state.limiter
        if caller.device_id is not None:
            await limiter.hit(ratelimit.PIN_PER_DEVICE, str(caller.device_id))
        token = await approvals.grant(
            request.app.state.signing_keys,
            get_settings(),
            caller=caller,
            approver_id=data.employee_id,
            pin=data.pin,
            permission=data.permission,
            limiter=limiter,
        )
        return Approval(approval_token=token, expires_in=approvals.APPROVAL_TTL_SECONDS)


@get(
    "/.well-known/jwks.json",
    tags=["auth"],
    summary="Public keys for our tokens",
    opt=PUBLIC,
    security=[],
)
async def jwks(request: Req) -> dict[str, Any]:
    document: dict[str, Any] = request.app.state.signing_keys.public_jwks()
    return document
