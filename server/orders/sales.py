"""Net sales per business day: what labour is measured against (docs/time-clock.md).

Net sales are what the restaurant sold, net of VAT: for each paid order, its goods after
discounts less the VAT in them (``subtotal - discount_total - vat_total``). Left out: the
tip and the discretionary service charge, which go to staff (the Employment (Allocation of
Tips) Act 2023) and are outside VAT (``server.orders.pricing``); voided and unpaid orders;
refunds, which are the payments' (``GET /api/v1/payments/reports/daily``) and do not say
which goods they gave back. An order counts on the business day it was paid (``closed_at``)
at its location.
"""

from __future__ import annotations

from datetime import date, time
from uuid import UUID

import asyncpg

from server.restaurants.business_days import business_day_sql

_DAY = business_day_sql("coalesce(o.closed_at, o.opened_at)", "l.timezone", "$5")


async def net_sales_by_day(
    conn: asyncpg.Connection,
    restaurant_id: UUID,
    *,
    location_id: UUID | None,
    first: date,
    last: date,
    day_starts_at: time,
) -> dict[date, int]:
    """Net sales (minor units) on each business day from ``first`` to ``last`` that had any,
    at one location or all of them."""
    rows = await conn.fetch(
        f"SELECT {_DAY} AS day,"
        " sum(o.subtotal - o.discount_total - o.vat_total)::bigint AS net_sales"
        " FROM orders o JOIN locations l ON l.id = o.location_id"
        " WHERE o.restaurant_id = $1 AND o.status = 'paid'"
        " AND ($2::uuid IS NULL OR o.location_id = $2)"
        # A business day is within 2 days of its UTC date: coarse bounds, the second one on
        # ``orders_keyset`` (an order is opened before it is paid).
        " AND coalesce(o.closed_at, o.opened_at) >= $3::date - 2 AND o.opened_at < $4::date + 3"
        f" AND {_DAY} BETWEEN $3 AND $4 GROUP BY 1",
        restaurant_id,
        location_id,
        first,
        last,
        day_starts_at,
    )
    return {row["day"]: row["net_sales"] for row in rows}
