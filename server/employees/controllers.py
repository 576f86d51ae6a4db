"""Employee management (back office, or a manager on an iPad)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from server.auth.dependencies import allow
from server.auth.permissions import Permission
from server.auth.tokens import Caller
from server.employees import schemas as s
from server.employees import services


class EmployeeController(Controller):
    path = "/api/v1/employees"
    tags = ["employees"]

    @get(opt=allow(Permission.employees_view))
    async def list_employees(self, caller: NamedDependency[Caller]) -> list[s.Employee]:
        return await services.list_employees(restaurant_id=caller.restaurant_id)

    @post(opt=allow(Permission.employees_manage))
    async def create_employee(
        self, caller: NamedDependency[Caller], data: JSONBody[s.EmployeeCreate]
    ) -> s.Employee:
        return await services.create_employee(restaurant_id=caller.restaurant_id, body=data)

    @get("/{employee_id:uuid}", opt=allow(Permission.employees_view))
    async def get_employee(
        self, caller: NamedDependency[Caller], employee_id: FromPath[UUID]
    ) -> s.Employee:
        return await services.get_employee(
            restaurant_id=caller.restaurant_id, employee_id=employee_id
        )

    @patch("/{employee_id:uuid}", opt=allow(Permission.employees_manage))
    async def update_employee(
        self,
        caller: NamedDependency[Caller],
        employee_id: FromPath[UUID],
        data: JSONBody[s.EmployeeUpdate],
    ) -> s.Employee:
        return await services.update_employee(
            restaurant_id=caller.restaurant_id, employee_id=employee_id, body=data
        )

    @put(
        "/{employee_id:uuid}/pin",
        summary="Set or reset a PIN (also lifts a lockout)",
        opt=allow(Permission.employees_manage),
    )
    async def set_pin(
        self,
        caller: NamedDependency[Caller],
        employee_id: FromPath[UUID],
        data: JSONBody[s.PinSet],
    ) -> s.Employee:
        return await services.set_pin(
            restaurant_id=caller.restaurant_id, employee_id=employee_id, pin=data.pin
        )
