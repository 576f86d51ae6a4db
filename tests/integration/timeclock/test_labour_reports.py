"""The labour report against figures worked out by hand, to the penny and the second.

The week is Monday 19 to Sunday 25 October 2026, when British Summer Time ends: at 02:00
BST on Sunday 25 the clocks go back to 01:00 GMT, so Saturday 24's business day (04:00 to
04:00, Europe/London) is 25 hours long. The report runs to Monday 26, the next week.
Overtime is past 600 minutes (36000 s) a week. Every time below is written in UTC (Z);
BST is UTC+1 until the change, GMT is UTC.

Alice clocks in as Floor: 12.00/h, then 13.00/h from Thursday 22. Bob clocks in with no
role: his rate is Bar at 11.11/h; once he clocks in as Floor, for which he has no rate.

| shift | business day | times (Z) | breaks | regular | paid brk | unpaid brk | paid |
|---|---|---|---|---|---|---|---|
| A1 | Mon 19 | 09:00-13:30 | unpaid 11:00-11:30 | 14400 | 0 | 1800 | 14400 |
| B7 | Tue 20 | 11:00-12:00 (Floor) | | 3600 | 0 | 0 | 3600 |
| A2 | Thu 22 | 08:00-13:00 | paid 10:00-10:15 | 17100 | 900 | 0 | 18000 |
| B5 | Fri 23 | 17:00-01:00 Sat | unpaid 20:00-20:20 | 27600 | 0 | 1200 | 27600 |
| A3 | Sat 24 | 21:00-03:00 Sun | | 21600 | 0 | 0 | 21600 |
| B6 | Sat 24 | 00:30-03:30 Sun | | 10800 | 0 | 0 | 10800 |
| A4 | Mon 26 | 10:00-12:00 | | 7200 | 0 | 0 | 7200 |

A3 is 22:00 BST to 03:00 GMT: 6 hours worked, 5 on the wall clock. B6 starts at 01:30 BST
on Sunday, before 04:00, so it is Saturday's. B5 crosses midnight and stays Friday's.

Pay, rounded once per shift (paid seconds x rate / 3600, half up):
A1 14400 x 1200 = 4800; A2 18000 x 1300 = 6500 (the new rate, from Thursday);
A3 21600 x 1300 = 7800; A4 7200 x 1300 = 2600; B5 27600 x 1111 / 3600 = 8517.67 -> 8518;
B6 10800 x 1111 / 3600 = 3333; B7 no Floor rate for Bob: unrated.

Overtime, in time order per employee and week: Alice 14400, 32400 (A2), then A3 takes her
to 54000: 18000 past 36000. Bob 3600, 31200 (B5), then B6 to 42000: 6000 past. A4 is the
next week: none.

Net sales (goods after discounts, less VAT; no tip, no service charge):
Thu 22 soup 650 at 20% (VAT 650 x 2000 / 12000 = 108.33 -> 108: 542) + bread 300 at 0%
(300) = 842. Fri 23 two pizzas 2 x 1200 at 20% with 12.5% service (2400 - 400 = 2000) and
a beer paid 01:30 BST Saturday, still Friday's (550 - 91.67 -> 92 = 458): 2458. Sat 24
steak 2400 at 20%: 2000. A voided and an unpaid order count for nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest
from litestar import Litestar

from server.auth.permissions import POLICY, Permission, Rule
from server.auth.tables import Role
from tests.factories import Tenant, make_employee, make_ipad, sign_in
from tests.integration.timeclock.report_fixtures import (
    back_office,
    clock_rules,
    execute,
    job_role,
    json_from_csv,
    paid_order,
    report,
    report_json,
    shift,
    wage,
)
from tests.problems import assert_problem

MONDAY, NEXT_MONDAY = date(2026, 10, 19), date(2026, 10, 26)


def z(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=UTC)


class Week:
    """The tenant, its people and roles, once the week above is written."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.alice = self.bob = self.floor = self.bar = UUID(int=0)

    async def write(self) -> Week:
        t = self.tenant
        await clock_rules(t, weekly_overtime_minutes=600)
        self.alice = await make_employee(t, role=Role.server)
        self.bob = await make_employee(t, role=Role.cashier)
        await rename(self.alice, "Alice")
        await rename(self.bob, "Bob")
        self.floor, self.bar = await job_role(t, "Floor"), await job_role(t, "Bar")
        await wage(t, self.alice, self.floor, 1200, date(2026, 1, 1))
        await wage(t, self.alice, self.floor, 1300, date(2026, 10, 22))
        await wage(t, self.bob, self.bar, 1111, date(2026, 1, 1))
        floor = self.floor
        unpaid, paid = (z(19, 11), z(19, 11, 30), False), (z(22, 10), z(22, 10, 15), True)
        await shift(t, self.alice, z(19, 9), z(19, 13, 30), breaks=(unpaid,), job_role_id=floor)
        await shift(t, self.bob, z(20, 11), z(20, 12), job_role_id=floor)
        await shift(t, self.alice, z(22, 8), z(22, 13), breaks=(paid,), job_role_id=floor)
        await shift(t, self.bob, z(23, 17), z(24, 1), breaks=((z(23, 20), z(23, 20, 20), False),))
        await shift(t, self.alice, z(24, 21), z(25, 3), job_role_id=floor)
        await shift(t, self.bob, z(25, 0, 30), z(25, 3, 30))
        await shift(t, self.alice, z(26, 10), z(26, 12), job_role_id=floor)
        await paid_order(t, z(22, 11), [("Soup", 650, 1, 2000), ("Bread", 300, 1, 0)])
        await paid_order(t, z(23, 19), [("Pizza", 1200, 2, 2000)], service_charge_bp=1250)
        await paid_order(t, z(24, 0, 30), [("Beer", 550, 1, 2000)])
        await paid_order(t, z(24, 22), [("Steak", 2400, 1, 2000)])
        await paid_order(t, z(22, 12), [("Wine", 9000, 1, 2000)], status="voided")
        await paid_order(t, z(23, 12), [("Cake", 500, 1, 2000)], status="open")
        return self


