"""Sales for the back office over a period: by product, category, hour or employee; the VAT
return's boxes; platform fee revenue. Business days ``start`` to ``end`` at each location's
own time zone, counted exactly as the Z-reports count them (``day_queries``, ``day_figures``),
so a period's totals equal the sum of its days' Z-report figures."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from uuid import UUID

import asyncpg

from server.db.engine import connection
from server.errors import NotFound, ValidationFailed
from server.reports import day_figures, day_queries
from server.reports import schemas as s
from server.reports.day_figures import Group, SoldLine
from server.reports.day_queries import Scope
from server.timeclock.services import load_settings

MAX_DAYS = 366
PERIOD_REFUSED = "end must be on or after start, at most a year later"
"""Worded as the other reports word it: the same rule, the same answer."""


async def _scope(
    conn: asyncpg.Connection, restaurant_id: UUID, location_id: UUID | None, start: date, end: date
) -> tuple[Scope, str]:
    if end < start or (end - start).days > MAX_DAYS:
        raise ValidationFailed(PERIOD_REFUSED, field="end")
    if location_id is not None:
        known = await conn.fetchval(
            "SELECT 1 FROM locations WHERE id = $1 AND restaurant_id = $2",
            location_id,
            restaurant_id,
        )
        if known is None:
            raise NotFound("no such location", field="location_id")
    currency = await conn.fetchval("SELECT currency FROM restaurants WHERE id = $1", restaurant_id)
    settings = await load_settings(conn, restaurant_id)
    return Scope(restaurant_id, location_id, start, end, settings.day_starts_at), str(
        currency
    ).strip()


async def sales_report(
    *, restaurant_id: UUID, location_id: UUID | None, start: date, end: date, by: s.SalesBy
) -> s.SalesReport:
    async with connection() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        scope, currency = await _scope(conn, restaurant_id, location_id, start, end)
        lines = day_figures.sold_lines(await day_queries.sales(conn, scope))
        group = await _grouping(conn, restaurant_id, by)
    rows = day_figures.sales_rows(lines, group)
    return s.SalesReport(
        start=start,
        end=end,
        location_id=location_id,
        by=by,
        currency=currency,
        rows=rows,
        totals=day_figures.totals_row(rows),
    )


async def _grouping(conn: asyncpg.Connection, restaurant_id: UUID, by: s.SalesBy) -> Group:
    """Which row a line belongs to. Products are keyed by id and named as sold (the line's
    name); a line sold without a product (an open item) by its name alone. Categories and
    employees are named as they are named now; a line without one is ``uncategorised`` or
    ``unattributed``."""
    if by is s.SalesBy.hour:
        return lambda line: (f"{line.sale.local_hour:02d}", f"{line.sale.local_hour:02d}:00")
    if by is s.SalesBy.product:

        def product(line: SoldLine) -> tuple[str | None, str]:
            facts = line.sale.lines[line.line_id]
            return (None if facts.product_id is None else str(facts.product_id)), facts.name

        return product
    table = "categories" if by is s.SalesBy.category else "employees"
    rows = await conn.fetch(f"SELECT id, name FROM {table} WHERE restaurant_id = $1", restaurant_id)
    names = {str(row["id"]): str(row["name"]) for row in rows}
    if by is s.SalesBy.category:

        def category(line: SoldLine) -> tuple[str | None, str]:
            found = line.sale.lines[line.line_id].category_id
            key = None if found is None else str(found)
            return key, names.get(key or "", "uncategorised")

        return category

    def employee(line: SoldLine) -> tuple[str | None, str]:
        key = None if line.sale.employee_id is None else str(line.sale.employee_id)
        return key, names.get(key or "", "unattributed")

    return employee


async def vat_return(
    *, restaurant_id: UUID, location_id: UUID | None, start: date, end: date
) -> s.VatReturn:
    async with connection() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        scope, currency = await _scope(conn, restaurant_id, location_id, start, end)
        sales = await day_queries.sales(conn, scope)
        takings = await day_queries.takings(conn, scope)
        refunds = await day_queries.refunds(conn, scope)
    by_rate = day_figures.vat_by_rate(sales)
    vat = sum(rate.vat for rate in by_rate)
    net = sum(rate.net for rate in by_rate)
    return s.VatReturn(
        start=start,
        end=end,
        location_id=location_id,
        currency=currency,
        boxes=[
            s.VatBox(box="1", description="VAT due on sales and other outputs", amount=vat),
            s.VatBox(
                box="6",
                description="Total value of sales and all other outputs excluding any VAT",
                amount=net,
            ),
        ],
        by_rate=by_rate,
        outside_scope=sum(sale.totals.service_charge for sale in sales)
        + sum(taking.tip for taking in takings),
        refunded=sum(refund.amount for refund in refunds),
        not_from_the_till=["2", "3", "4", "5", "7", "8", "9"],
    )


async def platform_fees(
    *, restaurant_id: UUID, location_id: UUID | None, start: date, end: date
) -> s.PlatformFees:
    async with connection() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        scope, currency = await _scope(conn, restaurant_id, location_id, start, end)
        takings = await day_queries.takings(conn, scope)
    by_day: dict[tuple[date, str], list[day_queries.Taking]] = defaultdict(list)
    by_method: dict[str, list[day_queries.Taking]] = defaultdict(list)
    for taking in takings:
        by_day[(taking.day, taking.method)].append(taking)
        by_method[taking.method].append(taking)

    def row(
        day: date | None, method: str | None, group: list[day_queries.Taking]
    ) -> s.PlatformFeeRow:
        return s.PlatformFeeRow(
            day=day,
            method=method,
            payments=len(group),
            charged=sum(t.charged for t in group),
            platform_fees=sum(t.platform_fee for t in group),
        )

    return s.PlatformFees(
        start=start,
        end=end,
        location_id=location_id,
        currency=currency,
        days=[row(day, method, by_day[(day, method)]) for day, method in sorted(by_day)],
        methods=[row(None, method, by_method[method]) for method in sorted(by_method)],
        totals=row(None, None, takings),
    )
