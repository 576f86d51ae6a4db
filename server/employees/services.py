"""Managing employees, the restaurant's PIN rules, and checking PINs."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import msgspec

from server.audit.services import record, record_system_event
from server.auth import offline, ratelimit, throttle
from server.auth.passwords import hash_password, run_bounded, verify_password
from server.auth.permissions import outranks
from server.auth.tables import Role
from server.auth.tokens import Caller
from server.db import scoped
from server.db.engine import DB
from server.employees import schemas as s
from server.employees.errors import OfflineReportReused, RoleAboveOwn
from server.employees.pins import MAX_LENGTH, check_pin, min_length
from server.employees.tables import Employee
from server.errors import NotAuthenticated, NotFound, ValidationFailed


def _out(row: dict[str, Any], *, waiting: bool = False) -> s.Employee:
    return s.Employee(
        id=row["id"],
        name=row["name"],
        role=Role(row["role"]),
        has_pin=row["pin_hash"] is not None,
        pin_locked=waiting,
        active=row["active"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def _waiting(restaurant_id: UUID, rows: list[dict[str, Any]]) -> set[UUID]:
    """The employees among ``rows`` whose PIN some iPad is waiting to try again."""
    accounts = {throttle.pin_account(restaurant_id, row["id"]): row["id"] for row in rows}
    held = await throttle.waiting(throttle.PIN, accounts)
    return {accounts[account] for account in held}


async def _one(restaurant_id: UUID, row: dict[str, Any]) -> s.Employee:
    return _out(row, waiting=bool(await _waiting(restaurant_id, [row])))


def _refuse_above(role: Role, *, by: Role) -> None:
    if outranks(role, by):
        raise RoleAboveOwn(
            f"a {by.value} cannot grant or manage the {role.value} role", role=role.value
        )


async def list_employees(*, restaurant_id: UUID) -> list[s.Employee]:
    rows = (
        await Employee.select()
        .where(Employee.restaurant_id == restaurant_id)
        .order_by(Employee.name)
    )
    waiting = await _waiting(restaurant_id, rows)
    return [_out(row, waiting=row["id"] in waiting) for row in rows]


async def get_employee(*, restaurant_id: UUID, employee_id: UUID) -> s.Employee:
    row = await scoped.get_or_raise(Employee, restaurant_id=restaurant_id, row_id=employee_id)
    return await _one(restaurant_id, row)


async def create_employee(*, restaurant_id: UUID, body: s.EmployeeCreate, by: Role) -> s.Employee:
    """Add an employee; ``by`` is the creator's role, and nobody grants a role above theirs."""
    _refuse_above(body.role, by=by)
    if body.pin is not None:
        check_pin(body.pin, allow_four_digits=await allows_four_digits(restaurant_id))
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
            **(await _offline_seed(body.pin) if body.pin is not None else {}),
        },
    )
    return _out(row)


async def update_employee(
    *, restaurant_id: UUID, employee_id: UUID, body: s.EmployeeUpdate, by: Role
) -> s.Employee:
    """Rename, re-role or (de)activate; neither the old role nor the new may be above ``by``.

    A deactivated or re-roled employee's sessions stop at their next request
    (``server.auth.dependencies``)."""
    values = scoped.changes({"name": body.name, "role": body.role, "active": body.active})
    async with DB.transaction():
        await _lock_within_reach(restaurant_id, employee_id, by=by)
        if isinstance(body.role, Role):
            _refuse_above(body.role, by=by)
        row = await scoped.update_or_raise(
            Employee, restaurant_id=restaurant_id, row_id=employee_id, values=values
        )
    return await _one(restaurant_id, row)


async def set_pin(*, restaurant_id: UUID, employee_id: UUID, pin: str, by: Role) -> s.Employee:
    """Set a new PIN; this also clears its wrong-PIN waits on every iPad."""
    check_pin(pin, allow_four_digits=await allows_four_digits(restaurant_id))
    pin_hash = await hash_password(pin)
    async with DB.transaction():
        await _lock_within_reach(restaurant_id, employee_id, by=by)
        row = await scoped.update_or_raise(
            Employee,
            restaurant_id=restaurant_id,
            row_id=employee_id,
            values={"pin_hash": pin_hash, **await _offline_seed(pin)},
        )
        await throttle.forget(
            throttle.PIN, account=throttle.pin_account(restaurant_id, employee_id)
        )
    return _out(row)


async def _lock_within_reach(restaurant_id: UUID, employee_id: UUID, *, by: Role) -> None:
    """Lock the employee's row and refuse if their current role is above ``by``."""
    rows = await Employee.raw(
        "SELECT role FROM employees WHERE id = {} AND restaurant_id = {} FOR UPDATE",
        employee_id,
        restaurant_id,
    )
    if not rows:
        raise NotFound("no such employee")
    _refuse_above(Role(rows[0]["role"]), by=by)


