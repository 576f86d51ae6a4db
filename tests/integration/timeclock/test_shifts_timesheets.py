"""``GET /api/v1/time-clock/timesheets`` against figures worked out by hand: per employee,
per business day and in total, to the second and to the penny."""

from __future__ import annotations

from datetime import timedelta

import httpx
from litestar import Litestar

from server.auth.tables import Role
from tests.factories import Tenant, make_employee, sign_in, staff_member
from tests.integration.timeclock.punch_fixtures import (
    a_past_day,
    job_role,
    local,
    send,
    till,
    timesheets,
    wage_rate,
)


async def test_a_week_of_two_employees_adds_up_to_the_second_and_the_penny(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    monday = a_past_day(days_ago=10)
    tuesday = monday + timedelta(days=1)
    sam = await staff_member(tenant, Role.server)
    alex = await make_employee(tenant, role=Role.kitchen)
    await wage_rate(tenant, sam, await job_role(tenant, "Floor"), 1150, monday)
    await wage_rate(tenant, alex, await job_role(tenant, "Kitchen"), 1275, monday)
    front = await till(app, tenant, "Front till", sam)
    kitchen = await till(app, tenant, "Kitchen", alex)
    sams = [
        # Monday 09:00-15:00, 30 min unpaid break: 5 h 30 min paid at £11.50 = £63.25.
        front.punch("clock_in", local(monday, "09:00")),
        front.punch("break_start", local(monday, "12:00")),
        front.punch("break_end", local(monday, "12:30")),
        front.punch("clock_out", local(monday, "15:00"), declared_tips=1200),
        # Tuesday 10:00-14:20, 15 min paid break: 4 h 20 min paid, 15 600 s x 1150 / 3600
        # = 4983.33p, so £49.83.
        front.punch("clock_in", local(tuesday, "10:00")),
        front.punch("break_start", local(tuesday, "12:00"), paid=True),
        front.punch("break_end", local(tuesday, "12:15")),
        front.punch("clock_out", local(tuesday, "14:20"), declared_tips=350),
    ]
    alexs = [
        # Tuesday 09:00:00-17:00:36: 28 836 s x 1275 / 3600 = 10212.75p, so £102.13.
        kitchen.punch("clock_in", local(tuesday, "09:00")),
        kitchen.punch("clock_out", local(tuesday, "17:00:36")),
    ]
    assert await send(client, front, sams) == [("applied", None)] * 8
    assert await send(client, kitchen, alexs) == [("applied", None)] * 2

    sheet = await timesheets(client, tenant.headers, monday, monday + timedelta(days=6))
    assert (sheet["start"], sheet["end"], sheet["currency"]) == (
        monday.isoformat(),
        (monday + timedelta(days=6)).isoformat(),
        "GBP",
    )
    by_name = {item["employee"]["id"]: item for item in sheet["items"]}
    sam_sheet, alex_sheet = by_name[str(sam)], by_name[str(alex)]

    assert [
        (d["business_day"], d["hours"]["paid_seconds"], d["pay"], d["declared_tips"])
        for d in sam_sheet["days"]
    ] == [(monday.isoformat(), 19_800, 6325, 1200), (tuesday.isoformat(), 15_600, 4983, 350)]
    totals = sam_sheet["totals"]
    assert totals["hours"] == {
        "regular_seconds": 19_800 + 14_700,
        "paid_break_seconds": 900,
        "unpaid_break_seconds": 1800,
        "paid_seconds": 35_400,
        "regular_minutes": 575,
        "paid_break_minutes": 15,
        "unpaid_break_minutes": 30,
        "paid_minutes": 590,
    }
    assert (totals["pay"], totals["declared_tips"], totals["shifts"]) == (11_308, 1550, 2)
    assert (totals["open_shifts"], totals["shifts_without_rate"]) == (0, 0)

    assert alex_sheet["totals"]["hours"]["paid_seconds"] == 28_836
    assert alex_sheet["totals"]["pay"] == 10_213, "rounded once, half up"

    one = await timesheets(client, tenant.headers, monday, tuesday, employee_id=str(alex))
    assert [item["employee"]["id"] for item in one["items"]] == [str(alex)]


async def test_pay_is_left_out_for_staff_reading_their_own_timesheet(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    day = a_past_day()
    sam = await staff_member(tenant, Role.cashier)
    await wage_rate(tenant, sam, await job_role(tenant, "Till"), 1150, day)
    front = await till(app, tenant, "Front till", sam)
    made = [
        front.punch("clock_in", local(day, "09:00")),
        front.punch("clock_out", local(day, "10:00")),
    ]
    assert await send(client, front, made) == [("applied", None)] * 2

    own = await timesheets(client, (await sign_in(app, front.ipad, sam)).headers, day, day)
    [item] = own["items"]
    assert item["totals"]["hours"]["paid_seconds"] == 3600
    assert "pay" not in item["totals"] and "pay" not in item["days"][0]
    assert "shifts_without_rate" not in item["totals"]


async def test_a_shift_without_a_rate_is_counted_apart_from_the_pay(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    day = a_past_day()
    sam = await staff_member(tenant, Role.server)
    await wage_rate(tenant, sam, await job_role(tenant, "Floor"), 1000, day + timedelta(days=1))
    front = await till(app, tenant, "Front till", sam)
    made = [
        front.punch("clock_in", local(day, "09:00")),
        front.punch("clock_out", local(day, "10:00")),
    ]
    made += [
        front.punch("clock_in", local(day + timedelta(days=1), "09:00")),
        front.punch("clock_out", local(day + timedelta(days=1), "10:00")),
    ]
    assert await send(client, front, made) == [("applied", None)] * 4

    [item] = (await timesheets(client, tenant.headers, day, day + timedelta(days=1)))["items"]
    assert (item["totals"]["pay"], item["totals"]["shifts_without_rate"]) == (1000, 1)
    assert [d["shifts_without_rate"] for d in item["days"]] == [1, 0]


async def test_another_restaurants_timesheets_hold_nothing_of_ours(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    day = a_past_day()
    sam = await staff_member(tenant, Role.server)
    front = await till(app, tenant, "Front till", sam)
    made = [
        front.punch("clock_in", local(day, "09:00")),
        front.punch("clock_out", local(day, "10:00")),
    ]
    assert await send(client, front, made) == [("applied", None)] * 2
    assert len((await timesheets(client, tenant.headers, day, day))["items"]) == 1

    for params in ({}, {"employee_id": str(sam)}, {"location_id": str(tenant.location_id)}):
        theirs = await timesheets(client, other_tenant.headers, day, day, **params)
        assert theirs["items"] == []
