"""What a resent batch and a pull page acknowledge (issue 12, #9).

- A resent batch keeps each change's first outcome, reason and detail, but its ``state`` is
  the entity as the server holds it now, as the push answer promises: a client that takes
  the answer at its word never steps back to an old version.
- A pull page's ``last_applied_seq`` covers only the device's changes whose entities' current
  states are in that page or an earlier one of the same pull, so a device that drops its
  outbox up to it never loses sight of a change (its answer may have been lost).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
from litestar import Litestar

from server.auth.tables import Role
from server.db.engine import DB
from server.restaurants.tables import Location
from server.sync.clock import Ordering, compare
from tests.factories import Ipad, Tenant, make_ipad
from tests.integration.sync.test_push_rules import (
    change,
    order_fields,
    outcomes,
    prefix_of,
    pull_page,
    push,
)

PullPage = dict[str, Any]


async def pull(client: httpx.AsyncClient, ipad: Ipad, cursor: str | None, limit: int) -> PullPage:
    params: dict[str, Any] = {"schema_version": 1, "app_version": "1.0.0", "limit": limit}
    if cursor is not None:
        params["cursor"] = cursor
    response = await client.get("/api/v1/sync/pull", params=params, headers=ipad.headers)
    assert response.status_code == 200, response.text
    page: PullPage = response.json()
    return page


async def current(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, entity_id: UUID
) -> dict[str, Any]:
    """The entity as a brand-new iPad at the location pulls it."""
    newcomer = await make_ipad(app, tenant, signed_in=Role.manager, name=f"New {uuid4().hex[:4]}")
    cursor: str | None = None
    for _ in range(100):
        page = await pull(client, newcomer, cursor, 2000)
        for state in page["changes"]:
            if state["entity_id"] == str(entity_id):
                return dict(state)
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    raise AssertionError(f"{entity_id} was never pulled")


def key(entity_type: str, entity_id: str) -> tuple[str, str]:
    return entity_type, entity_id


class Puller:
    """Pages through a pull, checking each page's ``last_applied_seq`` against what came."""

    def __init__(self, client: httpx.AsyncClient, ipad: Ipad, sent: list[dict[str, Any]]):
        self.client, self.ipad = client, ipad
        self.sent = {change["seq"]: change for change in sent}
        self.seen: dict[tuple[str, str], dict[str, Any]] = {}
        self.cursor: str | None = None
        self.acks: list[int] = []

    async def page(self, limit: int = 1) -> PullPage:
        page = await pull(self.client, self.ipad, self.cursor, limit)
        for state in page["changes"]:
            self.seen[key(state["entity_type"], state["entity_id"])] = state
        acked = page["last_applied_seq"]
        for seq in range(1, acked + 1):
            sent = self.sent[seq]
            state = self.seen.get(key(sent["entity_type"], sent["entity_id"]))
            assert state is not None, f"seq {seq} acknowledged before its entity was pulled"
            ordering = compare(sent["clock"], state["clock"])
            assert ordering in (Ordering.BEFORE, Ordering.EQUAL), (
                f"seq {seq} acknowledged, but the pulled state does not include it"
            )
        self.cursor = page["cursor"]
        self.acks.append(acked)
        return page

    async def to_the_end(self, limit: int = 1) -> None:
        for _ in range(200):
            if not (await self.page(limit))["has_more"]:
                return
        raise AssertionError("pull did not finish")


# A resent batch ----------------------------------------------------------------------------


