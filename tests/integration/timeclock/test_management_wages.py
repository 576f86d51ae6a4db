"""Wage rates: owners set them from a day on, history is kept, every rate is audited, managers
read them, and no iPad ever holds one."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from litestar import Litestar

from server.auth.tables import Role
from server.db import engine
from server.timeclock.services import load_rates
from tests.factories import Tenant, make_ipad
from tests.integration.sync.test_push_pull import pull_all
from tests.integration.timeclock.management_fixtures import (
    back_office_user,
    create_job_role,
    employee_of,
    ok,
    wage_rates,
)
from tests.problems import assert_problem


async def set_rate(
    client: httpx.AsyncClient,
    tenant: Tenant,
    employee: UUID,
    role_id: str,
    rate: int,
    effective_from: str,
) -> httpx.Response:
    return await client.post(
        wage_rates(employee),
        json={"job_role_id": role_id, "hourly_rate": rate, "effective_from": effective_from},
        headers=tenant.headers,
    )


async def audited_rates(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    entries = await ok(await client.get("/api/v1/audit", headers=tenant.headers))
    return [entry for entry in entries["items"] if entry["action"] == "timeclock.wage_rate_set"]


async def test_a_new_rate_keeps_the_history_and_wins_from_its_day(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    employee = await employee_of(tenant)
    bar = await create_job_role(client, tenant, "Bar")
    first = await ok(await set_rate(client, tenant, employee, bar["id"], 1150, "2026-01-01"), 201)
    raised = await ok(await set_rate(client, tenant, employee, bar["id"], 1275, "2026-04-06"), 201)
    assert (first["hourly_rate"], first["currency"], first["effective_from"]) == (
        1150,
        "GBP",
        "2026-01-01",
    )
    assert first["job_role_name"] == "Bar" and first["set_by"] == str(tenant.user_id)

    history = await ok(await client.get(wage_rates(employee), headers=tenant.headers))
    assert [(r["id"], r["hourly_rate"], r["effective_from"]) for r in history] == [
        (first["id"], 1150, "2026-01-01"),
        (raised["id"], 1275, "2026-04-06"),
    ]

    async with engine.connection() as conn:
        rates = await load_rates(conn, tenant.restaurant_id, [employee])
    role = UUID(bar["id"])
    assert rates.on(employee, date(2025, 12, 31), role) is None
    assert [
        rate.hourly_rate if (rate := rates.on(employee, day, role)) else None
        for day in (date(2026, 1, 1), date(2026, 4, 5), date(2026, 4, 6), date(2027, 1, 1))
    ] == [1150, 1150, 1275, 1275]


async def test_a_rate_set_earlier_than_the_last_one_fills_the_history_in(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Backdating adds a row between; nothing already recorded changes."""
    employee = await employee_of(tenant)
    role = await create_job_role(client, tenant, "Kitchen")
    await ok(await set_rate(client, tenant, employee, role["id"], 1300, "2026-06-01"), 201)
    await ok(await set_rate(client, tenant, employee, role["id"], 1200, "2026-03-01"), 201)
    history = await ok(await client.get(wage_rates(employee), headers=tenant.headers))
    assert [(r["effective_from"], r["hourly_rate"]) for r in history] == [
        ("2026-03-01", 1200),
        ("2026-06-01", 1300),
    ]


