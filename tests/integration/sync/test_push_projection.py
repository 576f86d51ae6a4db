"""A push's projections work from the batch in memory (docs/performance.md, "Push: where the
time went"): lines that came before their order, orders paid in the batch that adds their
lines, and entities every till shares applied after the rest, still answered in seq order.
"""

from __future__ import annotations

from uuid import UUID, uuid4

import httpx
from litestar import Litestar

from server.auth.tables import Role
from server.catalog.sync import availability_id
from tests.factories import Tenant, make_ipad
from tests.integration.sync.test_push_rules import (
    change,
    count,
    create_product,
    get_order,
    line_fields,
    order_fields,
    outcomes,
    prefix_of,
    push,
)

TAKEN_AT = "2026-11-26T12:30:00Z"


async def line_tiers(order_id: UUID) -> set[int]:
    """The bootstrap tiers of the order's lines as stored (one value when they agree)."""
    tiers = set()
    for tier in (1, 2):
        if await count(
            "SELECT count(*) FROM sync_entities WHERE entity_type = 'order_line'"
            " AND data->>'order_id' = $1 AND tier = $2",
            str(order_id),
            tier,
        ):
            tiers.add(tier)
    return tiers


async def test_lines_pushed_before_their_order_join_it_when_it_arrives_paid(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await make_ipad(app, tenant, signed_in=Role.manager)
    prefix = await prefix_of(till)
    order_id = uuid4()
    early = [
        change(till, 1, "order_line", uuid4(), line_fields(order_id, position=0)),
        change(till, 2, "order_line", uuid4(), line_fields(order_id, position=1, quantity=2)),
    ]
    assert outcomes(await push(client, till, early)) == ["applied", "applied"]
    assert await count("SELECT count(*) FROM order_lines WHERE order_id = $1", order_id) == 0

    cash = {
        "order_id": str(order_id),
        "amount": 960,
        "tendered": 1000,
        "currency": "GBP",
        "taken_at": TAKEN_AT,
    }
    arriving = [
        change(till, 3, "order", order_id, order_fields(prefix, 1)),
        change(till, 4, "cash_payment", uuid4(), cash),
        change(till, 5, "order", order_id, {"status": "paid", "closed_at": TAKEN_AT}, clock=2),
    ]
    assert outcomes(await push(client, till, arriving)) == ["applied"] * 3

    order = await get_order(client, tenant, order_id)
    assert order["status"] == "paid"
    assert len(order["lines"]) == 2
    assert order["total_due"] == 3 * 320
    # Paid, the order bootstraps with history, and its lines with it.
    assert await line_tiers(order_id) == {2}


async def test_lines_stored_before_their_order_is_paid_move_to_its_tier(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """An order paid in a later batch moves the lines stored before to its tier."""
    till = await make_ipad(app, tenant, signed_in=Role.manager)
    prefix = await prefix_of(till)
    order_id = uuid4()
    opening = [
        change(till, 1, "order", order_id, order_fields(prefix, 1)),
        change(till, 2, "order_line", uuid4(), line_fields(order_id)),
    ]
    assert outcomes(await push(client, till, opening)) == ["applied", "applied"]
    assert await line_tiers(order_id) == {1}

    cash = {
        "order_id": str(order_id),
        "amount": 320,
        "tendered": 500,
        "currency": "GBP",
        "taken_at": TAKEN_AT,
    }
    paying = [
        change(till, 3, "cash_payment", uuid4(), cash),
        change(till, 4, "order", order_id, {"status": "paid", "closed_at": TAKEN_AT}, clock=2),
    ]
    assert outcomes(await push(client, till, paying)) == ["applied", "applied"]

    assert (await get_order(client, tenant, order_id))["status"] == "paid"
    assert await line_tiers(order_id) == {2}


async def test_shared_entities_interleaved_with_orders_answer_in_seq_order_and_replay_alike(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Table states and stock counts are applied after the rest of the batch; the answer is
    still one result per change in seq order, and the same bytes when the batch is resent."""
    till = await make_ipad(app, tenant, signed_in=Role.manager)
    prefix = await prefix_of(till)
    product_id = await create_product(client, tenant, "Soup of the day")
    stock = availability_id(tenant.location_id, UUID(product_id))
    order_id, table_id = uuid4(), uuid4()
    batch = [
        change(till, 1, "availability", stock, {"product_id": product_id, "remaining": -1}),
        change(till, 2, "order", order_id, order_fields(prefix, 1)),
        change(till, 3, "table_state", table_id, {"status": "seated", "covers": 2}),
        change(till, 4, "order_line", uuid4(), line_fields(order_id)),
        change(till, 5, "availability", stock, {"remaining": -2}, clock=2),
    ]
    batch_id = uuid4()

    first = await push(client, till, batch, batch_id=batch_id)

    assert outcomes(first) == ["applied"] * 5
    assert [result["seq"] for result in first.json()["results"]] == [1, 2, 3, 4, 5]
    assert first.json()["last_applied_seq"] == 5
    assert (
        await count(
            "SELECT (data->>'remaining')::int FROM sync_entities WHERE entity_id = $1", stock
        )
        == -3
    )
    assert len((await get_order(client, tenant, order_id))["lines"]) == 1
    again = await push(client, till, batch, batch_id=batch_id)
    assert again.content == first.content