async def test_a_resent_batch_keeps_its_outcomes_and_answers_with_the_state_as_it_is_now(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till, bar = (
        await make_ipad(app, tenant, signed_in=Role.manager),
        await make_ipad(app, tenant, signed_in=Role.manager, name="Bar"),
    )
    prefix = await prefix_of(till)
    order_id = uuid4()
    batch = [
        change(till, 1, "order", order_id, order_fields(prefix, 1, notes="by the window")),
        change(till, 2, "order", order_id, {"covers": 2}, clock=2),
        change(till, 3, "order", order_id, {"status": "reopened"}, clock=3),
    ]
    batch_id = uuid4()
    first = await push(client, till, batch, batch_id)
    assert outcomes(first) == ["applied", "applied", "rejected"]
    results = first.json()["results"]
    # Every result carries the order as it stands after the whole batch.
    assert results[0]["state"] == results[1]["state"] == results[2]["state"]
    assert results[0]["state"]["data"]["covers"] == 2
    # Resent with nothing changed since: the same answer, byte for byte.
    assert (await push(client, till, batch, batch_id)).content == first.content

    till_actor, bar_actor = str(till.device_id), str(bar.device_id)
    moved = change(bar, 1, "order", order_id, {"notes": "birthday"}, clock={till_actor: 2})
    moved["clock"][bar_actor] = 1
    assert outcomes(await push(client, bar, [moved])) == ["applied"]

    again = await push(client, till, batch, batch_id)

    assert again.status_code == 200, again.text
    assert again.json()["last_applied_seq"] == 3
    now = await current(app, client, tenant, order_id)
    assert now["data"]["notes"] == "birthday"
    assert now["clock"] == {till_actor: 2, bar_actor: 1}
    for before, replayed in zip(results, again.json()["results"], strict=True):
        assert {k: v for k, v in replayed.items() if k != "state"} == {
            k: v for k, v in before.items() if k != "state"
        }
        assert replayed["state"] == now


async def test_a_replayed_rejection_of_another_locations_entity_still_shows_nothing(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await make_ipad(app, tenant, signed_in=Role.manager)
    harbour = uuid4()
    await Location.insert(Location(id=harbour, restaurant_id=tenant.restaurant_id, name="Harbour"))
    elsewhere = Tenant(tenant.restaurant_id, harbour, tenant.user_id, tenant.token)
    far = await make_ipad(app, elsewhere, signed_in=Role.manager, name="Harbour till")
    table = uuid4()
    assert outcomes(
        await push(client, far, [change(far, 1, "table_state", table, {"status": "seated"})])
    ) == ["applied"]
    batch = [change(till, 1, "table_state", table, {"status": "dirty"})]
    batch_id = uuid4()

    first = await push(client, till, batch, batch_id)
    again = await push(client, till, batch, batch_id)

    assert first.json()["results"][0]["reason"] == "wrong_location"
    assert first.json()["results"][0]["state"] is None
    assert again.content == first.content


# What a pull acknowledges ------------------------------------------------------------------


async def test_snapshot_pages_acknowledge_only_changes_whose_entities_they_brought(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for n in range(3):  # the menu comes first, pages ahead of any order
        response = await client.post(
            "/api/v1/categories", json={"name": f"C{n}"}, headers=tenant.headers
        )
        assert response.status_code == 201, response.text
    till = await make_ipad(app, tenant, signed_in=Role.manager)
    prefix = await prefix_of(till)
    order_id, line_id, table = uuid4(), uuid4(), uuid4()
    line = {"order_id": str(order_id), "name": "Tea", "unit_price": 300, "quantity": 1}
    sent = [
        change(till, 1, "table_state", table, {"status": "seated"}),
        change(till, 2, "order", order_id, order_fields(prefix, 1)),
        change(till, 3, "order_line", line_id, {**line, "vat_rate_bp": 2000}),
        change(till, 4, "table_state", table, {"status": "ordered"}, clock=2),
    ]
    assert outcomes(await push(client, till, sent)) == ["applied"] * 4  # the answer is lost

    puller = Puller(client, till, sent)
    await puller.to_the_end(limit=1)

    assert puller.acks[-1] == 4
    assert puller.acks[0] == 0  # the first page is a category: none of the till's changes
    assert puller.acks == sorted(puller.acks)


async def test_a_feed_page_does_not_acknowledge_a_change_whose_entity_comes_later(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till, bar = (
        await make_ipad(app, tenant, signed_in=Role.manager),
        await make_ipad(app, tenant, signed_in=Role.manager, name="Bar"),
    )
    caught_up = Puller(client, till, [])
    await caught_up.to_the_end(limit=100)
    cursor = caught_up.cursor
    till_actor, bar_actor = str(till.device_id), str(bar.device_id)
    first, second, shared = uuid4(), uuid4(), uuid4()
    bar_changes = [
        change(bar, 1, "table_state", first, {"status": "seated"}),
        change(bar, 2, "table_state", second, {"status": "seated"}),
    ]
    assert outcomes(await push(client, bar, bar_changes)) == ["applied"] * 2
    sent = [change(till, 1, "table_state", shared, {"status": "seated", "covers": 3})]
    assert outcomes(await push(client, till, sent)) == ["applied"]  # the answer is lost
    # Bar writes the same table afterwards: the till's own write is no longer in the feed.
    over = change(bar, 3, "table_state", shared, {"covers": 4}, clock={till_actor: 1})
    over["clock"][bar_actor] = 1
    assert outcomes(await push(client, bar, [over])) == ["applied"]

    puller = Puller(client, till, sent)
    puller.cursor = cursor
    await puller.to_the_end(limit=1)

    assert puller.acks == [0, 0, 1]


async def test_a_change_held_back_behind_a_running_transaction_is_not_acknowledged(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await make_ipad(app, tenant, signed_in=Role.manager)
    caught_up = Puller(client, till, [])
    await caught_up.to_the_end(limit=100)
    assert DB.pool is not None
    async with DB.pool.acquire() as blocker:
        transaction = blocker.transaction()
        await transaction.start()
        try:
            await blocker.fetchval("SELECT pg_current_xact_id()")  # older than the push below
            sent = [change(till, 1, "table_state", uuid4(), {"status": "seated"})]
            assert outcomes(await push(client, till, sent)) == ["applied"]  # the answer is lost

            held = await pull_page(client, till, caught_up.cursor)
            assert held.status_code == 200, held.text
            assert held.json()["changes"] == []  # held back until the older one ends
            assert held.json()["last_applied_seq"] == 0
        finally:
            await transaction.rollback()

    puller = Puller(client, till, sent)
    puller.cursor = held.json()["cursor"]
    await puller.to_the_end(limit=10)
    assert puller.acks == [1]
