"""Employee bodies on the wire. PIN hashes never leave the server."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from msgspec import UNSET, Meta, UnsetType

from server.auth.tables import Role
from server.wire import Input, Wire

Name = Annotated[str, Meta(min_length=1, max_length=120)]
Pin = Annotated[str, Meta(min_length=4, max_length=8, pattern=r"^[0-9]+$")]


class Employee(Wire, kw_only=True):
    id: UUID
    name: str
    role: Role
    has_pin: bool
    pin_locked: bool
    active: bool
    created_at: datetime
    updated_at: datetime


class EmployeeCreate(Input, kw_only=True):
    id: UUID | None = None
    name: Name
    role: Role
    pin: Pin | None = None


class EmployeeUpdate(Input, kw_only=True):
    name: Name | UnsetType = UNSET
    role: Role | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class PinSet(Input, kw_only=True):
    """Set or reset a PIN; resetting also lifts a lockout."""

    pin: Pin
