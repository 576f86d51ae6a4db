"""Dining-table bodies on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from msgspec import UNSET, Meta, UnsetType

from server.wire import Input, Wire

TableName = Annotated[str, Meta(min_length=1, max_length=32)]
Seats = Annotated[int, Meta(ge=0, le=500)]


class FloorTable(Wire, kw_only=True):
    id: UUID
    location_id: UUID
    name: str
    seats: int
    archived: bool
    created_at: datetime
    updated_at: datetime


class FloorTableCreate(Input, kw_only=True):
    id: UUID | None = None
    location_id: UUID
    name: TableName
    seats: Seats = 2


class FloorTableUpdate(Input, kw_only=True):
    name: TableName | UnsetType = UNSET
    seats: Seats | UnsetType = UNSET
    archived: bool | UnsetType = UNSET
