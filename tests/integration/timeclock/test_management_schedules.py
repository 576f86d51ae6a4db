"""Scheduled shifts: planned by managers, listed by business day, synced to their location's
iPads (and deleted from them), never overlapping for one employee."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from litestar import Litestar

from server.auth.tables import Role
from tests.factories import Tenant, make_ipad, sign_in, staff_member
from tests.integration.sync.test_push_pull import pull_all
from tests.integration.timeclock.management_fixtures import (
    SCHEDULES,
    SETTINGS,
    another_location,
    create_job_role,
    employee_of,
    ok,
    pulled,
)
from tests.problems import assert_problem


def shift(
    tenant: Tenant, employee: UUID, starts_at: str, ends_at: str, **more: Any
) -> dict[str, Any]:
    return {
        "employee_id": str(employee),
        "location_id": str(tenant.location_id),
        "starts_at": starts_at,
        "ends_at": ends_at,
        **more,
    }


async def schedule(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    created: dict[str, Any] = await ok(
        await client.post(SCHEDULES, json=body, headers=headers), 201
    )
    return created


async def listed(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await ok(
        await client.get(SCHEDULES, params=params, headers=headers)
    )
    return found


async def test_a_shift_is_scheduled_listed_and_reaches_its_locations_ipads(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    annex = await another_location(tenant)
    main_ipad, annex_ipad = await make_ipad(app, tenant), await make_ipad(app, annex)
    employee = await employee_of(tenant)
    role = await create_job_role(client, tenant, "Bar")
    body = shift(
        tenant,
        employee,
        "2026-12-14T17:00:00+00:00",
        "2026-12-14T23:30:00+00:00",
        job_role_id=role["id"],
    )
    created = await schedule(client, tenant, body, tenant.headers)
    assert created["starts_at"] == "2026-12-14T17:00:00Z"
    assert created["ends_at"] == "2026-12-14T23:30:00Z"
    assert created["job_role_id"] == role["id"]

    assert await listed(client, tenant.headers, start="2026-12-14", end="2026-12-14") == [created]
    assert (
        await ok(await client.get(f"{SCHEDULES}/{created['id']}", headers=tenant.headers))
        == created
    )
    state = await pulled(client, main_ipad, "scheduled_shift", created["id"])
    assert state is not None and state["location_id"] == str(tenant.location_id)
    assert state["data"] == {
        "employee_id": str(employee),
        "job_role_id": role["id"],
        "starts_at": "2026-12-14T17:00:00Z",
        "ends_at": "2026-12-14T23:30:00Z",
    }
    assert await pulled(client, annex_ipad, "scheduled_shift", created["id"]) is None


async def test_a_deleted_shift_is_gone_from_the_list_and_from_the_ipads(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    employee = await employee_of(tenant)
    created = await schedule(
        client,
        tenant,
        shift(tenant, employee, "2026-12-14T09:00:00Z", "2026-12-14T17:00:00Z"),
        tenant.headers,
    )
    _, cursor = await pull_all(client, ipad)

    await ok(await client.delete(f"{SCHEDULES}/{created['id']}", headers=tenant.headers), 204)
    assert await listed(client, tenant.headers, start="2026-12-14", end="2026-12-14") == []
    changes, _ = await pull_all(client, ipad, cursor)
    [tombstone] = [c for c in changes if c["entity_id"] == created["id"]]
    assert tombstone["deleted"] is True and tombstone["entity_type"] == "scheduled_shift"
    again = await client.delete(f"{SCHEDULES}/{created['id']}", headers=tenant.headers)
    assert_problem(again, 404, "not_found")


async def test_the_list_is_by_business_day_in_each_locations_clock(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """The day starts at 04:00 by default: a shift starting at 02:00 belongs to the day
    before. Tokyo's 02:00 on the 15th is 17:00 UTC on the 14th."""
    tokyo = await another_location(tenant, timezone="Asia/Tokyo")
    employee, colleague = await employee_of(tenant), await employee_of(tenant)
    late = await schedule(
        client,
        tenant,
        shift(tenant, employee, "2026-12-15T02:00:00Z", "2026-12-15T06:00:00Z"),
        tenant.headers,
    )
    morning = await schedule(
        client,
        tenant,
        shift(tenant, employee, "2026-12-15T09:00:00Z", "2026-12-15T15:00:00Z"),
        tenant.headers,
    )
    in_tokyo = await schedule(
        client,
        tenant,
        shift(tokyo, colleague, "2026-12-14T17:00:00Z", "2026-12-14T23:00:00Z"),
        tenant.headers,
    )
    on_14th = await listed(client, tenant.headers, start="2026-12-14", end="2026-12-14")
    assert [s["id"] for s in on_14th] == [in_tokyo["id"], late["id"]]
    on_15th = await listed(client, tenant.headers, start="2026-12-15", end="2026-12-15")
    assert [s["id"] for s in on_15th] == [morning["id"]]
    only_one = await listed(
        client, tenant.headers, start="2026-12-14", end="2026-12-15", employee_id=str(colleague)
    )
    assert [s["id"] for s in only_one] == [in_tokyo["id"]]
    at_main = await listed(
        client,
        tenant.headers,
        start="2026-12-14",
        end="2026-12-15",
        location_id=str(tenant.location_id),
    )
    assert [s["id"] for s in at_main] == [late["id"], morning["id"]]

    # Moving the day's start to midnight moves the 02:00 shift to its calendar day.
    rules = await ok(await client.get(SETTINGS, headers=tenant.headers))
    rules = {key: value for key, value in rules.items() if key != "updated_at"}
    await ok(
        await client.put(SETTINGS, json=rules | {"day_starts_at": "00:00"}, headers=tenant.headers)
    )
    on_15th = await listed(client, tenant.headers, start="2026-12-15", end="2026-12-15")
    assert [s["id"] for s in on_15th] == [in_tokyo["id"], late["id"], morning["id"]]


