"""Reports over HTTP, under ``/api/v1/reports``: JSON, or CSV with the same figures
(``server.reporting``). Reading needs ``reports.view``, closing a day ``reports.close_day``
(managers and owners). An iPad reports its own location only: another answers 404."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from server import reporting
from server.auth.dependencies import allow
from server.auth.permissions import Permission
from server.auth.tokens import Caller
from server.errors import NotFound, ValidationFailed
from server.reporting import Report, WithCsv, wants_csv
from server.reports import csv_formats, sales, z_reports
from server.reports import schemas as s


class Clock:
    """When it is now, for the reports: which business day is today, and whether a day has
    ended. Tests that trade through the real paths and then close that day move it."""

    def now(self) -> datetime:
        return datetime.now(UTC)


CLOCK = Clock()

End = Annotated[
    date, QueryParameter(description="Business day, on or after `start`, at most 366 days later")
]
Location = Annotated[
    UUID | None,
    QueryParameter(description="One location (an iPad always reports its own); all if left out"),
]


def _location(caller: Caller, asked: UUID | None, *, required: bool) -> UUID | None:
    """The location a caller reports on: an iPad's own; another than its own is not found."""
    if caller.location_id is not None:
        if asked is not None and asked != caller.location_id:
            raise NotFound("no such location", field="location_id")
        return caller.location_id
    if asked is None and required:
        raise ValidationFailed("location_id is required", field="location_id")
    return asked


class ReportsController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]

    @get(
        "/x",
        summary="X-report: a location's business day so far (not stored, not numbered)",
        description="`day` defaults to today's business day at the location. Definitions in"
        " docs/reports.md.",
        opt=allow(Permission.reports_view),
        operation_class=WithCsv,
    )
    async def x_report(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        location_id: Location = None,
        day: Annotated[date | None, QueryParameter(description="Business day")] = None,
        report_format: reporting.Format = None,
    ) -> Report[s.XReport]:
        where = _location(caller, location_id, required=True)
        assert where is not None
        report = await z_reports.x_report(
            restaurant_id=caller.restaurant_id, location_id=where, day=day, now=CLOCK.now()
        )
        return Report(
            report,
            as_csv=csv_formats.x_report if wants_csv(request, report_format) else None,
            filename=f"x-report-{report.figures.business_day}.csv",
        )

    @post(
        "/z",
        summary="Close a business day: issue its numbered Z-report",
        description="Refused (409 `z_report.day_not_over`) before the day has ended at the"
        " location, and (409 `z_report.day_closed`, with the report's `number`) once it is"
        " closed. Orders still open are listed with a warning. docs/reports.md.",
        opt=allow(Permission.reports_close_day),
    )
    async def close_day(
        self, caller: NamedDependency[Caller], data: JSONBody[s.CloseDay]
    ) -> s.ZReport:
        _location(caller, data.location_id, required=True)
        return await z_reports.close_day(caller=caller, body=data, now=CLOCK.now())

    @get(
        "/z",
        summary="The Z-reports issued for business days `start` to `end`",
        opt=allow(Permission.reports_view),
    )
    async def list_z_reports(
        self,
        caller: NamedDependency[Caller],
        start: FromQuery[date],
        end: End,
        location_id: Location = None,
    ) -> s.ZReportList:
        if end < start or (end - start).days > sales.MAX_DAYS:
            raise ValidationFailed(sales.PERIOD_REFUSED, field="end")
        return await z_reports.list_reports(
            restaurant_id=caller.restaurant_id,
            location_id=_location(caller, location_id, required=False),
            start=start,
            end=end,
        )

    @get(
        "/z/{report_id:uuid}",
        summary="One Z-report as issued; `recompute=true` adds the figures computed now",
        opt=allow(Permission.reports_view),
        operation_class=WithCsv,
    )
    async def get_z_report(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        report_id: FromPath[UUID],
        recompute: Annotated[
            bool, QueryParameter(description="Recompute the day and say what differs")
        ] = False,
        report_format: reporting.Format = None,
    ) -> Report[s.ZReport]:
        report = await z_reports.get(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id,
            report_id=report_id,
            recompute=recompute,
        )
        return Report(
            report,
            as_csv=csv_formats.z_report if wants_csv(request, report_format) else None,
            filename=f"z-report-{report.number}.csv",
        )

    @get(
        "/sales",
        summary="Sales by product, category, hour of the day or employee",
        description="Quantity, gross, discounts, VAT and net per row over business days"
        " `start` to `end`; totals equal the Z-reports' of those days. docs/reports.md.",
        opt=allow(Permission.reports_view),
        operation_class=WithCsv,
    )
    async def sales_report(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        start: FromQuery[date],
        end: End,
        by: FromQuery[s.SalesBy],
        location_id: Location = None,
        report_format: reporting.Format = None,
    ) -> Report[s.SalesReport]:
        report = await sales.sales_report(
            restaurant_id=caller.restaurant_id,
            location_id=_location(caller, location_id, required=False),
            start=start,
            end=end,
            by=by,
        )
        return Report(
            report,
            as_csv=csv_formats.sales if wants_csv(request, report_format) else None,
            filename=f"sales-by-{by.value}-{start}-{end}.csv",
        )

    @get(
        "/vat",
        summary="The UK VAT return's boxes the till knows (1 and 6), and VAT by rate",
        opt=allow(Permission.reports_view),
        operation_class=WithCsv,
    )
    async def vat_return(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        start: FromQuery[date],
        end: End,
        location_id: Location = None,
        report_format: reporting.Format = None,
    ) -> Report[s.VatReturn]:
        report = await sales.vat_return(
            restaurant_id=caller.restaurant_id,
            location_id=_location(caller, location_id, required=False),
            start=start,
            end=end,
        )
        return Report(
            report,
            as_csv=csv_formats.vat_return if wants_csv(request, report_format) else None,
            filename=f"vat-{start}-{end}.csv",
        )

    @get(
        "/platform-fees",
        summary="Platform fee revenue per payment method and business day",
        opt=allow(Permission.reports_view),
        operation_class=WithCsv,
    )
    async def platform_fees(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        start: FromQuery[date],
        end: End,
        location_id: Location = None,
        report_format: reporting.Format = None,
    ) -> Report[s.PlatformFees]:
        report = await sales.platform_fees(
            restaurant_id=caller.restaurant_id,
            location_id=_location(caller, location_id, required=False),
            start=start,
            end=end,
        )
        return Report(
            report,
            as_csv=csv_formats.platform_fees if wants_csv(request, report_format) else None,
            filename=f"platform-fees-{start}-{end}.csv",
        )
