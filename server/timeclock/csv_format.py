"""A report as CSV, with the same figures as its JSON (RFC 4180, one table).

Each row starts with ``breakdown``, naming the JSON list it comes from (``day``,
``employee``, ...); the other columns are the JSON members of that name, blank where a row
has none. Two columns differ from JSON in how they are written, never in value: amounts are
plain decimal pounds (``1234`` minor units → ``12.34``) under a header naming the currency
(``labour_cost_gbp``), and basis points are a percentage (``labour_bp`` 2345 →
``labour_percent`` ``23.45``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import msgspec

from server.timeclock import report_schemas as s

Kind = Literal["text", "money", "basis_points"]

# Spreadsheets run a cell that starts with these as a formula (OWASP, "CSV Injection"):
# such text is written after an apostrophe. https://owasp.org/www-community/attacks/CSV_Injection
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    member: str
    """The JSON member it holds."""
    kind: Kind = "text"

    def header(self, currency: str) -> str:
        if self.kind == "money":
            return f"{self.member}_{currency.strip().lower()}"
        if self.kind == "basis_points":
            return f"{self.member.removesuffix('_bp')}_percent"
        return self.member


Section = tuple[str, Sequence[msgspec.Struct]]
"""A ``breakdown`` name and its rows."""


def render(sections: Sequence[Section], columns: Sequence[Column], *, currency: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["breakdown", *(column.header(currency) for column in columns)])
    for breakdown, rows in sections:
        for row in rows:
            writer.writerow([breakdown, *(_cell(row, column) for column in columns)])
    return out.getvalue()


def hundredths(value: int) -> str:
    """``1234`` → ``"12.34"``, ``-5`` → ``"-0.05"``: integer arithmetic, never a float."""
    whole, part = divmod(abs(value), 100)
    return f"{'-' if value < 0 else ''}{whole}.{part:02d}"


def _cell(row: msgspec.Struct, column: Column) -> str:
    value = getattr(row, column.member, None)
    if value is None:
        return ""
    if column.kind != "text":
        return hundredths(value)
    if isinstance(value, bool):  # not one of ours yet; written as JSON writes it
        return "true" if value else "false"
    text = str(value)
    return f"'{text}" if isinstance(value, str) and text.startswith(_FORMULA_STARTS) else text


_LABOUR_FIGURES = [
    Column("shifts"),
    Column("regular_seconds"),
    Column("paid_break_seconds"),
    Column("unpaid_break_seconds"),
    Column("paid_seconds"),
    Column("clocked_seconds"),
    Column("paid_time"),
    Column("overtime_seconds"),
    Column("unrated_shifts"),
    Column("unrated_seconds"),
]
_COSTS = [
    Column("labour_cost", "money"),
    Column("net_sales", "money"),
    Column("labour_bp", "basis_points"),
]


def labour(report: s.LabourReport) -> str:
    """One row per day, role and employee, then the totals. Without ``wages.view`` the cost
    columns are left out, as their JSON members are null."""
    columns = [
        Column("day"),
        Column("job_role_id"),
        Column("job_role"),
        Column("employee_id"),
        Column("employee"),
        *_LABOUR_FIGURES,
        *(_COSTS if report.costs_visible else [Column("net_sales", "money")]),
    ]
    sections: list[Section] = [
        ("day", report.days),
        ("role", report.roles),
        ("employee", report.employees),
        ("total", [report.totals]),
    ]
    return render(sections, columns, currency=report.currency)


def tips(report: s.TipsReport) -> str:
    """One row per employee, day (and location) and pool share, then the totals."""
    columns = [
        Column("day"),
        Column("location_id"),
        Column("employee_id"),
        Column("employee"),
        Column("paid_seconds"),
        *(
            Column(name, "money")
            for name in (
                "card_tips",
                "cash_tips",
                "declared_tips",
                "total",
                "pooled",
                "share",
                "unallocated",
                "unattributed",
                "allocated",
            )
        ),
    ]
    sections: list[Section] = [
        ("employee", report.employees),
        ("day", report.days),
        ("share", report.shares),
        ("total", [report.totals]),
    ]
    return render(sections, columns, currency=report.currency)
