"""The back office's Cash-up page (``docs/back-office.md``, "Cash-up"): a location's business
day, its drawer sessions, the X-report with the payments and voids behind it, issuing the
Z-report, the Z-reports issued and their CSV.

Every read calls the service its API route calls (``server.cashup.drawers_read``,
``server.reports.z_reports``) with the session's caller, so the same permissions and the same
"another restaurant's answers as missing" hold. The CSV is the API's own
(``server.reports.csv_formats``) served here, since the session cookie is the office's only.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from server.auth.dependencies import allow
from server.auth.permissions import Permission
from server.auth.tokens import Caller
from server.cashup import drawers_read
from server.db.engine import connection
from server.errors import NotFound, ValidationFailed
from server.office import cashup_reads, cashup_views, session
from server.office.rendering import Req, form_field, render
from server.reporting import Report
from server.reports import csv_formats, days, z_reports
from server.reports import schemas as s
from server.reports.errors import DayAlreadyClosed, DayNotOver
from server.reports.routes import CLOCK
from server.reports.sales import MAX_DAYS

HERE = f"{session.PREFIX}/cash-up"


async def _chosen(caller: Caller, location: str | None, day: str | None) -> dict[str, Any]:
    """The location and business day the page shows: the first location and the last day
    that is over unless chosen; an unknown location answers as a missing one."""
    async with connection() as conn:
        places = await cashup_reads.locations(conn, caller.restaurant_id, caller.location_id)
        try:
            wanted = UUID(location) if location else (places[0].id if places else None)
        except ValueError:
            raise NotFound("no such location", field="location") from None
        if wanted is None:
            raise NotFound("the restaurant has no location yet", field="location")
        where = await days.place(conn, caller.restaurant_id, wanted)
    now = CLOCK.now()
    today = where.today(now)
    chosen = cashup_views.parse_day(day) or cashup_views.latest_day_over(today)
    _, ends_at = where.bounds(chosen)
    return {
        "places": places,
        "where": where,
        "day": chosen,
        "today": today,
        "ends_at": ends_at,
        "day_over": ends_at <= now,
    }


async def _names(caller: Caller, ids: set[UUID | None]) -> dict[UUID, str]:
    async with connection() as conn:
        return await cashup_reads.names(conn, caller.restaurant_id, {i for i in ids if i})


async def _traced(caller: Caller, where: days.Place, figures: s.DayFigures) -> dict[str, Any]:
    """The figures with the payments each method's line adds up, and the people named."""
    async with connection() as conn:
        payments = await cashup_reads.day_payments(
            conn, caller.restaurant_id, where.location_id, figures.business_day, where.day_starts_at
        )
    people = {p.employee_id for p in payments}
    people |= {v.voided_by for v in figures.voids.orders} | {
        v.approved_by for v in figures.voids.orders
    }
    return {
        "f": figures,
        "methods": cashup_views.payments_by_method(figures.payments, payments),
        "names": await _names(caller, people),
    }


