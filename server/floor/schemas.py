"""Dining-table bodies on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from msgspec import UNSET, Meta, UnsetType

from server.wire import Input, Wire

TableName = Annotated[str, Meta(min_length=1, max_length=32)]
Seats = Annotated[int, Meta(ge=0, le=500)]
AreaName = Annotated[str, Meta(max_length=32, description="Part of the room; empty for one room")]


class FloorTable(Wire, kw_only=True):
    id: UUID
    location_id: UUID
    name: str
    seats: int
    area: str
    """The part of the room ("Terrace", "Bar"); empty when the restaurant has one room."""
    archived: bool
    created_at: datetime
    updated_at: datetime


class FloorTableCreate(Input, kw_only=True):
    id: UUID | None = None
    location_id: UUID
    name: TableName
    seats: Seats = 2
    area: AreaName = ""


class FloorTableUpdate(Input, kw_only=True):
    name: TableName | UnsetType = UNSET
    seats: Seats | UnsetType = UNSET
    area: AreaName | UnsetType = UNSET
    archived: bool | UnsetType = UNSET