# --- the restaurant's PIN rules -------------------------------------------------------------


async def allows_four_digits(restaurant_id: UUID) -> bool:
    rows = await Employee.raw(
        "SELECT allow_four_digit_pins FROM pin_policies WHERE restaurant_id = {}", restaurant_id
    )
    return bool(rows and rows[0]["allow_four_digit_pins"])


def _policy(row: dict[str, Any] | None) -> s.PinPolicy:
    allow = bool(row and row["allow_four_digit_pins"])
    return s.PinPolicy(
        allow_four_digit_pins=allow,
        min_length=min_length(allow_four_digits=allow),
        max_length=MAX_LENGTH,
        changed_at=row["changed_at"] if row else None,
        changed_by=row["changed_by"] if row else None,
    )


async def get_pin_policy(*, restaurant_id: UUID) -> s.PinPolicy:
    rows = await Employee.raw("SELECT * FROM pin_policies WHERE restaurant_id = {}", restaurant_id)
    return _policy(rows[0] if rows else None)


async def set_pin_policy(
    *, restaurant_id: UUID, allow_four_digit_pins: bool, caller: Caller | None = None
) -> s.PinPolicy:
    """Allow or refuse 4- and 5-digit PINs, and write who did it to the audit log.

    ``caller`` is the owner who asked; without one the server itself sets it (the demo).
    Refusing them again makes every shorter PIN stop signing in at once.
    """
    async with DB.transaction():
        before = await Employee.raw(
            "SELECT allow_four_digit_pins FROM pin_policies WHERE restaurant_id = {} FOR UPDATE",
            restaurant_id,
        )
        rows = await Employee.raw(
            "INSERT INTO pin_policies"
            " (restaurant_id, allow_four_digit_pins, changed_at, changed_by)"
            " VALUES ({}, {}, {}, {}) ON CONFLICT (restaurant_id) DO UPDATE SET"
            " allow_four_digit_pins = excluded.allow_four_digit_pins,"
            " changed_at = excluded.changed_at, changed_by = excluded.changed_by RETURNING *",
            restaurant_id,
            allow_four_digit_pins,
            datetime.now(UTC),
            caller.actor_id if caller is not None else None,
        )
        details = {
            "allow_four_digit_pins": allow_four_digit_pins,
            "was": bool(before and before[0]["allow_four_digit_pins"]),
        }
        if caller is not None:
            await record(
                caller=caller,
                action="employees.pin_policy",
                target_type="restaurant",
                target_id=str(restaurant_id),
                details=details,
            )
        else:
            await record_system_event(
                restaurant_id=restaurant_id,
                action="employees.pin_policy",
                target_type="restaurant",
                target_id=str(restaurant_id),
                details=details,
            )
    return _policy(rows[0])


# --- checking a PIN -------------------------------------------------------------------------


async def verify_pin(
    *,
    restaurant_id: UUID,
    employee_id: UUID,
    pin: str,
    device_id: UUID,
    limiter: ratelimit.RateLimiter,
) -> s.Employee:
    """The employee whose PIN this is, entered on ``device_id``; every failure answers alike.

    First the iPad's own backoff for this employee id (``throttle.PIN``), then the id's hourly
    ceiling across iPads, both counted for any id, real or not; then one full argon2
    verification whoever the id names, so neither the answers nor their timing tell who
    exists. A PIN shorter than the restaurant now allows is wrong, whatever its hash.
    """
    account = throttle.pin_account(restaurant_id, employee_id)
    await throttle.admit(throttle.PIN, account=account, source=str(device_id))
    # Counted within the caller's restaurant: another one naming this id spends its own.
    await limiter.hit(ratelimit.PIN_PER_EMPLOYEE, str(restaurant_id), str(employee_id))
    row = (
        await Employee.select()
        .where((Employee.id == employee_id) & (Employee.restaurant_id == restaurant_id))
        .first()
    )
    shortest = min_length(allow_four_digits=await allows_four_digits(restaurant_id))
    usable = row is not None and row["active"]
    checked = await verify_password(row["pin_hash"] if usable and row else None, pin)
    if row is None or not usable or not checked.matches or len(pin) < shortest:
        raise NotAuthenticated("employee or PIN is wrong")
    await throttle.succeeded(throttle.PIN, account=account, source=str(device_id))
    if checked.upgraded is not None:  # hashed with older parameters; unless reset meanwhile
        await Employee.update({Employee.pin_hash: checked.upgraded}).where(
            (Employee.id == employee_id) & (Employee.pin_hash == row["pin_hash"])
        )
    if row["offline_seed"] is None:  # set before offline proofs existed: this is the moment
        seed: dict[Any, Any] = await _offline_seed(pin)
        await Employee.update(seed).where(Employee.id == employee_id)
    return _out(row)


