"""Employees and their PINs."""

from __future__ import annotations

from piccolo.columns import Boolean, Bytea, ForeignKey, OnDelete, Varchar
from piccolo.table import Table

from server.auth.tables import Role
from server.db.columns import created_at_column, id_column, updated_at_column
from server.restaurants.tables import Restaurant


class Employee(Table, tablename="employees"):
    """A member of staff. The PIN is hashed; wrong PINs are counted per iPad in the
    ``sign_in_throttle`` table, and the restaurant's PIN rules are in ``pin_policies`` (both
    plain SQL, see the migrations)."""

    id = id_column()
    restaurant_id = ForeignKey(references=Restaurant, on_delete=OnDelete.restrict, null=False)
    name = Varchar(length=120)
    role = Varchar(length=16, choices=Role)
    pin_hash = Varchar(length=255, null=True, default=None, secret=True, help_text="argon2id.")
    offline_salt = Bytea(null=True, default=None, secret=True)
    offline_seed = Bytea(
        null=True, default=None, secret=True, help_text="PBKDF2 of the PIN: server/auth/offline.py"
    )
    active = Boolean(default=True)
    created_at = created_at_column()
    updated_at = updated_at_column()
