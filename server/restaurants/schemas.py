"""Location bodies on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID
from zoneinfo import available_timezones

from msgspec import UNSET, Meta, UnsetType

from server.wire import Input, Wire

Name = Annotated[str, Meta(min_length=1, max_length=120)]
TimeZone = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        description="IANA zone name known to the server's time zone database, e.g. Europe/London",
    ),
]
Address = Annotated[str, Meta(max_length=300)]

TIME_ZONES = frozenset(available_timezones())


class Location(Wire, kw_only=True):
    id: UUID
    name: str
    timezone: str
    address: str
    archived: bool
    created_at: datetime
    updated_at: datetime


class LocationCreate(Input, kw_only=True):
    id: UUID | None = None
    name: Name
    timezone: TimeZone = "Europe/London"
    address: Address = ""


class LocationUpdate(Input, kw_only=True):
    name: Name | UnsetType = UNSET
    timezone: TimeZone | UnsetType = UNSET
    address: Address | UnsetType = UNSET
    archived: bool | UnsetType = UNSET
