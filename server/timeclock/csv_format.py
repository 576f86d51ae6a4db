"""The labour and tips reports as CSV, with the same figures as their JSON.

The format (the ``breakdown`` column, money under a header naming the currency, basis points
as a percentage) is ``server.reporting_csv``'s, shared with the sales reports.
"""

from __future__ import annotations

from server.reporting_csv import Column, Section, hundredths, render
from server.timeclock import report_schemas as s

__all__ = ["Column", "hundredths", "labour", "render", "tips"]


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
