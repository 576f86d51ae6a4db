"""``GET /api/v1/sync/devices``: every figure of an iPad's sync health, the colour rule, who
may read it, and that a page is one query however many iPads (issue 16, part 1).

Time is moved by backdating rows in SQL: the figures and the colour are read against the
database's clock.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from litestar import Litestar

from server.auth.tables import Role
from server.db.engine import DB
from server.sync import device_status
from tests.factories import Ipad, Tenant, make_ipad, make_tenant, sign_in, staff_member
from tests.integration.sync.test_push_rules import (
    change,
    device,
    order_fields,
    prefix_of,
    pull_page,
    push,
)

DEVICES = "/api/v1/sync/devices"


async def listed(
    client: httpx.AsyncClient, caller: Tenant | Ipad, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(DEVICES, params=params, headers=caller.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def status_of(client: httpx.AsyncClient, tenant: Tenant, ipad: Ipad) -> dict[str, Any]:
    [found] = [d for d in await listed(client, tenant) if d["device_id"] == str(ipad.device_id)]
    return found


async def sql(statement: str, *args: Any) -> Any:
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        return await conn.fetchval(statement, *args)


async def backdate_device(ipad: Ipad, column: str, by: timedelta) -> None:
    await sql(
        f"UPDATE devices SET {column} = now() - $2::interval WHERE id = $1", ipad.device_id, by
    )


async def backdate_sync(ipad: Ipad, column: str, by: timedelta) -> None:
    await sql(
        f"UPDATE sync_devices SET {column} = {column} - $2::interval WHERE device_id = $1",
        ipad.device_id,
        by,
    )


async def pull_to_the_end(client: httpx.AsyncClient, ipad: Ipad) -> str:
    """Pull until caught up, then once more from the last cursor, as an iPad does on its
    next poke: the server only learns how far it got from the cursor it sends back."""
    cursor = None
    while True:
        response = await pull_page(client, ipad, cursor)
        assert response.status_code == 200, response.text
        cursor = response.json()["cursor"]
        if not response.json()["has_more"]:
            break
    assert (await pull_page(client, ipad, cursor)).status_code == 200
    return str(cursor)


def instant(text: str | None) -> datetime:
    assert text is not None and text.endswith("Z"), text  # RFC 3339, in UTC
    return datetime.fromisoformat(text)


def recent(text: str | None, *, within: timedelta = timedelta(seconds=30)) -> bool:
    return abs(datetime.now(UTC) - instant(text)) < within


async def open_an_order(client: httpx.AsyncClient, ipad: Ipad, seq: int, **body: Any) -> None:
    prefix = await prefix_of(ipad)
    response = await push(
        client, ipad, [change(ipad, seq, "order", uuid4(), order_fields(prefix, seq))], **body
    )
    assert response.status_code == 200, response.text


# Every figure ------------------------------------------------------------------------------


async def test_an_ipad_that_never_synced_is_amber_with_nothing_known(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant, name="Spare")

    [status] = await listed(client, tenant)

    assert status == {
        "device_id": str(ipad.device_id),
        "name": "Spare",
        "location_id": str(tenant.location_id),
        "location_name": "Main",
        "status": "amber",
        "reasons": ["offline", "never_synced"],
        "online": False,
        "last_seen_at": None,
        "enrolled_at": status["enrolled_at"],
        "revoked_at": None,
        "app_version": None,
        "schema_version": None,
        "last_push_at": None,
        "last_pull_at": None,
        "last_applied_seq": 0,
        "behind_changes": None,
        "behind_seconds": None,
        "outbox_backlog": None,
        "oldest_unsent_at": None,
        "oldest_unsent_age_seconds": None,
        "quarantined": 0,
        "conflicts": 0,
        "last_error": None,
    }
    assert recent(status["enrolled_at"])


async def test_an_ipad_that_pushed_and_pulled_everything_is_green(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    await open_an_order(client, ipad, 1, outbox_backlog=0)
    await pull_to_the_end(client, ipad)

    status = await status_of(client, tenant, ipad)

    assert (status["status"], status["reasons"]) == ("green", [])
    assert (status["app_version"], status["schema_version"]) == ("1.0.0", 1)
    assert status["last_applied_seq"] == 1
    assert recent(status["last_push_at"]) and recent(status["last_pull_at"])
    assert recent(status["last_seen_at"])  # moved by its REST requests; it has no socket
    assert status["online"] is False
    assert (status["behind_changes"], status["behind_seconds"]) == (0, 0)
    assert (status["outbox_backlog"], status["oldest_unsent_at"]) == (0, None)
    assert status["oldest_unsent_age_seconds"] is None


async def test_the_feed_lag_counts_unpulled_changes_and_ages_the_oldest(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    await pull_to_the_end(client, ipad)
    for name in ("Scone", "Brownie"):
        created = await client.post(
            "/api/v1/products", json={"name": name, "price": 300}, headers=tenant.headers
        )
        assert created.status_code == 201, created.text

    status = await status_of(client, tenant, ipad)
    assert status["behind_changes"] == 2
    assert 0 <= status["behind_seconds"] < 30
    assert status["status"] == "green"  # a few seconds behind is normal

    await sql(
        "UPDATE sync_entities SET updated_at = updated_at - interval '3 minutes'"
        " WHERE restaurant_id = $1",
        tenant.restaurant_id,
    )
    status = await status_of(client, tenant, ipad)
    assert 180 <= status["behind_seconds"] < 210
    assert (status["status"], status["reasons"]) == ("amber", ["behind"])

    await sql(
        "UPDATE sync_entities SET updated_at = updated_at - interval '10 minutes'"
        " WHERE restaurant_id = $1",
        tenant.restaurant_id,
    )
    status = await status_of(client, tenant, ipad)
    assert (status["status"], status["reasons"]) == ("red", ["pull_stuck", "behind"])

    await pull_to_the_end(client, ipad)
    status = await status_of(client, tenant, ipad)
    assert (status["behind_changes"], status["behind_seconds"], status["status"]) == (
        0,
        0,
        "green",
    )


async def test_an_ipad_offline_for_days_is_amber_and_red_if_it_had_sales_to_send(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    idle, stuck = (
        await make_ipad(app, tenant, signed_in=Role.manager, name="Idle"),
        await make_ipad(app, tenant, signed_in=Role.manager, name="Stuck"),
    )
    await open_an_order(client, idle, 1, outbox_backlog=0)
    await open_an_order(client, stuck, 1, outbox_backlog=4, oldest_unsent_age_seconds=60)
    for ipad in (idle, stuck):
        await pull_to_the_end(client, ipad)
        await backdate_device(ipad, "last_seen_at", timedelta(days=3))
        for column in ("last_push_at", "last_pull_at", "oldest_unsent_at"):
            await backdate_sync(ipad, column, timedelta(days=3))

    by_name = {d["name"]: d for d in await listed(client, tenant)}

    assert (by_name["Idle"]["status"], by_name["Idle"]["reasons"]) == ("amber", ["offline"])
    assert by_name["Stuck"]["status"] == "red"
    assert by_name["Stuck"]["reasons"] == ["offline_with_backlog", "outbox_stuck"]
    assert by_name["Stuck"]["outbox_backlog"] == 4
    days = 3 * 24 * 3600
    assert days + 60 <= by_name["Stuck"]["oldest_unsent_age_seconds"] < days + 120
    assert instant(by_name["Stuck"]["last_seen_at"]) < datetime.now(UTC) - timedelta(days=2)
    assert instant(by_name["Idle"]["last_push_at"]) < datetime.now(UTC) - timedelta(days=2)
    assert [d["name"] for d in await listed(client, tenant)] == ["Stuck", "Idle"]


async def test_the_outbox_figures_come_from_the_latest_push(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    await pull_to_the_end(client, ipad)

    await open_an_order(client, ipad, 1, outbox_backlog=7, oldest_unsent_age_seconds=90)
    status = await status_of(client, tenant, ipad)
    assert status["outbox_backlog"] == 7
    assert 90 <= status["oldest_unsent_age_seconds"] < 120
    assert recent(status["oldest_unsent_at"], within=timedelta(seconds=120))
    assert "sending" in status["reasons"]

    await backdate_sync(ipad, "oldest_unsent_at", timedelta(minutes=20))
    status = await status_of(client, tenant, ipad)
    assert status["status"] == "red" and "outbox_stuck" in status["reasons"]

    # An older app says nothing: the figures are unknown again, not zero.
    await open_an_order(client, ipad, 2)
    status = await status_of(client, tenant, ipad)
    assert (status["outbox_backlog"], status["oldest_unsent_at"]) == (None, None)

    # An age with nothing waiting means nothing.
    await open_an_order(client, ipad, 3, outbox_backlog=0, oldest_unsent_age_seconds=30)
    status = await status_of(client, tenant, ipad)
    assert (status["outbox_backlog"], status["oldest_unsent_at"]) == (0, None)


@pytest.mark.parametrize(
    "figures",
    [{"outbox_backlog": -1}, {"oldest_unsent_age_seconds": -5}, {"outbox_backlog": "3"}],
    ids=["negative backlog", "negative age", "backlog as text"],
)
async def test_outbox_figures_out_of_range_are_refused(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, figures: dict[str, Any]
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    prefix = await prefix_of(ipad)
    response = await push(
        client, ipad, [change(ipad, 1, "order", uuid4(), order_fields(prefix, 1))], **figures
    )
    assert response.status_code == 400, response.text


async def test_quarantined_changes_and_conflicts_are_counted_and_the_last_error_shown(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till_ipad, bar_ipad = (
        await make_ipad(app, tenant, signed_in=Role.manager, name="Till"),
        await make_ipad(app, tenant, signed_in=Role.manager, name="Bar"),
    )
    till, bar = await device(client, till_ipad), await device(client, bar_ipad)
    order_id = till.open_order()
    assert await till.sync() and await bar.sync()
    till.edit("order", order_id, {"notes": "window seat"})
    bar.edit("order", order_id, {"notes": "birthday"})
    assert await till.push() and await bar.push()  # the bar's is merged: one conflict

    prefix = await prefix_of(till_ipad)
    refused = order_fields(prefix, 90, table_id=str(uuid4()))  # no such table
    response = await push(
        client, till_ipad, [change(till_ipad, till.next_seq, "order", uuid4(), refused)]
    )
    assert response.json()["results"][0]["outcome"] == "rejected"

    by_name = {d["name"]: d for d in await listed(client, tenant)}

    assert (by_name["Till"]["quarantined"], by_name["Till"]["conflicts"]) == (1, 0)
    assert (by_name["Bar"]["quarantined"], by_name["Bar"]["conflicts"]) == (0, 1)
    error = by_name["Till"]["last_error"]
    assert (error["source"], error["reason"]) == ("quarantine", "database_refused")
    assert "table_id" in error["detail"]
    assert recent(error["at"])
    assert by_name["Bar"]["last_error"] is None
    assert by_name["Till"]["status"] == "red" and by_name["Till"]["reasons"][0] == "quarantined"
    assert by_name["Bar"]["status"] != "red"  # conflicts were merged by rule: no colour

    # Settled by a manager (part 2's actions; here straight in SQL): no longer counted.
    await sql(
        "UPDATE sync_quarantine SET state = 'dismissed', settled_at = now(),"
        " dismissal_reason = 'typed by mistake' WHERE device_id = $1",
        till_ipad.device_id,
    )
    await sql(
        "UPDATE sync_conflicts SET state = 'acknowledged', acknowledged_at = now()"
        " WHERE device_id = $1",
        bar_ipad.device_id,
    )
    by_name = {d["name"]: d for d in await listed(client, tenant)}
    assert (by_name["Till"]["quarantined"], by_name["Till"]["last_error"]) == (0, None)
    assert "quarantined" not in by_name["Till"]["reasons"]
    assert by_name["Bar"]["conflicts"] == 0


async def test_a_push_refused_whole_is_the_last_error_until_a_push_goes_through(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    prefix = await prefix_of(ipad)

    # Its very first push is refused: nothing is kept, not even a row, but the refusal is.
    first = [change(ipad, 1, "order", uuid4(), order_fields(prefix, 1))]
    too_old = await push(client, ipad, first, schema_version=99)
    assert too_old.status_code == 426, too_old.text
    status = await status_of(client, tenant, ipad)
    error = status["last_error"]
    assert (error["source"], error["reason"]) == ("push", "upgrade_required")
    assert "schema version 99" in error["detail"] and recent(error["at"])
    assert (status["last_push_at"], status["last_applied_seq"]) == (None, 0)

    # A gap rolls its batch back; the refusal survives the rollback and is the latest.
    gap = await push(client, ipad, [change(ipad, 3, "order", uuid4(), order_fields(prefix, 3))])
    assert gap.status_code == 409, gap.text
    error = (await status_of(client, tenant, ipad))["last_error"]
    assert (error["source"], error["reason"]) == ("push", "sequence_gap")
    assert error["detail"] == "expected change 1 next, got 3"

    # A push that goes through ends the refusal; its own refused change is the error now.
    refused = order_fields(prefix, 1, table_id=str(uuid4()))  # no such table
    kept = await push(client, ipad, [change(ipad, 1, "order", uuid4(), refused)])
    assert kept.json()["results"][0]["outcome"] == "rejected"
    error = (await status_of(client, tenant, ipad))["last_error"]
    assert (error["source"], error["reason"]) == ("quarantine", "database_refused")

    # A refused push newer than the open quarantined change shows instead, until the next
    # push goes through; the quarantined change, still open, is then the error again.
    mismatch = await push(client, ipad, first, device_id=str(uuid4()))
    assert mismatch.status_code == 403, mismatch.text
    error = (await status_of(client, tenant, ipad))["last_error"]
    assert (error["source"], error["reason"]) == ("push", "device_mismatch")
    await open_an_order(client, ipad, 2)
    status = await status_of(client, tenant, ipad)
    assert (status["last_error"]["source"], status["quarantined"]) == ("quarantine", 1)


async def test_another_restaurants_refused_pushes_are_never_seen(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await make_ipad(app, other_tenant, signed_in=Role.manager, name="Theirs")
    first = [change(theirs, 1, "order", uuid4(), order_fields(await prefix_of(theirs), 1))]
    assert (await push(client, theirs, first, schema_version=99)).status_code == 426
    assert all(d["name"] != "Theirs" for d in await listed(client, tenant))
    [mine] = await listed(client, other_tenant)
    assert mine["last_error"]["reason"] == "upgrade_required"


# last_seen_at ------------------------------------------------------------------------------


async def test_any_request_moves_last_seen_but_at_most_once_a_minute(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    await backdate_device(ipad, "last_seen_at", timedelta(minutes=10))

    assert (await client.get("/api/v1/products", headers=ipad.headers)).status_code == 200
    seen = await sql("SELECT last_seen_at FROM devices WHERE id = $1", ipad.device_id)
    assert abs(datetime.now(UTC) - seen) < timedelta(seconds=30)

    await backdate_device(ipad, "last_seen_at", timedelta(seconds=30))
    held = await sql("SELECT last_seen_at FROM devices WHERE id = $1", ipad.device_id)
    assert (await client.get("/api/v1/products", headers=ipad.headers)).status_code == 200
    assert await sql("SELECT last_seen_at FROM devices WHERE id = $1", ipad.device_id) == held


# Revoked, other restaurants, who may look ---------------------------------------------------


async def test_a_revoked_ipad_is_hidden_unless_asked_for(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    kept, lost = (
        await make_ipad(app, tenant, name="Kept"),
        await make_ipad(app, tenant, name="Lost"),
    )
    revoked = await client.post(f"/api/v1/devices/{lost.device_id}/revoke", headers=tenant.headers)
    assert revoked.status_code == 200, revoked.text

    assert [d["name"] for d in await listed(client, tenant)] == ["Kept"]
    every = {d["name"]: d for d in await listed(client, tenant, include_revoked="true")}
    assert set(every) == {"Kept", "Lost"}
    assert recent(every["Lost"]["revoked_at"]) and every["Kept"]["revoked_at"] is None
    assert kept.device_id != lost.device_id


async def test_another_restaurants_ipads_are_never_listed(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine, theirs = await make_ipad(app, tenant), await make_ipad(app, other_tenant)

    assert {d["device_id"] for d in await listed(client, tenant, include_revoked="true")} == {
        str(mine.device_id)
    }
    assert {d["device_id"] for d in await listed(client, other_tenant)} == {str(theirs.device_id)}


async def test_a_manager_on_an_ipad_sees_their_own_location_only(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post("/api/v1/locations", json={"name": "Annex"}, headers=tenant.headers)
    assert created.status_code == 201, created.text
    annex = dataclasses.replace(tenant, location_id=UUID(created.json()["id"]))
    main_ipad = await make_ipad(app, tenant, name="Main till")
    annex_ipad = await make_ipad(app, annex, name="Annex till")

    everywhere = await listed(client, tenant)
    assert {(d["name"], d["location_name"]) for d in everywhere} == {
        ("Main till", "Main"),
        ("Annex till", "Annex"),
    }
    on_the_ipad = await sign_in(app, main_ipad, await staff_member(tenant, Role.manager))
    assert [d["name"] for d in await listed(client, on_the_ipad)] == ["Main till"]
    assert annex_ipad.device_id not in {d["device_id"] for d in await listed(client, on_the_ipad)}


async def test_a_cashier_and_a_bare_ipad_are_refused(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant)
    cashier_on_ipad = await sign_in(app, ipad, await staff_member(tenant, Role.cashier))
    back_office_cashier = await make_tenant(app, role=Role.cashier)

    for caller in (cashier_on_ipad, ipad, back_office_cashier):
        response = await client.get(DEVICES, headers=caller.headers)
        assert response.status_code == 403, response.text
    assert (await client.get(DEVICES)).status_code == 401


# Order and pages ---------------------------------------------------------------------------


async def test_worst_first_and_paged_with_a_cursor(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    green = await make_ipad(app, tenant, signed_in=Role.manager, name="A green")
    await open_an_order(client, green, 1, outbox_backlog=0)
    await pull_to_the_end(client, green)
    red = await make_ipad(app, tenant, signed_in=Role.manager, name="C red")
    await open_an_order(client, red, 1, outbox_backlog=2, oldest_unsent_age_seconds=3600)
    await make_ipad(app, tenant, name="B amber")

    names, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        response = await client.get(DEVICES, params=params, headers=tenant.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        names += [(d["name"], d["status"]) for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert names == [("C red", "red"), ("B amber", "amber"), ("A green", "green")]
    bad = await client.get(DEVICES, params={"cursor": "nonsense"}, headers=tenant.headers)
    assert bad.status_code == 400 and bad.json()["field"] == "cursor"


async def test_a_page_is_one_query_however_many_ipads(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Every statement on the connection is logged by asyncpg, so nothing can hide."""

    async def statements() -> list[str]:
        logged: list[str] = []
        assert DB.pool is not None
        async with DB.pool.acquire() as conn:
            with conn.query_logger(lambda record: logged.append(record.query)):
                page = await device_status.list_devices(
                    restaurant_id=tenant.restaurant_id,
                    location_id=None,
                    include_revoked=True,
                    online=frozenset(),
                    cursor=None,
                    limit=50,
                    conn=conn,
                )
        assert page.items
        return logged

    first = await make_ipad(app, tenant, signed_in=Role.manager)
    await open_an_order(client, first, 1, outbox_backlog=1, oldest_unsent_age_seconds=5)
    assert len(await statements()) == 1
    for number in range(2, 9):
        ipad = await make_ipad(app, tenant, signed_in=Role.manager, name=f"Till {number}")
        await open_an_order(client, ipad, 1)
        await pull_to_the_end(client, ipad)
    assert len(await statements()) == 1
