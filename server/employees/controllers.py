"""Employee management (back office, or a manager on an iPad), and the restaurant's PIN rules."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from server.auth.dependencies import allow
from server.auth.permissions import Permission
from server.auth.tables import Role
from server.auth.tokens import Caller
from server.employees import schemas as s
from server.employees import services
from server.employees.errors import OfflineReportReused, RoleAboveOwn
from server.errors import Forbidden, ValidationFailed

# Nobody grants or manages a role above their own (see server/openapi.py for "errors").
MANAGE = {**allow(Permission.employees_manage), "errors": (RoleAboveOwn,)}


def _own_role(caller: Caller) -> Role:
    if caller.role is None:  # only people hold employees.manage; kept for the type checker
        raise Forbidden("a person must manage employees")
    return caller.role


class EmployeeController(Controller):
    path = "/api/v1/employees"
    tags = ["employees"]

    @get(opt=allow(Permission.employees_view))
    async def list_employees(self, caller: NamedDependency[Caller]) -> list[s.Employee]:
        return await services.list_employees(restaurant_id=caller.restaurant_id)

    @post(opt=MANAGE)
    async def create_employee(
        self, caller: NamedDependency[Caller], data: JSONBody[s.EmployeeCreate]
    ) -> s.Employee:
        return await services.create_employee(
            restaurant_id=caller.restaurant_id, body=data, by=_own_role(caller)
        )

    @get(
        "/offline-credentials",
        summary="What this iPad needs to check PINs and sign changes while offline",
        description=(
            "Asked by an enrolled iPad (its device token, anyone or nobody signed in); "
            "refresh it after each sign-in and at least daily. See docs/security.md, "
            '"Offline sign-in and approvals".'
        ),
        opt=allow(Permission.pin_sign_in) | {"errors": (ValidationFailed,)},
    )
    async def offline_credentials(self, caller: NamedDependency[Caller]) -> s.OfflineCredentials:
        if caller.device_id is None:
            # As for approvals: a request this route cannot serve, not a missing right.
            raise ValidationFailed("offline credentials are issued to an enrolled iPad")
        return await services.offline_credentials(
            restaurant_id=caller.restaurant_id, device_id=caller.device_id
        )

    @post(
        "/offline-pin-failures",
        summary="Report wrong PINs typed on this iPad while it was offline",
        description=(
            "Sent by an enrolled iPad (its device token) when it reconnects. Each employee's "
            "failures join this iPad's wrong-PIN waits for them as if typed now, and are "
            "written to the audit log; entries marked `cleared` (a right PIN followed) are "
            "audited only. Idempotent per `report_id`: the same report again is answered as "
            "the first time, the same id with other contents is refused 409. See "
            'docs/security.md, "Offline sign-in and approvals".'
        ),
        status_code=200,
        opt=allow(Permission.pin_sign_in) | {"errors": (ValidationFailed, OfflineReportReused)},
    )
    async def report_offline_pin_failures(
        self, caller: NamedDependency[Caller], data: JSONBody[s.OfflinePinFailureReport]
    ) -> s.OfflinePinFailureReceipt:
        if caller.device_id is None:
            raise ValidationFailed("offline PIN failures are reported by an enrolled iPad")
        return await services.report_offline_pin_failures(
            caller=caller, device_id=caller.device_id, report=data
        )

    @get(
        "/pin-policy",
        summary="The restaurant's PIN rules (six digits unless four are allowed)",
        opt=allow(Permission.employees_view),
    )
    async def get_pin_policy(self, caller: NamedDependency[Caller]) -> s.PinPolicy:
        return await services.get_pin_policy(restaurant_id=caller.restaurant_id)

    @put(
        "/pin-policy",
        summary="Allow or refuse four-digit PINs (owner only; audited)",
        description=(
            "Six digits is the default (NIST SP 800-63B-4). Allowing four also allows five; "
            "the blocklist of obvious PINs applies either way. Refusing them again makes "
            "every shorter PIN stop signing in at once: set new PINs first."
        ),
        opt=allow(Permission.pin_policy_manage),
    )
    async def set_pin_policy(
        self, caller: NamedDependency[Caller], data: JSONBody[s.PinPolicyUpdate]
    ) -> s.PinPolicy:
        return await services.set_pin_policy(
            restaurant_id=caller.restaurant_id,
            allow_four_digit_pins=data.allow_four_digit_pins,
            caller=caller,
        )

    @get("/{employee_id:uuid}", opt=allow(Permission.employees_view))
    async def get_employee(
        self, caller: NamedDependency[Caller], employee_id: FromPath[UUID]
    ) -> s.Employee:
        return await services.get_employee(
            restaurant_id=caller.restaurant_id, employee_id=employee_id
        )

    @patch("/{employee_id:uuid}", opt=MANAGE)
    async def update_employee(
        self,
        caller: NamedDependency[Caller],
        employee_id: FromPath[UUID],
        data: JSONBody[s.EmployeeUpdate],
    ) -> s.Employee:
        return await services.update_employee(
            restaurant_id=caller.restaurant_id,
            employee_id=employee_id,
            body=data,
            by=_own_role(caller),
        )

    @put(
        "/{employee_id:uuid}/pin",
        summary="Set or reset a PIN (also clears its wrong-PIN waits)",
        opt=MANAGE,
    )
    async def set_pin(
        self,
        caller: NamedDependency[Caller],
        employee_id: FromPath[UUID],
        data: JSONBody[s.PinSet],
    ) -> s.Employee:
        return await services.set_pin(
            restaurant_id=caller.restaurant_id,
            employee_id=employee_id,
            pin=data.pin,
            by=_own_role(caller),
        )