class CashupPages(Controller):
    path = "/cash-up"
    include_in_schema = False

    @get("/", opt=allow(Permission.reports_view))
    async def cashup_page(self, request: Req, caller: NamedDependency[Caller]) -> Template:
        query = request.query_params
        chosen = await _chosen(caller, query.get("location"), query.get("day"))
        where: days.Place = chosen["where"]
        day: date = chosen["day"]
        sessions = await drawers_read.list_sessions(
            caller=caller, start=day, end=day, location_id=where.location_id
        )
        # Each session in full: the list leaves out the cash sales and movements it adds up.
        detailed = [
            await drawers_read.get_session(caller=caller, session_id=item.id)
            for item in sessions.items
        ]
        x = await z_reports.x_report(
            restaurant_id=caller.restaurant_id,
            location_id=where.location_id,
            day=day,
            now=CLOCK.now(),
        )
        issued = await z_reports.list_reports(
            restaurant_id=caller.restaurant_id,
            location_id=where.location_id,
            start=chosen["today"] - timedelta(days=MAX_DAYS),
            end=chosen["today"],
        )
        traced = await _traced(caller, where, x.figures)
        people = {p.opened_by for p in sessions.items} | {p.closed_by for p in sessions.items}
        people |= {z.issued_by for z in issued.reports}
        traced["names"] |= await _names(caller, people)
        return render(
            request,
            "cashup.html",
            caller,
            active="cash-up",
            **chosen,
            sessions=detailed,
            outside=sessions.cash_outside_sessions,
            x=x,
            reports=list(reversed(issued.reports)),
            **traced,
            words=cashup_views,
        )

    @get("/x/csv", opt=allow(Permission.reports_view))
    async def x_report_csv(
        self, request: Req, caller: NamedDependency[Caller]
    ) -> Report[s.XReport]:
        query = request.query_params
        chosen = await _chosen(caller, query.get("location"), query.get("day"))
        x = await z_reports.x_report(
            restaurant_id=caller.restaurant_id,
            location_id=chosen["where"].location_id,
            day=chosen["day"],
            now=CLOCK.now(),
        )
        return Report(x, as_csv=csv_formats.x_report, filename=f"x-report-{chosen['day']}.csv")

    @get("/sessions/{session_id:uuid}", opt=allow(Permission.drawer_manage))
    async def drawer_session_page(
        self, request: Req, caller: NamedDependency[Caller], session_id: FromPath[UUID]
    ) -> Template:
        detail = await drawers_read.get_session(caller=caller, session_id=session_id)
        async with connection() as conn:
            orders = await cashup_reads.order_numbers(
                conn, caller.restaurant_id, {c.payment_id for c in detail.cash}
            )
        people = {detail.opened_by, detail.closed_by}
        people |= {m.employee_id for m in detail.movements} | {
            m.approved_by for m in detail.movements
        }
        return render(
            request,
            "cashup_session.html",
            caller,
            active="cash-up",
            s=detail,
            orders=orders,
            names=await _names(caller, people),
            words=cashup_views,
        )

    @get("/close", opt=allow(Permission.reports_close_day))
    async def confirm_close(self, request: Req, caller: NamedDependency[Caller]) -> Template:
        query = request.query_params
        chosen = await _chosen(caller, query.get("location"), query.get("day"))
        day: date = chosen["day"]
        closed = await z_reports.list_reports(
            restaurant_id=caller.restaurant_id,
            location_id=chosen["where"].location_id,
            start=day,
            end=day,
        )
        # Said before asking, in the words the close itself would answer with.
        refused = None
        if closed.reports:
            number = closed.reports[0].number
            refused = cashup_views.refusal_words(
                DayAlreadyClosed(number=number), day, chosen["ends_at"]
            )
        elif not chosen["day_over"]:
            refused = cashup_views.refusal_words(DayNotOver(), day, chosen["ends_at"])
        return render(
            request, "cashup_close.html", caller, active="cash-up", refused=refused, **chosen
        )

    @post("/close", opt=allow(Permission.reports_close_day), status_code=303)
    async def close_day(self, request: Req, caller: NamedDependency[Caller]) -> Redirect | Template:
        await session.require_csrf(request)
        chosen = await _chosen(
            caller, await form_field(request, "location"), await form_field(request, "day")
        )
        if not await form_field(request, "day"):
            raise ValidationFailed("choose the business day to close", field="day")
        body = s.CloseDay(location_id=chosen["where"].location_id, business_day=chosen["day"])
        try:
            report = await z_reports.close_day(caller=caller, body=body, now=CLOCK.now())
        except (DayNotOver, DayAlreadyClosed) as refused:
            page = render(
                request,
                "cashup_close.html",
                caller,
                active="cash-up",
                refused=cashup_views.refusal_words(refused, chosen["day"], chosen["ends_at"]),
                **chosen,
            )
            page.status_code = refused.status
            return page
        return Redirect(f"{HERE}/z/{report.id}", status_code=303)

    @get("/z/{report_id:uuid}", opt=allow(Permission.reports_view))
    async def z_report_page(
        self, request: Req, caller: NamedDependency[Caller], report_id: FromPath[UUID]
    ) -> Template:
        report = await z_reports.get(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id,
            report_id=report_id,
            recompute=True,
        )
        async with connection() as conn:
            where = await days.place(conn, caller.restaurant_id, report.location_id)
        traced = await _traced(caller, where, report.figures)
        traced["names"] |= await _names(caller, {report.issued_by})
        return render(
            request,
            "cashup_z.html",
            caller,
            active="cash-up",
            z=report,
            **traced,
            words=cashup_views,
        )

    @get("/z/{report_id:uuid}/csv", opt=allow(Permission.reports_view))
    async def z_report_csv(
        self, caller: NamedDependency[Caller], report_id: FromPath[UUID]
    ) -> Report[s.ZReport]:
        report = await z_reports.get(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id,
            report_id=report_id,
            recompute=False,
        )
        return Report(report, as_csv=csv_formats.z_report, filename=f"z-report-{report.number}.csv")
