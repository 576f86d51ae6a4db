"""X-reports (the day so far) and Z-reports (the day closed: numbered, stored, never changed).

Numbers run 1, 2, 3 ... per location without a gap: the next is taken under the location's
``z_report_counters`` row lock, in the transaction that inserts the report, so a close that
fails or rolls back leaves no hole, closes of different days queue on that lock and get
consecutive numbers, and of two closes of the same day the second finds the first's report
and is refused (409 ``z_report.day_closed`` with its number). A day is closed once it has
ended at the location (409 ``z_report.day_not_over`` before): until then its figures move.

Orders still open when a day is closed do not stop it (a forgotten tab must not keep a
restaurant from closing): they are listed in ``at_close`` with a warning, and their sale
counts on the day they are paid. The stored figures are recomputed on request
(``recompute``); anything dated a closed day that arrives later (an iPad that was offline)
shows there as a difference, never as a change to the issued report.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID, uuid4

import asyncpg
import msgspec

from server.auth.tokens import Caller
from server.db.engine import connection, transaction
from server.errors import NotFound
from server.reports import day_figures, days
from server.reports import schemas as s
from server.reports.errors import DayAlreadyClosed, DayNotOver


async def x_report(
    *, restaurant_id: UUID, location_id: UUID, day: date | None, now: datetime
) -> s.XReport:
    async with connection() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        where = await days.place(conn, restaurant_id, location_id)
        day = where.today(now) if day is None else day
        figures = await days.figures(conn, restaurant_id, where, day)
        _, ends_at = where.bounds(day)
        number = await conn.fetchval(
            "SELECT number FROM z_reports WHERE location_id = $1 AND business_day = $2",
            location_id,
            day,
        )
        return s.XReport(
            at=now,
            figures=figures,
            open_orders=await days.open_orders(conn, restaurant_id, where, ends_at),
            z_number=number,
        )


async def close_day(*, caller: Caller, body: s.CloseDay, now: datetime) -> s.ZReport:
    restaurant_id = caller.restaurant_id
    async with transaction() as conn:
        where = await days.place(conn, restaurant_id, body.location_id)
        _, ends_at = where.bounds(body.business_day)
        if ends_at > now:
            raise DayNotOver(
                f"business day {body.business_day} ends at {ends_at.isoformat()}",
                field="business_day",
                ends_at=ends_at.isoformat(),
            )
        await conn.execute(
            "INSERT INTO z_report_counters (location_id) VALUES ($1) ON CONFLICT DO NOTHING",
            body.location_id,
        )
        last = await conn.fetchval(
            "SELECT last_number FROM z_report_counters WHERE location_id = $1 FOR UPDATE",
            body.location_id,
        )
        await _refuse_closed(conn, body.location_id, body.business_day)
        stored = s.StoredZ(
            figures=await days.figures(conn, restaurant_id, where, body.business_day),
            at_close=s.AtClose(
                open_orders=await days.open_orders(conn, restaurant_id, where, ends_at)
            ),
        )
        number = last + 1
        await conn.execute(
            "UPDATE z_report_counters SET last_number = $2 WHERE location_id = $1",
            body.location_id,
            number,
        )
        row = await conn.fetchrow(
            "INSERT INTO z_reports (id, restaurant_id, location_id, number, business_day,"
            " currency, figures, issued_by, issued_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9) RETURNING *",
            uuid4(),
            restaurant_id,
            body.location_id,
            number,
            body.business_day,
            where.currency,
            msgspec.json.encode(stored).decode(),
            caller.actor_id,
            now,
        )
    return _report(row)


async def _refuse_closed(conn: asyncpg.Connection, location_id: UUID, day: date) -> None:
    number = await conn.fetchval(
        "SELECT number FROM z_reports WHERE location_id = $1 AND business_day = $2",
        location_id,
        day,
    )
    if number is not None:
        raise DayAlreadyClosed(
            f"business day {day} was closed by Z-report {number}",
            field="business_day",
            number=number,
        )


async def get(
    *, restaurant_id: UUID, location_id: UUID | None, report_id: UUID, recompute: bool
) -> s.ZReport:
    async with connection() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        row = await conn.fetchrow(
            "SELECT * FROM z_reports WHERE id = $1 AND restaurant_id = $2"
            " AND ($3::uuid IS NULL OR location_id = $3)",
            report_id,
            restaurant_id,
            location_id,
        )
        if row is None:
            raise NotFound("no such Z-report")
        report = _report(row)
        if not recompute:
            return report
        where = await days.place(conn, restaurant_id, row["location_id"])
        again = await days.figures(conn, restaurant_id, where, row["business_day"])
    changed = day_figures.differences(report.figures, again)
    return msgspec.structs.replace(
        report, recomputed=again, matches=not changed, differences=changed
    )


async def list_reports(
    *, restaurant_id: UUID, location_id: UUID | None, start: date, end: date
) -> s.ZReportList:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT * FROM z_reports WHERE restaurant_id = $1"
            " AND ($2::uuid IS NULL OR location_id = $2) AND business_day BETWEEN $3 AND $4"
            " ORDER BY business_day, location_id, number",
            restaurant_id,
            location_id,
            start,
            end,
        )
    reports = [_report(row) for row in rows]
    return s.ZReportList(
        reports=[
            s.ZReportSummary(
                id=r.id,
                location_id=r.location_id,
                number=r.number,
                business_day=r.business_day,
                currency=r.currency,
                issued_by=r.issued_by,
                issued_at=r.issued_at,
                gross_sales=r.figures.gross_sales,
                net_sales=r.figures.net_sales,
                vat=r.figures.vat,
                taken=r.figures.taken,
            )
            for r in reports
        ]
    )


def _report(row: asyncpg.Record) -> s.ZReport:
    raw = row["figures"]
    stored = msgspec.json.decode(raw.encode() if isinstance(raw, str) else raw, type=s.StoredZ)
    open_orders = stored.at_close.open_orders
    warnings = (
        [f"{len(open_orders)} orders were still open when the day was closed"]
        if open_orders
        else []
    )
    return s.ZReport(
        id=row["id"],
        location_id=row["location_id"],
        number=row["number"],
        business_day=row["business_day"],
        currency=row["currency"].strip(),
        issued_by=row["issued_by"],
        issued_at=row["issued_at"],
        figures=stored.figures,
        at_close=stored.at_close,
        warnings=warnings,
    )
