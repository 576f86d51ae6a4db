"""After every commit the engine says "location L has changes" on the event bus."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import httpx
import pytest
from litestar import Litestar

from server import events
from tests.factories import Tenant, make_ipad
from tests.integration.sync.test_push_pull import change, new_order, prefix_of, push


@pytest.fixture
def pokes() -> Iterator[list[events.SyncPoke]]:
    received: list[events.SyncPoke] = []

    async def collect(event: events.Event) -> None:
        received.append(event)

    unsubscribe = events.bus.subscribe(collect)
    yield received
    unsubscribe()


async def test_a_push_pokes_its_location_once_committed(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, pokes: list[events.SyncPoke]
) -> None:
    till = await make_ipad(app, tenant)
    order = change(till, 1, "order", uuid4(), new_order(await prefix_of(till), 1))
    assert (await push(client, till, [order])).status_code == 200
    assert pokes == [
        events.SyncPoke(
            restaurant_id=str(tenant.restaurant_id), location_id=str(tenant.location_id)
        )
    ]


async def test_a_push_that_changes_nothing_pokes_nobody(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, pokes: list[events.SyncPoke]
) -> None:
    till = await make_ipad(app, tenant)
    refused = change(till, 1, "product", uuid4(), {"name": "Free lunch"})
    response = await push(client, till, [refused])
    assert response.json()["results"][0]["outcome"] == "rejected"
    assert pokes == []


async def test_a_menu_edit_pokes_every_location(
    client: httpx.AsyncClient, tenant: Tenant, pokes: list[events.SyncPoke]
) -> None:
    body = {"name": "Flat white", "price": 340}
    assert (
        await client.post("/api/v1/products", json=body, headers=tenant.headers)
    ).status_code == 201
    assert pokes == [events.SyncPoke(restaurant_id=str(tenant.restaurant_id), location_id=None)]


async def test_a_failing_subscriber_does_not_fail_the_push(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    async def broken(event: events.Event) -> None:
        raise RuntimeError("subscriber down")

    unsubscribe = events.bus.subscribe(broken)
    try:
        till = await make_ipad(app, tenant)
        order = change(till, 1, "order", uuid4(), new_order(await prefix_of(till), 1))
        assert (await push(client, till, [order])).status_code == 200
    finally:
        unsubscribe()
