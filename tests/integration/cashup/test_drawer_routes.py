"""Drawers and the threshold over REST: who may do what, another restaurant's rows answer as
missing, bad input is a 400 naming the field, and the blind rule on reading a session."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import httpx
import pytest
from litestar import Litestar

from server.auth.tables import Role
from tests.factories import Tenant, make_ipad, sign_in, staff_member
from tests.integration.cashup.drawer_fixtures import (
    CASHUP,
    add_drawer,
    drawer_close,
    drawer_open,
    now,
)
from tests.integration.timeclock.punch_fixtures import manager_headers, send, till


async def headers_of(app: Litestar, tenant: Tenant, role: Role) -> dict[str, str]:
    """An iPad of the tenant's location with an employee of ``role`` signed in by PIN."""
    ipad = await sign_in(app, await make_ipad(app, tenant), await staff_member(tenant, role))
    return ipad.headers


@pytest.mark.parametrize(
    ("role", "may_manage"),
    [(Role.manager, True), (Role.cashier, False), (Role.server, False), (Role.kitchen, False)],
)
async def test_only_managers_change_drawers_and_the_threshold_or_read_sessions(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, role: Role, may_manage: bool
) -> None:
    drawer = await add_drawer(client, tenant)
    headers = await headers_of(app, tenant, role)
    writes = [
        await client.post(f"{CASHUP}/drawers", json={"name": "Bar"}, headers=headers),
        await client.patch(
            f"{CASHUP}/drawers/{drawer['id']}", json={"name": "Front"}, headers=headers
        ),
        await client.put(f"{CASHUP}/settings", json={"over_short_threshold": 0}, headers=headers),
        await client.get(
            f"{CASHUP}/drawer-sessions",
            params={"start": "2026-12-01", "end": "2026-12-01"},
            headers=headers,
        ),
    ]
    expected = [201, 200, 200, 200] if may_manage else [403] * 4
    assert [response.status_code for response in writes] == expected
    # Everyone at a till who takes cash sees the drawers; the kitchen does not.
    listed = await client.get(f"{CASHUP}/drawers", headers=headers)
    assert listed.status_code == (403 if role is Role.kitchen else 200)


async def test_a_back_office_manager_manages_drawers_and_the_threshold(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = await manager_headers(app, tenant)
    got = await client.get(f"{CASHUP}/settings", headers=headers)
    assert got.json()["over_short_threshold"] == 500  # £5.00 until set
    made = await client.post(
        f"{CASHUP}/drawers",
        json={"name": "Bar", "location_id": str(tenant.location_id)},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    archived = await client.patch(
        f"{CASHUP}/drawers/{made.json()['id']}", json={"archived": True}, headers=headers
    )
    assert archived.json()["archived"] is True
    twice = await client.post(
        f"{CASHUP}/drawers",
        json={"name": "Bar", "location_id": str(tenant.location_id)},
        headers=headers,
    )
    assert (twice.status_code, twice.json()["field"]) == (409, "name")


async def test_another_restaurants_drawer_and_session_answer_as_missing(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    drawer = await add_drawer(client, other_tenant)
    manager = await staff_member(other_tenant, Role.manager)
    theirs = await till(app, other_tenant, "Their till", manager)
    opening = drawer_open(theirs, drawer["id"], {1000: 1}, now() - timedelta(hours=1))
    assert await send(client, theirs, [opening]) == [("applied", None)]

    missing = [
        await client.get(f"{CASHUP}/drawers/{drawer['id']}", headers=tenant.headers),
        await client.patch(
            f"{CASHUP}/drawers/{drawer['id']}", json={"name": "Mine"}, headers=tenant.headers
        ),
        await client.get(
            f"{CASHUP}/drawer-sessions/{opening['entity_id']}", headers=tenant.headers
        ),
        await client.get(f"{CASHUP}/drawer-sessions/{uuid4()}", headers=tenant.headers),
    ]
    assert [(r.status_code, r.json()["code"]) for r in missing] == [(404, "not_found")] * 4
    # Nor may an iPad of this restaurant open it.
    mine = await till(app, tenant, "My till", await staff_member(tenant, Role.manager))
    foreign = drawer_open(mine, drawer["id"], {1000: 1}, now())
    assert await send(client, mine, [foreign]) == [("rejected", "unknown_drawer")]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/drawers", {"name": ""}, "name"),
        ("POST", "/drawers", {"name": "Bar"}, "location_id"),
        ("POST", "/drawers", {"name": "Bar", "location_id": str(uuid4())}, "location_id"),
        ("POST", "/drawers", {"name": "Bar", "colour": "red"}, "colour"),
        ("PUT", "/settings", {"over_short_threshold": -1}, "over_short_threshold"),
        ("PUT", "/settings", {"over_short_threshold": "5.00"}, "over_short_threshold"),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field(
    client: httpx.AsyncClient,
    tenant: Tenant,
    method: str,
    path: str,
    body: dict[str, object],
    field: str,
) -> None:
    response = await client.request(method, f"{CASHUP}{path}", json=body, headers=tenant.headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in (response.json().get("field") or response.json()["detail"])


async def test_a_bad_period_is_a_problem_naming_end(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get(
        f"{CASHUP}/drawer-sessions",
        params={"start": "2026-12-02", "end": "2026-12-01"},
        headers=tenant.headers,
    )
    assert (response.status_code, response.json()["field"]) == (400, "end")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"float_counts": {"300": 1}}, "invalid_fields"),
        ({"float_counts": {"1000": -2}}, "invalid_fields"),
        ({"opening_float": 999}, "invalid_fields"),  # the count makes 1000
        ({"expected_cash": 1000}, "invalid_fields"),
    ],
    ids=["no £3 note", "negative count", "claimed total wrong", "unknown field"],
)
async def test_an_open_that_is_not_a_count_is_refused_and_kept(
    app: Litestar,
    client: httpx.AsyncClient,
    tenant: Tenant,
    fields: dict[str, object],
    reason: str,
) -> None:
    drawer = await add_drawer(client, tenant)
    front = await till(app, tenant, "Front", await staff_member(tenant, Role.cashier))
    opening = drawer_open(front, drawer["id"], {1000: 1}, now())
    opening["fields"] |= fields
    assert await send(client, front, [opening]) == [("rejected", reason)]


async def test_a_cashier_reads_the_open_session_blind_and_not_once_it_is_closed(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    drawer = await add_drawer(client, tenant)
    cashier = await staff_member(tenant, Role.cashier)
    front = await till(app, tenant, "Front", cashier)
    opening = drawer_open(front, drawer["id"], {1000: 1}, now() - timedelta(hours=1))
    assert await send(client, front, [opening]) == [("applied", None)]
    headers = await headers_of(app, tenant, Role.cashier)
    path = f"{CASHUP}/drawer-sessions/{opening['entity_id']}"
    blind = (await client.get(path, headers=headers)).json()
    assert (blind["opening_float"], blind["expected_cash"], blind["expected_lines"]) == (
        1000,
        None,
        [],
    )
    full = (await client.get(path, headers=tenant.headers)).json()
    assert full["expected_cash"] == 1000
    closing = drawer_close(front, opening["entity_id"], {1000: 1}, now())
    assert await send(client, front, [closing]) == [("applied", None)]
    assert (await client.get(path, headers=headers)).status_code == 404
