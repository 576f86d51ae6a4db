"""One write path (issue 12): what the server writes reaches the iPads through the sync store,
no iPad can undo it with a stale edit, and an order's status never contradicts its money.

Each test is a finding reproduced: it failed before the store owned every write.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import httpx
from litestar import Litestar

from server.auth.tables import Role
from server.catalog.sync import availability_id
from server.payments.reconcile import Report, _check_our_books
from tests.factories import Tenant, make_ipad, make_order
from tests.integration.payments.api import cash, order_payments
from tests.integration.sync.test_push_rules import (
    change,
    conflicts,
    create_product,
    device,
    get_order,
    line_fields,
    order_fields,
    prefix_of,
    push,
    quarantine,
)

CASH_AT = "2026-11-26T12:30:00Z"


def cash_fields(order_id: UUID, amount: int) -> dict[str, Any]:
    return {
        "order_id": str(order_id),
        "amount": amount,
        "tendered": amount,
        "currency": "GBP",
        "taken_at": CASH_AT,
    }


def results(response: httpx.Response) -> list[tuple[str, str | None]]:
    assert response.status_code == 200, response.text
    return [(r["outcome"], r.get("reason")) for r in response.json()["results"]]


# 1. A back-office void reaches the iPads, and a stale edit cannot reopen the order.
async def test_a_back_office_void_reaches_the_ipads_and_a_stale_edit_cannot_undo_it(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await device(client, await make_ipad(app, tenant, signed_in=Role.manager))
    order_id = till.open_order(notes="window seat")
    assert await till.sync()

    voided = await client.post(
        f"/api/v1/orders/{order_id}/void", json={"reason": "walked out"}, headers=tenant.headers
    )
    assert voided.status_code == 200, voided.text

    till.edit("order", order_id, {"status": "sent"})  # made before the till hears of the void
    assert await till.sync()
    shown = till.get("order", order_id)
    assert shown is not None and shown.data["status"] == "voided"
    assert shown.data["notes"] == "window seat\nVoid: walked out"
    order = await get_order(client, tenant, order_id)
    assert (order["status"], order["notes"]) == ("voided", "window seat\nVoid: walked out")
    assert any(entry["entity_id"] == str(order_id) for entry in await conflicts(client, tenant))


# 3. Cash taken offline for an order voided elsewhere does not make it "paid" with 0p.
async def test_cash_that_loses_to_a_void_leaves_the_order_voided_and_both_are_shown(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, cash_only: object
) -> None:
    voider, taker = (
        await make_ipad(app, tenant, signed_in=Role.manager),
        await make_ipad(app, tenant, signed_in=Role.manager, name="Bar"),
    )
    prefix = await prefix_of(voider)
    order_id = uuid4()
    opened = await push(
        client,
        voider,
        [
            change(voider, 1, "order", order_id, order_fields(prefix, 1)),
            change(voider, 2, "order_line", uuid4(), line_fields(order_id)),
        ],
    )
    assert results(opened) == [("applied", None)] * 2
    void = await push(
        client, voider, [change(voider, 3, "order", order_id, {"status": "voided"}, clock=3)]
    )
    assert results(void) == [("applied", None)]

    # The bar saw the order open (clock 2 of the voider), then took cash for it offline.
    seen = {str(voider.device_id): 2}
    taker_clock = {**seen, str(taker.device_id): 1}
    paid = await push(
        client,
        taker,
        [
            change(taker, 1, "cash_payment", uuid4(), cash_fields(order_id, 320)),
            change(taker, 2, "order", order_id, {"status": "paid"}, clock=taker_clock),
        ],
    )
    assert results(paid) == [("rejected", "order_voided"), ("rejected", "order_voided")]
    summary = await order_payments(client, tenant.headers, order_id)
    assert (summary["order_status"], summary["paid"]) == ("voided", 0)
    kept = {
        (item["change"]["entity_type"], item["reason"]) for item in await quarantine(client, tenant)
    }
    assert {("cash_payment", "order_voided"), ("order", "order_voided")} <= kept


# 4. A back-office 86 racing an iPad's first change to the same availability keeps both.
async def test_a_back_office_86_racing_an_ipads_first_count_keeps_both_writes(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    for attempt in range(12):
        product_id = await create_product(client, tenant, f"Special {attempt}")
        stock = availability_id(tenant.location_id, UUID(product_id))
        counted = change(ipad, attempt + 1, "availability", stock,
                         {"product_id": product_id, "remaining": -2})  # fmt: skip
        eighty_six = client.put(
            "/api/v1/availability",
            json={
                "location_id": str(tenant.location_id),
                "product_id": product_id,
                "sold_out": True,
            },
            headers=tenant.headers,
        )
        pushed, set_out = await asyncio.gather(push(client, ipad, [counted]), eighty_six)
        assert pushed.status_code == 200 and set_out.status_code == 200, (pushed, set_out)
        pulled = await device(
            client, await make_ipad(app, tenant, signed_in=Role.manager, name=f"New {attempt}")
        )
        assert await pulled.pull()
        state = pulled.get("availability", stock)
        assert state is not None, attempt
        assert (state.data.get("sold_out"), state.data.get("remaining")) == (True, -2), attempt


# 5. A cash sale closes the order once, at the iPad's time, everywhere, with no conflict.
async def test_a_cash_sale_closes_the_order_at_the_ipads_time_everywhere(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, cash_only: object
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    prefix = await prefix_of(ipad)
    order_id = uuid4()
    closed_at = "2026-11-26T12:31:00Z"
    opened = [
        change(ipad, 1, "order", order_id, order_fields(prefix, 1)),
        change(ipad, 2, "order_line", uuid4(), line_fields(order_id)),
    ]
    assert [outcome for outcome, _ in results(await push(client, ipad, opened))] == ["applied"] * 2
    paid = {"status": "paid", "closed_at": closed_at}
    answer = await push(
        client,
        ipad,
        [
            change(ipad, 3, "cash_payment", uuid4(), cash_fields(order_id, 320)),
            change(ipad, 4, "order", order_id, paid, clock=4),
        ],
    )
    assert [outcome for outcome, _ in results(answer)] == ["applied"] * 2
    pushed_state = answer.json()["results"][1]["state"]["data"]
    reader = await device(
        client, await make_ipad(app, tenant, signed_in=Role.manager, name="Reader")
    )
    assert await reader.pull()
    pulled = reader.get("order", order_id)
    assert pulled is not None
    rest = await get_order(client, tenant, order_id)
    assert pushed_state["closed_at"] == pulled.data["closed_at"] == closed_at
    assert rest["closed_at"].replace("+00:00", "Z") == closed_at and rest["status"] == "paid"
    assert not [e for e in await conflicts(client, tenant) if e["entity_id"] == str(order_id)]


# 7. A paid bill is final; an order holding money is refunded before it is voided.
async def test_a_line_added_to_a_paid_order_is_refused_and_kept(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, cash_only: object
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    prefix = await prefix_of(ipad)
    order_id = uuid4()
    sold = await push(
        client,
        ipad,
        [
            change(ipad, 1, "order", order_id, order_fields(prefix, 1)),
            change(ipad, 2, "order_line", uuid4(), line_fields(order_id)),
            change(ipad, 3, "cash_payment", uuid4(), cash_fields(order_id, 320)),
        ],
    )
    assert [outcome for outcome, _ in results(sold)] == ["applied"] * 3
    assert (await order_payments(client, tenant.headers, order_id))["order_status"] == "paid"

    late = await push(
        client,
        ipad,
        [change(ipad, 4, "order_line", uuid4(), line_fields(order_id, unit_price=705))],
    )
    assert results(late) == [("rejected", "order_closed")]
    summary = await order_payments(client, tenant.headers, order_id)
    assert (summary["order_status"], summary["total_due"], summary["paid"]) == ("paid", 320, 320)
    assert "order_closed" in {item["reason"] for item in await quarantine(client, tenant)}


async def test_an_order_holding_money_is_not_voided_on_any_path(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, cash_only: object
) -> None:
    order_id = await make_order(tenant, seq=1, lines=[("Steak", 2000, 1, 2000)])
    taken = await cash(client, tenant.headers, order_id, 500)
    assert taken.status_code == 201, taken.text

    by_rest = await client.post(
        f"/api/v1/orders/{order_id}/void", json={"reason": "mistake"}, headers=tenant.headers
    )
    assert (by_rest.status_code, by_rest.json()["code"]) == (409, "order_holds_money")

    till = await device(client, await make_ipad(app, tenant, signed_in=Role.manager))
    assert await till.pull()
    till.edit("order", order_id, {"status": "voided"})
    answer = await till.push()
    assert answer is not None
    assert [(r["outcome"], r.get("reason")) for r in answer["results"]] == [
        ("rejected", "order_holds_money")
    ]
    assert answer["results"][0]["state"]["data"]["status"] == "open"  # the till puts it right
    assert (await get_order(client, tenant, order_id))["status"] == "open"


async def test_reconcile_reports_orders_whose_status_disagrees_with_their_money(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, cash_only: object
) -> None:
    underpaid = await make_order(tenant, seq=1, status="paid")  # paid, nothing received
    overpaid = await make_order(tenant, seq=2)
    ipad = await make_ipad(
        app, tenant, signed_in=Role.manager
    )  # two tills took cash for it, both offline
    twice = [change(ipad, n, "cash_payment", uuid4(), cash_fields(overpaid, 300)) for n in (1, 2)]
    assert [outcome for outcome, _ in results(await push(client, ipad, twice))] == ["applied"] * 2
    fine = await make_order(tenant, seq=3)
    assert (await cash(client, tenant.headers, fine, 300)).status_code == 201

    report = Report(since=None, until=None)  # type: ignore[arg-type]
    await _check_our_books(report, tenant.restaurant_id)
    found = {finding.kind: finding for finding in report.findings}
    assert set(found) == {"underpaid_order", "overpaid_order"}
    assert (found["underpaid_order"].ours, found["underpaid_order"].theirs) == (0, 300)
    assert str(underpaid) in found["underpaid_order"].detail
    assert (found["overpaid_order"].ours, found["overpaid_order"].theirs) == (600, 300)
