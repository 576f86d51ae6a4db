"""Dining tables (named ``FloorTable`` so it never reads as a database table)."""

from __future__ import annotations

from piccolo.columns import Boolean, ForeignKey, Integer, OnDelete, Varchar
from piccolo.table import Table

from server.db.columns import created_at_column, id_column, updated_at_column
from server.restaurants.tables import Location, Restaurant


class FloorTable(Table, tablename="floor_tables"):
    """A table guests sit at, in one location."""

    id = id_column()
    restaurant_id = ForeignKey(references=Restaurant, on_delete=OnDelete.restrict, null=False)
    location_id = ForeignKey(references=Location, on_delete=OnDelete.restrict, null=False)
    name = Varchar(length=32, help_text="What staff call it: 12, Bar 3, Patio A.")
    seats = Integer(default=2)
    area = Varchar(length=32, default="", help_text="Part of the room (Terrace, Bar); '' if one.")
    archived = Boolean(default=False)
    created_at = created_at_column()
    updated_at = updated_at_column()
