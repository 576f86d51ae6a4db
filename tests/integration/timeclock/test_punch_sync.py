"""Punches from iPads, end to end: pushed through sync while offline and late, read back as
shifts (issue 18: "a shift clocked on one iPad and ended on another, with a break, while
both were offline, appears exactly once with the right hours and pay after they reconnect").

What can never be a fact (a punch by a bare iPad, in another iPad's name, dated ahead, for
someone the restaurant lacks, or for a colleague without a manager) is refused and kept in
the quarantine; what merely contradicts a shift (two clock-ins) is kept and flagged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
from litestar import Litestar

from server.auth.offline import statement_of
from server.auth.tables import Role
from tests.factories import Tenant, make_employee, offline_sign_in, staff_member
from tests.integration.sync.test_push_rules import quarantine
from tests.integration.timeclock.punch_fixtures import (
    a_past_day,
    job_role,
    local,
    send,
    shifts,
    sql,
    till,
    timesheets,
    wage_rate,
    wire_time,
)

HOUR = 3600


async def test_a_shift_clocked_on_one_ipad_and_ended_on_another_with_a_break_while_both_were_offline_appears_exactly_once_with_the_right_hours_and_pay_after_they_reconnect(  # noqa: E501 (the issue's words)
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    day = a_past_day()
    sam = await staff_member(tenant, Role.server)
    await wage_rate(tenant, sam, await job_role(tenant, "Server"), 1150, day - timedelta(days=30))
    front = await till(app, tenant, "Front till", sam)
    bar = await till(app, tenant, "Bar till", sam)

    # A shift clocked on one iPad and ended on another, with a break, while both were offline:
    clock_in = front.punch("clock_in", local(day, "09:00"))
    break_start = front.punch("break_start", local(day, "12:00"))
    break_end = front.punch("break_end", local(day, "12:30"))
    clock_out = bar.punch("clock_out", local(day, "15:00"), declared_tips=850)

    # ... they reconnect: the clock-out arrives first, alone, and waits as a stray punch,
    assert await send(client, bar, [clock_out]) == [("applied", None)]
    waiting = await shifts(client, tenant.headers, day, day)
    assert waiting["items"] == []
    assert [s["flag"]["code"] for s in waiting["stray_punches"]] == ["not_clocked_in"]
    # the other iPad's batch comes in any order, and again (its answer was lost),
    batch = uuid4()
    front_punches = [break_end, clock_in, break_start]
    assert await send(client, front, front_punches, batch) == [("applied", None)] * 3
    assert await send(client, front, front_punches, batch) == [("applied", None)] * 3
    # and the clock-out is sent once more as a new change (an outbox replayed after a crash).
    assert await send(client, bar, [bar.again(clock_out)]) == [("duplicate", None)]

    # ... appears exactly once,
    read = await shifts(client, tenant.headers, day, day)
    assert read["stray_punches"] == []
    [shift] = read["items"]
    assert shift["id"] == clock_in["entity_id"]
    assert shift["started_at"] == wire_time(local(day, "09:00"))
    assert shift["ended_at"] == wire_time(local(day, "15:00"))
    assert [(p["kind"], p["device_name"], p["status"]) for p in shift["punches"]] == [
        ("clock_in", "Front till", "counted"),
        ("break_start", "Front till", "counted"),
        ("break_end", "Front till", "counted"),
        ("clock_out", "Bar till", "counted"),
    ]
    assert shift["flags"] == []
    # with the right hours: six hours in, half an hour of it an unpaid break,
    assert shift["hours"] == {
        "regular_seconds": 5 * HOUR + 1800,
        "paid_break_seconds": 0,
        "unpaid_break_seconds": 1800,
        "paid_seconds": 5 * HOUR + 1800,
        "regular_minutes": 330,
        "paid_break_minutes": 0,
        "unpaid_break_minutes": 30,
        "paid_minutes": 330,
    }
    # and the right pay: 5.5 hours at £11.50 is £63.25.
    assert shift["wage"]["hourly_rate"] == 1150
    assert shift["wage"]["pay"] == 6325
    [sheet] = (await timesheets(client, tenant.headers, day, day))["items"]
    assert sheet["totals"]["pay"] == 6325
    assert sheet["totals"]["hours"]["paid_seconds"] == 5 * HOUR + 1800
    assert sheet["totals"]["declared_tips"] == 850
    punches = await sql("SELECT count(*) FROM time_punches WHERE employee_id = $1", sam)
    assert punches == 4, "every punch stored once"


async def test_two_clock_ins_from_two_ipads_make_one_shift_and_the_second_is_flagged(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    day = a_past_day()
    sam = await staff_member(tenant, Role.server)
    front = await till(app, tenant, "Front till", sam)
    bar = await till(app, tenant, "Bar till", sam)
    first = front.punch("clock_in", local(day, "17:00"))
    second = bar.punch("clock_in", local(day, "17:04"))
    out = front.punch("clock_out", local(day, "23:00"))

    assert await send(client, bar, [second]) == [("applied", None)]
    assert await send(client, front, [first, out]) == [("applied", None)] * 2

    [shift] = (await shifts(client, tenant.headers, day, day))["items"]
    assert shift["id"] == first["entity_id"], "the earlier clock-in stands"
    assert shift["hours"]["paid_seconds"] == 6 * HOUR
    [flag] = shift["flags"]
    assert (flag["code"], flag["punch_id"]) == ("duplicate_clock_in", second["entity_id"])
    assert "17:04 on Bar till" in flag["message"]
    assert "earlier clock-in counts" in flag["message"]
    kept = {p["id"]: p["status"] for p in shift["punches"]}
    assert kept[second["entity_id"]] == "flagged"


async def test_clocking_a_colleague_needs_a_manager_and_waits_in_the_quarantine_until_one_approves(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    day = a_past_day()
    cashier = await staff_member(tenant, Role.cashier)
    colleague = await make_employee(tenant, role=Role.server)
    front = await till(app, tenant, "Front till", cashier)

    alone = front.punch("clock_in", local(day, "10:00"), employee_id=colleague)
    assert await send(client, front, [alone]) == [("rejected", "needs_approval")]
    kept = [q for q in await quarantine(client, tenant) if q["entity_id"] == alone["entity_id"]]
    assert [(q["reason"], q["state"]) for q in kept] == [("needs_approval", "open")]
    assert (await shifts(client, tenant.headers, day, day))["items"] == []

    manager = await offline_sign_in(front.ipad, await staff_member(tenant, Role.manager))
    approved = front.punch("clock_in", local(day, "10:00"), employee_id=colleague)
    approved = front.ipad.signed(approved) | {
        "approval": manager.approval(
            "timeclock.punch_others", statement_of(front.device_id, approved)
        )
    }
    assert await send(client, front, [approved]) == [("applied", None)]
    [shift] = (await shifts(client, tenant.headers, day, day, employee_id=colleague))["items"]
    assert shift["id"] == approved["entity_id"]


async def test_a_manager_signed_in_clocks_a_colleague_alone(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    day = a_past_day()
    colleague = await make_employee(tenant, role=Role.kitchen)
    office = await till(app, tenant, "Office", await staff_member(tenant, Role.manager))
    punch = office.punch("clock_in", local(day, "06:00"), employee_id=colleague)
    assert await send(client, office, [punch]) == [("applied", None)]


async def test_an_ipad_with_nobody_signed_in_cannot_punch(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    sam = await staff_member(tenant, Role.server)
    bare = await till(app, tenant, "Front till", None)
    punch = bare.punch("clock_in", datetime.now(UTC) - timedelta(hours=1), employee_id=sam)
    assert await send(client, bare, [punch]) == [("rejected", "not_permitted")]
    assert await _kept(client, tenant, punch) == "not_permitted"


async def test_a_punch_in_another_ipads_name_or_dated_ahead_is_refused_and_kept(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    sam = await staff_member(tenant, Role.server)
    front = await till(app, tenant, "Front till", sam)
    bar = await till(app, tenant, "Bar till", sam)
    now = datetime.now(UTC)
    borrowed = front.punch("clock_in", now - timedelta(hours=1), device_id=str(bar.device_id))
    ahead = front.punch("clock_in", now + timedelta(minutes=10))
    slightly_fast = front.punch("clock_in", now + timedelta(minutes=2))

    assert await send(client, front, [borrowed, ahead, slightly_fast]) == [
        ("rejected", "invalid_fields"),
        ("rejected", "punch_in_future"),
        ("applied", None),
    ]
    assert await _kept(client, tenant, borrowed) == "invalid_fields"
    assert await _kept(client, tenant, ahead) == "punch_in_future"
    assert await sql("SELECT count(*) FROM time_punches WHERE employee_id = $1", sam) == 1


async def test_a_punch_for_an_employee_the_restaurant_lacks_is_kept_in_the_quarantine(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    elsewhere = await staff_member(other_tenant, Role.server)
    office = await till(app, tenant, "Office", await staff_member(tenant, Role.manager))
    at = datetime.now(UTC) - timedelta(hours=2)
    unknown = office.punch("clock_in", at, employee_id=uuid4())
    theirs = office.punch("clock_in", at, employee_id=elsewhere)

    assert await send(client, office, [unknown, theirs]) == [
        ("rejected", "unknown_employee"),
        ("rejected", "unknown_employee"),
    ]
    assert await _kept(client, tenant, unknown) == "unknown_employee"
    assert await _kept(client, tenant, theirs) == "unknown_employee"
    assert await sql("SELECT count(*) FROM time_punches WHERE employee_id = $1", elsewhere) == 0


async def test_a_punch_is_never_edited_or_deleted(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    day = a_past_day()
    sam = await staff_member(tenant, Role.server)
    front = await till(app, tenant, "Front till", sam)
    punch = front.punch("clock_in", local(day, "09:00"))
    assert await send(client, front, [punch]) == [("applied", None)]

    later = front.again(punch, at=local(day, "08:00").isoformat())
    gone = front.change("time_punch", UUID(punch["entity_id"]), {}) | {"op": "delete"}
    assert await send(client, front, [later, gone]) == [
        ("rejected", "immutable"),
        ("rejected", "delete_not_allowed"),
    ]
    [shift] = (await shifts(client, tenant.headers, day, day))["items"]
    assert shift["started_at"] == wire_time(local(day, "09:00")), "it stands as first made"
    assert await _kept(client, tenant, later) == "immutable"


async def _kept(client: httpx.AsyncClient, tenant: Tenant, made: dict[str, Any]) -> str:
    """The reason the quarantine keeps the change ``made`` under (it must be there)."""
    found = [
        q
        for q in await quarantine(client, tenant)
        if q["entity_id"] == made["entity_id"] and q["seq"] == made["seq"]
    ]
    assert len(found) == 1, f"{made['entity_id']} is not in the quarantine"
    assert found[0]["change"]["fields"] == made["fields"], "kept whole"
    reason: str = found[0]["reason"]
    return reason


async def test_a_punch_from_an_ipad_whose_clock_was_reset_is_refused_and_kept(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    sam = await staff_member(tenant, Role.server)
    front = await till(app, tenant, "Front till", sam)
    epoch = front.punch("clock_in", datetime(1970, 1, 1, tzinfo=UTC))
    year_one = front.punch("clock_in", datetime(1, 1, 1, 12, tzinfo=UTC))
    assert await send(client, front, [epoch, year_one]) == [("rejected", "invalid_fields")] * 2
    assert await _kept(client, tenant, epoch) == "invalid_fields"
    assert await sql("SELECT count(*) FROM time_punches WHERE employee_id = $1", sam) == 0
    for made in (epoch, year_one):
        answer = await client.get(
            f"/api/v1/time-clock/punches/{made['entity_id']}", headers=tenant.headers
        )
        assert answer.status_code == 404, answer.text
