"""Login bodies on the wire."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from server.wire import Input, Wire


class LoginRequest(Input, kw_only=True):
    email: Annotated[str, Meta(min_length=3, max_length=254)]
    password: Annotated[str, Meta(min_length=1, max_length=1024)]


class TokenResponse(Wire, kw_only=True):
    access_token: str
    token_type: str
    expires_in: int
    """Seconds until the access token expires."""
