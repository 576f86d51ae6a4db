"""What the Cash-up page reads beside the reports' and drawers' own services: the restaurant's
locations, who people are by name, and the payments behind each figure with their orders.

The day's payments are placed on the business day by the same instant and rule as the
X- and Z-reports (``server.payments.tips.TAKEN_AT``, ``business_day_sql``), so the payments
listed under a method add up to that method's figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from uuid import UUID

import asyncpg

from server.payments.tips import TAKEN_AT
from server.restaurants.business_days import business_day_sql


@dataclass(frozen=True)
class PlaceName:
    id: UUID
    name: str


@dataclass(frozen=True)
class DayPayment:
    """A payment taken on the day: what it charged (amount, tip and surcharge) for which
    order, by whom."""

    id: UUID
    method: str
    order_id: UUID
    order_number: str
    amount: int
    tip: int
    surcharge: int
    charged: int
    platform_fee: int
    employee_id: UUID | None


async def locations(
    conn: asyncpg.Connection, restaurant_id: UUID, only: UUID | None
) -> list[PlaceName]:
    """The restaurant's locations by name (one only for an iPad's manager)."""
    rows = await conn.fetch(
        "SELECT id, name FROM locations WHERE restaurant_id = $1"
        " AND ($2::uuid IS NULL OR id = $2) ORDER BY name, id",
        restaurant_id,
        only,
    )
    return [PlaceName(row["id"], row["name"]) for row in rows]


async def names(conn: asyncpg.Connection, restaurant_id: UUID, ids: set[UUID]) -> dict[UUID, str]:
    """Employees' and back-office users' names: the people an id on the page stands for."""
    wanted = [i for i in ids if i is not None]
    rows = await conn.fetch(
        "SELECT id, name FROM employees WHERE restaurant_id = $1 AND id = ANY($2::uuid[])"
        " UNION ALL"
        " SELECT id, name FROM users WHERE restaurant_id = $1 AND id = ANY($2::uuid[])",
        restaurant_id,
        wanted,
    )
    return {row["id"]: row["name"] for row in rows}


async def order_numbers(
    conn: asyncpg.Connection, restaurant_id: UUID, payment_ids: set[UUID]
) -> dict[UUID, str]:
    """Each payment's order number."""
    rows = await conn.fetch(
        "SELECT p.id, o.number FROM payments p JOIN orders o ON o.id = p.order_id"
        " WHERE p.restaurant_id = $1 AND p.id = ANY($2::uuid[])",
        restaurant_id,
        list(payment_ids),
    )
    return {row["id"]: row["number"] for row in rows}


_DAY = business_day_sql(TAKEN_AT, "l.timezone", "$4")


async def day_payments(
    conn: asyncpg.Connection,
    restaurant_id: UUID,
    location_id: UUID,
    day: date,
    day_starts_at: time,
) -> list[DayPayment]:
    """The succeeded payments taken at the location on the business day, as the reports
    count them, in the order they were taken."""
    rows = await conn.fetch(
        "SELECT p.id, p.method, p.order_id, o.number AS order_number, p.amount, p.tip,"
        " p.surcharge, p.charged, p.platform_fee, p.employee_id"
        " FROM payments p JOIN locations l ON l.id = p.location_id"
        " JOIN orders o ON o.id = p.order_id"
        " WHERE p.restaurant_id = $1 AND p.location_id = $2 AND p.state = 'succeeded'"
        # A business day is within 2 days of its date: coarse bounds an index can use.
        f" AND {TAKEN_AT} >= $3::date - 2 AND {TAKEN_AT} < $3::date + 3"
        f" AND {_DAY} = $3 ORDER BY {TAKEN_AT}, p.id",
        restaurant_id,
        location_id,
        day,
        day_starts_at,
    )
    return [DayPayment(**dict(row)) for row in rows]
