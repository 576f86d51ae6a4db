"""Who may manage the time clock (docs/security.md): managers keep roles, break types, schedules
and rules; managers read wages; only owners set them; a cashier and a bare iPad do none of it.

Each caller tries every route with a valid request: allowed, it succeeds; refused, it gets
403 ``forbidden`` and nothing changes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from litestar import Litestar

from tests.factories import Tenant
from tests.integration.timeclock.management_fixtures import (
    BREAK_TYPES,
    JOB_ROLES,
    SCHEDULES,
    SETTINGS,
    callers_of,
    create_break_type,
    create_job_role,
    employee_of,
    ok,
    wage_rates,
)
from tests.problems import assert_problem

OWNER, MANAGER, MANAGER_ON_IPAD = "owner", "manager", "manager_on_ipad"
CASHIER_ON_IPAD, BARE_IPAD = "cashier_on_ipad", "bare_ipad"
MANAGERS = frozenset({OWNER, MANAGER, MANAGER_ON_IPAD})
OWNERS = frozenset({OWNER})


@dataclass
class Rows:
    """Rows of the restaurant each request acts on, made by the owner."""

    tenant: Tenant
    employee: UUID
    job_role: dict[str, Any]
    break_type: dict[str, Any]
    scheduled: list[str]


Send = Callable[[httpx.AsyncClient, dict[str, str], Rows], Awaitable[httpx.Response]]
Count = Callable[[httpx.AsyncClient, Rows], Awaitable[int]]


@dataclass(frozen=True)
class Action:
    name: str
    allowed: frozenset[str]
    status: int
    send: Send
    changes: Count | None = None
    """For a write: what it changes, counted as the owner reads it."""


async def count(client: httpx.AsyncClient, rows: Rows, path: str, **params: Any) -> int:
    return len(await ok(await client.get(path, params=params, headers=rows.tenant.headers)))


def a_shift(rows: Rows, day: int) -> dict[str, Any]:
    return {
        "employee_id": str(rows.employee),
        "location_id": str(rows.tenant.location_id),
        "starts_at": f"2026-12-{day:02d}T09:00:00Z",
        "ends_at": f"2026-12-{day:02d}T17:00:00Z",
    }


async def delete_a_shift(
    client: httpx.AsyncClient, headers: dict[str, str], rows: Rows
) -> httpx.Response:
    return await client.delete(f"{SCHEDULES}/{rows.scheduled.pop()}", headers=headers)


ACTIONS = [
    Action(
        "list job roles",
        MANAGERS,
        200,
        lambda client, headers, rows: client.get(JOB_ROLES, headers=headers),
    ),
    Action(
        "read a job role",
        MANAGERS,
        200,
        lambda client, headers, rows: client.get(
            f"{JOB_ROLES}/{rows.job_role['id']}", headers=headers
        ),
    ),
    Action(
        "create a job role",
        MANAGERS,
        201,
        lambda client, headers, rows: client.post(
            JOB_ROLES, json={"name": f"Role {uuid4().hex[:6]}"}, headers=headers
        ),
        lambda client, rows: count(client, rows, JOB_ROLES),
    ),
    Action(
        "rename a job role",
        MANAGERS,
        200,
        lambda client, headers, rows: client.patch(
            f"{JOB_ROLES}/{rows.job_role['id']}",
            json={"name": f"Renamed {uuid4().hex[:6]}"},
            headers=headers,
        ),
    ),
    Action(
        "archive a job role",
        MANAGERS,
        200,
        lambda client, headers, rows: client.patch(
            f"{JOB_ROLES}/{rows.job_role['id']}", json={"archived": True}, headers=headers
        ),
        lambda client, rows: count(client, rows, JOB_ROLES),
    ),
    Action(
        "list break types",
        MANAGERS,
        200,
        lambda client, headers, rows: client.get(BREAK_TYPES, headers=headers),
    ),
    Action(
        "read a break type",
        MANAGERS,
        200,
        lambda client, headers, rows: client.get(
            f"{BREAK_TYPES}/{rows.break_type['id']}", headers=headers
        ),
    ),
    Action(
        "create a break type",
        MANAGERS,
        201,
        lambda client, headers, rows: client.post(
            BREAK_TYPES,
            json={"name": f"Break {uuid4().hex[:6]}", "paid": True, "expected_minutes": 15},
            headers=headers,
        ),
        lambda client, rows: count(client, rows, BREAK_TYPES),
    ),
    Action(
        "archive a break type",
        MANAGERS,
        200,
        lambda client, headers, rows: client.patch(
            f"{BREAK_TYPES}/{rows.break_type['id']}", json={"archived": True}, headers=headers
        ),
        lambda client, rows: count(client, rows, BREAK_TYPES),
    ),
    Action(
        "list schedules",
        MANAGERS,
        200,
        lambda client, headers, rows: client.get(
            SCHEDULES, params={"start": "2026-12-01", "end": "2026-12-31"}, headers=headers
        ),
    ),
    Action(
        "read a scheduled shift",
        MANAGERS,
        200,
        lambda client, headers, rows: client.get(
            f"{SCHEDULES}/{rows.scheduled[0]}", headers=headers
        ),
    ),
    Action(
        "schedule a shift",
        MANAGERS,
        201,
        lambda client, headers, rows: client.post(
            SCHEDULES, json=a_shift(rows, 20 + len(rows.scheduled)), headers=headers
        ),
        lambda client, rows: count(client, rows, SCHEDULES, start="2026-12-01", end="2026-12-31"),
    ),
    Action(
        "delete a scheduled shift",
        MANAGERS,
        204,
        delete_a_shift,
        lambda client, rows: count(client, rows, SCHEDULES, start="2026-12-01", end="2026-12-31"),
    ),
    Action(
        "read the clock rules",
        MANAGERS,
        200,
        lambda client, headers, rows: client.get(SETTINGS, headers=headers),
    ),
    Action(
        "set the clock rules",
        MANAGERS,
        200,
        lambda client, headers, rows: client.put(
            SETTINGS,
            json={
                "auto_close_after_minutes": 600,
                "early_clock_in_minutes": 5,
                "late_after_minutes": 5,
                "weekly_overtime_minutes": 2400,
                "day_starts_at": "03:00",
                "tip_pooling": "none",
            },
            headers=headers,
        ),
        lambda client, rows: _rules_set(client, rows),
    ),
    Action(
        "list an employee's wage rates",
        MANAGERS,
        200,
        lambda client, headers, rows: client.get(wage_rates(rows.employee), headers=headers),
    ),
    Action(
        "set a wage rate",
        OWNERS,
        201,
        lambda client, headers, rows: client.post(
            wage_rates(rows.employee),
            json={
                "job_role_id": rows.job_role["id"],
                "hourly_rate": 1200,
                "effective_from": "2026-01-01",
            },
            headers=headers,
        ),
        lambda client, rows: count(client, rows, wage_rates(rows.employee)),
    ),
]


async def _rules_set(client: httpx.AsyncClient, rows: Rows) -> int:
    rules = await ok(await client.get(SETTINGS, headers=rows.tenant.headers))
    return 0 if rules["updated_at"] is None else 1


@pytest.mark.parametrize("who", [OWNER, MANAGER, MANAGER_ON_IPAD, CASHIER_ON_IPAD, BARE_IPAD])
async def test_each_caller_may_do_what_the_table_says_and_no_more(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, who: str
) -> None:
    headers: dict[str, str] = getattr(await callers_of(app, tenant), who)
    employee = await employee_of(tenant)
    rows = Rows(
        tenant,
        employee,
        await create_job_role(client, tenant, "Bar"),
        await create_break_type(client, tenant, "Meal"),
        [],
    )
    for day in (1, 2):  # one for the caller to delete, one spare
        created = await ok(
            await client.post(SCHEDULES, json=a_shift(rows, day), headers=tenant.headers), 201
        )
        rows.scheduled.append(created["id"])

    wrong = []
    for action in ACTIONS:
        before = await action.changes(client, rows) if action.changes else None
        response = await action.send(client, headers, rows)
        if who in action.allowed:
            if response.status_code != action.status:
                wrong.append(f"{action.name}: {response.status_code} {response.text}")
            elif action.changes is not None and await action.changes(client, rows) == before:
                wrong.append(f"{action.name}: allowed but changed nothing")
            continue
        assert_problem(response, 403, "forbidden")
        if action.changes is not None and await action.changes(client, rows) != before:
            wrong.append(f"{action.name}: refused but changed something")
    assert wrong == [], "\n".join(wrong)


async def test_a_cashier_cannot_do_any_of_it_while_a_manager_on_the_same_ipad_can(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """The named cases of the issue, spelled out: cashier 403, manager 201, owner 201 on wages."""
    callers = await callers_of(app, tenant)
    body = {"name": "Expo"}
    assert_problem(
        await client.post(JOB_ROLES, json=body, headers=callers.cashier_on_ipad), 403, "forbidden"
    )
    role = await ok(await client.post(JOB_ROLES, json=body, headers=callers.manager_on_ipad), 201)
    employee = await employee_of(tenant)
    rate = {"job_role_id": role["id"], "hourly_rate": 1300, "effective_from": "2026-05-01"}
    for manager in (callers.manager, callers.manager_on_ipad):
        refused = await client.post(wage_rates(employee), json=rate, headers=manager)
        assert_problem(refused, 403, "forbidden")
    await ok(await client.post(wage_rates(employee), json=rate, headers=callers.owner), 201)
