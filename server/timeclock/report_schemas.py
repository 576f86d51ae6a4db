"""The labour and tips reports on the wire. Amounts are integer minor units in ``currency``;
times are whole seconds; percentages are basis points (2345 = 23.45%). The CSV of a report
carries the same figures (``server.timeclock.csv_format``)."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from server.wire import Wire


class LabourFigures(Wire, kw_only=True):
    """Hours, overtime and cost of some shifts. ``regular_seconds + paid_break_seconds =
    paid_seconds`` and ``paid_seconds + unpaid_break_seconds = clocked_seconds``, exactly."""

    shifts: int
    regular_seconds: int
    paid_break_seconds: int
    unpaid_break_seconds: int
    paid_seconds: int
    clocked_seconds: int
    paid_time: str
    """``paid_seconds`` for people to read: hours, minutes and seconds, ``"37:30:00"``."""
    overtime_seconds: int
    """The part of ``paid_seconds`` past the weekly threshold (not on top of it)."""
    unrated_shifts: int
    """Shifts with no wage rate in force for their day and role: no cost counted for them."""
    unrated_seconds: int
    labour_cost: int | None
    """Pay of the shifts with a rate, each rounded once; null without ``wages.view``."""


class LabourDay(LabourFigures, kw_only=True):
    day: date
    net_sales: int
    labour_bp: int | None
    """``labour_cost`` over ``net_sales``, half up; null when there were no sales (or the
    cost is not shown)."""


class LabourRole(LabourFigures, kw_only=True):
    job_role_id: UUID | None
    """The role clocked in for, else the role of the employee's rate that day; null: neither."""
    job_role: str | None


class LabourEmployee(LabourFigures, kw_only=True):
    employee_id: UUID
    employee: str


class LabourTotals(LabourFigures, kw_only=True):
    net_sales: int
    labour_bp: int | None


class LabourReport(Wire, kw_only=True):
    start: date
    end: date
    location_id: UUID | None
    """The one location reported, or null for every location of the restaurant."""
    currency: str
    costs_visible: bool
    """Whether the caller may see pay (``wages.view``): without it every cost is null."""
    weekly_overtime_minutes: int
    days: list[LabourDay]
    """Every business day of the period, in order, with or without shifts."""
    roles: list[LabourRole]
    employees: list[LabourEmployee]
    totals: LabourTotals


class TipsEmployee(Wire, kw_only=True):
    employee_id: UUID
    employee: str
    paid_seconds: int
    """Paid time worked in the period: what pooled tips were shared by."""
    card_tips: int
    """Card and bank tips: their own payments' (``tip_pooling`` ``none``) or their share of
    each day's pool (``by_hours``)."""
    cash_tips: int
    """Cash tips on the payments they took at the till."""
    declared_tips: int
    """Cash tips they declared when clocking out."""
    total: int


class TipsDay(Wire, kw_only=True):
    day: date
    location_id: UUID
    card_tips: int
    """Every card and bank tip taken that business day at that location."""
    pooled: int
    """The part of ``card_tips`` shared out by hours (``by_hours``)."""
    unallocated: int
    """Card and bank tips of a day nobody worked (``by_hours``): kept here, never lost."""
    cash_tips: int
    declared_tips: int
    unattributed: int
    """Tips on payments nobody was signed in for (the back office)."""


class TipsShare(Wire, kw_only=True):
    """One employee's share of one day's pool (``by_hours``)."""

    day: date
    location_id: UUID
    employee_id: UUID
    paid_seconds: int
    share: int


class TipsTotals(Wire, kw_only=True):
    """``card_tips + cash_tips + declared_tips = allocated + unattributed + unallocated``."""

    card_tips: int
    cash_tips: int
    declared_tips: int
    allocated: int
    unattributed: int
    unallocated: int


class TipsReport(Wire, kw_only=True):
    start: date
    end: date
    location_id: UUID | None
    currency: str
    tip_pooling: Literal["none", "by_hours"]
    employees: list[TipsEmployee]
    days: list[TipsDay]
    shares: list[TipsShare]
    totals: TipsTotals