async def test_an_employees_shifts_may_not_overlap(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    employee, colleague = await employee_of(tenant), await employee_of(tenant)
    first = await schedule(
        client,
        tenant,
        shift(tenant, employee, "2026-12-14T09:00:00Z", "2026-12-14T17:00:00Z"),
        tenant.headers,
    )
    overlapping = await client.post(
        SCHEDULES,
        json=shift(tenant, employee, "2026-12-14T16:00:00Z", "2026-12-14T20:00:00Z"),
        headers=tenant.headers,
    )
    problem = assert_problem(overlapping, 409, "timeclock.schedule_overlaps", field="starts_at")
    assert problem["overlaps"] == first["id"]
    # Back to back is fine, and so is a colleague at the same time.
    await schedule(
        client,
        tenant,
        shift(tenant, employee, "2026-12-14T17:00:00Z", "2026-12-14T20:00:00Z"),
        tenant.headers,
    )
    await schedule(
        client,
        tenant,
        shift(tenant, colleague, "2026-12-14T16:00:00Z", "2026-12-14T20:00:00Z"),
        tenant.headers,
    )


@pytest.mark.parametrize(
    ("times", "field"),
    [
        (("2026-12-14T17:00:00Z", "2026-12-14T17:00:00Z"), "ends_at"),
        (("2026-12-14T17:00:00Z", "2026-12-14T16:00:00Z"), "ends_at"),
        (("2026-12-14T17:00:00Z", "2026-12-15T17:00:01Z"), "ends_at"),
        (("2026-12-14T17:00:00", "2026-12-14T20:00:00Z"), "starts_at"),
        (("2026-12-14T17:00:00Z", "2026-12-14T20:00:00"), "ends_at"),
        (("1969-12-31T20:00:00Z", "1969-12-31T23:00:00Z"), "starts_at"),
        (("0001-01-01T00:00:00+01:00", "0001-01-01T03:00:00+01:00"), "starts_at"),
    ],
    ids=[
        "no-length",
        "ends-before",
        "over-24-hours",
        "no-offset-start",
        "no-offset-end",
        "before-1970",
        "year-one",
    ],
)
async def test_bad_times_are_refused_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, times: tuple[str, str], field: str
) -> None:
    employee = await employee_of(tenant)
    response = await client.post(
        SCHEDULES, json=shift(tenant, employee, *times), headers=tenant.headers
    )
    assert_problem(response, 400, "validation_failed", field=field)


