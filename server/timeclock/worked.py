"""A derived shift placed on its business day, with its hours, and the period a report
covers: what the labour and tips reports add up.

A shift belongs, all of it, to the business day it started on at its location (its time
zone, the restaurant's ``day_starts_at``): a shift from 22:00 to 05:00 is the evening's,
even past midnight and past the next day's start. A shift still open counts up to ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID

from server.timeclock.services import business_day
from server.timeclock.shifts import Hours, Shift


@dataclass(frozen=True)
class Worked:
    shift_id: UUID
    employee_id: UUID
    location_id: UUID
    job_role_id: UUID | None
    """The role the shift was clocked in for; None: the employee's current one."""
    day: date
    """The business day it started on."""
    started_at: datetime
    hours: Hours
    declared_tips: int = 0


def place(
    shifts: Iterable[Shift],
    *,
    zones: Mapping[UUID, str],
    day_starts_at: time,
    now: datetime,
) -> list[Worked]:
    """Each shift on its business day in its location's zone (``zones``: location → IANA)."""
    return [
        Worked(
            shift_id=shift.id,
            employee_id=shift.employee_id,
            location_id=shift.location_id,
            job_role_id=shift.job_role_id,
            day=business_day(shift.started_at, zones[shift.location_id], day_starts_at),
            started_at=shift.started_at,
            hours=shift.seconds(now),
            declared_tips=shift.declared_tips,
        )
        for shift in shifts
    ]


@dataclass(frozen=True)
class Period:
    """Business days ``start`` to ``end`` (both included), at one location or every one."""

    start: date
    end: date
    location_id: UUID | None

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def holds(self, shift: Worked) -> bool:
        return self.start <= shift.day <= self.end and (
            self.location_id is None or shift.location_id == self.location_id
        )


def monday_of(day: date) -> date:
    """The Monday that starts ``day``'s week (weeks run Monday to Sunday, by business day)."""
    return day - timedelta(days=day.weekday())
