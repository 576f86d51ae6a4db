"""The labour report: hours, overtime and pay per day, role and employee, against sales.

Plain functions over placed shifts (``worked.Worked``), wage rates and net sales; no I/O
(``reports.labour_report`` reads them). The definitions (docs/time-clock.md, "Labour
reports"):

- A shift counts on the business day it started, all of it (``worked``).
- Hours are whole seconds: regular, paid breaks, unpaid breaks; paid is regular plus paid
  breaks, clocked is paid plus unpaid breaks. Every row is a sum of whole shifts, so its
  parts add up to its totals exactly.
- A shift's cost is ``shifts.pay(paid_seconds, rate)``, rounded once per shift, at the rate
  in force on its business day for its role (``Rates.on``); a row's cost is the sum of its
  shifts'. A shift with no rate that day (or one in another currency) has no cost: it is
  counted in ``unrated_shifts`` and ``unrated_seconds`` with its hours.
- Overtime: for each employee and week (Monday to Sunday, by business day), the paid
  seconds past ``weekly_overtime_minutes``. Shifts are taken in the order they started; the
  shift that crosses the threshold has the part past it, the later ones all of theirs.
  Overtime is part of the paid time, not on top of it, and is paid at the same rate.
- Labour percentage: cost over net sales of the same business day (``orders.sales``), in
  basis points rounded half up; null when sales are zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypedDict
from uuid import UUID

from server.money import round_half_up
from server.timeclock import report_schemas as s
from server.timeclock.services import Rates
from server.timeclock.shifts import Hours, pay
from server.timeclock.worked import Period, Worked, monday_of

BASIS_POINTS = 10_000


def overtime(worked: Iterable[Worked], *, threshold_seconds: int) -> dict[UUID, int]:
    """Each shift's overtime seconds (by shift id): see the module's rule. Give every shift
    of the weeks concerned, from their Mondays, or the threshold is met too late."""
    weeks: dict[tuple[UUID, date], list[Worked]] = defaultdict(list)
    for shift in worked:
        weeks[(shift.employee_id, monday_of(shift.day))].append(shift)
    over: dict[UUID, int] = {}
    for shifts in weeks.values():
        before = 0
        for shift in sorted(shifts, key=lambda w: (w.started_at, str(w.shift_id))):
            after = before + shift.hours.paid
            over[shift.shift_id] = max(0, after - threshold_seconds) - max(
                0, before - threshold_seconds
            )
            before = after
    return over


def cost(shift: Worked, rates: Rates, currency: str) -> int | None:
    """The shift's pay at the rate in force on its day, or None if it has none."""
    rate = rates.on(shift.employee_id, shift.day, shift.job_role_id)
    if rate is None or rate.currency != currency:
        return None
    return pay(shift.hours.paid, rate.hourly_rate)


def role_of(shift: Worked, rates: Rates) -> UUID | None:
    """The role clocked in for, else the role of the rate the employee was on that day."""
    if shift.job_role_id is not None:
        return shift.job_role_id
    rate = rates.on(shift.employee_id, shift.day, None)
    return None if rate is None else rate.job_role_id


class Figures(TypedDict):
    """``report_schemas.LabourFigures``'s members, as one row's sum gives them."""

    shifts: int
    regular_seconds: int
    paid_break_seconds: int
    unpaid_break_seconds: int
    paid_seconds: int
    clocked_seconds: int
    paid_time: str
    overtime_seconds: int
    unrated_shifts: int
    unrated_seconds: int
    labour_cost: int | None


@dataclass
class _Sum:
    shifts: int = 0
    hours: Hours = field(default_factory=Hours)
    overtime: int = 0
    unrated_shifts: int = 0
    unrated_seconds: int = 0
    cost: int = 0

    def add(self, shift: Worked, overtime: int, cost: int | None) -> None:
        self.shifts += 1
        self.hours += shift.hours
        self.overtime += overtime
        if cost is None:
            self.unrated_shifts += 1
            self.unrated_seconds += shift.hours.paid
        else:
            self.cost += cost

    def figures(self, *, costs_visible: bool) -> Figures:
        paid = self.hours.paid
        return {
            "shifts": self.shifts,
            "regular_seconds": self.hours.regular,
            "paid_break_seconds": self.hours.paid_breaks,
            "unpaid_break_seconds": self.hours.unpaid_breaks,
            "paid_seconds": paid,
            "clocked_seconds": paid + self.hours.unpaid_breaks,
            "paid_time": clock_time(paid),
            "overtime_seconds": self.overtime,
            "unrated_shifts": self.unrated_shifts,
            "unrated_seconds": self.unrated_seconds,
            "labour_cost": self.cost if costs_visible else None,
        }

    def labour_bp(self, sales: int, *, costs_visible: bool) -> int | None:
        if not costs_visible or sales <= 0:
            return None
        return round_half_up(self.cost * BASIS_POINTS, sales)


def clock_time(seconds: int) -> str:
    """``135000`` → ``"37:30:00"``: hours, minutes, seconds, exactly."""
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02d}:{second:02d}"


def labour_report(
    worked: Sequence[Worked],
    *,
    period: Period,
    rates: Rates,
    currency: str,
    net_sales: Mapping[date, int],
    weekly_overtime_minutes: int,
    costs_visible: bool,
    employee_names: Mapping[UUID, str],
    role_names: Mapping[UUID, str],
) -> s.LabourReport:
    """The report of ``period``. ``worked`` holds every shift from the Monday of its first
    week, at every location: overtime is the employee's, wherever they worked that week."""
    over = overtime(worked, threshold_seconds=weekly_overtime_minutes * 60)
    by_day: dict[date, _Sum] = {day: _Sum() for day in period.days()}
    by_role: dict[UUID | None, _Sum] = defaultdict(_Sum)
    by_employee: dict[UUID, _Sum] = defaultdict(_Sum)
    total = _Sum()
    for shift in worked:
        if not period.holds(shift):
            continue
        args = (shift, over[shift.shift_id], cost(shift, rates, currency))
        for row in (
            by_day[shift.day],
            by_role[role_of(shift, rates)],
            by_employee[shift.employee_id],
            total,
        ):
            row.add(*args)
    visible = {"costs_visible": costs_visible}
    sales_total = sum(net_sales.get(day, 0) for day in by_day)
    return s.LabourReport(
        start=period.start,
        end=period.end,
        location_id=period.location_id,
        currency=currency,
        costs_visible=costs_visible,
        weekly_overtime_minutes=weekly_overtime_minutes,
        days=[
            s.LabourDay(
                day=day,
                net_sales=net_sales.get(day, 0),
                labour_bp=row.labour_bp(net_sales.get(day, 0), **visible),
                **row.figures(**visible),
            )
            for day, row in by_day.items()
        ],
        roles=sorted(
            (
                s.LabourRole(
                    job_role_id=role,
                    job_role=None if role is None else role_names.get(role, ""),
                    **row.figures(**visible),
                )
                for role, row in by_role.items()
            ),
            key=lambda r: (r.job_role is None, r.job_role or "", str(r.job_role_id)),
        ),
        employees=sorted(
            (
                s.LabourEmployee(
                    employee_id=employee,
                    employee=employee_names.get(employee, ""),
                    **row.figures(**visible),
                )
                for employee, row in by_employee.items()
            ),
            key=lambda e: (e.employee, str(e.employee_id)),
        ),
        totals=s.LabourTotals(
            net_sales=sales_total,
            labour_bp=total.labour_bp(sales_total, **visible),
            **total.figures(**visible),
        ),
    )
