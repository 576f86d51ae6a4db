"""Reports over HTTP: JSON, or CSV with the same figures (``server.reporting_csv``).

CSV when asked by ``?format=csv`` or by ``Accept: text/csv`` (``format`` wins when both are
sent). The time clock's reports and the sales reports (``server.reports``) answer this way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from litestar import Request, Response
from litestar.enums import MediaType
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import QueryParameter
from litestar.serialization import default_serializer
from litestar.types import Serializer

CSV = "text/csv"
R = TypeVar("R")


class ReportFormat(StrEnum):
    json = "json"
    csv = "csv"


Format = Annotated[
    ReportFormat | None,
    QueryParameter(
        name="format",
        description="`csv` for CSV (as `Accept: text/csv` asks); JSON otherwise.",
    ),
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
                    " names (`net_sales_gbp`: 12.34).",
                )
            )


def wants_csv(request: Request[Any, Any, Any], report_format: ReportFormat | None) -> bool:
    if report_format is not None:
        return report_format is ReportFormat.csv
    return request.accept.best_match([MediaType.JSON, CSV], default=MediaType.JSON) == CSV