async def offline_credentials(*, restaurant_id: UUID, device_id: UUID) -> s.OfflineCredentials:
    """Each active employee's offline PIN check for this iPad (never the seed itself)."""
    rows = (
        await Employee.select(
            Employee.id, Employee.name, Employee.role, Employee.offline_salt, Employee.offline_seed
        )
        .where(
            (Employee.restaurant_id == restaurant_id)
            & (Employee.active == True)  # noqa: E712 - a SQL comparison, not Python's
            & Employee.offline_seed.is_not_null()
        )
        .order_by(Employee.name)
    )
    return s.OfflineCredentials(
        device_id=device_id,
        employees=[
            s.OfflineCredential(
                employee_id=row["id"],
                name=row["name"],
                role=Role(row["role"]),
                salt=bytes(row["offline_salt"]).hex(),
                iterations=offline.ITERATIONS,
                verifier=offline.verifier(
                    offline.device_key(bytes(row["offline_seed"]), device_id)
                ),
            )
            for row in rows
        ],
    )


async def report_offline_pin_failures(
    *, caller: Caller, device_id: UUID, report: s.OfflinePinFailureReport
) -> s.OfflinePinFailureReceipt:
    """Count wrong PINs an iPad saw offline into its waits, once per report id, and audit them.

    Each employee id's failures join that (employee id, iPad) pair's count in the PIN backoff
    as if typed now, as online failures are counted (``throttle.PIN``); ids the restaurant
    does not have are counted the same way, as online. ``cleared`` entries (a right PIN
    followed on the iPad) are audited only. The same report again is answered as the first
    time; its id with other contents is refused.
    """
    ids = [entry.employee_id for entry in report.employees]
    if len(set(ids)) != len(ids):
        raise ValidationFailed("each employee appears once in a report", field="employees")
    for index, entry in enumerate(report.employees):
        if entry.first_at > entry.last_at:
            raise ValidationFailed(
                "first_at is after last_at", field=f"employees[{index}].first_at"
            )
    digest = hashlib.sha256(msgspec.json.encode(report)).hexdigest()
    counted = sum(entry.failures for entry in report.employees if not entry.cleared)
    async with DB.transaction():
        inserted = await Employee.raw(
            "INSERT INTO offline_pin_reports"
            " (device_id, report_id, restaurant_id, digest, counted, received_at)"
            " VALUES ({}, {}, {}, {}, {}, {}) ON CONFLICT DO NOTHING RETURNING received_at",
            device_id,
            report.report_id,
            caller.restaurant_id,
            digest,
            counted,
            datetime.now(UTC),
        )
        if not inserted:
            return _receipt_of_earlier(
                await Employee.raw(
                    "SELECT digest, counted, received_at FROM offline_pin_reports"
                    " WHERE device_id = {} AND report_id = {}",
                    device_id,
                    report.report_id,
                ),
                report.report_id,
                digest,
            )
        for entry in report.employees:
            if not entry.cleared:
                await throttle.add_failures(
                    throttle.PIN,
                    account=throttle.pin_account(caller.restaurant_id, entry.employee_id),
                    source=str(device_id),
                    failures=entry.failures,
                )
            await record(
                caller=caller,
                action="employees.offline_pin_failures",
                target_type="employee",
                target_id=str(entry.employee_id),
                details={
                    "report_id": str(report.report_id),
                    "failures": entry.failures,
                    "first_at": entry.first_at.isoformat(),
                    "last_at": entry.last_at.isoformat(),
                    "cleared": entry.cleared,
                },
            )
    return s.OfflinePinFailureReceipt(
        report_id=report.report_id, received_at=inserted[0]["received_at"], counted=counted
    )


def _receipt_of_earlier(
    rows: list[dict[str, Any]], report_id: UUID, digest: str
) -> s.OfflinePinFailureReceipt:
    """The answer to a report sent again: the first one's, unless the contents changed."""
    earlier = rows[0]
    if earlier["digest"] != digest:
        raise OfflineReportReused(
            "this iPad already sent a report with this id and other contents; "
            "send new failures under a new report_id"
        )
    return s.OfflinePinFailureReceipt(
        report_id=report_id, received_at=earlier["received_at"], counted=earlier["counted"]
    )


async def _offline_seed(pin: str) -> dict[str, bytes]:
    """The employee's offline PIN seed (``server.auth.offline``), derived in the hashing pool."""
    salt, seed = await run_bounded(offline.new_seed, pin)
    return {"offline_salt": salt, "offline_seed": seed}
