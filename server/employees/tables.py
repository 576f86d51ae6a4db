"""Employees and their PINs."""

from __future__ import annotations

from piccolo.columns import Boolean, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from server.auth.tables import Role
from server.db.columns import created_at_column, id_column, updated_at_column
from server.restaurants.tables import Restaurant


class Employee(Table, tablename="employees"):
    """A member of staff. The PIN is hashed; failures are counted here, on the server."""

    id = id_column()
    restaurant_id = ForeignKey(references=Restaurant, on_delete=OnDelete.restrict, null=False)
    name = Varchar(length=120)
    role = Varchar(length=16, choices=Role)
    pin_hash = Varchar(length=255, null=True, default=None, secret=True, help_text="argon2id.")
    pin_failures = Integer(default=0, help_text="Consecutive wrong PINs since the last success.")
    pin_locked_at = Timestamptz(null=True, default=None, help_text="Set at 10 failures.")
    active = Boolean(default=True)
    created_at = created_at_column()
    updated_at = updated_at_column()
