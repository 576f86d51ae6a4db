"""Rows for the labour and tips reports, written straight into their tables.

The reports' arithmetic is what these tests check, so punches, rates, rules, orders and
payments are written as rows here (one end-to-end test pushes them through sync instead:
``test_tips_end_to_end.py``). Every helper takes the ``Tenant`` whose restaurant it writes.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import httpx
from litestar import Litestar

from server.auth.tables import Role, User
from server.auth.tokens import Caller, issue_access_token
from server.db.engine import DB
from server.settings import get_settings
from tests.factories import Tenant, make_order


async def execute(sql: str, *args: Any) -> None:
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        await conn.execute(sql, *args)


async def clock_rules(tenant: Tenant, **rules: Any) -> None:
    """The restaurant's ``time_clock_settings`` (the rest at their defaults)."""
    names = list(rules)
    await execute(
        f"INSERT INTO time_clock_settings (restaurant_id, {', '.join(names)})"
        f" VALUES ($1, {', '.join(f'${n + 2}' for n in range(len(names)))})",
        tenant.restaurant_id,
        *rules.values(),
    )


async def job_role(tenant: Tenant, name: str) -> UUID:
    role_id = uuid4()
    await execute(
        "INSERT INTO job_roles (id, restaurant_id, name) VALUES ($1, $2, $3)",
        role_id,
        tenant.restaurant_id,
        name,
    )
    return role_id


async def wage(
    tenant: Tenant, employee: UUID, role: UUID, hourly_rate: int, effective_from: date
) -> None:
    await execute(
        "INSERT INTO wage_rates (id, restaurant_id, employee_id, job_role_id, hourly_rate,"
        " currency, effective_from) VALUES ($1, $2, $3, $4, $5, 'GBP', $6)",
        uuid4(),
        tenant.restaurant_id,
        employee,
        role,
        hourly_rate,
        effective_from,
    )


async def punch(
    tenant: Tenant,
    employee: UUID,
    kind: str,
    at: datetime,
    *,
    paid: bool = False,
    job_role_id: UUID | None = None,
    declared_tips: int = 0,
    location_id: UUID | None = None,
) -> None:
    await execute(
        "INSERT INTO time_punches (id, restaurant_id, location_id, employee_id, kind, at, paid,"
        " job_role_id, declared_tips) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        uuid4(),
        tenant.restaurant_id,
        location_id or tenant.location_id,
        employee,
        kind,
        at,
        paid,
        job_role_id,
        declared_tips,
    )


async def shift(
    tenant: Tenant,
    employee: UUID,
    start: datetime,
    end: datetime,
    *,
    breaks: tuple[tuple[datetime, datetime, bool], ...] = (),
    job_role_id: UUID | None = None,
    declared_tips: int = 0,
) -> None:
    """A clock-in, its breaks (start, end, paid) and a clock-out."""
    await punch(tenant, employee, "clock_in", start, job_role_id=job_role_id)
    for began, ended, paid in breaks:
        await punch(tenant, employee, "break_start", began, paid=paid)
        await punch(tenant, employee, "break_end", ended)
    await punch(tenant, employee, "clock_out", end, declared_tips=declared_tips)


_orders = iter(range(1, 10_000))


async def paid_order(
    tenant: Tenant,
    paid_at: datetime,
    lines: list[tuple[str, int, int, int]],
    *,
    status: str = "paid",
    **order: Any,
) -> UUID:
    """An order with lines (name, unit price, quantity, VAT basis points), paid at
    ``paid_at`` (its ``closed_at``); priced by the server as any order is."""
    return await make_order(
        tenant,
        seq=next(_orders),
        lines=lines,
        opened_at=paid_at,
        closed_at=paid_at if status == "paid" else None,
        status=status,
        **order,
    )


