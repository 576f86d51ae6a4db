"""A query parameter sent twice is refused, never resolved by picking one of its values.

Litestar reads the last value of a repeated scalar parameter, so ``?limit=5&limit=7`` used to
answer seven rows, and which of two ``status`` filters applied depended on the order a proxy
or client library happened to write them in. Only a parameter the handler declares as a
sequence may repeat; no route declares one today, so repeating any parameter a route reads
is a 400 ``repeated_parameter``. A parameter no route reads is ignored, repeated or not.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

import httpx
import pytest
from litestar import Litestar, get
from litestar.params import FromQuery
from litestar.testing import AsyncTestClient

from server.errors import problem_response
from server.openapi_export import openapi_document
from server.strict_bodies import check_body_strictly
from tests.factories import Tenant
from tests.problems import assert_problem

REPEATED = "repeated_parameter"
METHODS = {"get", "put", "post", "delete", "patch"}


async def make_tables(client: httpx.AsyncClient, tenant: Tenant, count: int) -> None:
    for number in range(count):
        response = await client.post(
            "/api/v1/tables",
            json={"location_id": str(tenant.location_id), "name": f"T{number}", "seats": 2},
            headers=tenant.headers,
        )
        assert response.status_code == 201, response.text


async def test_a_repeated_limit_is_refused_not_read_as_its_last_value(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await make_tables(client, tenant, 8)
    once = await client.get("/api/v1/tables?limit=7", headers=tenant.headers)
    assert once.status_code == 200, once.text
    assert len(once.json()["items"]) == 7

    twice = await client.get("/api/v1/tables?limit=5&limit=7", headers=tenant.headers)
    body = assert_problem(twice, 400, REPEATED, field="limit")
    assert "limit" in body["detail"]


async def test_a_repeat_with_the_same_value_is_refused_too(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get("/api/v1/tables?limit=5&limit=5", headers=tenant.headers)
    assert_problem(response, 400, REPEATED, field="limit")


async def test_a_repeated_filter_is_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get("/api/v1/orders?status=open&status=paid", headers=tenant.headers)
    assert_problem(response, 400, REPEATED, field="status")


async def test_the_repeated_parameter_is_named_among_others(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    location = str(tenant.location_id)
    response = await client.get(
        f"/api/v1/tables?location_id={location}&include_archived=true&include_archived=false",
        headers=tenant.headers,
    )
    assert_problem(response, 400, REPEATED, field="include_archived")


async def test_a_repeated_required_parameter_is_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get(
        "/api/v1/payments/quote?amount=1000&amount=2000", headers=tenant.headers
    )
    assert_problem(response, 400, REPEATED, field="amount")


async def test_single_parameters_still_work(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await make_tables(client, tenant, 3)
    response = await client.get(
        "/api/v1/tables",
        params={"limit": 2, "include_archived": "false", "location_id": str(tenant.location_id)},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == 2


async def test_a_parameter_the_route_does_not_read_is_ignored_even_repeated(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # No value of it is used, so there is nothing to be ambiguous about.
    response = await client.get("/api/v1/tables?utm=a&utm=b", headers=tenant.headers)
    assert response.status_code == 200, response.text


def query_parameters() -> list[tuple[str, str, str]]:
    """Every query parameter of every operation, as the OpenAPI document declares them."""
    document = openapi_document()
    return [
        (method.upper(), path, parameter["name"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    ]


def fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid4()), path)


async def test_every_query_parameter_of_every_operation_refuses_a_repeat(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    declared = query_parameters()
    assert len({(method, path) for method, path, _ in declared}) >= 10, declared
    wrong = []
    for method, path, name in declared:
        # Values that would each be accepted alone are not the point: the repeat is refused first.
        response = await client.request(
            method,
            fill(path),
            params=[(name, "1"), (name, "2")],
            headers=tenant.headers,
            json={} if method in {"POST", "PUT", "PATCH"} else None,
        )
        body: dict[str, Any] = (
            response.json() if response.headers.get("content-type", "").endswith("json") else {}
        )
        if (response.status_code, body.get("code"), body.get("field")) != (400, REPEATED, name):
            wrong.append(f"{method} {path} ?{name}: {response.status_code} {response.text[:200]}")
    assert wrong == []


# The rule comes from the handler's declared types: a sequence parameter may repeat.


@get("/probe", sync_to_thread=False)
def probe(tag: FromQuery[list[str]], limit: FromQuery[int | None] = None) -> dict[str, Any]:
    return {"tag": tag, "limit": limit}


@pytest.fixture
def probe_app() -> Litestar:
    return Litestar(
        route_handlers=[probe],
        before_request=check_body_strictly,
        exception_handlers={Exception: problem_response},
    )


async def test_a_parameter_declared_as_a_list_may_repeat(probe_app: Litestar) -> None:
    async with AsyncTestClient(app=probe_app) as http:
        response = await http.get("/probe?tag=a&tag=b&limit=3")
        assert response.status_code == 200, response.text
        assert response.json() == {"tag": ["a", "b"], "limit": 3}

        refused = await http.get("/probe?tag=a&limit=3&limit=4")
        assert_problem(refused, 400, REPEATED, field="limit")
