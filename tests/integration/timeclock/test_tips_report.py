"""The tips report against figures worked out by hand, pooled and not: every penny lands once.

Friday 23 October 2026 (Europe/London, BST = UTC+1; times below in UTC). Alice works
3 hours (10800 s) and declares 4.00 cash at clock-out; Bob works 5 hours (18000 s).
Nobody works on Saturday 24.

| payment | taken by | method | tip | refunded | tip kept |
|---|---|---|---|---|---|
| Fri card | Alice | card | 500 | | 500 |
| Fri card | Alice | card | 200 | 500 of 1000 + 200: the bill only | 200 |
| Fri card | Bob | card_present | 200 | 1100 of 1000 + 200: 100 of the tip | 100 |
| Fri bank | nobody (back office) | open_banking | 301 | | 301 |
| Fri cash | Bob | cash | 150 | | 150 |
| Fri cash | nobody | cash | 70 | | 70 |
| Fri card | Alice | card, failed | 999 | | 0 |
| Sat card | Bob | apple_pay | 250 | | 250 |

Pooled by hours: Friday's card and bank tips 500 + 200 + 100 + 301 = 1101 shared 3:5.
Exact shares 1101 x 3 / 8 = 412.875 and 1101 x 5 / 8 = 688.125: 412 + 688 = 1100, and the
penny left goes to the larger remainder, Alice's: 413 + 688 = 1101. Saturday's 250 has
nobody to go to: unallocated. Cash stays with who took it; unattributed when nobody did.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest

from server.auth.tables import Role
from tests.factories import Tenant, make_employee
from tests.integration.timeclock.report_fixtures import (
    clock_rules,
    json_from_csv,
    paid_order,
    payment,
    refunded,
    report,
    report_json,
    shift,
)
from tests.integration.timeclock.test_labour_reports import assert_same_figures, rename

FRIDAY, SATURDAY = date(2026, 10, 23), date(2026, 10, 24)


def z(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=UTC)


async def friday(tenant: Tenant, pooling: str) -> tuple[UUID, UUID]:
    await clock_rules(tenant, tip_pooling=pooling)
    alice = await make_employee(tenant, role=Role.server)
    bob = await make_employee(tenant, role=Role.cashier)
    await rename(alice, "Alice")
    await rename(bob, "Bob")
    await shift(tenant, alice, z(23, 11), z(23, 14), declared_tips=400)
    await shift(tenant, bob, z(23, 12), z(23, 17))
    order = await paid_order(tenant, z(23, 12), [("Pizza", 1200, 1, 2000)])
    await payment(tenant, order, method="card", tip=500, at=z(23, 12), employee=alice)
    kept = await payment(tenant, order, method="card", tip=200, at=z(23, 13), employee=alice)
    await refunded(tenant, kept, 500)
    touched = await payment(
        tenant, order, method="card_present", tip=200, at=z(23, 13), employee=bob
    )
    await refunded(tenant, touched, 1100)
    await payment(tenant, order, method="open_banking", tip=301, at=z(23, 14), employee=None)
    await payment(tenant, order, method="cash", tip=150, at=z(23, 15), employee=bob)
    await payment(tenant, order, method="cash", tip=70, at=z(23, 15), employee=None)
    await payment(
        tenant, order, method="card", tip=999, at=z(23, 16), employee=alice, state="failed"
    )
    await payment(tenant, order, method="apple_pay", tip=250, at=z(24, 12), employee=bob)
    return alice, bob


def person(employee: UUID, name: str, seconds: int, card: int, cash: int, declared: int) -> Any:
    return {
        "employee_id": str(employee),
        "employee": name,
        "paid_seconds": seconds,
        "card_tips": card,
        "cash_tips": cash,
        "declared_tips": declared,
        "total": card + cash + declared,
    }


async def test_pooled_by_hours_every_penny_lands_once(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    alice, bob = await friday(tenant, "by_hours")
    body = await report_json(client, tenant.headers, "tips", FRIDAY, SATURDAY)
    assert body["tip_pooling"] == "by_hours"
    assert body["employees"] == [
        person(alice, "Alice", 10800, 413, 0, 400),
        person(bob, "Bob", 18000, 688, 150, 0),
    ]
    location = str(tenant.location_id)
    assert body["shares"] == [
        {"day": "2026-10-23", "location_id": location, "employee_id": str(e), **share}
        for e, share in sorted(
            [
                (alice, {"paid_seconds": 10800, "share": 413}),
                (bob, {"paid_seconds": 18000, "share": 688}),
            ],
            key=lambda item: str(item[0]),
        )
    ]
    assert body["days"] == [
        {
            "day": "2026-10-23",
            "location_id": location,
            "card_tips": 1101,
            "pooled": 1101,
            "unallocated": 0,
            "cash_tips": 220,
            "declared_tips": 400,
            "unattributed": 70,
        },
        {
            "day": "2026-10-24",
            "location_id": location,
            "card_tips": 250,
            "pooled": 0,
            "unallocated": 250,
            "cash_tips": 0,
            "declared_tips": 0,
            "unattributed": 0,
        },
    ]
    # 1351 + 220 + 400 = 1971 = (813 + 838) + 70 + 250
    assert body["totals"] == {
        "card_tips": 1351,
        "cash_tips": 220,
        "declared_tips": 400,
        "allocated": 1651,
        "unattributed": 70,
        "unallocated": 250,
    }


async def test_unpooled_each_tip_is_its_takers(client: httpx.AsyncClient, tenant: Tenant) -> None:
    alice, bob = await friday(tenant, "none")
    body = await report_json(client, tenant.headers, "tips", FRIDAY, SATURDAY)
    assert body["tip_pooling"] == "none"
    # Alice 500 + 200 card; Bob 100 + 250 card and 150 cash; the bank's 301 and the back
    # office's 70 cash were nobody's.
    assert body["employees"] == [
        person(alice, "Alice", 10800, 700, 0, 400),
        person(bob, "Bob", 18000, 350, 150, 0),
    ]
    assert body["shares"] == []
    assert body["totals"] == {
        "card_tips": 1351,
        "cash_tips": 220,
        "declared_tips": 400,
        "allocated": 1600,
        "unattributed": 371,
        "unallocated": 0,
    }


@pytest.mark.parametrize("pooling", ["none", "by_hours"])
async def test_the_csv_holds_exactly_the_jsons_figures(
    client: httpx.AsyncClient, tenant: Tenant, pooling: str
) -> None:
    await friday(tenant, pooling)
    body = await report_json(client, tenant.headers, "tips", FRIDAY, SATURDAY)
    as_csv = await report(client, tenant.headers, "tips", FRIDAY, SATURDAY, format="csv")
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "card_tips_gbp" in as_csv.text.splitlines()[0]
    assert_same_figures(json_from_csv(as_csv.text, "tips"), body)


async def test_another_restaurant_sees_none_of_them(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await friday(tenant, "by_hours")
    theirs = await report_json(client, other_tenant.headers, "tips", FRIDAY, SATURDAY)
    assert theirs["employees"] == theirs["days"] == theirs["shares"] == []
    assert set(theirs["totals"].values()) == {0}
