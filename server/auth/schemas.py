"""Sign-in, refresh, PIN and approval bodies on the wire."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from msgspec import Meta

from server.auth.permissions import Permission
from server.auth.tables import Role
from server.wire import Input, Wire

Pin = Annotated[str, Meta(min_length=4, max_length=8, pattern=r"^[0-9]+$")]
TokenText = Annotated[str, Meta(min_length=1, max_length=4096)]


class LoginRequest(Input, kw_only=True):
    email: Annotated[str, Meta(min_length=3, max_length=254)]
    password: Annotated[str, Meta(min_length=1, max_length=1024)]


class TokenPair(Wire, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    """Seconds until the access token expires."""


class RefreshRequest(Input, kw_only=True):
    refresh_token: TokenText


class PinSignIn(Input, kw_only=True):
    employee_id: UUID
    pin: Pin


class EmployeeSession(Wire, kw_only=True):
    employee_token: str
    """Send as ``X-Fynlo-Employee`` next to the device's bearer token."""
    expires_in: int
    employee_id: UUID
    name: str
    role: Role


class ApprovalRequest(Input, kw_only=True):
    employee_id: UUID
    """The approving manager."""
    pin: Pin
    permission: Permission


class Approval(Wire, kw_only=True):
    approval_token: str
    """Send as ``X-Fynlo-Approval`` with the one request it approves."""
    expires_in: int
