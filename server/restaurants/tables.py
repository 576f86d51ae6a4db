"""The tenant and its sites."""

from __future__ import annotations

from piccolo.columns import Boolean, ForeignKey, OnDelete, Varchar
from piccolo.table import Table

from server.db.columns import created_at_column, id_column, updated_at_column


class Restaurant(Table, tablename="restaurants"):
    """A customer of Fynlo: the tenant every other row belongs to."""

    id = id_column()
    name = Varchar(length=120)
    currency = Varchar(length=3, default="GBP", help_text="ISO 4217 code of every amount.")
    created_at = created_at_column()


class Location(Table, tablename="locations"):
    """One site of a restaurant, with its own tables, devices and orders."""

    id = id_column()
    restaurant_id = ForeignKey(references=Restaurant, on_delete=OnDelete.restrict, null=False)
    name = Varchar(length=120)
    timezone = Varchar(length=64, default="Europe/London", help_text="IANA zone name.")
    address = Varchar(length=300, default="")
    archived = Boolean(default=False)
    created_at = created_at_column()
    updated_at = updated_at_column()
