"""Labour and tips reports over HTTP: JSON, or CSV with the same figures.

CSV when asked by ``?format=csv`` or by ``Accept: text/csv`` (``format`` wins when both are
sent). Hours need ``reports.view``; pay (labour cost and labour as a share of sales) also
needs ``wages.view``, without which those members are null and their CSV columns left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import FromQuery, QueryParameter
from litestar.serialization import default_serializer
from litestar.types import Serializer

from server.auth.dependencies import allow
from server.auth.permissions import Permission, decide
from server.auth.tokens import Caller
from server.timeclock import csv_format, reports
from server.timeclock import report_schemas as s

CSV = "text/csv"
R = TypeVar("R")

Format = Annotated[
    s.ReportFormat | None,
    QueryParameter(
        name="format",
        description="`csv` for CSV (as `Accept: text/csv` asks); JSON otherwise.",
    ),
]
End = Annotated[
    date, QueryParameter(description="Business day, on or after `start`, at most 366 days later")
]
Location = Annotated[
    UUID | None,
    QueryParameter(description="One location (an iPad always reports its own); all if left out"),
]


class Report(Response[R]):
    """A report as JSON, or as its CSV when ``as_csv`` is given (the same figures)."""

    def __init__(self, report: R, *, as_csv: Callable[[R], str] | None, filename: str) -> None:
        headers = (
            {} if as_csv is None else {"Content-Disposition": f'attachment; filename="{filename}"'}
        )
        super().__init__(
            report, media_type=MediaType.JSON if as_csv is None else CSV, headers=headers
        )
        self._as_csv = as_csv

    def render(
        self, content: Any, media_type: str, enc_hook: Serializer = default_serializer
    ) -> bytes:
        if self._as_csv is not None:
            return self._as_csv(content).encode()
        return super().render(content, media_type, enc_hook)


@dataclass
class WithCsv(Operation):
    """The document's 200 answer offers ``text/csv`` beside JSON."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            ok.content[CSV] = OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.STRING,
                    description="RFC 4180 CSV; the first column, `breakdown`, names the JSON"
                    " list each row comes from; amounts in decimal units of the currency its header"
                    " names (`labour_cost_gbp`: 12.34).",
                )
            )


def _wants_csv(request: Request[Any, Any, Any], report_format: s.ReportFormat | None) -> bool:
    if report_format is not None:
        return report_format is s.ReportFormat.csv
    return request.accept.best_match([MediaType.JSON, CSV], default=MediaType.JSON) == CSV


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
        report_format: Format = None,
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
            as_csv=csv_format.labour if _wants_csv(request, report_format) else None,
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
        report_format: Format = None,
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
            as_csv=csv_format.tips if _wants_csv(request, report_format) else None,
            filename=f"tips-{start}-{end}.csv",
        )