async def rename(employee: UUID, name: str) -> None:
    await execute("UPDATE employees SET name = $2 WHERE id = $1", employee, name)


def figures(
    shifts: int,
    regular: int,
    paid_breaks: int,
    unpaid_breaks: int,
    overtime: int,
    cost: int | None,
    unrated: tuple[int, int] = (0, 0),
) -> dict[str, Any]:
    """A row's figures; paid and clocked follow from the parts, as they must."""
    paid = regular + paid_breaks
    hours, rest = divmod(paid, 3600)
    return {
        "shifts": shifts,
        "regular_seconds": regular,
        "paid_break_seconds": paid_breaks,
        "unpaid_break_seconds": unpaid_breaks,
        "paid_seconds": paid,
        "clocked_seconds": paid + unpaid_breaks,
        "paid_time": f"{hours}:{rest // 60:02d}:{rest % 60:02d}",
        "overtime_seconds": overtime,
        "unrated_shifts": unrated[0],
        "unrated_seconds": unrated[1],
        "labour_cost": cost,
    }


def day(on: int, sales: int, bp: int | None, *row: Any, **more: Any) -> dict[str, Any]:
    return {"day": f"2026-10-{on}", "net_sales": sales, "labour_bp": bp, **figures(*row, **more)}


EMPTY = (0, 0, 0, 0, 0, 0)
EXPECTED_DAYS = [
    day(19, 0, None, 1, 14400, 0, 1800, 0, 4800),
    day(20, 0, None, 1, 3600, 0, 0, 0, 0, unrated=(1, 3600)),
    day(21, 0, None, *EMPTY),
    # 6500 / 842 = 7.7197... -> 77197 bp
    day(22, 842, 77197, 1, 17100, 900, 0, 0, 6500),
    # 8518 / 2458 = 3.46541... -> 34654 bp
    day(23, 2458, 34654, 1, 27600, 0, 1200, 0, 8518),
    # A3 + B6: 21600 + 10800; overtime 18000 + 6000; 7800 + 3333 = 11133 / 2000 -> 55665 bp
    day(24, 2000, 55665, 2, 32400, 0, 0, 24000, 11133),
    day(25, 0, None, *EMPTY),
    day(26, 0, None, 1, 7200, 0, 0, 0, 2600),
]


