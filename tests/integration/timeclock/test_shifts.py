"""``GET /api/v1/time-clock/shifts``: shifts as a manager reads them, with hours by type,
flags in words, the schedule's flags, the rate in force that day and the pay; an employee
reads their own; another restaurant reads nothing; a period is checked like any other.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
import pytest
from litestar import Litestar

from server.auth.tables import Role
from tests.factories import Tenant, make_employee, sign_in, staff_member
from tests.integration.timeclock.punch_fixtures import (
    a_past_day,
    clock_rules,
    job_role,
    local,
    manager_headers,
    planned_shift,
    send,
    shifts,
    till,
    wage_rate,
    wire_time,
)

HOUR = 3600


async def test_hours_by_type_count_paid_and_unpaid_breaks_apart(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    day = a_past_day()
    sam = await staff_member(tenant, Role.server)
    front = await till(app, tenant, "Front till", sam)
    punches = [
        front.punch("clock_in", local(day, "08:00")),
        front.punch("break_start", local(day, "10:00"), paid=True),
        front.punch("break_end", local(day, "10:15")),
        front.punch("break_start", local(day, "12:00")),
        front.punch("break_end", local(day, "12:45")),
        front.punch("clock_out", local(day, "16:00")),
    ]
    assert await send(client, front, punches) == [("applied", None)] * 6

    [shift] = (await shifts(client, tenant.headers, day, day))["items"]
    assert shift["employee"] == {"id": str(sam), "name": shift["employee"]["name"]}
    assert shift["employee"]["name"].startswith("server")
    assert shift["location"] == {"id": str(tenant.location_id), "name": "Main"}
    assert shift["business_day"] == day.isoformat()
    assert [(b["paid"], b["seconds"]) for b in shift["breaks"]] == [(True, 900), (False, 2700)]
    hours = shift["hours"]
    assert hours["regular_seconds"] == 8 * HOUR - 900 - 2700
    assert hours["paid_break_seconds"] == 900
    assert hours["unpaid_break_seconds"] == 2700
    assert hours["paid_seconds"] == 8 * HOUR - 2700
    assert (hours["paid_minutes"], hours["unpaid_break_minutes"]) == (435, 45)
    assert shift["job_role"] is None, "no role clocked in as, and no rate to tell one"
    assert shift["wage"] == {
        "job_role_id": None,
        "hourly_rate": None,
        "pay": None,
        "currency": "GBP",
    }


async def test_pay_is_at_the_rate_in_force_that_day_for_the_role_worked(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    monday = a_past_day(days_ago=9)
    tuesday = monday + timedelta(days=1)
    sam = await staff_member(tenant, Role.server)
    floor, bar = await job_role(tenant, "Floor"), await job_role(tenant, "Bar")
    await wage_rate(tenant, sam, floor, 1100, monday - timedelta(days=60))
    await wage_rate(tenant, sam, floor, 1200, tuesday)  # a rise from Tuesday
    await wage_rate(tenant, sam, bar, 1300, monday - timedelta(days=60))
    front = await till(app, tenant, "Front till", sam)
    punches = [
        front.punch("clock_in", local(monday, "10:00"), job_role_id=str(floor)),
        front.punch("clock_out", local(monday, "12:00")),
        front.punch("clock_in", local(tuesday, "10:00"), job_role_id=str(floor)),
        front.punch("clock_out", local(tuesday, "12:00")),
        front.punch("clock_in", local(tuesday, "18:00"), job_role_id=str(bar)),
        front.punch("clock_out", local(tuesday, "19:30")),
    ]
    assert await send(client, front, punches) == [("applied", None)] * 6

    read = await shifts(client, tenant.headers, monday, tuesday)
    assert [
        (s["business_day"], s["job_role"]["name"], s["wage"]["hourly_rate"], s["wage"]["pay"])
        for s in read["items"]
    ] == [
        (monday.isoformat(), "Floor", 1100, 2200),
        (tuesday.isoformat(), "Floor", 1200, 2400),
        (tuesday.isoformat(), "Bar", 1300, 1950),
    ]


async def test_wages_show_only_to_those_who_may_see_them_and_staff_read_only_their_own(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    day = a_past_day()
    sam = await staff_member(tenant, Role.cashier)
    kim = await make_employee(tenant, role=Role.server)
    await wage_rate(tenant, sam, await job_role(tenant, "Till"), 1150, day)
    front = await till(app, tenant, "Front till", sam)
    kims = await till(app, tenant, "Bar till", kim)
    ours = [
        front.punch("clock_in", local(day, "09:00")),
        front.punch("clock_out", local(day, "11:00")),
    ]
    theirs = [
        kims.punch("clock_in", local(day, "09:30")),
        kims.punch("clock_out", local(day, "10:30")),
    ]
    assert await send(client, front, ours) == [("applied", None)] * 2
    assert await send(client, kims, theirs) == [("applied", None)] * 2

    manager = await manager_headers(app, tenant)
    for headers in (tenant.headers, manager):
        both = await shifts(client, headers, day, day)
        assert len(both["items"]) == 2
        assert all("wage" in s for s in both["items"]), "owners and managers see wages"

    cashier = (await sign_in(app, front.ipad, sam)).headers
    own = await shifts(client, cashier, day, day)
    assert [s["employee"]["id"] for s in own["items"]] == [str(sam)], "their own by default"
    assert "wage" not in own["items"][0], "left out, not null"
    named = await shifts(client, cashier, day, day, employee_id=str(sam))
    assert named == own
    someone_else = await client.get(
        "/api/v1/time-clock/shifts",
        params={"start": day.isoformat(), "end": day.isoformat(), "employee_id": str(kim)},
        headers=cashier,
    )
    assert someone_else.status_code == 403, someone_else.text
    assert someone_else.json()["code"] == "forbidden"

    bare = await client.get(
        "/api/v1/time-clock/shifts",
        params={"start": day.isoformat(), "end": day.isoformat()},
        headers=front.ipad.headers,
    )
    assert bare.status_code == 403, "an iPad with nobody signed in reads no one's shifts"


async def test_another_restaurant_reads_nothing_of_ours(
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
    assert len((await shifts(client, tenant.headers, day, day))["items"]) == 1

    empty: dict[str, list[object]] = {"items": [], "stray_punches": []}
    for params in ({}, {"employee_id": str(sam)}, {"location_id": str(tenant.location_id)}):
        assert await shifts(client, other_tenant.headers, day, day, **params) == empty
    # ... exactly as for ids that exist nowhere.
    assert (
        await shifts(client, tenant.headers, day, day, employee_id=str(other_tenant.user_id))
        == empty
    )


async def test_a_forgotten_clock_out_closes_at_the_restaurants_limit_and_is_flagged(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await clock_rules(tenant, auto_close_after_minutes=8 * 60)
    day = a_past_day()
    sam = await staff_member(tenant, Role.server)
    front = await till(app, tenant, "Front till", sam)
    clock_in = front.punch("clock_in", local(day, "09:00"))
    assert await send(client, front, [clock_in]) == [("applied", None)]

    [shift] = (await shifts(client, tenant.headers, day, day))["items"]
    assert shift["auto_closed"] is True
    assert shift["ended_at"] == wire_time(local(day, "17:00"))
    assert shift["hours"]["paid_seconds"] == 8 * HOUR
    [flag] = shift["flags"]
    assert (flag["code"], flag["punch_id"]) == ("auto_closed", clock_in["entity_id"])
    assert flag["message"] == (
        "Nobody clocked out: the shift was closed 8 h after the clock-in at 09:00 on Front "
        "till. Add the clock-out at the time they left."
    )


async def test_a_shift_still_open_counts_up_to_now(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    sam = await staff_member(tenant, Role.server)
    front = await till(app, tenant, "Front till", sam)
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    assert await send(client, front, [front.punch("clock_in", started)]) == [("applied", None)]
    today = datetime.now(UTC).date()

    [shift] = (
        await shifts(client, tenant.headers, today - timedelta(days=1), today + timedelta(days=1))
    )["items"]
    assert shift["ended_at"] is None
    assert HOUR <= shift["hours"]["paid_seconds"] < HOUR + 120


async def test_a_shift_belongs_to_the_business_day_it_started_in(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    day = a_past_day()
    sam = await staff_member(tenant, Role.server)
    front = await till(app, tenant, "Front till", sam)
    late_night = [
        front.punch("clock_in", local(day, "18:00")),
        front.punch("clock_out", local(day + timedelta(days=1), "02:00")),
        # Before the 04:00 day start: still the evening before's business day.
        front.punch("clock_in", local(day + timedelta(days=1), "02:30")),
        front.punch("clock_out", local(day + timedelta(days=1), "03:30")),
    ]
    assert await send(client, front, late_night) == [("applied", None)] * 4

    read = await shifts(client, tenant.headers, day, day)
    assert [s["business_day"] for s in read["items"]] == [day.isoformat()] * 2
    assert (await shifts(client, tenant.headers, day + timedelta(days=1), day + timedelta(days=1)))[
        "items"
    ] == []


@pytest.mark.parametrize(
    ("clocked", "expected"),
    [
        (
            "08:40",
            (
                "early",
                "Clocked in at 08:40 on Front till, 20 min before the scheduled 09:00 start.",
            ),
        ),
        ("08:50", None),
        ("09:05", None),
        (
            "09:12",
            ("late", "Clocked in at 09:12 on Front till, 12 min after the scheduled 09:00 start."),
        ),
    ],
)
async def test_clocking_in_well_before_or_after_the_schedule_is_flagged_and_still_counts(
    app: Litestar,
    client: httpx.AsyncClient,
    tenant: Tenant,
    clocked: str,
    expected: tuple[str, str] | None,
) -> None:
    day = a_past_day()
    sam = await staff_member(tenant, Role.server)
    await planned_shift(tenant, sam, local(day, "09:00"), local(day, "17:00"))
    await planned_shift(tenant, sam, local(day, "19:00"), local(day, "22:00"))
    front = await till(app, tenant, "Front till", sam)
    made = [
        front.punch("clock_in", local(day, clocked)),
        front.punch("clock_out", local(day, "17:00")),
    ]
    assert await send(client, front, made) == [("applied", None)] * 2

    [shift] = (await shifts(client, tenant.headers, day, day))["items"]
    flags = [(f["code"], f["message"]) for f in shift["flags"]]
    if expected is None:
        assert flags == []
    else:
        [(code, message)] = flags
        assert code == expected[0]
        assert message.startswith(expected[1])
    assert shift["started_at"] == wire_time(local(day, clocked)), "hours count from the punch"


async def test_a_period_is_checked_and_refused_in_problem_json(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    day = a_past_day()
    for params, field in (
        ({"start": day.isoformat(), "end": (day - timedelta(days=1)).isoformat()}, "end"),
        ({"start": day.isoformat(), "end": (day + timedelta(days=367)).isoformat()}, "end"),
        ({"start": "yesterday", "end": day.isoformat()}, "start"),
        ({"end": day.isoformat()}, "start"),
        ({"start": day.isoformat(), "end": day.isoformat(), "employee_id": "sam"}, "employee_id"),
    ):
        for route in ("shifts", "timesheets", "corrections"):
            response = await client.get(
                f"/api/v1/time-clock/{route}", params=params, headers=tenant.headers
            )
            assert response.status_code == 400, (route, params, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            problem = response.json()
            assert problem["code"] == "validation_failed"
            # Litestar names a missing parameter in the detail only.
            assert problem.get("field") == field or f"parameter '{field}'" in problem["detail"]
    a_year = await client.get(
        "/api/v1/time-clock/shifts",
        params={"start": day.isoformat(), "end": (day + timedelta(days=366)).isoformat()},
        headers=tenant.headers,
    )
    assert a_year.status_code == 200, a_year.text
    long_ago = await shifts(
        client, tenant.headers, datetime(1, 1, 1).date(), datetime(1, 12, 31).date()
    )
    assert long_ago == {"items": [], "stray_punches": []}


async def test_one_shift_and_one_punch_read_as_in_the_list_and_only_by_those_allowed(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    day = a_past_day()
    sam = await staff_member(tenant, Role.server)
    kim = await make_employee(tenant, role=Role.cashier)
    front = await till(app, tenant, "Front till", sam)
    bar = await till(app, tenant, "Bar till", sam)
    clock_in = front.punch("clock_in", local(day, "09:00"))
    again = bar.punch("clock_in", local(day, "09:01"))
    out = front.punch("clock_out", local(day, "12:00"))
    stray = front.punch("break_end", local(day, "13:00"))
    assert await send(client, front, [clock_in, out, stray]) == [("applied", None)] * 3
    assert await send(client, bar, [again]) == [("applied", None)]
    [listed] = (await shifts(client, tenant.headers, day, day))["items"]

    async def shift(headers: dict[str, str], shift_id: str) -> httpx.Response:
        return await client.get(f"/api/v1/time-clock/shifts/{shift_id}", headers=headers)

    async def punch(headers: dict[str, str], punch_id: str) -> httpx.Response:
        return await client.get(f"/api/v1/time-clock/punches/{punch_id}", headers=headers)

    one = await shift(tenant.headers, clock_in["entity_id"])
    assert one.status_code == 200, one.text
    assert one.json() == listed
    sams = (await sign_in(app, front.ipad, sam)).headers
    kims = (await sign_in(app, front.ipad, kim)).headers
    assert (await shift(sams, clock_in["entity_id"])).status_code == 200, "their own"
    assert "wage" not in (await shift(sams, clock_in["entity_id"])).json()
    for headers, shift_id in (
        (kims, clock_in["entity_id"]),  # a colleague's, as if it did not exist
        (other_tenant.headers, clock_in["entity_id"]),  # another restaurant's
        (tenant.headers, again["entity_id"]),  # a punch that opened no shift
        (tenant.headers, str(uuid4())),
    ):
        missing = await shift(headers, shift_id)
        assert (missing.status_code, missing.json()["detail"]) == (404, "no such shift")

    flagged = (await punch(tenant.headers, again["entity_id"])).json()
    assert flagged["shift_id"] == clock_in["entity_id"]
    assert (flagged["punch"]["status"], flagged["punch"]["flag"]) == (
        "flagged",
        "duplicate_clock_in",
    )
    assert flagged["punch"]["device_name"] == "Bar till"
    alone = (await punch(tenant.headers, stray["entity_id"])).json()
    assert (alone["shift_id"], alone["punch"]["flag"]) == (None, "not_clocked_in")
    assert alone["business_day"] == day.isoformat()
    for headers, punch_id in (
        (other_tenant.headers, clock_in["entity_id"]),
        (tenant.headers, str(uuid4())),
    ):
        missing = await punch(headers, punch_id)
        assert (missing.status_code, missing.json()["detail"]) == (404, "no such punch")
    assert (await punch(sams, clock_in["entity_id"])).status_code == 403, "managers only"
