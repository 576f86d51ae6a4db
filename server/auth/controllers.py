"""Sign-in and the public keys that verify our tokens."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotAuthorizedException
from litestar.params import JSONBody

from server.auth import services
from server.auth.dependencies import PUBLIC
from server.auth.schemas import LoginRequest, TokenResponse
from server.settings import get_settings


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/login",
        status_code=200,
        summary="Sign in to the back office",
        opt=PUBLIC,
        security=[],
        raises=[NotAuthorizedException],  # wrong email or password; documents the 401
    )
    async def login(
        self, request: Request[Any, Any, Any], data: JSONBody[LoginRequest]
    ) -> TokenResponse:
        return await services.login(
            body=data, keys=request.app.state.signing_keys, settings=get_settings()
        )


@get(
    "/.well-known/jwks.json",
    tags=["auth"],
    summary="Public keys for our tokens",
    opt=PUBLIC,
    security=[],
)
async def jwks(request: Request[Any, Any, Any]) -> dict[str, Any]:
    document: dict[str, Any] = request.app.state.signing_keys.public_jwks()
    return document
