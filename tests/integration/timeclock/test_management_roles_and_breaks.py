"""Job roles and break types: kept by managers, synced to every iPad of the restaurant, and
invisible to another restaurant."""

from __future__ import annotations

from uuid import uuid4

import httpx
import pytest
from litestar import Litestar

from tests.factories import Tenant, make_ipad
from tests.integration.timeclock.management_fixtures import (
    BREAK_TYPES,
    JOB_ROLES,
    another_location,
    create_break_type,
    create_job_role,
    ok,
    pulled,
)
from tests.problems import assert_problem

# --- job roles --------------------------------------------------------------------------------


async def test_a_job_role_is_created_renamed_archived_and_listed(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    bar = await create_job_role(client, tenant, "Bar")
    kitchen = await create_job_role(client, tenant, "Kitchen")
    assert bar["name"] == "Bar" and bar["archived"] is False

    renamed = await ok(
        await client.patch(
            f"{JOB_ROLES}/{bar['id']}", json={"name": "Bartender"}, headers=tenant.headers
        )
    )
    assert (renamed["id"], renamed["name"], renamed["archived"]) == (bar["id"], "Bartender", False)
    await ok(
        await client.patch(
            f"{JOB_ROLES}/{kitchen['id']}", json={"archived": True}, headers=tenant.headers
        )
    )

    listed = await ok(await client.get(JOB_ROLES, headers=tenant.headers))
    assert [role["name"] for role in listed] == ["Bartender"]
    one = await ok(await client.get(f"{JOB_ROLES}/{kitchen['id']}", headers=tenant.headers))
    assert (one["name"], one["archived"]) == ("Kitchen", True)
    everything = await ok(
        await client.get(JOB_ROLES, params={"include_archived": True}, headers=tenant.headers)
    )
    assert [(role["name"], role["archived"]) for role in everything] == [
        ("Bartender", False),
        ("Kitchen", True),
    ]


async def test_a_job_role_reaches_every_ipad_of_the_restaurant_with_its_changes(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    main_ipad = await make_ipad(app, tenant)
    annex_ipad = await make_ipad(app, await another_location(tenant))
    role = await create_job_role(client, tenant, "Floor")
    for ipad in (main_ipad, annex_ipad):
        state = await pulled(client, ipad, "job_role", role["id"])
        assert state is not None, "a restaurant's roles reach each of its locations"
        assert state["location_id"] is None
        assert state["data"] == {"name": "Floor", "archived": False}

    await client.patch(f"{JOB_ROLES}/{role['id']}", json={"archived": True}, headers=tenant.headers)
    state = await pulled(client, main_ipad, "job_role", role["id"])
    assert state is not None and state["data"] == {"name": "Floor", "archived": True}


async def test_a_job_role_name_is_unique_in_the_restaurant(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await create_job_role(client, tenant, "Host")
    other = await create_job_role(client, tenant, "Runner")
    again = await client.post(JOB_ROLES, json={"name": "Host"}, headers=tenant.headers)
    assert_problem(again, 409, "conflict", field="name")
    renamed = await client.patch(
        f"{JOB_ROLES}/{other['id']}", json={"name": "Host"}, headers=tenant.headers
    )
    assert_problem(renamed, 409, "conflict", field="name")
    # Another restaurant may use the same name.
    await create_job_role(client, other_tenant, "Host")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"name": "Bar", "wage": 1200}, "wage"),
    ],
    ids=["missing", "empty", "too-long", "unknown-member"],
)
async def test_a_bad_job_role_is_refused_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, object], field: str
) -> None:
    response = await client.post(JOB_ROLES, json=body, headers=tenant.headers)
    assert_problem(response, 400, "validation_failed", field=field)


