"""What contradicts is kept and flagged, never dropped (issue 19, item 1): two iPads opening
one drawer offline make one session (the earlier open), the other merged into it with its
float shown as a conflict and its cash folded in; a close of a closed session and a paid-out
after the close are kept and flagged; a difference above the threshold is flagged."""

from __future__ import annotations

from datetime import timedelta

import httpx
from litestar import Litestar

from server.auth.tables import Role
from tests.factories import Tenant, staff_member
from tests.integration.cashup.drawer_fixtures import (
    CASHUP,
    add_drawer,
    cash_sale,
    drawer_close,
    drawer_open,
    movement,
    now,
    session,
)
from tests.integration.sync.test_push_rules import conflicts
from tests.integration.timeclock.punch_fixtures import send, till

TEN_POUNDS = {1000: 1}


async def test_two_offline_ipads_opening_one_drawer_make_one_session_whatever_arrives_first(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    drawer = await add_drawer(client, tenant)
    manager = await staff_member(tenant, Role.manager)
    front = await till(app, tenant, "Front till", manager)
    bar = await till(app, tenant, "Bar till", manager)
    start = now() - timedelta(hours=2)
    earlier = drawer_open(front, drawer["id"], {2000: 1}, start)
    later = drawer_open(bar, drawer["id"], TEN_POUNDS, start + timedelta(minutes=5))
    _, bar_sale = await cash_sale(tenant, bar, 700, start + timedelta(minutes=30), seq=1)

    # The later open reaches the server first, and is the drawer's session for a while,
    assert await send(client, bar, [later, bar_sale]) == [("applied", None)] * 2
    assert (await session(client, tenant.headers, later["entity_id"]))["status"] == "open"
    # until the earlier one arrives: it is the session, the later one merged into it.
    assert await send(client, front, [earlier]) == [("applied", None)]
    kept = await session(client, tenant.headers, earlier["entity_id"])
    merged = await session(client, tenant.headers, later["entity_id"])
    assert (kept["status"], merged["status"], merged["merged_into"]) == (
        "open",
        "merged",
        earlier["entity_id"],
    )
    # The bar's cash is folded in; its £10 float is a conflict, not in the expected sum.
    assert (kept["merged_sessions"], kept["merged_floats"]) == ([later["entity_id"]], 1000)
    assert kept["flags"] == ["merged_floats"]
    assert kept["expected_cash"] == 2000 + 700
    logged = [
        (c["entity_type"], c["entity_id"], c["rule"]) for c in await conflicts(client, tenant)
    ]
    assert logged == [("drawer_open", later["entity_id"], "one_open_session")]

    # The bar's iPad closes "its" session: it closes the one it was merged into.
    closing = drawer_close(bar, later["entity_id"], {2000: 1, 500: 1, 200: 1}, now())
    assert await send(client, bar, [closing]) == [("applied", None)]
    closed = await session(client, tenant.headers, earlier["entity_id"])
    assert (closed["status"], closed["counted_cash"], closed["over_short"]) == ("closed", 2700, 0)


async def test_a_close_of_a_closed_session_and_a_paid_out_after_the_close_are_kept_and_flagged(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    drawer = await add_drawer(client, tenant)
    manager = await staff_member(tenant, Role.manager)
    front = await till(app, tenant, "Front till", manager)
    bar = await till(app, tenant, "Bar till", manager)
    start = now() - timedelta(hours=2)
    opening = drawer_open(front, drawer["id"], TEN_POUNDS, start)
    session_id = opening["entity_id"]
    first_close = drawer_close(front, session_id, TEN_POUNDS, start + timedelta(hours=1))
    assert await send(client, front, [opening, first_close]) == [("applied", None)] * 2

    # The bar's iPad, offline, counted it too, and paid the window cleaner after the close.
    second_close = drawer_close(bar, session_id, {500: 1}, start + timedelta(minutes=90))
    late = movement(bar, session_id, "paid_out", 400, start + timedelta(minutes=95))
    assert await send(client, bar, [second_close, late]) == [("applied", None)] * 2

    read = await session(client, tenant.headers, session_id)
    assert (read["counted_cash"], read["expected_cash"], read["over_short"]) == (1000, 1000, 0)
    assert read["flags"] == ["extra_close", "movement_after_close"]
    assert [(c["id"], c["counted_cash"]) for c in read["extra_closes"]] == [
        (second_close["entity_id"], 500)
    ]
    assert [(m["amount"], m["counted"]) for m in read["movements"]] == [(400, False)]
    logged = {(c["entity_id"], c["rule"]) for c in await conflicts(client, tenant)}
    assert logged == {
        (second_close["entity_id"], "already_closed"),
        (late["entity_id"], "movement_after_close"),
    }


async def test_a_difference_above_the_threshold_is_flagged_and_the_threshold_is_kept(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    drawer = await add_drawer(client, tenant)
    set_to = await client.put(
        f"{CASHUP}/settings", json={"over_short_threshold": 100}, headers=tenant.headers
    )
    assert set_to.status_code == 200, set_to.text
    manager = await staff_member(tenant, Role.manager)
    front = await till(app, tenant, "Front till", manager)
    start = now() - timedelta(hours=2)
    sessions = []
    # Short by exactly the threshold (£1.00): not flagged; short by £1.01: flagged.
    for offset, count in (
        (0, {500: 1, 200: 2}),
        (30, {500: 1, 200: 1, 100: 1, 50: 1, 20: 2, 5: 1, 2: 2}),
    ):
        opening = drawer_open(front, drawer["id"], TEN_POUNDS, start + timedelta(minutes=offset))
        closing = drawer_close(
            front, opening["entity_id"], count, start + timedelta(minutes=offset + 10)
        )
        assert await send(client, front, [opening, closing]) == [("applied", None)] * 2
        sessions.append(await session(client, tenant.headers, opening["entity_id"]))
    assert [(s["over_short"], s["flagged"], s["threshold"]) for s in sessions] == [
        (-100, False, 100),
        (-101, True, 100),
    ]
    audit = await client.get("/api/v1/audit", headers=tenant.headers)
    actions = [entry["action"] for entry in audit.json()["items"]]
    assert actions.count("cashup.drawer_closed") == 2 and "cashup.threshold_set" in actions
