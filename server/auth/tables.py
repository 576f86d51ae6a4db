"""Back-office accounts, refresh-token families and spent approvals."""

from __future__ import annotations

from enum import StrEnum

from piccolo.columns import UUID, Boolean, ForeignKey, OnDelete, Timestamptz, Varchar
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


class RefreshToken(Table, tablename="refresh_tokens"):
    """One issued refresh token; tokens rotated from one sign-in form a family.

    A used token presented again while its successor has never been used is a retry of a
    lost answer: the successor is superseded and a new one issued. Presenting a token whose
    successor was used, or a superseded one, revokes the whole family (RFC 9700 §4.14.2).
    """

    id = UUID(primary_key=True, help_text="The token's jti.")
    family_id = UUID(index=True)
    restaurant_id = ForeignKey(references=Restaurant, on_delete=OnDelete.restrict, null=False)
    user_id = UUID(null=True, default=None, help_text="A back-office user's family, or ...")
    device_id = UUID(null=True, default=None, help_text="... an enrolled iPad's family.")
    issued_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None, help_text="When it was rotated.")
    revoked_at = Timestamptz(null=True, default=None)
    successor_id = UUID(
        null=True, default=None, help_text="The token its latest rotation issued, if any."
    )
    superseded_at = Timestamptz(
        null=True,
        default=None,
        help_text="When a retry of its predecessor replaced it, unused; presenting it is reuse.",
    )


class ApprovalUse(Table, tablename="approval_uses"):
    """Manager approvals are single use: the first request that spends one records it here."""

    id = UUID(primary_key=True, help_text="The approval token's jti.")
    used_at = Timestamptz()
