"""Back-office accounts."""

from __future__ import annotations

from enum import StrEnum

from piccolo.columns import Boolean, ForeignKey, OnDelete, Varchar
from piccolo.table import Table

from server.db.columns import created_at_column, id_column
from server.restaurants.tables import Restaurant


class Role(StrEnum):
    owner = "owner"
    manager = "manager"
    cashier = "cashier"
    server = "server"
    kitchen = "kitchen"


class User(Table, tablename="users"):
    """A person who signs in to the back office with email and password."""

    id = id_column()
    restaurant_id = ForeignKey(references=Restaurant, on_delete=OnDelete.restrict, null=False)
    email = Varchar(length=254, unique=True, help_text="Stored lower-cased.")
    name = Varchar(length=120)
    password_hash = Varchar(length=255, secret=True, help_text="argon2id hash.")
    role = Varchar(length=16, choices=Role)
    active = Boolean(default=True)
    created_at = created_at_column()
