"""What travels on ``/api/v1/ws`` besides the events themselves (``server.events``).

The first frame a client sends is ``auth``; tokens never go in the URL, where proxies and
logs would keep them. Events are sent as they were published, tagged by ``type``.
"""

from __future__ import annotations

from uuid import UUID

import msgspec


class Auth(msgspec.Struct, frozen=True, kw_only=True, tag="auth", forbid_unknown_fields=True):
    token: str
    """A back-office access token or an iPad's device token."""
    employee_token: str | None = None
    """With a device token: the employee signed in on that iPad."""
    locations: list[UUID] | None = None
    """Back office: follow only these locations of your restaurant (default: all of it, with
    presence and conflicts for managers). Another restaurant's location closes with 4403."""


class Pong(msgspec.Struct, frozen=True, kw_only=True, tag="pong", forbid_unknown_fields=True):
    """The answer to a ``ping``; any frame from the client also counts as alive."""


ClientMessage = Auth | Pong


class Welcome(msgspec.Struct, frozen=True, kw_only=True, tag="welcome"):
    channels: list[str]
    expires_at: int
    """Unix seconds: the socket closes with 4401 then; reconnect with fresh tokens."""
    heartbeat_seconds: float


class Ping(msgspec.Struct, frozen=True, kw_only=True, tag="ping"):
    server_time: int
    """Unix milliseconds."""


ServerMessage = Welcome | Ping

# Close codes (4000-4999 are the application's; RFC 6455 section 7.4.2).
GOING_AWAY = 1001
"""The server is shutting down or restarting: reconnect, ideally to another instance."""
UNAUTHENTICATED = 4401
"""No valid ``auth`` in time, or the tokens expired: get fresh tokens and reconnect."""
REVOKED = 4403
"""The device was revoked (do not reconnect; enrol again), or asked for a location it may
not follow."""
BAD_MESSAGE = 4400
"""A frame that is not one of the client messages."""
TOO_SLOW = 4429
"""The client did not read fast enough; its backlog was dropped. Reconnect and pull."""
SILENT = 4408
"""No frame from the client within two heartbeats."""
