"""Tips taken, per business day, location, employee and kind: what the tips report shares out.

- A tip counts once its payment has succeeded (bank money sent back, ``reversed``, does not),
  on the business day it was taken: when a card was taken offline, else when it succeeded.
- It is the employee's who took the payment (``payments.employee_id``: the one signed in,
  ``server.payments.sync.taken_by_maker``), or nobody's (taken in the back office).
- A refund gives back the bill first: it reduces the tip only by what it refunds beyond the
  payment's amount and surcharge (a full refund takes the whole tip; a refund of one dish,
  none of it). Only refunds that succeeded count.
- ``card`` is every tip paid to the restaurant's accounts (card, card in person, Apple Pay,
  pay by bank): the tips a restaurant may pool. ``cash`` tips are in a drawer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Literal
from uuid import UUID

import asyncpg

from server.restaurants.business_days import business_day_sql

TAKEN_AT = "coalesce(p.offline_stored_at, p.succeeded_at, p.created_at)"
_DAY = business_day_sql(TAKEN_AT, "l.timezone", "$5")
_REFUNDED = (
    "(SELECT coalesce(sum(r.amount), 0) FROM refunds r"
    " WHERE r.payment_id = p.id AND r.state = 'succeeded')"
)
_TIP_KEPT = f"p.tip - least(p.tip, greatest(0, {_REFUNDED} - p.amount - p.surcharge))"


@dataclass(frozen=True)
class TipsTaken:
    """Tips of one kind taken on one business day at one location by one employee (or by
    nobody: ``employee_id`` None), net of the refunds that reached them."""

    day: date
    location_id: UUID
    employee_id: UUID | None
    kind: Literal["card", "cash"]
    amount: int


async def tips_taken(
    conn: asyncpg.Connection,
    restaurant_id: UUID,
    *,
    location_id: UUID | None,
    first: date,
    last: date,
    day_starts_at: time,
) -> list[TipsTaken]:
    rows = await conn.fetch(
        f"SELECT {_DAY} AS day, p.location_id, p.employee_id,"
        " CASE WHEN p.method = 'cash' THEN 'cash' ELSE 'card' END AS kind,"
        f" sum({_TIP_KEPT})::bigint AS amount"
        " FROM payments p JOIN locations l ON l.id = p.location_id"
        " WHERE p.restaurant_id = $1 AND p.tip > 0 AND p.state = 'succeeded'"
        " AND p.settlement IS DISTINCT FROM 'reversed'"
        " AND ($2::uuid IS NULL OR p.location_id = $2)"
        f" AND {_DAY} BETWEEN $3 AND $4"
        " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
        restaurant_id,
        location_id,
        first,
        last,
        day_starts_at,
    )
    return [
        TipsTaken(
            day=row["day"],
            location_id=row["location_id"],
            employee_id=row["employee_id"],
            kind=row["kind"],
            amount=row["amount"],
        )
        for row in rows
        if row["amount"] > 0
    ]
