"""Time clock management bodies on the wire: job roles, wage rates, break types, schedules and
the restaurant's clock rules. The bounds are the migration's CHECKs, so a value out of range
is refused while decoding (400 naming the field), never by the database."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from msgspec import UNSET, Meta, UnsetType

from server.wire import Input, Wire

Name = Annotated[str, Meta(min_length=1, max_length=80)]
HourlyRate = Annotated[
    int, Meta(ge=0, le=1_000_000, description="Minor units per hour (pence in GBP)")
]
ExpectedMinutes = Annotated[int, Meta(ge=1, le=480)]
Instant = Annotated[datetime, Meta(tz=True, description="RFC 3339 with an offset, in 1970 to 9999")]
DayStart = Annotated[
    str,
    Meta(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="HH:MM, the locations' own clocks",
    ),
]
TipPooling = Literal["none", "by_hours"]


# --- job roles --------------------------------------------------------------------------------


class JobRole(Wire, kw_only=True):
    id: UUID
    name: str
    archived: bool
    """An archived role is no longer offered at clock-in; its shifts and rates stay."""
    created_at: datetime


class JobRoleCreate(Input, kw_only=True):
    id: UUID | None = None
    name: Name


class JobRoleUpdate(Input, kw_only=True):
    name: Name | UnsetType = UNSET
    archived: bool | UnsetType = UNSET


# --- wage rates -------------------------------------------------------------------------------


class WageRate(Wire, kw_only=True):
    """One rate of an employee's history: in force for the role from ``effective_from`` until a
    later rate of the same role takes effect."""

    id: UUID
    employee_id: UUID
    job_role_id: UUID
    job_role_name: str
    hourly_rate: int
    """Minor units per hour."""
    currency: str
    effective_from: date
    """A business day of the restaurant: the rate pays every shift of that day on."""
    set_by: UUID | None
    """The owner who set it (a user or an employee id)."""
    created_at: datetime


class WageRateCreate(Input, kw_only=True):
    job_role_id: UUID
    hourly_rate: HourlyRate
    effective_from: date
    """The business day the rate takes effect; earlier days keep the rate they had."""


# --- break types ------------------------------------------------------------------------------


class BreakType(Wire, kw_only=True):
    id: UUID
    name: str
    paid: bool
    expected_minutes: int
    archived: bool
    created_at: datetime


class BreakTypeCreate(Input, kw_only=True):
    id: UUID | None = None
    name: Name
    paid: bool
    expected_minutes: ExpectedMinutes


class BreakTypeUpdate(Input, kw_only=True):
    name: Name | UnsetType = UNSET
    paid: bool | UnsetType = UNSET
    expected_minutes: ExpectedMinutes | UnsetType = UNSET
    archived: bool | UnsetType = UNSET


# --- schedules --------------------------------------------------------------------------------


class ScheduledShift(Wire, kw_only=True):
    id: UUID
    employee_id: UUID
    location_id: UUID
    job_role_id: UUID | None
    starts_at: datetime
    ends_at: datetime
    created_at: datetime


class ScheduledShiftCreate(Input, kw_only=True):
    id: UUID | None = None
    employee_id: UUID
    location_id: UUID
    job_role_id: UUID | None = None
    starts_at: Instant
    ends_at: Annotated[
        datetime,
        Meta(tz=True, description="After `starts_at`, at most 24 hours later; RFC 3339"),
    ]


# --- clock rules ------------------------------------------------------------------------------


class ClockSettings(Wire, kw_only=True):
    """The restaurant's time clock rules (the defaults until an owner or manager sets them)."""

    auto_close_after_minutes: int
    """A shift still open this long is closed at exactly this limit and flagged."""
    early_clock_in_minutes: int
    """How long before a scheduled shift an employee may clock in."""
    late_after_minutes: int
    """A clock-in this long after the scheduled start is flagged late."""
    weekly_overtime_minutes: int
    """Paid time in a week beyond this is overtime."""
    day_starts_at: str
    """When the business day starts (HH:MM, each location's clock)."""
    tip_pooling: TipPooling
    updated_at: datetime | None
    """Null while the restaurant runs on the defaults."""


class ClockSettingsUpdate(Input, kw_only=True):
    """Every rule, set at once (read them first with GET)."""

    auto_close_after_minutes: Annotated[int, Meta(ge=60, le=2880)]
    early_clock_in_minutes: Annotated[int, Meta(ge=0, le=240)]
    late_after_minutes: Annotated[int, Meta(ge=0, le=240)]
    weekly_overtime_minutes: Annotated[int, Meta(ge=60, le=10080)]
    day_starts_at: DayStart
    tip_pooling: TipPooling
