"""Time clock management over HTTP (docs/time-clock.md, "Roles, wages, breaks, schedules and
rules"): managers keep job roles, break types, schedules and the clock rules; owners set wages."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from litestar import Controller, Router, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from server.auth.dependencies import allow
from server.auth.permissions import Permission
from server.auth.tokens import Caller
from server.errors import ValidationFailed
from server.timeclock import management_schemas as s
from server.timeclock import management_services as services
from server.timeclock.management_errors import ScheduleOverlaps, WageRateExists

LONGEST_LISTED_PERIOD_DAYS = 366


class JobRoleController(Controller):
    path = "/job-roles"

    @get(summary="The restaurant's job roles, by name", opt=allow(Permission.timeclock_view))
    async def list_job_roles(
        self, caller: NamedDependency[Caller], include_archived: FromQuery[bool] = False
    ) -> list[s.JobRole]:
        return await services.list_job_roles(
            restaurant_id=caller.restaurant_id, include_archived=include_archived
        )

    @post(
        summary="Add a job role (synced to the iPads, offered at clock-in)",
        opt=allow(Permission.timeclock_manage),
    )
    async def create_job_role(
        self, caller: NamedDependency[Caller], data: JSONBody[s.JobRoleCreate]
    ) -> s.JobRole:
        return await services.create_job_role(restaurant_id=caller.restaurant_id, body=data)

    @get("/{job_role_id:uuid}", summary="One job role", opt=allow(Permission.timeclock_view))
    async def get_job_role(
        self, caller: NamedDependency[Caller], job_role_id: FromPath[UUID]
    ) -> s.JobRole:
        return await services.get_job_role(
            restaurant_id=caller.restaurant_id, job_role_id=job_role_id
        )

    @patch(
        "/{job_role_id:uuid}",
        summary="Rename a job role, or archive it (no longer offered at clock-in)",
        opt=allow(Permission.timeclock_manage),
    )
    async def update_job_role(
        self,
        caller: NamedDependency[Caller],
        job_role_id: FromPath[UUID],
        data: JSONBody[s.JobRoleUpdate],
    ) -> s.JobRole:
        return await services.update_job_role(
            restaurant_id=caller.restaurant_id, job_role_id=job_role_id, body=data
        )


class WageRateController(Controller):
    path = "/employees/{employee_id:uuid}/wage-rates"

    @get(
        summary="An employee's wage rates, with their history, oldest first",
        opt=allow(Permission.wages_view),
    )
    async def list_wage_rates(
        self, caller: NamedDependency[Caller], employee_id: FromPath[UUID]
    ) -> list[s.WageRate]:
        return await services.list_wage_rates(
            restaurant_id=caller.restaurant_id, employee_id=employee_id
        )

    @post(
        summary="Set a wage rate from a day on (owners; audited; never synced to iPads)",
        description=(
            "Adds a rate to the employee's history for one job role: it pays that role's "
            "shifts from `effective_from` until a later rate takes effect. Earlier rates are "
            "kept. The same role and day again is refused (`timeclock.wage_rate_exists`)."
        ),
        opt=allow(Permission.wages_manage) | {"errors": (WageRateExists,)},
    )
    async def set_wage_rate(
        self,
        caller: NamedDependency[Caller],
        employee_id: FromPath[UUID],
        data: JSONBody[s.WageRateCreate],
    ) -> s.WageRate:
        return await services.set_wage_rate(caller=caller, employee_id=employee_id, body=data)


class BreakTypeController(Controller):
    path = "/break-types"

    @get(summary="The restaurant's break types, by name", opt=allow(Permission.timeclock_view))
    async def list_break_types(
        self, caller: NamedDependency[Caller], include_archived: FromQuery[bool] = False
    ) -> list[s.BreakType]:
        return await services.list_break_types(
            restaurant_id=caller.restaurant_id, include_archived=include_archived
        )

    @post(summary="Add a break type (synced to the iPads)", opt=allow(Permission.timeclock_manage))
    async def create_break_type(
        self, caller: NamedDependency[Caller], data: JSONBody[s.BreakTypeCreate]
    ) -> s.BreakType:
        return await services.create_break_type(restaurant_id=caller.restaurant_id, body=data)

    @get("/{break_type_id:uuid}", summary="One break type", opt=allow(Permission.timeclock_view))
    async def get_break_type(
        self, caller: NamedDependency[Caller], break_type_id: FromPath[UUID]
    ) -> s.BreakType:
        return await services.get_break_type(
            restaurant_id=caller.restaurant_id, break_type_id=break_type_id
        )

    @patch(
        "/{break_type_id:uuid}",
        summary="Change a break type, or archive it",
        opt=allow(Permission.timeclock_manage),
    )
    async def update_break_type(
        self,
        caller: NamedDependency[Caller],
        break_type_id: FromPath[UUID],
        data: JSONBody[s.BreakTypeUpdate],
    ) -> s.BreakType:
        return await services.update_break_type(
            restaurant_id=caller.restaurant_id, break_type_id=break_type_id, body=data
        )


class ScheduleController(Controller):
    path = "/schedules"

    @get(
        summary="Scheduled shifts starting on some business days",
        description=(
            "Each location's business days, by its own clock and the restaurant's "
            "`day_starts_at`. A manager signed in on an iPad sees its location only."
        ),
        opt=allow(Permission.timeclock_view),
    )
    async def list_schedules(
        self,
        caller: NamedDependency[Caller],
        start: FromQuery[date],
        end: Annotated[
            date, QueryParameter(description="On or after `start`, at most 366 days later")
        ],
        employee_id: FromQuery[UUID | None] = None,
        location_id: FromQuery[UUID | None] = None,
    ) -> list[s.ScheduledShift]:
        if end < start or (end - start).days > LONGEST_LISTED_PERIOD_DAYS:
            # Worded as the daily report words it, so clients read one refusal.
            raise ValidationFailed(
                "end must be on or after start, at most a year later", field="end"
            )
        return await services.list_schedules(
            restaurant_id=caller.restaurant_id,
            start=start,
            end=end,
            employee_id=employee_id,
            location_id=caller.location_id or location_id,
        )

    @post(
        summary="Schedule a shift (synced to its location's iPads)",
        description=(
            "At most 24 hours long; an employee's scheduled shifts may not overlap "
            "(`timeclock.schedule_overlaps`). A manager signed in on an iPad schedules at "
            "its location only."
        ),
        opt=allow(Permission.timeclock_manage) | {"errors": (ScheduleOverlaps,)},
    )
    async def create_schedule(
        self, caller: NamedDependency[Caller], data: JSONBody[s.ScheduledShiftCreate]
    ) -> s.ScheduledShift:
        return await services.create_schedule(
            restaurant_id=caller.restaurant_id, at_location=caller.location_id, body=data
        )

    @get(
        "/{scheduled_shift_id:uuid}",
        summary="One scheduled shift",
        opt=allow(Permission.timeclock_view),
    )
    async def get_schedule(
        self, caller: NamedDependency[Caller], scheduled_shift_id: FromPath[UUID]
    ) -> s.ScheduledShift:
        return await services.get_schedule(
            restaurant_id=caller.restaurant_id,
            at_location=caller.location_id,
            scheduled_shift_id=scheduled_shift_id,
        )

    @delete(
        "/{scheduled_shift_id:uuid}",
        summary="Remove a scheduled shift",
        opt=allow(Permission.timeclock_manage),
    )
    async def delete_schedule(
        self, caller: NamedDependency[Caller], scheduled_shift_id: FromPath[UUID]
    ) -> None:
        await services.delete_schedule(
            restaurant_id=caller.restaurant_id,
            at_location=caller.location_id,
            scheduled_shift_id=scheduled_shift_id,
        )


class ClockSettingsController(Controller):
    path = "/settings"

    @get(
        summary="The restaurant's clock rules (the defaults until set)",
        opt=allow(Permission.timeclock_view),
    )
    async def get_clock_settings(self, caller: NamedDependency[Caller]) -> s.ClockSettings:
        return await services.get_clock_settings(restaurant_id=caller.restaurant_id)

    @put(
        summary="Set the clock rules (synced to the iPads; audited)",
        description=(
            "Every rule at once. Shifts are derived when read, so a new "
            "`auto_close_after_minutes` or `day_starts_at` also applies to shifts already "
            "worked."
        ),
        opt=allow(Permission.timeclock_manage),
    )
    async def set_clock_settings(
        self, caller: NamedDependency[Caller], data: JSONBody[s.ClockSettingsUpdate]
    ) -> s.ClockSettings:
        return await services.set_clock_settings(caller=caller, body=data)


management = Router(
    "/api/v1/time-clock",
    route_handlers=[
        JobRoleController,
        WageRateController,
        BreakTypeController,
        ScheduleController,
        ClockSettingsController,
    ],
    tags=["time clock"],
)
"""Everything above under ``/api/v1/time-clock``: the one line ``server/app.py`` adds."""