async def test_exactly_24_hours_is_allowed(client: httpx.AsyncClient, tenant: Tenant) -> None:
    employee = await employee_of(tenant)
    body = shift(tenant, employee, "2026-12-14T06:00:00+01:00", "2026-12-15T05:00:00Z")
    created = await schedule(client, tenant, body, tenant.headers)
    assert created["starts_at"] == "2026-12-14T05:00:00Z"


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2026-12-15", "end": "2026-12-14"},
        {"start": "2026-01-01", "end": "2027-01-03"},
    ],
    ids=["end-before-start", "over-a-year"],
)
async def test_a_bad_period_is_refused_naming_end(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str]
) -> None:
    response = await client.get(SCHEDULES, params=params, headers=tenant.headers)
    assert_problem(response, 400, "validation_failed", field="end")


async def test_another_restaurants_rows_answer_as_missing_ones(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    ours = await employee_of(tenant)
    theirs = await employee_of(other_tenant)
    their_role = await create_job_role(client, other_tenant, "Bar")
    times = ("2026-12-14T09:00:00Z", "2026-12-14T17:00:00Z")
    their_shift = await schedule(
        client, other_tenant, shift(other_tenant, theirs, *times), other_tenant.headers
    )

    for body, field in (
        (shift(tenant, theirs, *times), "employee_id"),
        (shift(other_tenant, ours, *times), "location_id"),
        (shift(tenant, ours, *times, job_role_id=their_role["id"]), "job_role_id"),
        (shift(tenant, uuid4(), *times), "employee_id"),
    ):
        response = await client.post(SCHEDULES, json=body, headers=tenant.headers)
        problem = assert_problem(response, 400, "validation_failed", field=field)
        assert problem["detail"].startswith("no such ")

    deleted = await client.delete(f"{SCHEDULES}/{their_shift['id']}", headers=tenant.headers)
    assert_problem(deleted, 404, "not_found")
    read = await client.get(f"{SCHEDULES}/{their_shift['id']}", headers=tenant.headers)
    assert_problem(read, 404, "not_found")
    assert await listed(client, tenant.headers, start="2026-12-14", end="2026-12-14") == []
    still = await listed(client, other_tenant.headers, start="2026-12-14", end="2026-12-14")
    assert [s["id"] for s in still] == [their_shift["id"]]
    assert (
        await pulled(client, await make_ipad(app, tenant), "scheduled_shift", their_shift["id"])
        is None
    )


async def test_a_manager_on_an_ipad_plans_and_sees_its_location_only(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    annex = await another_location(tenant)
    employee = await employee_of(tenant)
    at_annex = await schedule(
        client,
        tenant,
        shift(annex, employee, "2026-12-14T09:00:00Z", "2026-12-14T12:00:00Z"),
        tenant.headers,
    )
    ipad = await make_ipad(app, tenant)
    on_ipad = (await sign_in(app, ipad, await staff_member(tenant, Role.manager))).headers

    at_main = await schedule(
        client,
        tenant,
        shift(tenant, employee, "2026-12-14T13:00:00Z", "2026-12-14T17:00:00Z"),
        on_ipad,
    )
    seen = await listed(client, on_ipad, start="2026-12-14", end="2026-12-14")
    assert [s["id"] for s in seen] == [at_main["id"]]
    elsewhere = await client.post(
        SCHEDULES,
        json=shift(annex, employee, "2026-12-14T18:00:00Z", "2026-12-14T20:00:00Z"),
        headers=on_ipad,
    )
    assert_problem(elsewhere, 400, "validation_failed", field="location_id")
    removed = await client.delete(f"{SCHEDULES}/{at_annex['id']}", headers=on_ipad)
    assert_problem(removed, 404, "not_found")
    assert_problem(
        await client.get(f"{SCHEDULES}/{at_annex['id']}", headers=on_ipad), 404, "not_found"
    )
    everywhere = await listed(client, tenant.headers, start="2026-12-14", end="2026-12-14")
    assert [s["id"] for s in everywhere] == [at_annex["id"], at_main["id"]]
