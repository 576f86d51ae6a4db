"""Sales by product, category, hour and employee, the VAT return and platform fees: their
totals equal the Z-reports' of the same days, and their CSV carries the JSON's figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from server.auth.tables import Role
from tests.factories import Tenant, staff_member
from tests.integration.reports.api import clock_at, close_day, csv_rows, report, sql
from tests.integration.timeclock.punch_fixtures import local
from tests.integration.timeclock.report_fixtures import paid_order, payment

FIRST = date(2026, 11, 9)
DAYS = [FIRST, FIRST + timedelta(1)]
SECOND_NIGHT = local(DAYS[1], "02:10")
SECOND_NOON = local(DAYS[1], "13:05")


async def trade(tenant: Tenant) -> None:
    """Two days of sales: lines of two products in one category, an open item, 20% and 5%
    VAT, an order discount shared across lines, taken by two people and by nobody."""
    category, tea, cake = uuid4(), uuid4(), uuid4()
    await sql(
        "INSERT INTO categories (id, restaurant_id, name) VALUES ($1, $2, 'Cafe')",
        category,
        tenant.restaurant_id,
    )
    for product, name, price in ((tea, "Tea", 300), (cake, "Cake", 455)):
        await sql(
            "INSERT INTO products (id, restaurant_id, category_id, name, price, vat_rate_bp)"
            " VALUES ($1, $2, $3, $4, $5, 2000)",
            product,
            tenant.restaurant_id,
            category,
            name,
            price,
        )
    cashier = await staff_member(tenant, Role.cashier)
    server = await staff_member(tenant, Role.server)
    sales: list[tuple[datetime, list[dict[str, Any]], dict[str, Any], Any, str]] = [
        (local(FIRST, "09:15"), [_line(tea, "Tea", 300, 3, 2000)], {}, cashier, "cash"),
        (
            local(FIRST, "13:40"),
            [_line(tea, "Tea", 300, 1, 2000), _line(cake, "Cake", 455, 2, 500)],
            {"discount_kind": "percent", "discount_value": 1500},
            server,
            "card",
        ),
        # 02:10 the next morning: still the first business day.
        (SECOND_NIGHT, [_line(None, "Wine", 799, 1, 2000)], {}, None, "cash"),
        (SECOND_NOON, [_line(cake, "Cake", 455, 1, 500)], {}, server, "open_banking"),
    ]
    for number, (at, lines, discount, employee, method) in enumerate(sales):
        order = await paid_order(tenant, at, [], **discount)
        await sql("DELETE FROM order_lines WHERE order_id = $1", order)  # the factory's Tea
        for position, line in enumerate(lines):
            await sql(
                "INSERT INTO order_lines (id, restaurant_id, order_id, product_id, name,"
                " unit_price, quantity, vat_rate_bp, position) VALUES ($1, $2, $3, $4, $5, $6,"
                " $7, $8, $9)",
                uuid4(),
                tenant.restaurant_id,
                order,
                line["product_id"],
                line["name"],
                line["unit_price"],
                line["quantity"],
                line["vat_rate_bp"],
                position + number,
            )
        total = await _reprice(order)
        await payment(tenant, order, method=method, tip=0, at=at, employee=employee, amount=total)


def _line(product: Any, name: str, price: int, quantity: int, vat: int) -> dict[str, Any]:
    return {
        "product_id": product,
        "name": name,
        "unit_price": price,
        "quantity": quantity,
        "vat_rate_bp": vat,
    }


async def _reprice(order: Any) -> int:
    from server.db.engine import DB
    from server.orders.sync import reprice

    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        await reprice(conn, [order])
        total: int = await conn.fetchval("SELECT total_due FROM orders WHERE id = $1", order)
    return total


@pytest.mark.parametrize("by", ["product", "category", "hour", "employee"])
async def test_every_breakdown_adds_up_to_the_z_reports_and_its_csv_to_its_json(
    client: httpx.AsyncClient, tenant: Tenant, by: str
) -> None:
    await trade(tenant)
    with clock_at(datetime(2026, 12, 1, tzinfo=UTC)):
        zs = [
            (await close_day(client, tenant.headers, tenant.location_id, day)).json()["figures"]
            for day in DAYS
        ]
    sales = await report(client, tenant.headers, "sales", start=DAYS[0], end=DAYS[1], by=by)
    body = sales.json()
    assert body["totals"] == {
        "key": None,
        "name": "total",
        "quantity": 8,
        "gross": sum(z["gross_sales"] for z in zs),
        "discounts": sum(z["discounts"] for z in zs),
        "vat": sum(z["vat"] for z in zs),
        "net": sum(z["net_sales"] for z in zs),
    }
    assert sum(row["vat"] for row in body["rows"]) == body["totals"]["vat"]
    as_csv = await report(
        client, tenant.headers, "sales", start=DAYS[0], end=DAYS[1], by=by, format="csv"
    )
    rows = csv_rows(as_csv.text)
    assert [row for kind, row in rows if kind == by] == [
        {key: value for key, value in row.items() if value is not None} for row in body["rows"]
    ]
    assert [row for kind, row in rows if kind == "total"] == [
        {key: value for key, value in body["totals"].items() if value is not None}
    ]


async def test_the_breakdowns_by_hand(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await trade(tenant)

    async def rows(by: str) -> dict[str, tuple[int, int, int, int]]:
        got = (
            await report(client, tenant.headers, "sales", start=DAYS[0], end=DAYS[1], by=by)
        ).json()
        return {
            r["name"]: (r["quantity"], r["gross"], r["discounts"], r["vat"]) for r in got["rows"]
        }

    # Order 2: tea 300 + cakes 910 = 1210, 15% off = 181.5 -> 182, shared 300:910 by
    # largest remainder: 45.12 and 136.88 -> 45 and 137.
    # VAT: tea 255 at 20% -> 42.5 -> 43; cakes 773 at 5% -> 36.81 -> 37.
    assert await rows("product") == {
        "Cake": (3, 1365, 137, 37 + 22),  # 455 at 5%: 21.67 -> 22
        "Tea": (4, 1200, 45, 150 + 43),  # 900 at 20%: 150
        "Wine": (1, 799, 0, 133),  # 799 x 2000 / 12000 = 133.17 -> 133
    }
    assert await rows("category") == {
        "Cafe": (7, 2565, 182, 252),
        "uncategorised": (1, 799, 0, 133),
    }
    assert await rows("hour") == {
        "02:00": (1, 799, 0, 133),
        "09:00": (3, 900, 0, 150),
        "13:00": (4, 1665, 182, 102),
    }
    employees = await rows("employee")
    assert employees["unattributed"] == (1, 799, 0, 133)
    assert sorted(employees.values()) == sorted(
        [(1, 799, 0, 133), (3, 900, 0, 150), (4, 1665, 182, 102)]
    )


async def test_the_vat_return_and_platform_fees(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await trade(tenant)
    vat = (await report(client, tenant.headers, "vat", start=DAYS[0], end=DAYS[1])).json()
    assert vat["by_rate"] == [
        {"rate_bp": 500, "gross": 773 + 455, "vat": 37 + 22, "net": 1228 - 59},
        {"rate_bp": 2000, "gross": 900 + 255 + 799, "vat": 150 + 43 + 133, "net": 1954 - 326},
    ]
    assert [(b["box"], b["amount"]) for b in vat["boxes"]] == [("1", 385), ("6", 2797)]
    assert vat["not_from_the_till"] == ["2", "3", "4", "5", "7", "8", "9"]
    rows = csv_rows((await report(client, tenant.headers, "vat", start=DAYS[0], end=DAYS[1],
                                  format="csv")).text)  # fmt: skip
    assert [r for kind, r in rows if kind == "box"] == vat["boxes"]
    assert [r for kind, r in rows if kind == "rate"] == vat["by_rate"]
    fees = (
        await report(client, tenant.headers, "platform-fees", start=DAYS[0], end=DAYS[1])
    ).json()
    # The fixture's payments carry no fees: what matters is which day and method they land on.
    assert [(r["day"], r["method"], r["payments"]) for r in fees["days"]] == [
        (DAYS[0].isoformat(), "card", 1),
        (DAYS[0].isoformat(), "cash", 2),
        (DAYS[1].isoformat(), "open_banking", 1),
    ]
    assert fees["totals"]["payments"] == 4
