"""Request-scoped facts about the caller, injected into handlers by name."""

from __future__ import annotations

from typing import Any

from litestar import Request

from server.auth.keys import SigningKeys
from server.auth.tokens import Caller, verify_access_token
from server.errors import NotAuthenticated
from server.settings import get_settings


async def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    """The verified caller; a handler that declares ``caller`` cannot run without one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated("send an access token as 'Authorization: Bearer <token>'")
    keys: SigningKeys = request.app.state.signing_keys
    return verify_access_token(keys, token.strip(), issuer=get_settings().jwt_issuer)
