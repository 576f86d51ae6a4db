"""The server decides on the sync path as on REST (issue 13, finding 1).

Each pushed change is checked against the permission table for who made it (proved by their
PIN's key on this iPad) and who approved it; prices come from the catalog; an order is paid
only when money covers it. Every refusal is quarantined with its reason, and the queue moves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from litestar import Litestar

from server.auth.offline import SignedIn, statement_of
from server.auth.tables import Role
from tests.factories import (
    DEFAULT_PIN,
    Ipad,
    Tenant,
    make_employee,
    make_ipad,
    offline_sign_in,
    staff_member,
)
from tests.integration.sync.test_push_rules import (
    change,
    line_fields,
    order_fields,
    prefix_of,
    push,
    quarantine,
)

BURGER = 2400


async def product(client: httpx.AsyncClient, tenant: Tenant, price: int = BURGER) -> str:
    created = await client.post(
        "/api/v1/products", json={"name": "Burger", "price": price}, headers=tenant.headers
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def as_(ipad: Ipad, role: Role | None) -> Ipad:
    """``ipad`` with an employee of ``role`` signed in offline (None: nobody)."""
    ipad.signed_in = (
        None if role is None else await offline_sign_in(ipad, await staff_member(ipad.tenant, role))
    )
    return ipad


def approved(ipad: Ipad, wire: dict[str, Any], by: SignedIn, permission: str) -> dict[str, Any]:
    """``wire`` signed by whoever is signed in on ``ipad``, with ``by``'s approval."""
    signed = ipad.signed(wire)
    return signed | {"approval": by.approval(permission, statement_of(ipad.device_id, wire))}


def results(response: httpx.Response) -> list[tuple[str, str | None]]:
    assert response.status_code == 200, response.text
    return [(r["outcome"], r["reason"]) for r in response.json()["results"]]


async def open_order(
    client: httpx.AsyncClient, ipad: Ipad, *, seq: int = 1, lines: int = 1, **more: Any
) -> UUID:
    """An order with ``lines`` lines of 320p, opened by a manager on ``ipad``."""
    order_id, prefix = uuid4(), await prefix_of(ipad)
    changes = [change(ipad, seq, "order", order_id, order_fields(prefix, seq, **more))]
    for n in range(lines):
        changes.append(change(ipad, seq + 1 + n, "order_line", uuid4(), line_fields(order_id)))
    signed_in = ipad.signed_in
    await as_(ipad, Role.manager)  # lines without a product are open items, priced by hand
    assert {o for o, _ in results(await push(client, ipad, changes))} == {"applied"}
    ipad.signed_in = signed_in
    return order_id


# --- a bare iPad ----------------------------------------------------------------------------


