"""Device and enrolment bodies on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar
from uuid import UUID

from msgspec import Meta

from server.openapi import Variant
from server.wire import Input, Wire

# A code is typed on an iPad by a manager: short, but 40 bits and single use, 15 minutes.
CODE_TTL_DEFAULT = 15 * 60
CODE_TTL_MAX = 24 * 60 * 60


# 256 random bits, base64url: 43 characters.
DeviceSecret = Annotated[str, Meta(min_length=1, max_length=128)]


class EnrolmentCodeCreate(Input, kw_only=True):
    location_id: UUID
    ttl_seconds: Annotated[int, Meta(ge=60, le=CODE_TTL_MAX)] = CODE_TTL_DEFAULT


class EnrolmentCode(Wire, kw_only=True):
    code: str
    """Shown once; only its hash is stored."""
    location_id: UUID
    expires_at: datetime
    device_id: UUID | None
    """The enrolled iPad a code was made for: it enrols no other, and it is the only way back
    for an iPad a manager revoked (``POST /api/v1/devices/{device_id}/enrolment-codes``)."""


class Enrol(Input, kw_only=True):
    """Enrol a new iPad, or (with ``device_id`` and ``device_secret``, always together) enrol
    an iPad again as the device it was."""

    # What ``services.enrol`` enforces, as the document's shapes.
    openapi_variants: ClassVar[tuple[Variant, ...]] = (
        Variant(title="new device", absent=("device_id", "device_secret")),
        Variant(
            title="enrolling again",
            description="The same device back: its id, prefix and sync progress.",
            required=("device_id", "device_secret"),
        ),
    )

    code: Annotated[str, Meta(min_length=4, max_length=32)]
    name: Annotated[str, Meta(min_length=1, max_length=120)] = "iPad"
    """A new device's name; an iPad enrolling again keeps the name it has."""
    device_id: UUID | None = None
    """Enrolling again: the device id this iPad was given. With ``device_secret`` it gets
    back the same device (id, prefix, sync progress) instead of becoming a new one."""
    device_secret: DeviceSecret | None = None
    """Enrolling again: the device secret from this iPad's latest enrolment."""


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
    device_secret: str
    """Shown once. Keep it with the outbox; it is sent only to enrol again, which replaces it."""
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
