"""Money per day and method: what was taken, tipped, refunded, and what it cost in fees.

Days are the location's own calendar days (its time zone). Platform fees are Fynlo's
revenue; provider fees are the providers' own figures where they have reported them, next
to our estimate, so a variance shows.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from server.db.engine import connection
from server.payments import schemas as s


async def daily_revenue(
    *, restaurant_id: UUID, location_id: UUID | None, start: date, end: date
) -> list[s.DailyRevenue]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT (p.succeeded_at AT TIME ZONE l.timezone)::date AS day, p.method,"
            " p.currency, count(*) AS payments, sum(p.charged)::bigint AS charged,"
            " sum(p.tip)::bigint AS tips, sum(p.surcharge)::bigint AS surcharges,"
            " sum(coalesce(r.refunded, 0))::bigint AS refunded,"
            " sum(p.platform_fee)::bigint AS platform_fees,"
            " sum(p.estimated_provider_fee)::bigint AS estimated_provider_fees,"
            " coalesce(sum(p.provider_fee), 0)::bigint AS provider_fees,"
            " count(*) FILTER (WHERE p.provider_fee IS NULL AND p.provider <> 'cash')"
            "   AS fees_unreported"
            " FROM payments p JOIN locations l ON l.id = p.location_id"
            " LEFT JOIN LATERAL (SELECT sum(amount) AS refunded FROM refunds"
            "   WHERE payment_id = p.id AND state = 'succeeded') r ON true"
            " WHERE p.restaurant_id = $1 AND p.state = 'succeeded'"
            " AND ($2::uuid IS NULL OR p.location_id = $2)"
            " AND (p.succeeded_at AT TIME ZONE l.timezone)::date BETWEEN $3 AND $4"
            " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            restaurant_id,
            location_id,
            start,
            end,
        )
    return [
        s.DailyRevenue(
            day=row["day"],
            method=row["method"],
            currency=row["currency"].strip(),
            payments=row["payments"],
            charged=row["charged"],
            tips=row["tips"],
            surcharges=row["surcharges"],
            refunded=row["refunded"],
            platform_fees=row["platform_fees"],
            estimated_provider_fees=row["estimated_provider_fees"],
            provider_fees=row["provider_fees"],
            fees_unreported=row["fees_unreported"],
        )
        for row in rows
    ]
