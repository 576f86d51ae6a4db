"""How much one person may do in a day before a manager must approve: the limits' storage.

Refunds (``payments/refund_limits.py``) and voids (``orders/void_limits.py``) each keep a
count and an amount per restaurant in a policy table, with defaults until an owner sets
them. A manager may tighten the limits; only an owner may loosen them, since they are what
holds a manager's own refunds and voids. What counts towards a limit is each module's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from server.auth.tables import Role
from server.db.engine import connection, transaction
from server.errors import Forbidden


@dataclass(frozen=True)
class Limits:
    count: int
    amount: int


@dataclass(frozen=True)
class DailyLimits:
    """One kind of limit: its policy table and columns (constants, never input), its
    defaults, and what it limits, for messages."""

    table: str
    count_column: str
    amount_column: str
    default: Limits
    what: str

    async def load(self, conn: asyncpg.Connection, restaurant_id: UUID) -> Limits:
        row = await conn.fetchrow(
            f"SELECT {self.count_column} AS count, {self.amount_column} AS amount"
            f" FROM {self.table} WHERE restaurant_id = $1",
            restaurant_id,
        )
        return self.default if row is None else Limits(row["count"], row["amount"])

    async def get(self, *, restaurant_id: UUID) -> Limits:
        async with connection() as conn:
            return await self.load(conn, restaurant_id)

    async def set(
        self, *, restaurant_id: UUID, role: Role | None, count: int | None, amount: int | None
    ) -> Limits:
        """Change what is given and keep the rest; raising either needs the owner."""
        async with transaction() as conn:
            await conn.execute(
                f"INSERT INTO {self.table} (restaurant_id) VALUES ($1) ON CONFLICT DO NOTHING",
                restaurant_id,
            )
            await conn.execute(
                f"SELECT 1 FROM {self.table} WHERE restaurant_id = $1 FOR UPDATE",
                restaurant_id,
            )
            current = await self.load(conn, restaurant_id)
            loosened = (count is not None and count > current.count) or (
                amount is not None and amount > current.amount
            )
            if loosened and role is not Role.owner:
                raise Forbidden(f"only an owner raises the {self.what} limits", reason="owner_only")
            await conn.execute(
                f"UPDATE {self.table} SET {self.count_column} = coalesce($2, {self.count_column}),"
                f" {self.amount_column} = coalesce($3, {self.amount_column}), updated_at = now()"
                " WHERE restaurant_id = $1",
                restaurant_id,
                count,
                amount,
            )
            return await self.load(conn, restaurant_id)
