"""Shifts, timesheets and managers' corrections over HTTP (docs/time-clock.md).

Periods are the locations' business days, ``start`` to ``end`` inclusive, as the payments'
daily report takes them. A manager (``timeclock.view``) reads anyone's shifts; everyone who
clocks in (``timeclock.punch``) reads their own, signed in on an iPad. Wage rates and pay
show only to those with ``wages.view``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from server.auth.dependencies import allow
from server.auth.permissions import DEVICE, Permission, decide
from server.auth.tokens import Caller
from server.errors import Forbidden, ValidationFailed
from server.timeclock import corrections, shift_services
from server.timeclock import shift_schemas as s
from server.timeclock.shift_reading import Period

MAX_PERIOD_DAYS = 366

PeriodStart = Annotated[date, QueryParameter(description="The first business day")]
PeriodEnd = Annotated[
    date,
    QueryParameter(description="The last business day: on or after `start`, at most 366 days on"),
]
OWN_OR_ANYONE = (
    "Without `timeclock.view` (staff signed in on an iPad), only the caller's own: "
    "`employee_id` defaults to them, and naming someone else is refused (403)."
)


def period(start: date, end: date) -> Period:
    if not 0 <= (end - start).days <= MAX_PERIOD_DAYS:
        # Worded as the payments' daily report words it: one rule for every period.
        raise ValidationFailed("end must be on or after start, at most a year later", field="end")
    return Period(start, end)


def whose(caller: Caller, employee_id: UUID | None) -> UUID | None:
    """The employee a caller may read: anyone's with ``timeclock.view``, else their own."""
    if holds(caller, Permission.timeclock_view):
        return employee_id
    if caller.employee_id is None or employee_id not in (None, caller.employee_id):
        raise Forbidden(
            "reading someone else's shifts needs timeclock.view",
            permission=Permission.timeclock_view,
        )
    return caller.employee_id


def holds(caller: Caller, permission: Permission) -> bool:
    return decide(permission, caller.role or DEVICE) == "allow"


class ShiftController(Controller):
    path = "/api/v1/time-clock"
    tags = ["time clock"]

    @get(
        "/shifts",
        summary="Shifts of a period, derived from the punches, with hours, flags and pay",
        description=(
            "Each shift with its punches (counted, flagged, voided), the corrections made to "
            "them, flags in words, hours by type, and for `wages.view` the rate in force that "
            "day and the pay. Punches that belong to no shift are in `stray_punches`. "
            + OWN_OR_ANYONE
        ),
        opt=allow(Permission.timeclock_punch),
    )
    async def list_shifts(
        self,
        caller: NamedDependency[Caller],
        start: PeriodStart,
        end: PeriodEnd,
        employee_id: FromQuery[UUID | None] = None,
        location_id: FromQuery[UUID | None] = None,
    ) -> s.ShiftList:
        return await shift_services.list_shifts(
            restaurant_id=caller.restaurant_id,
            period=period(start, end),
            now=datetime.now(UTC),
            employee_id=whose(caller, employee_id),
            location_id=location_id,
            wages=holds(caller, Permission.wages_view),
        )

    @get(
        "/timesheets",
        summary="Timesheets: each employee's hours, tips and pay per business day and in total",
        description=(
            "Sums of the shifts of `GET /api/v1/time-clock/shifts`: to the second, and pay "
            "(for `wages.view`) to the penny, as each shift's pay rounded once. " + OWN_OR_ANYONE
        ),
        opt=allow(Permission.timeclock_punch),
    )
    async def list_timesheets(
        self,
        caller: NamedDependency[Caller],
        start: PeriodStart,
        end: PeriodEnd,
        employee_id: FromQuery[UUID | None] = None,
        location_id: FromQuery[UUID | None] = None,
    ) -> s.TimesheetList:
        return await shift_services.list_timesheets(
            restaurant_id=caller.restaurant_id,
            period=period(start, end),
            now=datetime.now(UTC),
            employee_id=whose(caller, employee_id),
            location_id=location_id,
            wages=holds(caller, Permission.wages_view),
        )

    @post(
        "/corrections",
        summary="Correct the punches: add one, move one, or void one, with a reason (audited)",
        description=(
            "A new record that references the punch, which stays as it was punched; written "
            "to the audit log with the punch before and after, and synced to the location's "
            "iPads. Another restaurant's punch answers 404, as a missing one does; a voided "
            "punch cannot be moved or voided again (409)."
        ),
        opt=allow(Permission.timeclock_correct),
    )
    async def create_correction(
        self, caller: NamedDependency[Caller], data: JSONBody[s.CorrectionCreate]
    ) -> s.Correction:
        return await corrections.correct(caller=caller, body=data, now=datetime.now(UTC))

    @get(
        "/corrections",
        summary="Corrections of the punches of a period, everyone's or one employee's",
        description="A shift's own are in it (`GET /api/v1/time-clock/shifts/{shift_id}`).",
        opt=allow(Permission.timeclock_view),
    )
    async def list_corrections(
        self,
        caller: NamedDependency[Caller],
        start: PeriodStart,
        end: PeriodEnd,
        employee_id: FromQuery[UUID | None] = None,
    ) -> list[s.Correction]:
        return await shift_services.list_corrections(
            restaurant_id=caller.restaurant_id,
            period=period(start, end),
            now=datetime.now(UTC),
            employee_id=employee_id,
        )

    @get(
        "/shifts/{shift_id:uuid}",
        summary="One shift, by the id of the clock-in that opened it",
        description=(
            "As in the list, with its corrections. Staff without `timeclock.view` read their "
            "own; someone else's answers 404, as a missing one does."
        ),
        opt=allow(Permission.timeclock_punch),
    )
    async def get_shift(self, caller: NamedDependency[Caller], shift_id: FromPath[UUID]) -> s.Shift:
        return await shift_services.get_shift(
            restaurant_id=caller.restaurant_id,
            shift_id=shift_id,
            now=datetime.now(UTC),
            only_of=whose(caller, None),
            wages=holds(caller, Permission.wages_view),
        )

    @get(
        "/punches/{punch_id:uuid}",
        summary="One punch: the shift it belongs to, its status, and its corrections",
        description="For a manager following a flag's or a correction's `punch_id`.",
        opt=allow(Permission.timeclock_view),
    )
    async def get_punch(
        self, caller: NamedDependency[Caller], punch_id: FromPath[UUID]
    ) -> s.PunchDetail:
        return await shift_services.get_punch(
            restaurant_id=caller.restaurant_id, punch_id=punch_id, now=datetime.now(UTC)
        )
