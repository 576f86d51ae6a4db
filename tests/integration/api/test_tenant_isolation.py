"""One restaurant never sees, changes or probes another's rows through /api/v1.

Another restaurant's row must answer exactly like a row that does not exist, so the
responses are compared whole, apart from the per-request ``request_id`` and ``instance``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
import pytest
import pytest_asyncio

from tests.factories import Tenant, make_order

PROBLEM = "application/problem+json"


@dataclass
class Menu:
    """One of each kind of row, owned by the ``tenant``."""

    ids: dict[str, str]
    """Collection path (``categories``, ``tables``...) to the id of the row in it."""


async def create(client: httpx.AsyncClient, tenant: Tenant, path: str, body: Any) -> Any:
    response = await client.post(f"/api/v1/{path}", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def make_menu(client: httpx.AsyncClient, tenant: Tenant) -> Menu:
    category = await create(client, tenant, "categories", {"name": "Mains"})
    group = await create(client, tenant, "modifier-groups", {"name": "Sauce"})
    product = await create(
        client,
        tenant,
        "products",
        {
            "name": "Burger",
            "price": 1250,
            "category_id": category["id"],
            "modifier_group_ids": [group["id"]],
        },
    )
    modifier = await create(client, tenant, "modifiers", {"group_id": group["id"], "name": "Mayo"})
    location = await create(client, tenant, "locations", {"name": "Patio"})
    table = await create(
        client, tenant, "tables", {"location_id": str(tenant.location_id), "name": "7"}
    )
    order_id = await make_order(tenant, seq=1)
    return Menu(
        ids={
            "categories": category["id"],
            "products": product["id"],
            "modifier-groups": group["id"],
            "modifiers": modifier["id"],
            "locations": location["id"],
            "tables": table["id"],
            "orders": str(order_id),
        }
    )


@pytest_asyncio.fixture
async def menu(client: httpx.AsyncClient, tenant: Tenant) -> Menu:
    return await make_menu(client, tenant)


def comparable(response: httpx.Response) -> tuple[int, str, dict[str, Any]]:
    """Status, content type and body of a response, minus what differs per request."""
    body = response.json()
    assert body.pop("request_id")
    assert body.pop("instance") == response.request.url.path
    return response.status_code, response.headers["content-type"], body


def assert_same_answer(theirs: httpx.Response, missing: httpx.Response, status: int) -> None:
    assert theirs.status_code == status, theirs.text
    assert theirs.headers["content-type"].startswith(PROBLEM)
    assert comparable(theirs) == comparable(missing)


# A valid PATCH body for each collection, so only ownership can refuse it.
PATCHES: dict[str, dict[str, Any]] = {
    "categories": {"name": "Hijacked", "archived": True},
    "products": {"name": "Hijacked", "price": 1},
    "modifier-groups": {"name": "Hijacked", "min_choices": 1},
    "modifiers": {"name": "Hijacked", "price_delta": -1000},
    "locations": {"name": "Hijacked", "timezone": "Asia/Tokyo"},
    "tables": {"name": "Hijacked", "seats": 99},
}
ROUTES = [(method, path) for path in PATCHES for method in ("GET", "PATCH", "DELETE")] + [
    ("GET", "orders")
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_another_restaurants_row_is_missing(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    menu: Menu,
    method: str,
    path: str,
) -> None:
    body = PATCHES[path] if method == "PATCH" else None
    before = await client.get(f"/api/v1/{path}/{menu.ids[path]}", headers=tenant.headers)
    assert before.status_code == 200, before.text

    theirs = await client.request(
        method, f"/api/v1/{path}/{menu.ids[path]}", json=body, headers=other_tenant.headers
    )
    missing = await client.request(
        method, f"/api/v1/{path}/{uuid4()}", json=body, headers=other_tenant.headers
    )
    assert_same_answer(theirs, missing, 404)
    assert theirs.json()["code"] == "not_found"

    after = await client.get(f"/api/v1/{path}/{menu.ids[path]}", headers=tenant.headers)
    assert after.json() == before.json()


async def test_lists_show_only_the_callers_rows(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = await make_menu(client, tenant)
    theirs = await make_menu(client, other_tenant)
    for path, own_id in mine.ids.items():
        params = {} if path == "orders" else {"include_archived": "true"}
        for caller, own, other in (
            (tenant, own_id, theirs.ids[path]),
            (other_tenant, theirs.ids[path], own_id),
        ):
            response = await client.get(f"/api/v1/{path}", params=params, headers=caller.headers)
            assert response.status_code == 200, response.text
            listed = [item["id"] for item in response.json()["items"]]
            assert own in listed, path
            assert other not in listed, path
    # Filtering by another restaurant's parent row finds nothing rather than its children.
    for path, params in [
        ("tables", {"location_id": str(tenant.location_id)}),
        ("orders", {"location_id": str(tenant.location_id)}),
        ("orders", {"table_id": mine.ids["tables"]}),
        ("modifiers", {"group_id": mine.ids["modifier-groups"]}),
    ]:
        response = await client.get(f"/api/v1/{path}", params=params, headers=other_tenant.headers)
        assert response.status_code == 200, response.text
        assert response.json()["items"] == [], path


# (collection posted to, collection referred to, field, body referring to a row of it)
REFERENCES: list[tuple[str, str, str, Callable[[str], dict[str, Any]]]] = [
    (
        "products",
        "categories",
        "category_id",
        lambda ref: {"name": "C", "price": 1, "category_id": ref},
    ),
    (
        "products",
        "modifier-groups",
        "modifier_group_ids",
        lambda ref: {"name": "C", "price": 1, "modifier_group_ids": [ref]},
    ),
    ("modifiers", "modifier-groups", "group_id", lambda ref: {"name": "Mayo", "group_id": ref}),
    ("tables", "locations", "location_id", lambda ref: {"name": "1", "location_id": ref}),
]


@pytest.mark.parametrize(("path", "referred", "field", "body"), REFERENCES)
async def test_references_to_another_restaurant_are_missing(
    client: httpx.AsyncClient,
    other_tenant: Tenant,
    menu: Menu,
    path: str,
    referred: str,
    field: str,
    body: Callable[[str], dict[str, Any]],
) -> None:
    theirs = await client.post(
        f"/api/v1/{path}", json=body(menu.ids[referred]), headers=other_tenant.headers
    )
    missing = await client.post(
        f"/api/v1/{path}", json=body(str(uuid4())), headers=other_tenant.headers
    )
    assert_same_answer(theirs, missing, 400)
    assert theirs.json()["field"] == field
    listed = await client.get(
        f"/api/v1/{path}", params={"include_archived": "true"}, headers=other_tenant.headers
    )
    assert listed.json()["items"] == []


async def test_product_patch_to_another_restaurants_rows_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, menu: Menu
) -> None:
    chips = await create(client, other_tenant, "products", {"name": "Chips", "price": 400})
    for body, field in [
        ({"category_id": menu.ids["categories"]}, "category_id"),
        ({"modifier_group_ids": [menu.ids["modifier-groups"]]}, "modifier_group_ids"),
    ]:
        response = await client.patch(
            f"/api/v1/products/{chips['id']}", json=body, headers=other_tenant.headers
        )
        assert response.status_code == 400, response.text
        assert response.json()["field"] == field
    kept = await client.get(f"/api/v1/products/{chips['id']}", headers=other_tenant.headers)
    assert kept.json() == chips


async def test_availability_of_another_restaurant(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, menu: Menu
) -> None:
    theirs = await client.get(
        "/api/v1/availability",
        params={"location_id": str(tenant.location_id)},
        headers=other_tenant.headers,
    )
    missing = await client.get(
        "/api/v1/availability", params={"location_id": str(uuid4())}, headers=other_tenant.headers
    )
    assert_same_answer(theirs, missing, 404)

    chips = await create(client, other_tenant, "products", {"name": "Chips", "price": 400})
    own_location = str(other_tenant.location_id)
    for body, field in [
        # Their own product at our location, and our product at their own location.
        ({"location_id": str(tenant.location_id), "product_id": chips["id"]}, "location_id"),
        ({"location_id": own_location, "product_id": menu.ids["products"]}, "product_id"),
    ]:
        stranger = {key: value for key, value in body.items() if key != field}
        theirs = await client.put(
            "/api/v1/availability",
            json={**body, "sold_out": True},
            headers=other_tenant.headers,
        )
        missing = await client.put(
            "/api/v1/availability",
            json={**stranger, field: str(uuid4()), "sold_out": True},
            headers=other_tenant.headers,
        )
        assert_same_answer(theirs, missing, 400)
        assert theirs.json()["field"] == field

    # Their own 86 shows only at their own location, never in ours.
    marked = await client.put(
        "/api/v1/availability",
        json={"location_id": own_location, "product_id": chips["id"], "sold_out": True},
        headers=other_tenant.headers,
    )
    assert marked.status_code == 200, marked.text
    ours = await client.get(
        "/api/v1/availability",
        params={"location_id": str(tenant.location_id)},
        headers=tenant.headers,
    )
    assert ours.status_code == 200
    assert ours.json() == []
