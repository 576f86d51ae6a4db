"""Labour and tips reports over HTTP: JSON, or CSV with the same figures
(``server.reporting``). Hours need ``reports.view``; pay (labour cost and labour as a share
of sales) also needs ``wages.view``, without which those members are null and their CSV
columns left out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from server import reporting
from server.auth.dependencies import allow
from server.auth.permissions import Permission, decide
from server.auth.tokens import Caller
from server.reporting import Report, WithCsv, wants_csv
from server.timeclock import csv_format, reports
from server.timeclock import report_schemas as s

End = Annotated[
    date, QueryParameter(description="Business day, on or after `start`, at most 366 days later")
]
Location = Annotated[
    UUID | None,
    QueryParameter(description="One location (an iPad always reports its own); all if left out"),
]


class ReportController(Controller):
    path = "/api/v1/time-clock/reports"
    tags = ["time clock"]

    @get(
        "/labour",
        summary="Labour hours, overtime and cost per day, role and employee, against sales",
        description=(
            "Business days `start` to `end` at each location's time zone and the restaurant's"
            ' `day_starts_at`; definitions in docs/time-clock.md, "Labour reports". Costs'
            " (`labour_cost`, `labour_bp`) need `wages.view` and are null without it."
        ),
        opt=allow(Permission.reports_view),
        operation_class=WithCsv,
    )
    async def labour(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        start: FromQuery[date],
        end: End,
        location_id: Location = None,
        report_format: reporting.Format = None,
    ) -> Report[s.LabourReport]:
        costs_visible = (
            caller.role is not None and decide(Permission.wages_view, caller.role) == "allow"
        )
        report = await reports.labour_report(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id or location_id,
            start=start,
            end=end,
            costs_visible=costs_visible,
            now=datetime.now(UTC),
        )
        return Report(
            report,
            as_csv=csv_format.labour if wants_csv(request, report_format) else None,
            filename=f"labour-{start}-{end}.csv",
        )

    @get(
        "/tips",
        summary="Tips per employee: taken, pooled by hours, declared; unallocated kept apart",
        description=(
            "Business days `start` to `end`; the restaurant's `tip_pooling` decides who receives"
            ' card and bank tips. Definitions in docs/time-clock.md, "Tips".'
        ),
        opt=allow(Permission.reports_view),
        operation_class=WithCsv,
    )
    async def tips(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        start: FromQuery[date],
        end: End,
        location_id: Location = None,
        report_format: reporting.Format = None,
    ) -> Report[s.TipsReport]:
        report = await reports.tips_report(
            restaurant_id=caller.restaurant_id,
            location_id=caller.location_id or location_id,
            start=start,
            end=end,
            now=datetime.now(UTC),
        )
        return Report(
            report,
            as_csv=csv_format.tips if wants_csv(request, report_format) else None,
            filename=f"tips-{start}-{end}.csv",
        )