async def test_the_same_role_and_day_again_is_refused_and_the_first_stands(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    employee = await employee_of(tenant)
    role = await create_job_role(client, tenant, "Bar")
    await ok(await set_rate(client, tenant, employee, role["id"], 1150, "2026-01-01"), 201)
    again = await set_rate(client, tenant, employee, role["id"], 9999, "2026-01-01")
    assert_problem(again, 409, "timeclock.wage_rate_exists", field="effective_from")
    history = await ok(await client.get(wage_rates(employee), headers=tenant.headers))
    assert [r["hourly_rate"] for r in history] == [1150]
    assert len(await audited_rates(client, tenant)) == 1


async def test_each_role_has_its_own_rate_on_the_same_day(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    employee = await employee_of(tenant)
    bar = await create_job_role(client, tenant, "Bar")
    floor = await create_job_role(client, tenant, "Floor")
    await ok(await set_rate(client, tenant, employee, bar["id"], 1200, "2026-01-01"), 201)
    await ok(await set_rate(client, tenant, employee, floor["id"], 1100, "2026-01-01"), 201)
    async with engine.connection() as conn:
        rates = await load_rates(conn, tenant.restaurant_id, [employee])
    day = date(2026, 2, 1)
    assert rates.on(employee, day, UUID(bar["id"])).hourly_rate == 1200  # type: ignore[union-attr]
    assert rates.on(employee, day, UUID(floor["id"])).hourly_rate == 1100  # type: ignore[union-attr]


async def test_every_rate_set_is_audited_with_the_rate_it_follows(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    employee = await employee_of(tenant)
    role = await create_job_role(client, tenant, "Bar")
    first = await ok(await set_rate(client, tenant, employee, role["id"], 1150, "2026-01-01"), 201)
    second = await ok(await set_rate(client, tenant, employee, role["id"], 1275, "2026-04-06"), 201)
    newest, oldest = await audited_rates(client, tenant)
    assert oldest["actor_id"] == str(tenant.user_id) and oldest["role"] == "owner"
    assert (oldest["target_type"], oldest["target_id"]) == ("employee", str(employee))
    assert oldest["details"] == {
        "wage_rate_id": first["id"],
        "job_role_id": role["id"],
        "hourly_rate": 1150,
        "currency": "GBP",
        "effective_from": "2026-01-01",
        "previous_hourly_rate": None,
        "previous_effective_from": None,
    }
    assert newest["details"]["wage_rate_id"] == second["id"]
    assert (
        newest["details"]["previous_hourly_rate"],
        newest["details"]["previous_effective_from"],
    ) == (1150, "2026-01-01")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"hourly_rate": 1000, "effective_from": "2026-01-01"}, "job_role_id"),
        ({"job_role_id": "ROLE", "hourly_rate": -1, "effective_from": "2026-01-01"}, "hourly_rate"),
        (
            {"job_role_id": "ROLE", "hourly_rate": 1_000_001, "effective_from": "2026-01-01"},
            "hourly_rate",
        ),
        (
            {"job_role_id": "ROLE", "hourly_rate": 11.5, "effective_from": "2026-01-01"},
            "hourly_rate",
        ),
        (
            {"job_role_id": "ROLE", "hourly_rate": "1150", "effective_from": "2026-01-01"},
            "hourly_rate",
        ),
        (
            {"job_role_id": "ROLE", "hourly_rate": 1000, "effective_from": "01/01/2026"},
            "effective_from",
        ),
        ({"job_role_id": "ROLE", "hourly_rate": 1000}, "effective_from"),
        (
            {
                "job_role_id": "ROLE",
                "hourly_rate": 1000,
                "effective_from": "2026-01-01",
                "currency": "EUR",
            },
            "currency",
        ),
    ],
    ids=[
        "no-role",
        "negative",
        "over-the-cap",
        "fraction",
        "string",
        "not-iso-date",
        "no-date",
        "currency-is-the-restaurants",
    ],
)
async def test_a_bad_rate_is_refused_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    employee = await employee_of(tenant)
    role = await create_job_role(client, tenant, "Bar")
    body = {key: role["id"] if value == "ROLE" else value for key, value in body.items()}
    response = await client.post(wage_rates(employee), json=body, headers=tenant.headers)
    assert_problem(response, 400, "validation_failed", field=field)
    assert await ok(await client.get(wage_rates(employee), headers=tenant.headers)) == []
    assert await audited_rates(client, tenant) == []


async def test_another_restaurants_employee_and_role_answer_as_missing_ones(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    ours = await employee_of(tenant)
    our_role = await create_job_role(client, tenant, "Bar")
    theirs = await employee_of(other_tenant)
    their_role = await create_job_role(client, other_tenant, "Bar")
    await ok(
        await set_rate(client, other_tenant, theirs, their_role["id"], 1500, "2026-01-01"), 201
    )

    for employee in (theirs, uuid4()):
        assert_problem(
            await client.get(wage_rates(employee), headers=tenant.headers), 404, "not_found"
        )
        refused = await set_rate(client, tenant, employee, our_role["id"], 1, "2026-01-01")
        assert_problem(refused, 404, "not_found")
    # A role is named in the body: another restaurant's is refused as a missing one would be.
    for role_id in (their_role["id"], str(uuid4())):
        refused = await set_rate(client, tenant, ours, role_id, 1200, "2026-01-01")
        problem = assert_problem(refused, 400, "validation_failed", field="job_role_id")
        assert problem["detail"] == "no such job role"

    their_history = await ok(await client.get(wage_rates(theirs), headers=other_tenant.headers))
    assert [r["hourly_rate"] for r in their_history] == [1500]


async def test_a_manager_reads_rates_but_only_an_owner_sets_them(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    employee = await employee_of(tenant)
    role = await create_job_role(client, tenant, "Bar")
    await ok(await set_rate(client, tenant, employee, role["id"], 1150, "2026-01-01"), 201)
    manager = await back_office_user(app, tenant, Role.manager)
    body = {"job_role_id": role["id"], "hourly_rate": 2000, "effective_from": "2026-02-01"}

    refused = await client.post(wage_rates(employee), json=body, headers=manager)
    assert_problem(refused, 403, "forbidden")
    history = await ok(await client.get(wage_rates(employee), headers=manager))
    assert [r["hourly_rate"] for r in history] == [1150]


async def test_wage_rates_never_reach_an_ipad(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    employee = await employee_of(tenant)
    role = await create_job_role(client, tenant, "Bar")
    await ok(await set_rate(client, tenant, employee, role["id"], 1234, "2026-01-01"), 201)
    changes, _ = await pull_all(client, ipad)
    assert {change["entity_type"] for change in changes} == {"job_role"}
    assert "1234" not in str(changes)
