"""Refusals of time clock management; each code is documented in docs/errors.md."""

from __future__ import annotations

from server.errors import Conflict


class WageRateExists(Conflict):
    """The employee already has a rate for this role from this day.

    History is never overwritten: a rate that was wrong is followed by a new rate from a
    later day, so what was paid stays explainable."""

    code = "timeclock.wage_rate_exists"
    title = "A rate for this role already takes effect on this day"


class ScheduleOverlaps(Conflict):
    """The employee is already scheduled during part of this time (``overlaps`` names it)."""

    code = "timeclock.schedule_overlaps"
    title = "The employee is already scheduled then"