async def test_the_week_adds_up_to_the_penny_and_the_second(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    week = await Week(tenant).write()
    body = await report_json(client, tenant.headers, "labour", MONDAY, NEXT_MONDAY)
    assert (body["currency"], body["costs_visible"], body["weekly_overtime_minutes"]) == (
        "GBP",
        True,
        600,
    )
    assert body["days"] == EXPECTED_DAYS
    # Floor: A1-A4 and B7 (unrated); Bar: Bob's shifts with no role, by his rate's role.
    assert body["roles"] == [
        {"job_role_id": str(week.bar), "job_role": "Bar"} | figures(2, 38400, 0, 1200, 6000, 11851),
        {"job_role_id": str(week.floor), "job_role": "Floor"}
        | figures(5, 63900, 900, 1800, 18000, 21700, unrated=(1, 3600)),
    ]
    assert body["employees"] == [
        {"employee_id": str(week.alice), "employee": "Alice"}
        | figures(4, 60300, 900, 1800, 18000, 21700),
        {"employee_id": str(week.bob), "employee": "Bob"}
        | figures(3, 42000, 0, 1200, 6000, 11851, unrated=(1, 3600)),
    ]
    # 4800 + 6500 + 7800 + 2600 + 8518 + 3333 = 33551 over 842 + 2458 + 2000 = 5300 sales:
    # 6.33037... -> 63304 bp.
    assert body["totals"] == {"net_sales": 5300, "labour_bp": 63304} | figures(
        7, 102300, 900, 3000, 24000, 33551, unrated=(1, 3600)
    )


async def test_overtime_counts_the_whole_week_when_the_period_starts_in_it(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """From Saturday alone, the threshold was still crossed by what came before."""
    await Week(tenant).write()
    body = await report_json(
        client, tenant.headers, "labour", date(2026, 10, 24), date(2026, 10, 24)
    )
    assert body["days"] == [EXPECTED_DAYS[5]]
    assert body["totals"]["overtime_seconds"] == 24000


async def test_the_csv_holds_exactly_the_jsons_figures(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await Week(tenant).write()
    body = await report_json(client, tenant.headers, "labour", MONDAY, NEXT_MONDAY)
    by_param = await report(client, tenant.headers, "labour", MONDAY, NEXT_MONDAY, format="csv")
    by_accept = await client.get(
        "/api/v1/time-clock/reports/labour",
        params={"start": str(MONDAY), "end": str(NEXT_MONDAY)},
        headers=tenant.headers | {"Accept": "text/csv"},
    )
    for response in (by_param, by_accept):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert "labour-2026-10-19-2026-10-26.csv" in response.headers["content-disposition"]
    assert by_param.text == by_accept.text
    header = by_param.text.splitlines()[0].split(",")
    assert {"labour_cost_gbp", "net_sales_gbp", "labour_percent"} <= set(header)
    assert by_param.text.splitlines()[1].startswith("day,2026-10-19,")
    assert_same_figures(json_from_csv(by_param.text, "labour"), body)


def assert_same_figures(from_csv: dict[str, list[dict[str, Any]]], body: dict[str, Any]) -> None:
    """Every CSV row is its JSON object: each member it has, equal; the rest blank."""
    lists = {name: body[name] if name != "totals" else [body[name]] for name in from_csv}
    assert {name: len(rows) for name, rows in from_csv.items()} == {
        name: len(items) for name, items in lists.items()
    }
    for name, rows in from_csv.items():
        for row, item in zip(rows, lists[name], strict=True):
            assert {k: v for k, v in row.items() if k in item} == {
                k: v for k, v in item.items() if k in row
            }, name
            assert all(v is None for k, v in row.items() if k not in item), (name, row)


async def test_a_manager_sees_hours_and_costs(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await Week(tenant).write()
    manager = await back_office(app, tenant, Role.manager)
    body = await report_json(client, manager, "labour", MONDAY, NEXT_MONDAY)
    assert (body["costs_visible"], body["totals"]["labour_cost"]) == (True, 33551)


async def test_without_wages_view_the_hours_come_without_pay(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An owner who keeps pay to themself (wages.view for owners only) still lets managers
    read hours: every cost is null, and the CSV has no cost columns at all."""
    await Week(tenant).write()
    monkeypatch.setitem(POLICY, Permission.wages_view, Rule(frozenset({Role.owner})))
    manager = await back_office(app, tenant, Role.manager)
    body = await report_json(client, manager, "labour", MONDAY, NEXT_MONDAY)
    assert body["costs_visible"] is False
    rows = [*body["days"], *body["roles"], *body["employees"], body["totals"]]
    assert {(row["labour_cost"], row.get("labour_bp")) for row in rows} == {(None, None)}
    assert body["totals"]["paid_seconds"] == 103200 and body["totals"]["net_sales"] == 5300
    as_csv = await report(client, manager, "labour", MONDAY, NEXT_MONDAY, format="csv")
    header = as_csv.text.splitlines()[0].split(",")
    assert "labour_cost_gbp" not in header and "labour_percent" not in header
    assert_same_figures(json_from_csv(as_csv.text, "labour"), body)


@pytest.mark.parametrize("role", [Role.cashier, Role.server, Role.kitchen])
async def test_staff_on_an_ipad_are_refused(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, role: Role
) -> None:
    till = await sign_in(app, await make_ipad(app, tenant), await make_employee(tenant, role=role))
    for kind in ("labour", "tips"):
        response = await report(client, till.headers, kind, MONDAY, NEXT_MONDAY)
        assert_problem(response, 403, "forbidden")


async def test_a_manager_on_an_ipad_sees_their_location_only(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await Week(tenant).write()
    till = await sign_in(
        app, await make_ipad(app, tenant), await make_employee(tenant, role=Role.manager)
    )
    elsewhere = await client.post(
        "/api/v1/locations", json={"name": "Annex"}, headers=tenant.headers
    )
    asked = {"location_id": elsewhere.json()["id"]}
    response = await report(client, till.headers, "labour", MONDAY, NEXT_MONDAY, **asked)
    assert response.status_code == 200, response.text
    assert response.json()["location_id"] == str(tenant.location_id)
    assert response.json()["totals"]["labour_cost"] == 33551


async def test_another_restaurant_sees_nothing(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await Week(tenant).write()
    theirs = await report_json(client, other_tenant.headers, "labour", MONDAY, NEXT_MONDAY)
    assert theirs["roles"] == theirs["employees"] == []
    assert theirs["totals"] == {"net_sales": 0, "labour_bp": None} | figures(*EMPTY)
    ours = {"location_id": str(tenant.location_id)}
    for kind in ("labour", "tips"):
        asking = await report(client, other_tenant.headers, kind, MONDAY, NEXT_MONDAY, **ours)
        missing = await report(
            client, other_tenant.headers, kind, MONDAY, NEXT_MONDAY, location_id=str(UUID(int=7))
        )
        # Another restaurant's location answers exactly as one that does not exist.
        assert_problem(asking, 404, "not_found", "location_id")
        assert asking.json()["detail"] == missing.json()["detail"]


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("2026-10-26", "2026-10-19", "end"),
        ("2026-01-01", "2027-01-03", "end"),
        ("2026-10-19", "19/10/2026", "end"),
        ("yesterday", "2026-10-19", "start"),
    ],
    ids=["end_before_start", "over_a_year", "end_not_a_date", "start_not_a_date"],
)
async def test_a_bad_period_is_a_problem_naming_its_field(
    client: httpx.AsyncClient, tenant: Tenant, start: str, end: str, field: str
) -> None:
    for kind in ("labour", "tips"):
        response = await report(client, tenant.headers, kind, start, end)
        assert_problem(response, 400, "validation_failed", field)


@pytest.mark.parametrize(
    ("start", "end"), [("0001-01-01", "0001-01-07"), ("9999-12-25", "9999-12-31")]
)
async def test_the_first_and_last_days_a_date_can_be_are_empty_reports(
    client: httpx.AsyncClient, tenant: Tenant, start: str, end: str
) -> None:
    await Week(tenant).write()
    for kind in ("labour", "tips"):
        response = await report(client, tenant.headers, kind, start, end)
        assert response.status_code == 200, response.text
        assert response.json()["employees"] == []
