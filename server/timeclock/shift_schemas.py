"""Shifts, timesheets and corrections on the wire (docs/time-clock.md).

Hours are exact seconds, so totals add up to the second; each also comes in whole minutes,
rounded, for people. Money is integer minor units in the restaurant's ``currency``. Wage
rates and pay are left out (not null: absent) for callers without ``wages.view``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from msgspec import UNSET, Meta, UnsetType

from server.openapi import Variant
from server.timeclock.shifts import Kind
from server.timeclock.sync import MAX_DECLARED_TIPS
from server.wire import Input, Wire


class FlagCode(StrEnum):
    """The shift rule's flags (``shifts.Flag``) and the schedule's."""

    duplicate_clock_in = "duplicate_clock_in"
    not_clocked_in = "not_clocked_in"
    break_while_on_break = "break_while_on_break"
    break_end_without_break = "break_end_without_break"
    auto_closed = "auto_closed"
    late = "late"
    early = "early"


class Named(Wire, kw_only=True):
    id: UUID
    name: str


class Hours(Wire, kw_only=True):
    """Time by type. ``paid`` is regular plus paid breaks. The ``*_seconds`` are exact; the
    ``*_minutes`` are each rounded to the nearest minute, for reading only."""

    regular_seconds: int
    paid_break_seconds: int
    unpaid_break_seconds: int
    paid_seconds: int
    regular_minutes: int
    paid_break_minutes: int
    unpaid_break_minutes: int
    paid_minutes: int


class Break(Wire, kw_only=True):
    started_at: datetime
    ended_at: datetime | None
    """None while the employee is still on it."""
    paid: bool
    break_type_id: UUID | None
    seconds: int


class Flag(Wire, kw_only=True):
    """Something a manager should look at, said in a sentence; ``punch_id`` is the punch it is
    about (for ``late``, ``early`` and ``auto_closed``: the clock-in)."""

    code: FlagCode
    punch_id: UUID
    message: str


class PunchOut(Wire, kw_only=True):
    id: UUID
    kind: Kind
    at: datetime
    """As it counts now (after a manager's move); for a voided punch, as it counted last."""
    recorded_at: datetime | None
    """As the iPad punched it; None for a punch a manager added."""
    device_id: UUID | None
    device_name: str | None
    status: Literal["counted", "flagged", "voided"]
    flag: FlagCode | None
    paid: bool
    break_type_id: UUID | None
    job_role_id: UUID | None
    declared_tips: int


class PunchState(Wire, kw_only=True):
    """A punch as a correction found it or left it."""

    kind: Kind
    at: datetime
    paid: bool
    job_role_id: UUID | None
    declared_tips: int


class Correction(Wire, kw_only=True):
    id: UUID
    action: Literal["add", "move", "void"]
    punch_id: UUID
    """The punch corrected; for ``add``, the new punch's id."""
    employee_id: UUID
    location_id: UUID
    reason: str
    corrected_by: UUID
    """The manager: a back-office user's id, or an employee's on an iPad."""
    corrected_by_name: str | None
    created_at: datetime
    before: PunchState | None
    """The punch as it counted just before (None for ``add``, or if it no longer counted)."""
    after: PunchState | None
    """As it counted just after (None for ``void``)."""


class Wage(Wire, kw_only=True):
    """The rate in force on the shift's business day for its role, and the shift's pay."""

    job_role_id: UUID | None
    hourly_rate: int | None
    """Minor units an hour; None if the employee has no rate for that day and role."""
    pay: int | None
    """For the paid seconds, rounded once, half up; None without a rate."""
    currency: str


class Shift(Wire, kw_only=True):
    id: UUID
    """The id of the clock-in that opened it."""
    employee: Named
    location: Named
    job_role: Named | None
    """The role clocked in as; else the role of the employee's rate in force that day."""
    business_day: date
    """The location's trading day the shift started in (its time zone and day start)."""
    started_at: datetime
    ended_at: datetime | None
    """None while the employee is still in."""
    auto_closed: bool
    breaks: list[Break]
    hours: Hours
    """Up to now for a shift still open."""
    declared_tips: int
    flags: list[Flag]
    punches: list[PunchOut]
    """Every punch of the shift: those that count, those flagged, and voided ones."""
    corrections: list[Correction]
    wage: Wage | UnsetType = UNSET
    """Only for callers with ``wages.view``."""


class StrayPunch(Wire, kw_only=True):
    """A punch that belongs to no shift: flagged (a clock-out while out), or voided outside
    any shift. Kept and shown so that a manager can correct it; it counts for nothing."""

    employee: Named
    location: Named
    business_day: date
    punch: PunchOut
    flag: Flag | None
    corrections: list[Correction]


class PunchDetail(Wire, kw_only=True):
    """One punch, followed from a flag or a correction: where it stands now and why."""

    employee: Named
    location: Named
    business_day: date
    """The business day of the shift it belongs to, or its own for a stray."""
    shift_id: UUID | None
    """The shift it belongs to; None for a stray punch."""
    punch: PunchOut
    corrections: list[Correction]


class ShiftList(Wire, kw_only=True):
    items: list[Shift]
    stray_punches: list[StrayPunch]


class TimesheetFigures(Wire, kw_only=True):
    shifts: int
    open_shifts: int
    """Shifts still open, counted up to now."""
    hours: Hours
    declared_tips: int
    pay: int | UnsetType = UNSET
    """The sum of the shifts' pays (each rounded once), so it adds up to the penny; only
    for callers with ``wages.view``."""
    shifts_without_rate: int | UnsetType = UNSET
    """Shifts with no rate in force, whose pay is not in ``pay``."""


class TimesheetDay(TimesheetFigures, kw_only=True):
    business_day: date


class Timesheet(Wire, kw_only=True):
    employee: Named
    days: list[TimesheetDay]
    """Each business day with a shift, in order."""
    totals: TimesheetFigures


class TimesheetList(Wire, kw_only=True):
    start: date
    end: date
    currency: str
    items: list[Timesheet]
    """One per employee with a shift in the period, by name."""


Reason = Annotated[str, Meta(min_length=3, max_length=500, pattern=r"\S")]


class CorrectionCreate(Input, kw_only=True):
    """A manager's correction of the punches, with a reason. The original punch stays as it
    was punched; the correction is a new record, audited and synced to every iPad."""

    # What ``corrections.check_members`` enforces, as the document's shapes.
    openapi_variants: ClassVar[tuple[Variant, ...]] = (
        Variant(
            title="add",
            description="A punch the employee should have made (a forgotten clock-out).",
            const={"action": "add"},
            required=("employee_id", "location_id", "kind", "at"),
            absent=("punch_id",),
        ),
        Variant(
            title="move",
            description="A punch made at the wrong time: it counts at `at` instead.",
            const={"action": "move"},
            required=("punch_id", "at"),
            absent=(
                "employee_id",
                "location_id",
                "kind",
                "paid",
                "job_role_id",
                "declared_tips",
            ),
        ),
        Variant(
            title="void",
            description="A punch that should not count (a clock-in by mistake).",
            const={"action": "void"},
            required=("punch_id",),
            absent=(
                "at",
                "employee_id",
                "location_id",
                "kind",
                "paid",
                "job_role_id",
                "declared_tips",
            ),
        ),
    )

    action: Literal["add", "move", "void"]
    reason: Reason
    punch_id: UUID | None = None
    """``move`` and ``void``: the punch (one an iPad made, or one a manager added)."""
    at: Annotated[datetime, Meta(tz=True)] | None = None
    """``add`` and ``move``: when the punch counts. Not more than 5 minutes ahead."""
    employee_id: UUID | None = None
    location_id: UUID | None = None
    kind: Kind | None = None
    paid: bool | None = None
    """``add`` of a ``break_start``: whether the break is paid."""
    job_role_id: UUID | None = None
    """``add`` of a ``clock_in``: the role the shift is worked (and paid) in."""
    declared_tips: Annotated[int, Meta(ge=0, le=MAX_DECLARED_TIPS)] | None = None
    """``add`` of a ``clock_out``: cash tips declared, in minor units."""
