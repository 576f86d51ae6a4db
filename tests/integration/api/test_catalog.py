"""Menu editing over /api/v1: categories, products, modifier groups, modifiers, availability."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.factories import Tenant
from tests.problems import PROBLEM, assert_problem


async def create(client: httpx.AsyncClient, tenant: Tenant, path: str, body: Any) -> Any:
    response = await client.post(f"/api/v1/{path}", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def ids_listed(
    client: httpx.AsyncClient, tenant: Tenant, path: str, **params: Any
) -> list[str]:
    response = await client.get(f"/api/v1/{path}", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    return [item["id"] for item in body["items"]]


async def test_category_lifecycle(client: httpx.AsyncClient, tenant: Tenant) -> None:
    chosen = str(uuid4())
    starters = await create(client, tenant, "categories", {"id": chosen, "name": "Starters"})
    assert starters["id"] == chosen
    assert starters["name"] == "Starters"
    assert starters["position"] == 0
    assert starters["archived"] is False

    mains = await create(client, tenant, "categories", {"name": "Mains", "position": 2})
    fetched = await client.get(f"/api/v1/categories/{mains['id']}", headers=tenant.headers)
    assert fetched.status_code == 200
    assert fetched.json() == mains

    patched = await client.patch(
        f"/api/v1/categories/{mains['id']}", json={"position": 5}, headers=tenant.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["position"] == 5
    assert patched.json()["name"] == "Mains"
    assert patched.json()["created_at"] == mains["created_at"]

    deleted = await client.delete(f"/api/v1/categories/{chosen}", headers=tenant.headers)
    assert deleted.status_code == 204
    assert deleted.content == b""

    assert await ids_listed(client, tenant, "categories") == [mains["id"]]
    assert await ids_listed(client, tenant, "categories", include_archived="true") == [
        chosen,
        mains["id"],
    ]
    archived = await client.get(f"/api/v1/categories/{chosen}", headers=tenant.headers)
    assert archived.status_code == 200
    assert archived.json()["archived"] is True
    assert archived.json()["name"] == "Starters"


async def test_product_lifecycle(client: httpx.AsyncClient, tenant: Tenant) -> None:
    mains = await create(client, tenant, "categories", {"name": "Mains"})
    sauce = await create(client, tenant, "modifier-groups", {"name": "Sauce", "max_choices": 2})
    sides = await create(client, tenant, "modifier-groups", {"name": "Sides"})
    chosen = str(uuid4())

    burger = await create(
        client,
        tenant,
        "products",
        {
            "id": chosen,
            "category_id": mains["id"],
            "name": "Burger",
            "sku": "BRG-1",
            "price": 1250,
            "modifier_group_ids": [sides["id"], sauce["id"]],
        },
    )
    assert burger["id"] == chosen
    assert burger["category_id"] == mains["id"]
    assert burger["modifier_group_ids"] == [sides["id"], sauce["id"]]
    assert burger["price"] == 1250
    assert burger["vat_rate_bp"] == 2000
    assert burger["currency"] == "GBP"
    assert burger["description"] == ""
    assert burger["archived"] is False

    fetched = await client.get(f"/api/v1/products/{chosen}", headers=tenant.headers)
    assert fetched.status_code == 200
    assert fetched.json() == burger

    repriced = await client.patch(
        f"/api/v1/products/{chosen}", json={"price": 1395}, headers=tenant.headers
    )
    assert repriced.status_code == 200, repriced.text
    after_price = repriced.json()
    unchanged = {k: v for k, v in burger.items() if k not in ("price", "updated_at")}
    assert {k: v for k, v in after_price.items() if k not in ("price", "updated_at")} == unchanged
    assert after_price["price"] == 1395

    regrouped = await client.patch(
        f"/api/v1/products/{chosen}",
        json={"modifier_group_ids": [sauce["id"]], "category_id": None},
        headers=tenant.headers,
    )
    assert regrouped.status_code == 200, regrouped.text
    assert regrouped.json()["modifier_group_ids"] == [sauce["id"]]
    assert regrouped.json()["category_id"] is None
    assert regrouped.json()["price"] == 1395
    assert regrouped.json()["name"] == "Burger"

    deleted = await client.delete(f"/api/v1/products/{chosen}", headers=tenant.headers)
    assert deleted.status_code == 204
    assert await ids_listed(client, tenant, "products") == []
    assert await ids_listed(client, tenant, "products", include_archived="true") == [chosen]
    archived = await client.get(f"/api/v1/products/{chosen}", headers=tenant.headers)
    assert archived.status_code == 200
    assert archived.json()["archived"] is True
    assert archived.json()["modifier_group_ids"] == [sauce["id"]]


async def test_product_references_must_exist(client: httpx.AsyncClient, tenant: Tenant) -> None:
    group = await create(client, tenant, "modifier-groups", {"name": "Sauce"})
    missing_category = {"name": "Chips", "price": 400, "category_id": str(uuid4())}
    response = await client.post("/api/v1/products", json=missing_category, headers=tenant.headers)
    assert_problem(response, 400, "validation_failed", "category_id")

    product_id = str(uuid4())
    missing_group = {
        "id": product_id,
        "name": "Chips",
        "price": 400,
        "modifier_group_ids": [group["id"], str(uuid4())],
    }
    response = await client.post("/api/v1/products", json=missing_group, headers=tenant.headers)
    assert_problem(response, 400, "validation_failed", "modifier_group_ids")
    twice = {"name": "Chips", "price": 400, "modifier_group_ids": [group["id"], group["id"]]}
    response = await client.post("/api/v1/products", json=twice, headers=tenant.headers)
    assert_problem(response, 400, "validation_failed", "modifier_group_ids")

    # The refused product was rolled back whole: not listed, not readable, its id still free.
    assert await ids_listed(client, tenant, "products", include_archived="true") == []
    response = await client.get(f"/api/v1/products/{product_id}", headers=tenant.headers)
    assert_problem(response, 404, "not_found", None)
    created = await create(
        client, tenant, "products", {"id": product_id, "name": "Chips", "price": 400}
    )
    assert created["modifier_group_ids"] == []


async def test_modifier_group_choices(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/api/v1/modifier-groups",
        json={"name": "Sauce", "min_choices": 3, "max_choices": 2},
        headers=tenant.headers,
    )
    assert_problem(response, 400, "validation_failed", "min_choices")

    group = await create(
        client, tenant, "modifier-groups", {"name": "Sauce", "min_choices": 1, "max_choices": 2}
    )
    assert (group["min_choices"], group["max_choices"]) == (1, 2)
    # A PATCH is checked against the stored value of the field it does not send.
    response = await client.patch(
        f"/api/v1/modifier-groups/{group['id']}", json={"min_choices": 3}, headers=tenant.headers
    )
    assert_problem(response, 400, "validation_failed", "min_choices")
    response = await client.patch(
        f"/api/v1/modifier-groups/{group['id']}",
        json={"min_choices": 3, "max_choices": 4},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Sauce"
    assert (response.json()["min_choices"], response.json()["max_choices"]) == (3, 4)

    deleted = await client.delete(f"/api/v1/modifier-groups/{group['id']}", headers=tenant.headers)
    assert deleted.status_code == 204
    assert await ids_listed(client, tenant, "modifier-groups") == []
    assert await ids_listed(client, tenant, "modifier-groups", include_archived="true") == [
        group["id"]
    ]
    archived = await client.get(f"/api/v1/modifier-groups/{group['id']}", headers=tenant.headers)
    assert archived.status_code == 200
    assert archived.json()["archived"] is True


async def test_modifier_lifecycle(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/api/v1/modifiers", json={"group_id": str(uuid4()), "name": "Mayo"}, headers=tenant.headers
    )
    assert_problem(response, 400, "validation_failed", "group_id")

    sauce = await create(client, tenant, "modifier-groups", {"name": "Sauce"})
    cheese = await create(client, tenant, "modifier-groups", {"name": "Cheese"})
    mayo = await create(
        client, tenant, "modifiers", {"group_id": sauce["id"], "name": "Mayo", "price_delta": 50}
    )
    no_bun = await create(
        client,
        tenant,
        "modifiers",
        {"group_id": cheese["id"], "name": "No bun", "price_delta": -80},
    )
    assert mayo["group_id"] == sauce["id"]
    assert (mayo["price_delta"], no_bun["price_delta"]) == (50, -80)
    assert await ids_listed(client, tenant, "modifiers") == [mayo["id"], no_bun["id"]]

    patched = await client.patch(
        f"/api/v1/modifiers/{mayo['id']}", json={"name": "Garlic mayo"}, headers=tenant.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Garlic mayo"
    assert patched.json()["price_delta"] == 50
    assert patched.json()["group_id"] == sauce["id"]

    deleted = await client.delete(f"/api/v1/modifiers/{mayo['id']}", headers=tenant.headers)
    assert deleted.status_code == 204
    assert await ids_listed(client, tenant, "modifiers") == [no_bun["id"]]
    assert await ids_listed(client, tenant, "modifiers", include_archived="true") == [
        mayo["id"],
        no_bun["id"],
    ]
    archived = await client.get(f"/api/v1/modifiers/{mayo['id']}", headers=tenant.headers)
    assert archived.status_code == 200
    assert archived.json()["archived"] is True


async def test_modifiers_filtered_by_group(client: httpx.AsyncClient, tenant: Tenant) -> None:
    sauce = await create(client, tenant, "modifier-groups", {"name": "Sauce"})
    cheese = await create(client, tenant, "modifier-groups", {"name": "Cheese"})
    mayo = await create(client, tenant, "modifiers", {"group_id": sauce["id"], "name": "Mayo"})
    await create(client, tenant, "modifiers", {"group_id": cheese["id"], "name": "Cheddar"})
    assert await ids_listed(client, tenant, "modifiers", group_id=sauce["id"]) == [mayo["id"]]


async def test_availability(client: httpx.AsyncClient, tenant: Tenant) -> None:
    chips = await create(client, tenant, "products", {"name": "Chips", "price": 400})
    soup = await create(client, tenant, "products", {"name": "Soup", "price": 650})

    async def sold_out() -> list[str]:
        response = await client.get(
            "/api/v1/availability",
            params={"location_id": str(tenant.location_id)},
            headers=tenant.headers,
        )
        assert response.status_code == 200, response.text
        return [row["product_id"] for row in response.json()]

    async def set_sold_out(product_id: str, value: bool) -> httpx.Response:
        body = {"location_id": str(tenant.location_id), "product_id": product_id, "sold_out": value}
        return await client.put("/api/v1/availability", json=body, headers=tenant.headers)

    assert await sold_out() == []
    response = await set_sold_out(chips["id"], True)
    assert response.status_code == 200, response.text
    assert response.json()["location_id"] == str(tenant.location_id)
    assert response.json()["product_id"] == chips["id"]
    assert response.json()["sold_out"] is True
    assert response.json()["updated_at"] is not None
    assert (await set_sold_out(soup["id"], True)).status_code == 200
    assert await sold_out() == [chips["id"], soup["id"]]

    back = await set_sold_out(chips["id"], False)
    assert back.status_code == 200
    assert back.json()["sold_out"] is False
    assert await sold_out() == [soup["id"]]

    assert_problem(await set_sold_out(str(uuid4()), True), 400, "validation_failed", "product_id")
    missing_location = await client.get(
        "/api/v1/availability", params={"location_id": str(uuid4())}, headers=tenant.headers
    )
    assert_problem(missing_location, 404, "not_found", None)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("categories", {"name": "Mains"}),
        ("modifier-groups", {"name": "Sauce"}),
        ("products", {"name": "Chips", "price": 400}),
    ],
)
async def test_taken_id_is_a_conflict(
    client: httpx.AsyncClient, tenant: Tenant, path: str, body: dict[str, Any]
) -> None:
    first = await create(client, tenant, path, {**body, "id": str(uuid4())})
    again = await client.post(
        f"/api/v1/{path}", json={**body, "id": first["id"], "name": "Other"}, headers=tenant.headers
    )
    assert_problem(again, 409, "conflict", "id")
    kept = await client.get(f"/api/v1/{path}/{first['id']}", headers=tenant.headers)
    assert kept.json()["name"] == body["name"]


async def test_taken_modifier_id_is_a_conflict(client: httpx.AsyncClient, tenant: Tenant) -> None:
    group = await create(client, tenant, "modifier-groups", {"name": "Sauce"})
    mayo = await create(client, tenant, "modifiers", {"group_id": group["id"], "name": "Mayo"})
    again = await client.post(
        "/api/v1/modifiers",
        json={"id": mayo["id"], "group_id": group["id"], "name": "Ketchup"},
        headers=tenant.headers,
    )
    assert_problem(again, 409, "conflict", "id")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("categories", {"name": "Mains", "restaurant_id": str(uuid4())}, "restaurant_id"),
        ("categories", {"name": "Mains", "archived": True}, "archived"),
        ("categories", {"name": ""}, "name"),
        ("categories", {"name": "x" * 121}, "name"),
        ("categories", {}, "name"),
        ("products", {"name": "Chips", "price": -1}, "price"),
        ("products", {"name": "Chips", "price": 400, "vat_rate_bp": 10_001}, "vat_rate_bp"),
        ("products", {"name": "Chips", "price": 400, "vat_rate_bp": -1}, "vat_rate_bp"),
        ("products", {"name": "", "price": 400}, "name"),
        ("products", {"name": "Chips", "price": 12.5}, "price"),
        ("products", {"name": "Chips", "price": 400, "currency": "EUR"}, "currency"),
        ("products", {"name": "Chips", "price": 400, "archived": False}, "archived"),
        ("modifier-groups", {"name": "Sauce", "max_choices": 51}, "max_choices"),
        ("modifier-groups", {"name": "Sauce", "restaurant_id": str(uuid4())}, "restaurant_id"),
        ("modifiers", {"group_id": "not-a-uuid", "name": "Mayo"}, "group_id"),
    ],
)
async def test_invalid_create_bodies(
    client: httpx.AsyncClient, tenant: Tenant, path: str, body: dict[str, Any], field: str
) -> None:
    response = await client.post(f"/api/v1/{path}", json=body, headers=tenant.headers)
    assert_problem(response, 400, "validation_failed", field)
    assert response.json()["errors"][0]["field"] == field
    assert await ids_listed(client, tenant, path, include_archived="true") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"price": -5}, "price"),
        ({"vat_rate_bp": 10_001}, "vat_rate_bp"),
        ({"name": ""}, "name"),
        ({"restaurant_id": str(uuid4())}, "restaurant_id"),
        ({"currency": "EUR"}, "currency"),
    ],
)
async def test_invalid_patch_bodies(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    chips = await create(client, tenant, "products", {"name": "Chips", "price": 400})
    response = await client.patch(
        f"/api/v1/products/{chips['id']}", json=body, headers=tenant.headers
    )
    assert_problem(response, 400, "validation_failed", field)
    kept = await client.get(f"/api/v1/products/{chips['id']}", headers=tenant.headers)
    assert kept.json() == chips


async def test_body_that_is_not_json(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/api/v1/categories",
        content=b"{not json",
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == "validation_failed"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Token abc"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/categories"),
        ("POST", "/api/v1/products"),
        ("GET", f"/api/v1/modifiers/{uuid4()}"),
        ("PUT", "/api/v1/availability"),
    ],
)
async def test_without_a_valid_token(
    client: httpx.AsyncClient, method: str, path: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.request(method, path, json={"name": "x"}, headers=headers)
    assert_problem(response, 401, "not_authenticated", None)


async def test_token_of_another_issuer_key_is_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    header, claims, signature = tenant.token.split(".")
    forged = f"{header}.{claims}.{signature[::-1]}"
    response = await client.get("/api/v1/categories", headers={"Authorization": f"Bearer {forged}"})
    assert_problem(response, 401, "not_authenticated", None)
