"""Cash into and out of the tills: cash payments taken and cash refunds paid, each with the
iPad it went through, for cash-up to attach to the drawer session open there
(``server/cashup/drawers_cash.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

import asyncpg

CASH_AT = "coalesce(p.succeeded_at, p.created_at)"
"""When cash changed hands: ``taken_at`` for cash taken on an iPad (offline too), the
moment it succeeded for cash taken over REST."""


@dataclass(frozen=True)
class CashFlow:
    kind: Literal["sale", "refund"]
    id: UUID
    payment_id: UUID
    amount: int
    """Pence into the drawer (a sale: amount, tip and any surcharge) or out of it (a refund)."""
    at: datetime
    device_id: UUID | None
    """The iPad the cash went through; a refund goes back through the iPad that took it."""


async def cash_flows(
    conn: asyncpg.Connection,
    restaurant_id: UUID,
    location_id: UUID,
    start: datetime,
    end: datetime | None,
    device_ids: list[UUID] | None = None,
) -> list[CashFlow]:
    """Succeeded cash payments and cash refunds at a location from ``start`` until ``end``
    (open-ended when None), on ``device_ids`` only if given, in time order."""
    rows = await conn.fetch(
        f"SELECT 'sale' AS kind, p.id, p.id AS payment_id, p.charged AS amount, {CASH_AT} AS at,"
        " p.device_id FROM payments p"
        " WHERE p.restaurant_id = $1 AND p.location_id = $2 AND p.method = 'cash'"
        f" AND p.state = 'succeeded' AND {CASH_AT} >= $3"
        f" AND ($4::timestamptz IS NULL OR {CASH_AT} < $4)"
        " AND ($5::uuid[] IS NULL OR p.device_id = ANY($5::uuid[]))"
        " UNION ALL"
        " SELECT 'refund', r.id, p.id, r.amount, r.created_at, p.device_id"
        " FROM refunds r JOIN payments p ON p.id = r.payment_id"
        " WHERE r.restaurant_id = $1 AND p.location_id = $2 AND p.method = 'cash'"
        " AND r.state = 'succeeded' AND r.created_at >= $3"
        " AND ($4::timestamptz IS NULL OR r.created_at < $4)"
        " AND ($5::uuid[] IS NULL OR p.device_id = ANY($5::uuid[]))"
        " ORDER BY at, id",
        restaurant_id,
        location_id,
        start,
        end,
        device_ids,
    )
    return [CashFlow(**dict(row)) for row in rows]
