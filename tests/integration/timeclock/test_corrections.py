"""``POST /api/v1/time-clock/corrections``: a manager adds, moves or voids a punch with a
reason. The punch an iPad sent stays as sent; the correction is a new record, in the audit
log with the punch before and after, in the feed of the location's iPads, and shown on the
shift beside the original punches.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from litestar import Litestar

from server.auth.tables import Role
from tests.factories import Tenant, make_employee, sign_in, staff_member
from tests.integration.sync.test_push_pull import pull_all
from tests.integration.timeclock.punch_fixtures import (
    Till,
    a_past_day,
    clock_rules,
    correct,
    job_role,
    local,
    manager_headers,
    send,
    shifts,
    sql,
    till,
    wage_rate,
    wire_time,
)

HOUR = 3600


async def forgotten_clock_out(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> tuple[Till, dict[str, Any]]:
    """A server who clocked in at 09:00 on a past day and never clocked out."""
    await clock_rules(tenant, auto_close_after_minutes=12 * 60)
    sam = await staff_member(tenant, Role.server)
    front = await till(app, tenant, "Front till", sam)
    clock_in = front.punch("clock_in", local(a_past_day(), "09:00"))
    assert await send(client, front, [clock_in]) == [("applied", None)]
    return front, clock_in


async def test_a_forgotten_clock_out_added_by_a_manager_ends_the_shift_and_is_auditable(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    day = a_past_day()
    front, _ = await forgotten_clock_out(app, client, tenant)
    sam = await staff_member(tenant, Role.server)
    await wage_rate(tenant, sam, await job_role(tenant, "Floor"), 1150, day)
    [before] = (await shifts(client, tenant.headers, day, day))["items"]
    assert before["auto_closed"] is True and before["hours"]["paid_seconds"] == 12 * HOUR

    added = await correct(
        client,
        tenant.headers,
        action="add",
        employee_id=sam,
        location_id=tenant.location_id,
        kind="clock_out",
        at=local(day, "14:30"),
        declared_tips=400,
        reason="Forgot to clock out; left at 14:30 (rota and till)",
    )
    assert added.status_code == 201, added.text
    correction = added.json()
    assert (correction["action"], correction["before"]) == ("add", None)
    assert correction["after"]["kind"] == "clock_out"
    assert correction["corrected_by"] == str(tenant.user_id)
    assert correction["corrected_by_name"] == "Test owner"

    [after] = (await shifts(client, tenant.headers, day, day))["items"]
    assert (after["auto_closed"], after["flags"]) == (False, [])
    assert after["ended_at"] == wire_time(local(day, "14:30"))
    assert after["hours"]["paid_seconds"] == 5 * HOUR + 1800
    assert (after["wage"]["pay"], after["declared_tips"]) == (6325, 400)
    # Both the original punches and the correction are shown.
    assert [(p["kind"], p["device_name"], p["recorded_at"]) for p in after["punches"]] == [
        ("clock_in", "Front till", wire_time(local(day, "09:00"))),
        ("clock_out", None, None),
    ]
    [shown] = after["corrections"]
    assert shown == correction

    [entry] = await audited(client, tenant, correction["punch_id"])
    assert entry["actor_id"] == str(tenant.user_id)
    assert entry["details"]["reason"] == "Forgot to clock out; left at 14:30 (rota and till)"
    assert entry["details"]["before"] is None
    assert entry["details"]["after"]["at"] == wire_time(local(day, "14:30"))
    assert entry["details"]["correction_id"] == correction["id"]

    # Every iPad of the location receives it, with what it needs to derive the same shift.
    pulled, _ = await pull_all(client, front.ipad)
    [synced] = [c for c in pulled if c["entity_type"] == "time_punch_correction"]
    assert synced["entity_id"] == correction["id"]
    assert synced["location_id"] == str(tenant.location_id)
    assert synced["data"] | {"created_at": None} == {
        "action": "add",
        "punch_id": correction["punch_id"],
        "employee_id": str(sam),
        "location_id": str(tenant.location_id),
        "kind": "clock_out",
        "at": wire_time(local(day, "14:30")),
        "paid": False,
        "job_role_id": None,
        "declared_tips": 400,
        "reason": "Forgot to clock out; left at 14:30 (rota and till)",
        "corrected_by": str(tenant.user_id),
        "created_at": None,
    }


async def test_a_moved_punch_keeps_its_original_time_beside_the_new_one(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    day = a_past_day()
    sam = await staff_member(tenant, Role.server)
    front = await till(app, tenant, "Front till", sam)
    clock_in = front.punch("clock_in", local(day, "08:00"))
    clock_out = front.punch("clock_out", local(day, "16:00"))
    assert await send(client, front, [clock_in, clock_out]) == [("applied", None)] * 2
    manager = await manager_headers(app, tenant)

    moved = await correct(
        client,
        manager,
        action="move",
        punch_id=clock_in["entity_id"],
        at=local(day, "09:00"),
        reason="Clocked in on arrival, started at nine",
    )
    assert moved.status_code == 201, moved.text
    assert moved.json()["before"]["at"] == wire_time(local(day, "08:00"))
    assert moved.json()["after"]["at"] == wire_time(local(day, "09:00"))

    [shift] = (await shifts(client, tenant.headers, day, day))["items"]
    assert shift["id"] == clock_in["entity_id"]
    assert shift["started_at"] == wire_time(local(day, "09:00"))
    assert shift["hours"]["paid_seconds"] == 7 * HOUR
    first = shift["punches"][0]
    assert (first["at"], first["recorded_at"]) == (
        wire_time(local(day, "09:00")),
        wire_time(local(day, "08:00")),
    )
    stored = await sql("SELECT at FROM time_punches WHERE id = $1", clock_in["entity_id"])
    assert stored == local(day, "08:00"), "the punch itself is never rewritten"
    assert [c["corrected_by_name"] for c in shift["corrections"]] == ["Morgan Manager"]


async def test_voiding_a_duplicate_clock_in_clears_its_flag_and_keeps_it_visible(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    day = a_past_day()
    sam = await staff_member(tenant, Role.server)
    front = await till(app, tenant, "Front till", sam)
    bar = await till(app, tenant, "Bar till", sam)
    first, out = (
        front.punch("clock_in", local(day, "12:00")),
        front.punch("clock_out", local(day, "18:00")),
    )
    second = bar.punch("clock_in", local(day, "12:02"))
    assert await send(client, front, [first, out]) == [("applied", None)] * 2
    assert await send(client, bar, [second]) == [("applied", None)]

    voided = await correct(
        client, tenant.headers, action="void", punch_id=second["entity_id"], reason="Double tap"
    )
    assert voided.status_code == 201, voided.text
    assert voided.json()["after"] is None

    [shift] = (await shifts(client, tenant.headers, day, day))["items"]
    assert shift["flags"] == []
    assert {p["id"]: p["status"] for p in shift["punches"]} == {
        first["entity_id"]: "counted",
        second["entity_id"]: "voided",
        out["entity_id"]: "counted",
    }
    assert [c["action"] for c in shift["corrections"]] == ["void"]

    again = await correct(
        client, tenant.headers, action="void", punch_id=second["entity_id"], reason="Double tap"
    )
    assert again.status_code == 409, again.text
    moved = await correct(
        client,
        tenant.headers,
        action="move",
        punch_id=second["entity_id"],
        at=local(day, "12:05"),
        reason="Wrong time",
    )
    assert moved.status_code == 409, moved.text
    assert len(await audited(client, tenant, second["entity_id"])) == 1


async def test_a_voided_stray_punch_is_still_shown_with_its_correction(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    day = a_past_day()
    sam = await staff_member(tenant, Role.server)
    front = await till(app, tenant, "Front till", sam)
    stray = front.punch("clock_out", local(day, "23:00"))
    assert await send(client, front, [stray]) == [("applied", None)]
    [flagged] = (await shifts(client, tenant.headers, day, day))["stray_punches"]
    assert flagged["flag"]["code"] == "not_clocked_in"
    assert flagged["flag"]["message"].startswith("Clocked out at 23:00 on Front till")

    voided = await correct(
        client, tenant.headers, action="void", punch_id=stray["entity_id"], reason="Test tap"
    )
    assert voided.status_code == 201, voided.text
    [kept] = (await shifts(client, tenant.headers, day, day))["stray_punches"]
    assert (kept["punch"]["status"], kept["flag"]) == ("voided", None)
    assert [c["id"] for c in kept["corrections"]] == [voided.json()["id"]]


async def test_the_corrections_of_an_employee_or_a_shift_are_listed(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    day = a_past_day()
    _, clock_in = await forgotten_clock_out(app, client, tenant)
    sam = await staff_member(tenant, Role.server)
    moved = await correct(
        client,
        tenant.headers,
        action="move",
        punch_id=clock_in["entity_id"],
        at=local(day, "09:30"),
        reason="Started late",
    )
    added = await correct(
        client,
        tenant.headers,
        action="add",
        employee_id=sam,
        location_id=tenant.location_id,
        kind="clock_out",
        at=local(day, "15:00"),
        reason="Forgot to clock out",
    )
    assert (moved.status_code, added.status_code) == (201, 201)
    params = {"start": day.isoformat(), "end": day.isoformat()}

    async def listed(headers: dict[str, str], **more: Any) -> list[str]:
        response = await client.get(
            "/api/v1/time-clock/corrections", params=params | more, headers=headers
        )
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()]

    both = [moved.json()["id"], added.json()["id"]]
    assert await listed(tenant.headers) == both
    assert await listed(tenant.headers, employee_id=str(sam)) == both
    assert await listed(tenant.headers, employee_id=str(uuid4())) == []
    assert await listed(other_tenant.headers) == []
    assert await listed(other_tenant.headers, employee_id=str(sam)) == []

    # A shift's own corrections come with it, and each punch's with the punch.
    shift = await client.get(
        f"/api/v1/time-clock/shifts/{clock_in['entity_id']}", headers=tenant.headers
    )
    assert shift.status_code == 200, shift.text
    assert [c["id"] for c in shift.json()["corrections"]] == both
    punch = await client.get(
        f"/api/v1/time-clock/punches/{added.json()['punch_id']}", headers=tenant.headers
    )
    assert punch.status_code == 200, punch.text
    assert punch.json()["shift_id"] == clock_in["entity_id"]
    assert (punch.json()["punch"]["kind"], punch.json()["punch"]["status"]) == (
        "clock_out",
        "counted",
    )
    assert [c["id"] for c in punch.json()["corrections"]] == [added.json()["id"]]


async def test_another_restaurants_punch_is_not_found_as_a_missing_one_is(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    _, clock_in = await forgotten_clock_out(app, client, tenant)
    for punch_id in (clock_in["entity_id"], str(uuid4())):
        response = await correct(
            client, other_tenant.headers, action="void", punch_id=punch_id, reason="Probing"
        )
        assert response.status_code == 404, response.text
        assert response.json()["detail"] == "no such punch"
    theirs = await staff_member(other_tenant, Role.server)
    add = await correct(
        client,
        tenant.headers,
        action="add",
        employee_id=theirs,
        location_id=tenant.location_id,
        kind="clock_in",
        at=datetime.now(UTC) - timedelta(hours=1),
        reason="Probing",
    )
    assert add.status_code == 400, add.text
    assert (add.json()["detail"], add.json()["field"]) == ("no such employee", "employee_id")
    elsewhere = await correct(
        client,
        tenant.headers,
        action="add",
        employee_id=await staff_member(tenant, Role.server),
        location_id=other_tenant.location_id,
        kind="clock_in",
        at=datetime.now(UTC) - timedelta(hours=1),
        reason="Probing",
    )
    assert (elsewhere.json()["detail"], elsewhere.json()["field"]) == (
        "no such location",
        "location_id",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "void"}, "reason"),
        ({"action": "void", "reason": "no"}, "reason"),
        ({"action": "void", "reason": "   "}, "reason"),
        ({"action": "void", "reason": "x" * 501}, "reason"),
        ({"action": "void", "reason": "Wrong", "at": "2026-01-01T09:00:00Z"}, "at"),
        ({"action": "move", "reason": "Wrong"}, "at"),
        ({"action": "add", "reason": "Forgot", "kind": "clock_in"}, "employee_id"),
        ({"action": "move", "reason": "Wrong", "at": "2026-01-01T09:00:00"}, "at"),
        ({"action": "move", "reason": "Wrong", "at": "2999-01-01T09:00:00Z"}, "at"),
        ({"action": "move", "reason": "Wrong", "at": "1969-01-01T09:00:00Z"}, "at"),
        ({"action": "void", "reason": "Wrong", "kind": "clock_in"}, "kind"),
        ({"action": "void", "reason": "Wrong", "surprise": 1}, "surprise"),
    ],
)
async def test_a_correction_needs_a_reason_and_the_members_of_its_action(
    app: Litestar,
    client: httpx.AsyncClient,
    tenant: Tenant,
    body: dict[str, Any],
    field: str,
) -> None:
    _, clock_in = await forgotten_clock_out(app, client, tenant)
    if body["action"] != "add":
        body = {"punch_id": clock_in["entity_id"], **body}
    response = await client.post(
        "/api/v1/time-clock/corrections", json=body, headers=tenant.headers
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "validation_failed"
    assert response.json()["field"] == field
    assert (
        await sql(
            "SELECT count(*) FROM time_punch_corrections WHERE restaurant_id = $1",
            tenant.restaurant_id,
        )
        == 0
    )


async def test_tips_are_declared_only_on_a_clock_out(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await correct(
        client,
        tenant.headers,
        action="add",
        employee_id=await staff_member(tenant, Role.server),
        location_id=tenant.location_id,
        kind="clock_in",
        at=datetime.now(UTC) - timedelta(hours=1),
        declared_tips=100,
        reason="Forgot",
    )
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "declared_tips"


async def test_only_managers_correct(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    front, clock_in = await forgotten_clock_out(app, client, tenant)
    sam = await staff_member(tenant, Role.server)
    manager_on_ipad = (
        await sign_in(app, front.ipad, await staff_member(tenant, Role.manager))
    ).headers
    callers = {
        "the server themself": ((await sign_in(app, front.ipad, sam)).headers, 403),
        "a cashier": (
            (
                await sign_in(app, front.ipad, await make_employee(tenant, role=Role.cashier))
            ).headers,
            403,
        ),
        "an iPad with nobody signed in": (front.ipad.headers, 403),
        "a manager on the iPad": (manager_on_ipad, 201),
    }
    answers = {}
    for who, (headers, _) in callers.items():
        response = await correct(
            client,
            headers,
            action="move",
            punch_id=clock_in["entity_id"],
            at=local(a_past_day(), "09:10"),
            reason="Started at ten past",
        )
        answers[who] = response.status_code
    assert answers == {who: status for who, (_, status) in callers.items()}
    [shift] = (await shifts(client, tenant.headers, a_past_day(), a_past_day()))["items"]
    assert shift["started_at"] == wire_time(local(a_past_day(), "09:10"))
    [correction] = shift["corrections"]
    assert correction["corrected_by"] == str(await staff_member(tenant, Role.manager))


async def audited(client: httpx.AsyncClient, tenant: Tenant, punch_id: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/audit", params={"limit": 100}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return [
        entry
        for entry in response.json()["items"]
        if entry["action"] == "timeclock.correction" and entry["target_id"] == punch_id
    ]


async def test_a_clock_in_added_in_a_role_is_paid_at_that_roles_rate(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    day = a_past_day()
    sam = await staff_member(tenant, Role.server)
    floor, bar = await job_role(tenant, "Floor"), await job_role(tenant, "Bar")
    await wage_rate(tenant, sam, floor, 1150, day)
    await wage_rate(tenant, sam, bar, 1300, day)  # the later rate: what a role-less shift gets
    common = {"employee_id": sam, "location_id": tenant.location_id, "reason": "Paper rota"}
    added = await correct(
        client, tenant.headers, action="add", kind="clock_in", at=local(day, "09:00"),
        job_role_id=floor, **common,
    )  # fmt: skip
    assert added.status_code == 201, added.text
    assert added.json()["after"]["job_role_id"] == str(floor)
    out = await correct(
        client, tenant.headers, action="add", kind="clock_out", at=local(day, "11:00"), **common
    )
    assert out.status_code == 201, out.text

    [shift] = (await shifts(client, tenant.headers, day, day))["items"]
    assert shift["job_role"]["id"] == str(floor)
    assert (shift["wage"]["hourly_rate"], shift["wage"]["pay"]) == (1150, 2300)

    # A role on anything but a clock-in, and another restaurant's role, are refused by name.
    on_clock_out = await correct(
        client, tenant.headers, action="add", kind="clock_out", at=local(day, "12:00"),
        job_role_id=floor, **common,
    )  # fmt: skip
    assert on_clock_out.status_code == 400, on_clock_out.text
    assert on_clock_out.json()["field"] == "job_role_id"
    theirs = await job_role(other_tenant, "Floor")
    foreign = await correct(
        client, tenant.headers, action="add", kind="clock_in", at=local(day, "13:00"),
        job_role_id=theirs, **common,
    )  # fmt: skip
    assert foreign.status_code == 400, foreign.text
    refused = (foreign.json()["detail"], foreign.json()["field"])
    assert refused == ("no such job role", "job_role_id")