async def test_a_job_role_id_already_used_is_a_conflict(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    role_id = str(uuid4())
    await ok(
        await client.post(JOB_ROLES, json={"id": role_id, "name": "A"}, headers=tenant.headers),
        201,
    )
    for who in (tenant, other_tenant):
        again = await client.post(JOB_ROLES, json={"id": role_id, "name": "B"}, headers=who.headers)
        assert_problem(again, 409, "conflict", field="id")


async def test_another_restaurants_job_role_answers_as_a_missing_one(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await create_job_role(client, other_tenant, "Theirs")
    ours = await client.patch(
        f"{JOB_ROLES}/{theirs['id']}", json={"name": "Mine now"}, headers=tenant.headers
    )
    missing = await client.patch(
        f"{JOB_ROLES}/{uuid4()}", json={"name": "Mine now"}, headers=tenant.headers
    )
    assert_problem(ours, 404, "not_found")
    assert ours.json()["detail"] == missing.json()["detail"]
    read = await client.get(f"{JOB_ROLES}/{theirs['id']}", headers=tenant.headers)
    assert_problem(read, 404, "not_found")
    assert await ok(await client.get(JOB_ROLES, headers=tenant.headers)) == []
    assert await pulled(client, await make_ipad(app, tenant), "job_role", theirs["id"]) is None
    unchanged = await ok(await client.get(JOB_ROLES, headers=other_tenant.headers))
    assert [role["name"] for role in unchanged] == ["Theirs"]


# --- break types ------------------------------------------------------------------------------


async def test_a_break_type_is_created_changed_archived_and_synced(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    meal = await create_break_type(client, tenant, "Meal", paid=False, minutes=30)
    rest = await create_break_type(client, tenant, "Rest", paid=True, minutes=10)
    assert (meal["name"], meal["paid"], meal["expected_minutes"]) == ("Meal", False, 30)

    changed = await ok(
        await client.patch(
            f"{BREAK_TYPES}/{meal['id']}",
            json={"paid": True, "expected_minutes": 45},
            headers=tenant.headers,
        )
    )
    assert (changed["name"], changed["paid"], changed["expected_minutes"]) == ("Meal", True, 45)
    await client.patch(
        f"{BREAK_TYPES}/{rest['id']}", json={"archived": True}, headers=tenant.headers
    )

    listed = await ok(await client.get(BREAK_TYPES, headers=tenant.headers))
    assert [kind["name"] for kind in listed] == ["Meal"]
    assert (
        await ok(await client.get(f"{BREAK_TYPES}/{meal['id']}", headers=tenant.headers)) == changed
    )
    state = await pulled(client, ipad, "break_type", meal["id"])
    assert state is not None and state["location_id"] is None
    assert state["data"] == {
        "name": "Meal",
        "paid": True,
        "expected_minutes": 45,
        "archived": False,
    }
    archived = await pulled(client, ipad, "break_type", rest["id"])
    assert archived is not None and archived["data"]["archived"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Meal", "paid": False}, "expected_minutes"),
        ({"name": "Meal", "paid": False, "expected_minutes": 0}, "expected_minutes"),
        ({"name": "Meal", "paid": False, "expected_minutes": 481}, "expected_minutes"),
        ({"name": "Meal", "paid": "no", "expected_minutes": 30}, "paid"),
        ({"name": "", "paid": False, "expected_minutes": 30}, "name"),
    ],
    ids=["missing-minutes", "zero-minutes", "over-8-hours", "paid-not-bool", "empty-name"],
)
async def test_a_bad_break_type_is_refused_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, object], field: str
) -> None:
    response = await client.post(BREAK_TYPES, json=body, headers=tenant.headers)
    assert_problem(response, 400, "validation_failed", field=field)
    assert await ok(await client.get(BREAK_TYPES, headers=tenant.headers)) == []


async def test_a_break_type_name_is_unique_and_another_restaurants_is_missing(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await create_break_type(client, tenant, "Meal")
    again = await client.post(
        BREAK_TYPES,
        json={"name": "Meal", "paid": True, "expected_minutes": 20},
        headers=tenant.headers,
    )
    assert_problem(again, 409, "conflict", field="name")
    theirs = await create_break_type(client, other_tenant, "Smoke")
    response = await client.patch(
        f"{BREAK_TYPES}/{theirs['id']}", json={"archived": True}, headers=tenant.headers
    )
    assert_problem(response, 404, "not_found")
    read = await client.get(f"{BREAK_TYPES}/{theirs['id']}", headers=tenant.headers)
    assert_problem(read, 404, "not_found")
    listed = await ok(await client.get(BREAK_TYPES, headers=other_tenant.headers))
    assert [(kind["name"], kind["archived"]) for kind in listed] == [("Smoke", False)]
