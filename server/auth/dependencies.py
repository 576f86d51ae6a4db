"""Who is asking: verified by a guard before anything else runs, then injected by name.

Authentication is a guard rather than a dependency so that it runs first: an anonymous
request learns nothing (not even whether its body would have been valid) before its 401.
Routes open to anonymous callers say so with ``opt={"public": True}``; every other route
requires a token, so a new route is closed until someone decides otherwise.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from server.auth.keys import SigningKeys
from server.auth.tokens import Caller, verify_access_token
from server.errors import NotAuthenticated
from server.settings import get_settings

PUBLIC = {"public": True}


def authenticate(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard: verify the bearer token of every non-public route and keep the caller."""
    if handler.opt.get("public"):
        return
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("send an access token as 'Authorization: Bearer <token>'")
    keys: SigningKeys = connection.app.state.signing_keys
    connection.state.caller = verify_access_token(
        keys, token.strip(), issuer=get_settings().jwt_issuer
    )


async def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    """The caller the guard verified."""
    caller: Caller = request.state.caller
    return caller