async def payment(
    tenant: Tenant,
    order_id: UUID,
    *,
    method: str,
    tip: int,
    at: datetime,
    employee: UUID | None,
    amount: int = 1000,
    state: str = "succeeded",
) -> UUID:
    """A payment as the ledger leaves it once it has ended."""
    payment_id = uuid4()
    provider = {"cash": "cash", "open_banking": "open_banking"}.get(method, "stripe")
    await execute(
        "INSERT INTO payments (id, restaurant_id, location_id, order_id, method, provider,"
        " state, currency, amount, tip, fee_schedule, estimated_provider_fee, platform_fee,"
        " provider_reference, employee_id, created_at, succeeded_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, 'GBP', $8, $9, 'test', 0, 0, $10, $11, $12,"
        " CASE WHEN $7 = 'succeeded' THEN $12::timestamptz END)",
        payment_id,
        tenant.restaurant_id,
        tenant.location_id,
        order_id,
        method,
        provider,
        state,
        amount,
        tip,
        f"test-{payment_id}",
        employee,
        at,
    )
    return payment_id


async def refunded(tenant: Tenant, payment_id: UUID, amount: int) -> None:
    await execute(
        "INSERT INTO refunds (id, restaurant_id, payment_id, amount, currency, state, reason)"
        " VALUES ($1, $2, $3, $4, 'GBP', 'succeeded', 'test')",
        uuid4(),
        tenant.restaurant_id,
        payment_id,
        amount,
    )


async def back_office(app: Litestar, tenant: Tenant, role: Role) -> dict[str, str]:
    """Headers of another back-office user of ``tenant``'s restaurant, with ``role``."""
    user_id = uuid4()
    await User.insert(
        User(
            id=user_id,
            restaurant_id=tenant.restaurant_id,
            email=f"{user_id.hex}@test.fynlo.app",
            name=f"Test {role}",
            password_hash="unused",
            role=role,
        )
    )
    caller = Caller(user_id=user_id, restaurant_id=tenant.restaurant_id, role=role)
    token = issue_access_token(
        app.state.signing_keys, caller, issuer=get_settings().jwt_issuer, ttl=900
    )
    return {"Authorization": f"Bearer {token}"}


async def report(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    kind: str,
    start: date | str,
    end: date | str,
    **params: Any,
) -> httpx.Response:
    return await client.get(
        f"/api/v1/time-clock/reports/{kind}",
        params={"start": str(start), "end": str(end), **params},
        headers=headers,
    )


async def report_json(
    client: httpx.AsyncClient, headers: dict[str, str], kind: str, start: date, end: date
) -> dict[str, Any]:
    response = await report(client, headers, kind, start, end)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- reading a CSV back --------------------------------------------------------------------

BREAKDOWNS = {
    "labour": {"day": "days", "role": "roles", "employee": "employees", "total": "totals"},
    "tips": {"employee": "employees", "day": "days", "share": "shares", "total": "totals"},
}


def json_from_csv(text: str, kind: str, currency: str = "GBP") -> dict[str, list[dict[str, Any]]]:
    """The CSV's rows as the JSON lists they come from, each cell read back to the JSON
    member it stands for: ``*_gbp`` pounds to minor units, ``*_percent`` to basis points,
    whole numbers to ints, blank to null."""
    lists: dict[str, list[dict[str, Any]]] = {}
    for row in csv.DictReader(io.StringIO(text, newline="")):
        member = BREAKDOWNS[kind][row.pop("breakdown")]
        lists.setdefault(member, []).append(
            dict(_member(header, cell, currency) for header, cell in row.items())
        )
    return lists


def _member(header: str, cell: str, currency: str) -> tuple[str, Any]:
    money = f"_{currency.lower()}"
    if header.endswith(money):
        return header.removesuffix(money), _hundredths(cell)
    if header.endswith("_percent"):
        return f"{header.removesuffix('_percent')}_bp", _hundredths(cell)
    if cell == "":
        return header, None
    if cell.lstrip("-").isdigit() and header != "employee" and header != "job_role":
        return header, int(cell)
    return header, cell


def _hundredths(cell: str) -> int | None:
    if cell == "":
        return None
    hundredths = Decimal(cell) * 100
    assert hundredths == hundredths.to_integral_value(), cell
    return int(hundredths)


def without_absent(item: dict[str, Any], members: set[str]) -> dict[str, Any]:
    """A JSON object with only the members a CSV row carries."""
    return {key: value for key, value in item.items() if key in members}
