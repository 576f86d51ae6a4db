"""Timesheets: each employee's shifts of a period added up per business day and in total.

Every figure is a sum of the shifts' own: seconds, declared tips, and pay (each shift's pay
rounded once, at the rate in force on its day), so a day adds up to its shifts and the
totals to the days, to the second and to the penny.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from uuid import UUID

from msgspec.structs import asdict

from server.timeclock import shift_schemas as s
from server.timeclock.shift_reading import Period, Reading, ShiftRead
from server.timeclock.shift_views import hours_out
from server.timeclock.shifts import Hours


def timesheets(reading: Reading, period: Period, *, wages: bool) -> s.TimesheetList:
    by_employee: dict[UUID, dict[date, list[ShiftRead]]] = defaultdict(lambda: defaultdict(list))
    for item in reading.shifts:
        by_employee[item.shift.employee_id][item.business_day].append(item)
    sheets = [
        s.Timesheet(
            employee=s.Named(id=employee_id, name=reading.employees.get(employee_id, "")),
            days=[
                s.TimesheetDay(business_day=day, **asdict(_figures(days[day], wages=wages)))
                for day in sorted(days)
            ],
            totals=_figures([item for day in days.values() for item in day], wages=wages),
        )
        for employee_id, days in by_employee.items()
    ]
    sheets.sort(key=lambda sheet: (sheet.employee.name, str(sheet.employee.id)))
    return s.TimesheetList(
        start=period.start, end=period.end, currency=reading.currency, items=sheets
    )


def _figures(shifts: Sequence[ShiftRead], *, wages: bool) -> s.TimesheetFigures:
    figures = s.TimesheetFigures(
        shifts=len(shifts),
        open_shifts=sum(1 for item in shifts if item.shift.ended_at is None),
        hours=hours_out(sum((item.hours for item in shifts), Hours())),
        declared_tips=sum(item.shift.declared_tips for item in shifts),
    )
    if wages:
        figures.pay = sum(item.pay for item in shifts if item.pay is not None)
        figures.shifts_without_rate = sum(1 for item in shifts if item.pay is None)
    return figures
