"""Managing employees and checking their PINs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from server.auth.passwords import hash_password, verify_password
from server.auth.tables import Role
from server.db import scoped
from server.employees import schemas as s
from server.employees.pins import MAX_CONSECUTIVE_FAILURES, check_pin
from server.employees.tables import Employee
from server.errors import Forbidden, NotAuthenticated


def _out(row: dict[str, Any]) -> s.Employee:
    return s.Employee(
        id=row["id"],
        name=row["name"],
        role=Role(row["role"]),
        has_pin=row["pin_hash"] is not None,
        pin_locked=row["pin_locked_at"] is not None,
        active=row["active"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def list_employees(*, restaurant_id: UUID) -> list[s.Employee]:
    rows = (
        await Employee.select()
        .where(Employee.restaurant_id == restaurant_id)
        .order_by(Employee.name)
    )
    return [_out(row) for row in rows]


async def get_employee(*, restaurant_id: UUID, employee_id: UUID) -> s.Employee:
    return _out(
        await scoped.get_or_raise(Employee, restaurant_id=restaurant_id, row_id=employee_id)
    )


async def create_employee(*, restaurant_id: UUID, body: s.EmployeeCreate) -> s.Employee:
    if body.pin is not None:
        check_pin(body.pin)
    employee_id = body.id or uuid4()
    await scoped.refuse_taken_id(Employee, employee_id)
    row = await scoped.insert(
        Employee,
        {
            "id": employee_id,
            "restaurant_id": restaurant_id,
            "name": body.name,
            "role": body.role,
            "pin_hash": await hash_password(body.pin) if body.pin is not None else None,
        },
    )
    return _out(row)


async def update_employee(
    *, restaurant_id: UUID, employee_id: UUID, body: s.EmployeeUpdate
) -> s.Employee:
    values = scoped.changes({"name": body.name, "role": body.role, "active": body.active})
    row = await scoped.update_or_raise(
        Employee, restaurant_id=restaurant_id, row_id=employee_id, values=values
    )
    return _out(row)


async def set_pin(*, restaurant_id: UUID, employee_id: UUID, pin: str) -> s.Employee:
    """Set a new PIN; this is also how a manager lifts a lockout."""
    check_pin(pin)
    row = await scoped.update_or_raise(
        Employee,
        restaurant_id=restaurant_id,
        row_id=employee_id,
        values={"pin_hash": await hash_password(pin), "pin_failures": 0, "pin_locked_at": None},
    )
    return _out(row)


async def verify_pin(*, restaurant_id: UUID, employee_id: UUID, pin: str) -> s.Employee:
    """The employee whose PIN this is; unknown employee and wrong PIN answer alike.

    Failures are counted atomically in the database, so parallel guesses from several iPads
    all count, and the 10th consecutive failure locks the PIN.
    """
    row = (
        await Employee.select()
        .where((Employee.id == employee_id) & (Employee.restaurant_id == restaurant_id))
        .first()
    )
    usable = row is not None and row["active"] and row["pin_locked_at"] is None
    # Always one full argon2 verification, so timing does not tell who exists.
    matches = await verify_password(row["pin_hash"] if usable and row else None, pin)
    if row is not None and row["pin_locked_at"] is not None:
        raise Forbidden("this PIN is locked; a manager must reset it", reason="pin_locked")
    if not usable or not matches or row is None:
        if row is not None and usable:
            await _count_failure(employee_id)
        raise NotAuthenticated("employee or PIN is wrong")
    if row["pin_failures"]:
        await Employee.update({Employee.pin_failures: 0}).where(Employee.id == employee_id)
    return _out(row)


async def _count_failure(employee_id: UUID) -> None:
    await Employee.raw(
        "UPDATE employees SET pin_failures = pin_failures + 1,"
        " pin_locked_at = CASE WHEN pin_failures + 1 >= {} THEN coalesce(pin_locked_at, {})"
        " ELSE pin_locked_at END WHERE id = {}",
        MAX_CONSECUTIVE_FAILURES,
        datetime.now(UTC),
        employee_id,
    )
