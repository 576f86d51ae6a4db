"""A trading day through the real paths, closed with a Z-report equal to figures worked out
by hand: orders pushed from an iPad, cash through sync, a card through the fake Stripe (its
fee reported by webhook), pay by bank through the sandbox, a split bill, tips, a discount,
a service charge, a refund, a void approved by a manager, and a drawer opened, paid out of
and closed on the iPad, over by 50p."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from litestar import Litestar

from server.auth.tables import Role
from server.payments import poller
from server.timeclock.services import business_day, day_bounds
from tests.factories import DEFAULT_PIN, Tenant, make_ipad
from tests.fakes.open_banking import OpenBankingSandbox
from tests.fakes.stripe import StripeFake
from tests.integration.api.test_void_limits import SERVER_PIN, approval, on_ipad, void
from tests.integration.payments.api import bank_reference, pay, payer_starts, refund
from tests.integration.payments.test_qr import age
from tests.integration.reports.api import clock_at, close_day, csv_rows, report
from tests.integration.sync.test_push_rules import change, line_fields, order_fields, prefix_of
from tests.integration.sync.test_push_rules import push as push_changes
from tests.integration.timeclock.punch_fixtures import wire_time

pytestmark = pytest.mark.usefixtures("with_bank")
LONDON = "Europe/London"


async def test_a_trading_day_closes_to_the_figures_worked_out_by_hand(
    app: Litestar,
    client: httpx.AsyncClient,
    tenant: Tenant,
    stripe_fake: StripeFake,
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    now = datetime.now(UTC)
    day = business_day(now, LONDON, datetime.min.time().replace(hour=4))
    till = await make_ipad(app, tenant, signed_in=Role.manager)
    manager = tenant.staff[Role.manager]
    prefix = await prefix_of(till)
    seq = iter(range(1, 100))

    async def push(changes: list[dict[str, Any]]) -> None:
        response = await push_changes(client, till, changes)
        assert response.status_code == 200, response.text
        outcomes = {(r["outcome"], r.get("reason")) for r in response.json()["results"]}
        assert {outcome for outcome, _ in outcomes} <= {"applied", "merged"}, outcomes

    def order(number: int, **more: Any) -> tuple[UUID, dict[str, Any]]:
        order_id = uuid4()
        fields = order_fields(prefix, number, opened_at=wire_time(now), **more)
        return order_id, change(till, next(seq), "order", order_id, fields)

    def line(order_id: UUID, name: str, price: int, quantity: int, vat: int, **more: Any) -> Any:
        fields = line_fields(
            order_id, name=name, unit_price=price, quantity=quantity, vat_rate_bp=vat, **more
        )
        return change(till, next(seq), "order_line", uuid4(), fields)

    def cash(order_id: UUID, amount: int, tip: int = 0) -> dict[str, Any]:
        fields = {
            "order_id": str(order_id),
            "amount": amount,
            "tip": tip,
            "tendered": amount + tip,
            "currency": "GBP",
            "taken_at": wire_time(datetime.now(UTC)),
        }
        return change(till, next(seq), "cash_payment", uuid4(), fields)

    def drawer(entity_type: str, entity_id: UUID, **fields: Any) -> dict[str, Any]:
        steps = {"device_id": str(till.device_id), "employee_id": str(manager), **fields}
        return change(till, next(seq), entity_type, entity_id, steps)

    # The drawer opened with a counted float of £100: a £50 note, two £20s and a £10.
    session = uuid4()
    drawer_id = await client.post(
        "/api/v1/cash-up/drawers",
        json={"name": "Front till", "location_id": str(tenant.location_id)},
        headers=tenant.headers,
    )
    assert drawer_id.status_code == 201, drawer_id.text
    opened_at = wire_time(now - timedelta(minutes=5))
    counts = {"5000": 1, "2000": 2, "1000": 1}
    opening = {"drawer_id": drawer_id.json()["id"], "float_counts": counts, "at": opened_at}
    await push([drawer("drawer_open", session, **opening)])
    # A: two flat whites (20%) and a croissant (0%), cash with a £1 tip.
    a, a_order = order(1)
    await push(
        [
            a_order,
            line(a, "Flat white", 320, 2, 2000),
            line(a, "Croissant", 250, 1, 0),
            cash(a, 890, tip=100),
        ]
    )
    # B: two burgers less 10%, a 12.5% service charge, by card with a £2 tip; £5 refunded.
    b, b_order = order(2, discount_kind="percent", discount_value=1000, service_charge_bp=1250)
    await push([b_order, line(b, "Burger", 1500, 2, 2000)])
    card = await pay(
        client,
        tenant.headers,
        b,
        method="card",
        amount=3038,
        tip=200,
        payment_method="pm_card_visa",
    )
    assert card.status_code == 201, card.text
    await stripe_fake.release_balance_transactions()
    for event in await stripe_fake.webhooks("charge.updated"):
        answer = await client.post(
            "/api/v1/payments/webhooks/stripe",
            content=event["payload"].encode(),
            headers=event["headers"],
        )
        assert answer.status_code == 200, answer.text
    refunded = await refund(client, tenant.headers, card.json()["id"], amount=500)
    assert refunded.json()["state"] == "succeeded", refunded.text
    # C: a pizza and a lemonade £1 off, split: half in cash, half by bank.
    c, c_order = order(3)
    await push(
        [
            c_order,
            line(c, "Pizza", 1200, 1, 2000),
            line(c, "Lemonade", 300, 1, 2000, discount_kind="fixed", discount_value=100),
            cash(c, 700),
        ]
    )
    bank = (await pay(client, tenant.headers, c, method="open_banking", amount=700)).json()
    assert (await payer_starts(client, bank)).status_code == 303
    await open_banking_sandbox.approve(await bank_reference(bank["id"]))
    await age(bank["id"], 3)
    await poller.sweep()
    # D: a steak voided by a server, approved by the manager.
    d, d_order = order(4)
    await push([d_order, line(d, "Steak", 2400, 1, 2000)])
    server = await on_ipad(app, tenant, Role.server, SERVER_PIN)
    voided = await void(client, await approval(client, server, manager, DEFAULT_PIN), d)
    assert voided.status_code == 200, voided.text
    # £3 paid out for milk; then the blind count: float £100 + cash £8.90 + £1 tip + £7 - £3
    # = £113.90 expected, £114.40 counted (£100 as opened, five £2s, four £1s, two 20ps).
    paid_out = {"session_id": str(session), "kind": "paid_out", "amount": 300}
    paid_out |= {"reason": "Milk from the corner shop", "at": wire_time(datetime.now(UTC))}
    counted = counts | {"200": 5, "100": 4, "20": 2}
    closing = {"session_id": str(session), "counts": counted, "at": wire_time(datetime.now(UTC))}
    await push(
        [drawer("drawer_movement", uuid4(), **paid_out), drawer("drawer_close", uuid4(), **closing)]
    )

    starts_at, ends_at = day_bounds(day, LONDON, datetime.min.time().replace(hour=4))
    with clock_at(ends_at + timedelta(minutes=1)):
        closed = await close_day(client, tenant.headers, tenant.location_id, day)
    assert closed.status_code == 201, closed.text
    z = closed.json()
    [void_row] = z["figures"]["voids"]["orders"]
    assert z["number"] == 1
    assert z["figures"] == {
        "location_id": str(tenant.location_id),
        "business_day": day.isoformat(),
        "currency": "GBP",
        "starts_at": wire_time(starts_at),
        "ends_at": wire_time(ends_at),
        # A 640 + 250, B 3000, C 1500.
        "gross_sales": 5390,
        # B 10% of 3000 = 300; C £1 off the lemonade.
        "discounts": 400,
        "sales_after_discounts": 4990,
        # Once per order and rate: A 640 x 2000 / 12000 = 106.67 -> 107 (0% on 250);
        # B 2700 -> 450; C 1400 -> 233.33 -> 233.
        "vat": 790,
        "net_sales": 4200,
        # 12.5% of B's 2700 = 337.5 -> 338, outside VAT.
        "service_charge": 338,
        "tips": 300,
        "vat_by_rate": [
            {"rate_bp": 0, "gross": 250, "vat": 0, "net": 250},
            {"rate_bp": 2000, "gross": 4740, "vat": 790, "net": 3950},
        ],
        "voids": {
            "count": 1,
            "value": 2400,
            "orders": [
                {
                    "order_id": str(d),
                    "number": f"{prefix}-0004",
                    "amount": 2400,
                    "voided_by": str(server.employee_id),
                    "approved_by": str(manager),
                    "voided_at": void_row["voided_at"],
                }
            ],
        },
        "payments": [
            {
                "method": "card",
                "payments": 1,
                "amount": 3038,  # B: 2700 + 338
                "tips": 200,
                "surcharges": 0,
                "charged": 3238,
                # Stripe's own fee (the fake's 1.5% + 20p of 3238 = 68.57 -> 69); our
                # estimate, 2.9% + 30p = 124, no longer counts.
                "provider_fees": 69,
                "provider_fees_actual": 69,
                "provider_fees_estimated": 0,
                "provider_fees_unreported": 0,
                # 3.9% + 30p = 156 in all, less the provider's 124.
                "platform_fees": 32,
            },
            {
                "method": "cash",
                "payments": 2,
                "amount": 1590,
                "tips": 100,
                "surcharges": 0,
                "charged": 1690,
                "provider_fees": 0,
                "provider_fees_actual": 0,
                "provider_fees_estimated": 0,
                "provider_fees_unreported": 0,
                "platform_fees": 0,
            },
            {
                "method": "open_banking",
                "payments": 1,
                "amount": 700,
                "tips": 0,
                "surcharges": 0,
                "charged": 700,
                # Not reported by the bank: our estimate, 0.2% of 700 = 1.4 -> 1.
                "provider_fees": 1,
                "provider_fees_actual": 0,
                "provider_fees_estimated": 1,
                "provider_fees_unreported": 1,
                # 1.2% of 700 = 8.4 -> 8 in all, less the provider's 1.
                "platform_fees": 7,
            },
        ],
        "taken": 5628,
        "refunds": [{"method": "card", "refunds": 1, "amount": 500}],
        "refunded": 500,
        "platform_fees": 39,
        "drawers": [
            {
                "session_id": str(session),
                "drawer_id": drawer_id.json()["id"],
                "drawer_name": "Front till",
                "opening_float": 10000,
                "cash_sales": 1690,  # A 890 + 100 tip, C 700
                "cash_refunds": 0,
                "paid_in": 0,
                "paid_out": 300,
                "expected_cash": 11390,
                "counted_cash": 11440,
                "over_short": 50,
                "flagged": False,
            }
        ],
        "drawer_over_short": 50,
        "orders": {"paid": 3, "voided": 1},
    }
    assert starts_at <= datetime.fromisoformat(void_row["voided_at"]) < ends_at
    assert z["at_close"] == {"open_orders": []} and z["warnings"] == []

    # The day run again gives the same figures; the X-report of the day shows them too.
    again = await client.get(
        f"/api/v1/reports/z/{z['id']}", params={"recompute": "true"}, headers=tenant.headers
    )
    assert (again.json()["matches"], again.json()["recomputed"]) == (True, z["figures"])
    x = await report(client, tenant.headers, "x", location_id=tenant.location_id, day=day)
    assert x.json()["figures"] == z["figures"] and x.json()["z_number"] == 1

    # Sales by product add up to the Z's sales.
    by_product = (
        await report(client, tenant.headers, "sales", start=day, end=day, by="product")
    ).json()
    assert {row["name"]: row["quantity"] for row in by_product["rows"]} == {
        "Burger": 2,
        "Croissant": 1,
        "Flat white": 2,
        "Lemonade": 1,
        "Pizza": 1,
    }
    assert by_product["totals"] == {
        "key": None,
        "name": "total",
        "quantity": 7,
        "gross": 5390,
        "discounts": 400,
        "vat": 790,
        "net": 4200,
    }

    # The CSV carries every figure of the JSON.
    as_csv = await client.get(
        f"/api/v1/reports/z/{z['id']}", params={"format": "csv"}, headers=tenant.headers
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert_csv_is_the_json(csv_rows(as_csv.text), z)


def assert_csv_is_the_json(rows: list[tuple[str, dict[str, Any]]], z: dict[str, Any]) -> None:
    figures = z["figures"]
    sections: dict[str, list[dict[str, Any]]] = {}
    for breakdown, row in rows:
        sections.setdefault(breakdown, []).append(row)
    [summary] = sections.pop("summary")
    assert summary == {
        "number": str(z["number"]),
        "location_id": figures["location_id"],
        "business_day": figures["business_day"],
        **{
            name: figures[name]
            for name in (
                "gross_sales",
                "discounts",
                "sales_after_discounts",
                "vat",
                "net_sales",
                "service_charge",
                "tips",
                "taken",
                "refunded",
                "platform_fees",
                "drawer_over_short",
            )
        },
        "void_count": figures["voids"]["count"],
        "void_value": figures["voids"]["value"],
        "paid_orders": figures["orders"]["paid"],
        "voided_orders": figures["orders"]["voided"],
    }
    assert sections.pop("vat") == figures["vat_by_rate"]
    assert sections.pop("payment") == figures["payments"]
    assert sections.pop("refund") == figures["refunds"]
    assert sections.pop("drawer") == [
        d | {"flagged": "true" if d["flagged"] else "false"} for d in figures["drawers"]
    ]
    voids = sections.pop("void")
    assert [v | {"voided_at": datetime.fromisoformat(v["voided_at"])} for v in voids] == [
        v | {"voided_at": datetime.fromisoformat(v["voided_at"])}
        for v in figures["voids"]["orders"]
    ]
    assert sections == {}
