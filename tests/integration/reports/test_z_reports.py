"""Z-reports: numbered without gaps per location under concurrent closes, stored once and
never changed, reproducible, corrected only by later days; who may close and read them."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from uuid import uuid4

import asyncpg
import httpx
import pytest
from litestar import Litestar

from server.auth.tables import Role
from server.timeclock.services import business_day
from tests.factories import Tenant, make_ipad, sign_in, staff_member
from tests.integration.reports.api import clock_at, close_day, report, sql, x_report
from tests.integration.timeclock.punch_fixtures import local
from tests.integration.timeclock.report_fixtures import back_office, paid_order, payment, refunded
from tests.problems import assert_problem

MONDAY = date(2026, 11, 2)
LATER = datetime(2026, 12, 1, 12, tzinfo=UTC)
"""When the closes below happen: every day they close has ended."""


async def sale(tenant: Tenant, at: datetime, price: int = 600) -> None:
    order = await paid_order(tenant, at, [("Soup", price, 1, 2000)])
    await payment(tenant, order, method="card", tip=0, at=at, employee=None, amount=price)


async def test_concurrent_closes_take_consecutive_numbers_and_one_day_closes_once(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    days = [MONDAY + timedelta(n) for n in range(4)]
    for day in days:
        await sale(tenant, local(day, "13:00"))
    with clock_at(LATER):
        answers = await asyncio.gather(
            *(close_day(client, tenant.headers, tenant.location_id, day) for day in days),
            close_day(client, tenant.headers, tenant.location_id, days[0]),
            close_day(client, tenant.headers, tenant.location_id, days[0]),
        )
    issued = [a.json() for a in answers if a.status_code == 201]
    refused = [a for a in answers if a.status_code != 201]
    assert sorted(z["number"] for z in issued) == [1, 2, 3, 4]
    assert sorted(z["business_day"] for z in issued) == [d.isoformat() for d in days]
    first = next(z for z in issued if z["business_day"] == days[0].isoformat())
    for answer in refused:
        problem = assert_problem(answer, 409, "z_report.day_closed", "business_day")
        assert problem["number"] == first["number"]
    assert await sql("SELECT last_number FROM z_report_counters WHERE location_id = $1",
                     tenant.location_id) == 4  # fmt: skip
    listed = await report(client, tenant.headers, "z", start=days[0], end=days[-1])
    # Listed by business day; each day has the number its close took.
    assert [(z["business_day"], z["number"]) for z in listed.json()["reports"]] == sorted(
        (z["business_day"], z["number"]) for z in issued
    )


async def test_a_close_that_fails_leaves_no_hole(client: httpx.AsyncClient, tenant: Tenant) -> None:
    with clock_at(LATER):
        first = await close_day(client, tenant.headers, tenant.location_id, MONDAY)
        # Refused after the counter row was locked: its transaction rolls back.
        again = await close_day(client, tenant.headers, tenant.location_id, MONDAY)
        second = await close_day(client, tenant.headers, tenant.location_id, MONDAY + timedelta(1))
    assert_problem(again, 409, "z_report.day_closed", "business_day")
    assert (first.json()["number"], second.json()["number"]) == (1, 2)


async def test_a_day_not_over_is_not_closed(client: httpx.AsyncClient, tenant: Tenant) -> None:
    # 23:00 on Monday in London: Monday's business day runs until Tuesday 04:00.
    with clock_at(local(MONDAY, "23:00")):
        early = await close_day(client, tenant.headers, tenant.location_id, MONDAY)
    problem = assert_problem(early, 409, "z_report.day_not_over", "business_day")
    assert datetime.fromisoformat(problem["ends_at"]) == local(MONDAY + timedelta(1), "04:00")
    with clock_at(local(MONDAY + timedelta(1), "04:00")):
        on_time = await close_day(client, tenant.headers, tenant.location_id, MONDAY)
    assert on_time.status_code == 201, on_time.text


async def test_the_issued_report_never_changes_and_a_later_refund_counts_on_its_own_day(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    at = local(MONDAY, "12:00")
    order = await paid_order(tenant, at, [("Pie", 1200, 1, 2000)])
    paid = await payment(tenant, order, method="card", tip=0, at=at, employee=None, amount=1200)
    with clock_at(LATER):
        issued = (await close_day(client, tenant.headers, tenant.location_id, MONDAY)).json()
    await refunded(tenant, paid, 400)  # today, after the Z
    with pytest.raises(asyncpg.RestrictViolationError):
        await sql("UPDATE z_reports SET number = 99 WHERE id = $1", issued["id"])
    with pytest.raises(asyncpg.RestrictViolationError):
        await sql("DELETE FROM z_reports WHERE id = $1", issued["id"])
    again = await client.get(
        f"/api/v1/reports/z/{issued['id']}", params={"recompute": "true"}, headers=tenant.headers
    )
    body = again.json()
    assert body["figures"] == issued["figures"]
    assert (body["matches"], body["differences"], body["recomputed"]) == (
        True,
        [],
        issued["figures"],
    )
    assert issued["figures"]["refunded"] == 0
    today = business_day(datetime.now(UTC), "Europe/London", time(4))
    later = await x_report(client, tenant.headers, tenant.location_id, today)
    assert later["figures"]["refunds"] == [{"method": "card", "refunds": 1, "amount": 400}]


async def test_a_sale_dated_a_closed_day_that_arrives_later_shows_as_a_difference(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await sale(tenant, local(MONDAY, "12:00"))
    with clock_at(LATER):
        issued = (await close_day(client, tenant.headers, tenant.location_id, MONDAY)).json()
    await sale(tenant, local(MONDAY, "20:00"), price=900)  # an iPad offline until now
    body = (
        await client.get(
            f"/api/v1/reports/z/{issued['id']}", params={"recompute": "true"},
            headers=tenant.headers,
        )
    ).json()  # fmt: skip
    assert body["figures"]["gross_sales"] == 600
    assert body["recomputed"]["gross_sales"] == 1500
    assert body["matches"] is False
    assert {"gross_sales", "net_sales", "vat", "taken"} <= set(body["differences"])


async def test_open_orders_are_listed_with_a_warning(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await sale(tenant, local(MONDAY, "12:00"))
    tab = await paid_order(tenant, local(MONDAY, "21:00"), [("Ale", 500, 2, 2000)], status="open")
    with clock_at(LATER):
        issued = (await close_day(client, tenant.headers, tenant.location_id, MONDAY)).json()
    [left] = issued["at_close"]["open_orders"]
    assert (left["order_id"], left["status"], left["total_due"]) == (str(tab), "open", 1000)
    assert issued["warnings"] == ["1 orders were still open when the day was closed"]
    assert issued["figures"]["orders"]["paid"] == 1


async def test_another_restaurants_report_and_location_answer_as_missing(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    with clock_at(LATER):
        theirs = await close_day(client, other_tenant.headers, other_tenant.location_id, MONDAY)
        mine = await close_day(client, tenant.headers, other_tenant.location_id, MONDAY)
    assert_problem(mine, 404, "not_found", "location_id")
    read = await client.get(f"/api/v1/reports/z/{theirs.json()['id']}", headers=tenant.headers)
    missing = await client.get(f"/api/v1/reports/z/{uuid4()}", headers=tenant.headers)
    assert (read.status_code, read.json()["detail"]) == (404, missing.json()["detail"])
    listed = await report(client, tenant.headers, "z", start=MONDAY, end=MONDAY)
    assert listed.json() == {"reports": []}


@pytest.mark.parametrize(
    ("role", "reads", "closes"),
    [
        (Role.owner, 200, 201),
        (Role.manager, 200, 201),
        (Role.cashier, 403, 403),
        (Role.server, 403, 403),
        (Role.kitchen, 403, 403),
    ],
)
async def test_who_may_read_and_close(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, role: Role, reads: int, closes: int
) -> None:
    headers = await back_office(app, tenant, role)
    read = await report(client, headers, "x", location_id=tenant.location_id, day=MONDAY)
    with clock_at(LATER):
        closed = await close_day(client, headers, tenant.location_id, MONDAY)
    assert (read.status_code, closed.status_code) == (reads, closes), closed.text


async def test_an_ipad_manager_closes_its_own_location_only(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    manager = await staff_member(tenant, Role.manager)
    ipad = await sign_in(app, await make_ipad(app, tenant), manager)
    with clock_at(LATER):
        elsewhere = await close_day(client, ipad.headers, uuid4(), MONDAY)
        own = await close_day(client, ipad.headers, tenant.location_id, MONDAY)
    assert_problem(elsewhere, 404, "not_found", "location_id")
    assert own.status_code == 201, own.text
    assert own.json()["issued_by"] == str(manager)
    x = await client.get("/api/v1/reports/x", headers=ipad.headers)  # its own, today
    assert x.json()["figures"]["location_id"] == str(tenant.location_id)
    audit = await sql(
        "SELECT count(*) FROM audit_log WHERE restaurant_id = $1 AND target_id = $2",
        tenant.restaurant_id,
        own.json()["id"],
    )
    assert audit == 1


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("x", {"day": "2026-11-02"}, "location_id"),
        ("x", {"location_id": "nope"}, "location_id"),
        ("sales", {"start": "2026-11-02", "end": "2026-11-01", "by": "product"}, "end"),
        ("sales", {"start": "2026-11-02", "end": "2026-11-03", "by": "colour"}, "by"),
        ("platform-fees", {"start": "2026-13-01", "end": "2026-11-03"}, "start"),
        ("z", {"start": "2026-11-02", "end": "2028-11-03"}, "end"),
    ],
)
async def test_bad_input_names_the_field(
    client: httpx.AsyncClient, tenant: Tenant, path: str, params: dict[str, str], field: str
) -> None:
    response = await client.get(f"/api/v1/reports/{path}", params=params, headers=tenant.headers)
    assert_problem(response, 400, "validation_failed", field)


async def test_a_missing_parameter_is_named(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get(
        "/api/v1/reports/vat", params={"start": "2026-11-02"}, headers=tenant.headers
    )
    assert "'end'" in assert_problem(response, 400, "validation_failed")["detail"]


async def test_a_bad_close_names_the_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/api/v1/reports/z",
        json={"location_id": str(tenant.location_id), "business_day": "Monday"},
        headers=tenant.headers,
    )
    assert_problem(response, 400, "validation_failed", "business_day")
