"""Locations and their dining tables over /api/v1."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.factories import Tenant
from tests.problems import assert_problem


async def create(client: httpx.AsyncClient, tenant: Tenant, path: str, body: Any) -> Any:
    response = await client.post(f"/api/v1/{path}", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def ids_listed(
    client: httpx.AsyncClient, tenant: Tenant, path: str, **params: Any
) -> list[str]:
    response = await client.get(f"/api/v1/{path}", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return [item["id"] for item in response.json()["items"]]


async def test_location_lifecycle(client: httpx.AsyncClient, tenant: Tenant) -> None:
    main = str(tenant.location_id)
    chosen = str(uuid4())
    soho = await create(
        client, tenant, "locations", {"id": chosen, "name": "Soho", "address": "1 Greek St"}
    )
    assert soho["id"] == chosen
    assert soho["name"] == "Soho"
    assert soho["timezone"] == "Europe/London"
    assert soho["address"] == "1 Greek St"
    assert soho["archived"] is False
    assert await ids_listed(client, tenant, "locations") == [main, chosen]

    fetched = await client.get(f"/api/v1/locations/{chosen}", headers=tenant.headers)
    assert fetched.status_code == 200
    assert fetched.json() == soho

    moved = await client.patch(
        f"/api/v1/locations/{chosen}", json={"timezone": "Europe/Dublin"}, headers=tenant.headers
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["timezone"] == "Europe/Dublin"
    assert moved.json()["name"] == "Soho"
    assert moved.json()["address"] == "1 Greek St"

    deleted = await client.delete(f"/api/v1/locations/{chosen}", headers=tenant.headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert await ids_listed(client, tenant, "locations") == [main]
    assert await ids_listed(client, tenant, "locations", include_archived="true") == [main, chosen]
    archived = await client.get(f"/api/v1/locations/{chosen}", headers=tenant.headers)
    assert archived.status_code == 200
    assert archived.json()["archived"] is True
    assert archived.json()["timezone"] == "Europe/Dublin"


async def test_location_taken_id_is_a_conflict(client: httpx.AsyncClient, tenant: Tenant) -> None:
    again = await client.post(
        "/api/v1/locations",
        json={"id": str(tenant.location_id), "name": "Elsewhere"},
        headers=tenant.headers,
    )
    assert_problem(again, 409, "conflict", "id")
    kept = await client.get(f"/api/v1/locations/{tenant.location_id}", headers=tenant.headers)
    assert kept.json()["name"] == "Main"


@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "GMT+25", "europe/london"])
async def test_location_timezone_must_be_iana(
    client: httpx.AsyncClient, tenant: Tenant, timezone: str
) -> None:
    response = await client.post(
        "/api/v1/locations", json={"name": "Soho", "timezone": timezone}, headers=tenant.headers
    )
    assert_problem(response, 400, "validation_failed", "timezone")
    response = await client.patch(
        f"/api/v1/locations/{tenant.location_id}",
        json={"timezone": timezone},
        headers=tenant.headers,
    )
    assert_problem(response, 400, "validation_failed", "timezone")
    kept = await client.get(f"/api/v1/locations/{tenant.location_id}", headers=tenant.headers)
    assert kept.json()["timezone"] == "Europe/London"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "Soho", "restaurant_id": str(uuid4())}, "restaurant_id"),
        ({"name": "Soho", "archived": True}, "archived"),
        ({"name": "Soho", "address": "x" * 301}, "address"),
        ({"address": "1 Greek St"}, "name"),
    ],
)
async def test_invalid_location_bodies(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/v1/locations", json=body, headers=tenant.headers)
    assert_problem(response, 400, "validation_failed", field)
    assert await ids_listed(client, tenant, "locations", include_archived="true") == [
        str(tenant.location_id)
    ]


async def test_table_lifecycle(client: httpx.AsyncClient, tenant: Tenant) -> None:
    location = str(tenant.location_id)
    chosen = str(uuid4())
    twelve = await create(
        client, tenant, "tables", {"id": chosen, "location_id": location, "name": "12", "seats": 4}
    )
    assert twelve["id"] == chosen
    assert twelve["location_id"] == location
    assert (twelve["name"], twelve["seats"], twelve["archived"]) == ("12", 4, False)
    bar = await create(client, tenant, "tables", {"location_id": location, "name": "Bar 3"})
    assert (bar["seats"], bar["area"], twelve["area"]) == (2, "", "")

    fetched = await client.get(f"/api/v1/tables/{chosen}", headers=tenant.headers)
    assert fetched.status_code == 200
    assert fetched.json() == twelve

    patched = await client.patch(
        f"/api/v1/tables/{chosen}", json={"seats": 6, "area": "Terrace"}, headers=tenant.headers
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["seats"]) == ("12", 6)
    assert patched.json()["area"] == "Terrace"
    assert patched.json()["location_id"] == location

    deleted = await client.delete(f"/api/v1/tables/{chosen}", headers=tenant.headers)
    assert deleted.status_code == 204
    assert await ids_listed(client, tenant, "tables") == [bar["id"]]
    assert await ids_listed(client, tenant, "tables", include_archived="true") == [
        chosen,
        bar["id"],
    ]
    archived = await client.get(f"/api/v1/tables/{chosen}", headers=tenant.headers)
    assert archived.status_code == 200
    assert archived.json()["archived"] is True

    # An archived table's name is free again at its location.
    reused = await create(client, tenant, "tables", {"location_id": location, "name": "12"})
    assert reused["id"] != chosen


async def test_table_names_are_unique_per_location(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    main = str(tenant.location_id)
    patio = await create(client, tenant, "locations", {"name": "Patio"})
    await create(client, tenant, "tables", {"location_id": main, "name": "1"})
    two = await create(client, tenant, "tables", {"location_id": main, "name": "2"})

    duplicate = await client.post(
        "/api/v1/tables", json={"location_id": main, "name": "1"}, headers=tenant.headers
    )
    assert_problem(duplicate, 409, "conflict", "name")
    renamed = await client.patch(
        f"/api/v1/tables/{two['id']}", json={"name": "1"}, headers=tenant.headers
    )
    assert_problem(renamed, 409, "conflict", "name")
    kept = await client.get(f"/api/v1/tables/{two['id']}", headers=tenant.headers)
    assert kept.json()["name"] == "2"

    # The same name at another location is a different table.
    outside = await create(client, tenant, "tables", {"location_id": patio["id"], "name": "1"})
    assert await ids_listed(client, tenant, "tables", location_id=patio["id"]) == [outside["id"]]
    assert len(await ids_listed(client, tenant, "tables", location_id=main)) == 2


async def test_table_taken_id_is_a_conflict(client: httpx.AsyncClient, tenant: Tenant) -> None:
    location = str(tenant.location_id)
    first = await create(client, tenant, "tables", {"location_id": location, "name": "1"})
    again = await client.post(
        "/api/v1/tables",
        json={"id": first["id"], "location_id": location, "name": "2"},
        headers=tenant.headers,
    )
    assert_problem(again, 409, "conflict", "id")


async def test_table_location_must_be_this_restaurants(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await client.post(
        "/api/v1/tables",
        json={"location_id": str(other_tenant.location_id), "name": "1"},
        headers=tenant.headers,
    )
    missing = await client.post(
        "/api/v1/tables",
        json={"location_id": str(uuid4()), "name": "1"},
        headers=tenant.headers,
    )
    assert_problem(theirs, 400, "validation_failed", "location_id")
    assert_problem(missing, 400, "validation_failed", "location_id")
    assert theirs.json()["detail"] == missing.json()["detail"]
    assert await ids_listed(client, tenant, "tables", include_archived="true") == []
    assert await ids_listed(client, other_tenant, "tables", include_archived="true") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 33}, "name"),
        ({"seats": -1}, "seats"),
        ({"seats": 501}, "seats"),
        ({"area": "x" * 33}, "area"),
        ({"location_id": str(uuid4())}, "location_id"),
        ({"restaurant_id": str(uuid4())}, "restaurant_id"),
    ],
)
async def test_invalid_table_patches(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    table = await create(
        client, tenant, "tables", {"location_id": str(tenant.location_id), "name": "1"}
    )
    response = await client.patch(
        f"/api/v1/tables/{table['id']}", json=body, headers=tenant.headers
    )
    assert_problem(response, 400, "validation_failed", field)
    kept = await client.get(f"/api/v1/tables/{table['id']}", headers=tenant.headers)
    assert kept.json() == table
