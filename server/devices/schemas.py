"""Device and enrolment bodies on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from msgspec import Meta

from server.wire import Input, Wire

# A code is typed on an iPad by a manager: short, but 40 bits and single use, 15 minutes.
CODE_TTL_DEFAULT = 15 * 60
CODE_TTL_MAX = 24 * 60 * 60


class EnrolmentCodeCreate(Input, kw_only=True):
    location_id: UUID
    ttl_seconds: Annotated[int, Meta(ge=60, le=CODE_TTL_MAX)] = CODE_TTL_DEFAULT


class EnrolmentCode(Wire, kw_only=True):
    code: str
    """Shown once; only its hash is stored."""
    location_id: UUID
    expires_at: datetime


class Enrol(Input, kw_only=True):
    code: Annotated[str, Meta(min_length=4, max_length=32)]
    name: Annotated[str, Meta(min_length=1, max_length=120)] = "iPad"


class Device(Wire, kw_only=True):
    id: UUID
    location_id: UUID
    name: str
    prefix: str
    epoch: int
    enrolled_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None


class DeviceTokens(Wire, kw_only=True):
    device: Device
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