async def test_an_ipad_with_nobody_signed_in_can_take_orders_but_not_touch_money(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    burger = await product(client, tenant)
    order_id = await open_order(client, ipad)
    prefix = await prefix_of(ipad)
    seq = 2

    def next_change(entity_type: str, entity_id: UUID, fields: dict[str, Any]) -> dict[str, Any]:
        nonlocal seq
        seq += 1
        return change(ipad, seq, entity_type, entity_id, fields, clock=2)

    attempts = {
        "void": next_change("order", order_id, {"status": "voided"}),
        "discount": next_change(
            "order", order_id, {"discount_kind": "percent", "discount_value": 10_000}
        ),
        "paid": next_change("order", order_id, {"status": "paid"}),
        "cash": change(
            ipad,
            seq + 1,
            "cash_payment",
            uuid4(),
            {
                "order_id": str(order_id),
                "amount": 320,
                "tendered": 500,
                "currency": "GBP",
                "taken_at": "2026-11-26T12:30:00Z",
            },
        ),
        "open item": change(ipad, seq + 2, "order_line", uuid4(), line_fields(order_id)),
        "86": change(
            ipad, seq + 3, "availability", uuid4(), {"product_id": burger, "sold_out": True}
        ),
    }
    answer = await push(client, ipad, list(attempts.values()))

    assert results(answer) == [
        ("rejected", "not_permitted"),
        ("rejected", "not_permitted"),
        ("rejected", "not_permitted"),
        ("rejected", "not_permitted"),
        ("rejected", "not_permitted"),
        ("rejected", "not_permitted"),
    ]
    assert answer.json()["last_applied_seq"] == seq + 3, "the queue moves on"
    details = {item["reason"] for item in await quarantine(client, tenant)}
    assert details == {"not_permitted"}
    # What a bare iPad may do: a new order at the catalog's price, and seat a table.
    taken = await push(
        client,
        ipad,
        [
            change(ipad, seq + 4, "order", (new := uuid4()), order_fields(prefix, 2)),
            change(
                ipad,
                seq + 5,
                "order_line",
                uuid4(),
                line_fields(new, product_id=burger, unit_price=BURGER),
            ),
            change(ipad, seq + 6, "table_state", uuid4(), {"status": "seated", "covers": 2}),
        ],
    )
    assert results(taken) == [("applied", None)] * 3


async def test_a_line_below_the_catalog_price_is_priced_from_the_catalog_and_logged(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    burger = await product(client, tenant)
    order_id, line_id = uuid4(), uuid4()
    answer = await push(
        client,
        ipad,
        [
            change(ipad, 1, "order", order_id, order_fields(await prefix_of(ipad), 1)),
            change(
                ipad,
                2,
                "order_line",
                line_id,
                line_fields(order_id, product_id=burger, unit_price=1, vat_rate_bp=0),
            ),
        ],
    )

    assert results(answer) == [("applied", None), ("applied", None)]
    line = answer.json()["results"][1]["state"]["data"]
    assert (line["unit_price"], line["vat_rate_bp"]) == (BURGER, 2000)
    order = await client.get(f"/api/v1/orders/{order_id}", headers=tenant.headers)
    assert order.json()["total_due"] == BURGER
    conflicts = await client.get("/api/v1/sync/conflicts", headers=tenant.headers)
    logged = [c for c in conflicts.json()["items"] if c["entity_id"] == str(line_id)]
    assert [c["rule"] for c in logged] == ["catalog_price"]
    assert logged[0]["current"]["data"]["unit_price"] == 1, "what the iPad claimed is kept"


async def test_a_manager_may_override_a_price_and_a_cashier_needs_their_approval(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await as_(await make_ipad(app, tenant), Role.cashier)
    burger = await product(client, tenant)
    manager = await offline_sign_in(ipad, await staff_member(tenant, Role.manager))
    order_id = uuid4()
    comp = line_fields(order_id, product_id=burger, unit_price=1200)
    lines = [
        change(ipad, 2, "order_line", uuid4(), comp),
        approved(
            ipad,
            change(ipad, 3, "order_line", uuid4(), comp),
            manager,
            "orders.price_override",
        ),
    ]
    answer = await push(
        client,
        ipad,
        [change(ipad, 1, "order", order_id, order_fields(await prefix_of(ipad), 1)), *lines],
    )

    prices = [r["state"]["data"]["unit_price"] for r in answer.json()["results"][1:]]
    assert prices == [BURGER, 1200], "corrected alone, kept with the manager's approval"


# --- who made it, who approved it -----------------------------------------------------------


async def test_a_cashiers_void_needs_a_managers_approval_proved_by_their_pin(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await as_(await make_ipad(app, tenant), Role.cashier)
    order_id = await open_order(client, ipad, status="sent")
    manager = await offline_sign_in(ipad, await staff_member(tenant, Role.manager))
    void = {"status": "voided"}

    alone = await push(client, ipad, [change(ipad, 3, "order", order_id, void, clock=2)])
    assert results(alone) == [("rejected", "needs_approval")]
    with_approval = await push(
        client,
        ipad,
        [approved(ipad, change(ipad, 4, "order", order_id, void, clock=2), manager, "orders.void")],
    )
    assert results(with_approval) == [("applied", None)]
    assert with_approval.json()["results"][0]["state"]["data"]["status"] == "voided"


async def test_forged_makers_and_approvals_are_refused_and_kept(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await as_(await make_ipad(app, tenant), Role.cashier)
    order_id = await open_order(client, ipad, status="sent")
    other_ipad = await make_ipad(app, tenant, name="Bar")
    manager_id = await staff_member(tenant, Role.manager)
    manager = await offline_sign_in(ipad, manager_id)
    on_another_ipad = await offline_sign_in(other_ipad, manager_id)
    cashier = ipad.signed_in
    assert cashier is not None
    fired = await make_employee(tenant, role=Role.manager)
    fired_key = await offline_sign_in(ipad, fired)
    await client.patch(f"/api/v1/employees/{fired}", json={"active": False}, headers=tenant.headers)
    by_cashier = SignedIn(cashier.employee_id, cashier.key)

    def own(wire: dict[str, Any]) -> str:
        return statement_of(ipad.device_id, wire)

    forgeries: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "a made-up proof": lambda void: (
            void | {"actor": {"employee_id": str(cashier.employee_id), "proof": "0" * 64}}
        ),
        "an unknown maker": lambda void: (
            void | {"actor": {"employee_id": str(uuid4()), "proof": "a" * 64}}
        ),
        "a deactivated maker": lambda void: void | {"actor": fired_key.actor(own(void))},
        "the cashier's own approval": lambda void: (
            ipad.signed(void) | {"approval": by_cashier.approval("orders.void", own(void))}
        ),
        "another iPad's key": lambda void: (
            ipad.signed(void) | {"approval": on_another_ipad.approval("orders.void", own(void))}
        ),
        "an approval for another action": lambda void: (
            ipad.signed(void)
            | {"approval": manager.approval("orders.discount_over_threshold", own(void))}
        ),
        "an approval moved from another change": lambda void: (
            ipad.signed(void)
            | {"approval": manager.approval("orders.void", own(void | {"seq": 99}))}
        ),
    }
    reasons = []
    for seq, forge in enumerate(forgeries.values(), start=3):
        void = change(ipad, seq, "order", order_id, {"status": "voided"}, clock=2)
        reasons.append(results(await push(client, ipad, [forge(void)]))[0])

    assert dict(zip(forgeries, reasons, strict=True)) == {
        "a made-up proof": ("rejected", "actor_unproven"),
        "an unknown maker": ("rejected", "actor_unproven"),
        "a deactivated maker": ("rejected", "actor_unproven"),
        "the cashier's own approval": ("rejected", "approval_unproven"),
        "another iPad's key": ("rejected", "approval_unproven"),
        # Signed for another permission: a true approval, of something else.
        "an approval for another action": ("rejected", "needs_approval"),
        "an approval moved from another change": ("rejected", "approval_unproven"),
    }
    order = await client.get(f"/api/v1/orders/{order_id}", headers=tenant.headers)
    assert order.json()["status"] == "sent"


async def test_a_large_discount_needs_approval_and_a_small_one_does_not(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await as_(await make_ipad(app, tenant), Role.server)
    order_id = await open_order(client, ipad)
    small = {"discount_kind": "percent", "discount_value": 1_000}
    large = {"discount_kind": "fixed", "discount_value": 33}  # of a 320p bill: over 10%

    answer = await push(
        client,
        ipad,
        [
            change(ipad, 3, "order", order_id, small, clock=2),
            change(ipad, 4, "order", order_id, large, clock=3),
        ],
    )

    assert results(answer) == [("applied", None), ("rejected", "needs_approval")]


async def test_taking_back_a_dish_the_kitchen_has_is_a_void(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await as_(await make_ipad(app, tenant), Role.server)
    unsent = await open_order(client, ipad, seq=1)
    sent = await open_order(client, ipad, seq=3, status="sent")
    lines = await client.get(f"/api/v1/orders/{unsent}", headers=tenant.headers)
    unsent_line = lines.json()["lines"][0]["id"]
    sent_lines = await client.get(f"/api/v1/orders/{sent}", headers=tenant.headers)
    sent_line = sent_lines.json()["lines"][0]["id"]

    answer = await push(
        client,
        ipad,
        [
            change(ipad, 5, "order_line", UUID(unsent_line), {"voided": True}, clock=2),
            change(ipad, 6, "order_line", UUID(sent_line), {"voided": True}, clock=2),
        ],
    )

    assert results(answer) == [("applied", None), ("rejected", "needs_approval")]


# --- money agrees with status ---------------------------------------------------------------


@pytest.mark.parametrize("cash", [0, 200, 320])
async def test_an_order_is_paid_only_when_its_payments_cover_it(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, cash: int
) -> None:
    ipad = await as_(await make_ipad(app, tenant), Role.cashier)
    order_id, prefix = uuid4(), await prefix_of(ipad)
    batch = [
        change(ipad, 1, "order", order_id, order_fields(prefix, 1, status="sent")),
        change(ipad, 2, "order_line", uuid4(), line_fields(order_id)),
    ]
    await as_(ipad, Role.manager)  # an open item, priced by hand
    assert {o for o, _ in results(await push(client, ipad, batch))} == {"applied"}
    await as_(ipad, Role.cashier)
    paying = [change(ipad, 3, "order", order_id, {"status": "paid"}, clock=2)]
    if cash:
        paying.insert(
            0,
            change(
                ipad,
                3,
                "cash_payment",
                uuid4(),
                {
                    "order_id": str(order_id),
                    "amount": cash,
                    "tendered": cash,
                    "currency": "GBP",
                    "taken_at": "2026-11-26T12:30:00Z",
                },
            ),
        )
        paying[1]["seq"] = 4
    answer = await push(client, ipad, paying)

    order = (await client.get(f"/api/v1/orders/{order_id}", headers=tenant.headers)).json()
    if cash >= 320:
        assert results(answer)[-1] == ("applied", None)
        assert order["status"] == "paid"
    else:
        assert results(answer)[-1] == ("rejected", "order_unpaid")
        assert order["status"] == "sent"
        assert answer.json()["results"][-1]["state"]["data"]["status"] == "sent"
        kept = [q for q in await quarantine(client, tenant) if q["reason"] == "order_unpaid"]
        assert len(kept) == 1


# --- offline credentials --------------------------------------------------------------------


async def test_an_ipad_checks_a_pin_offline_with_its_own_credential_only(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    other = await make_ipad(app, tenant, name="Bar")
    cashier = await make_employee(tenant, role=Role.cashier)

    mine = await client.get("/api/v1/employees/offline-credentials", headers=ipad.headers)
    theirs = await client.get("/api/v1/employees/offline-credentials", headers=other.headers)
    office = await client.get("/api/v1/employees/offline-credentials", headers=tenant.headers)

    assert mine.status_code == 200, mine.text
    credential = next(c for c in mine.json()["employees"] if c["employee_id"] == str(cashier))
    assert "seed" not in mine.text and "pin_hash" not in mine.text
    their_credential = next(
        c for c in theirs.json()["employees"] if c["employee_id"] == str(cashier)
    )
    assert credential["salt"] == their_credential["salt"]
    assert credential["verifier"] != their_credential["verifier"], "one key per iPad"
    key = SignedIn.from_pin(
        employee_id=cashier,
        device_id=ipad.device_id,
        pin=DEFAULT_PIN,
        salt_hex=credential["salt"],
        verifier_hex=credential["verifier"],
    )
    assert key.employee_id == cashier
    with pytest.raises(ValueError, match="wrong PIN"):
        SignedIn.from_pin(
            employee_id=cashier,
            device_id=ipad.device_id,
            pin="958271",
            salt_hex=credential["salt"],
            verifier_hex=credential["verifier"],
        )
    assert office.status_code == 400, office.text


async def test_voids_past_the_daily_limit_need_another_managers_approval_offline_too(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await as_(await make_ipad(app, tenant), Role.manager)
    orders = [await open_order(client, ipad, seq=1 + 2 * n, status="sent") for n in range(4)]
    other = await offline_sign_in(ipad, await make_employee(tenant, role=Role.manager))
    voids = [
        change(ipad, 9 + n, "order", order_id, {"status": "voided"}, clock=2)
        for n, order_id in enumerate(orders)
    ]

    within = await push(client, ipad, voids[:3])
    past = await push(client, ipad, [voids[3]])
    # The iPad takes the answer's state and asks again, over it, with an approval.
    seen = past.json()["results"][0]["state"]["clock"]
    mine = str(ipad.device_id)
    retry = voids[3] | {"seq": 13, "clock": seen | {mine: seen[mine] + 1}}
    again = await push(client, ipad, [approved(ipad, retry, other, "orders.void")])

    assert results(within) == [("applied", None)] * 3
    assert results(past) == [("rejected", "needs_approval")]
    assert "void limit" in (past.json()["results"][0]["detail"] or "")
    assert past.json()["results"][0]["state"]["data"]["status"] == "sent"
    assert results(again) == [("applied", None)]
    limits = await client.get("/api/v1/orders/void-limits", headers=tenant.headers)
    assert limits.status_code == 200, limits.text
