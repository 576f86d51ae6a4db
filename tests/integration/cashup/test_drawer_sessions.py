"""A drawer's day, end to end (issue 19, item 1): opened on an iPad with a counted float,
traded in cash, a paid-in and a paid-out (a cashier's needs a manager's approval), counted
blind and closed; the server's expected cash equals the hand-computed figure, and the drawer
is over by exactly 50p. Cash taken on an iPad with no open session is listed, not lost.
"""

from __future__ import annotations

from datetime import time, timedelta
from uuid import UUID

import httpx
from litestar import Litestar

from server.auth.tables import Role
from server.cashup.drawers import DrawerDay, drawer_summary
from server.db.engine import DB
from server.sync.reference_client import ReferenceDevice
from server.timeclock.services import business_day
from tests.factories import Tenant, make_ipad, offline_sign_in, sign_in, staff_member
from tests.integration.cashup.drawer_fixtures import (
    CASHUP,
    add_drawer,
    approved,
    cash_sale,
    drawer_close,
    drawer_open,
    movement,
    now,
    session,
)
from tests.integration.payments.api import refund
from tests.integration.sync.test_push_rules import device, quarantine
from tests.integration.timeclock.punch_fixtures import send, till

DAY_STARTS = time(4)
# The float: 2 x £20, 3 x £10, 2 x £5, 5 x £1, 4 x 50p, 5 x 20p = £88.00.
FLOAT = {2000: 2, 1000: 3, 500: 2, 100: 5, 50: 4, 20: 5}
# The blind count at the close: 5 x £20, £10, £5, £2, £1, 10p = £118.10.
COUNT = {2000: 5, 1000: 1, 500: 1, 200: 1, 100: 1, 10: 1}


async def test_a_drawer_opened_traded_and_closed_blind_is_over_by_exactly_50p(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, cash_only: object
) -> None:
    drawer = await add_drawer(client, tenant)
    cashier = await staff_member(tenant, Role.cashier)
    manager = await staff_member(tenant, Role.manager)
    front = await till(app, tenant, "Front till", cashier)
    bar = await till(app, tenant, "Bar till", cashier)
    start = now() - timedelta(hours=3)
    if business_day(start + timedelta(hours=1), "Europe/London", DAY_STARTS) != business_day(
        start, "Europe/London", DAY_STARTS
    ):
        start -= timedelta(hours=1)  # the bar's sale falls in the session's business day
    day = business_day(start, "Europe/London", DAY_STARTS)

    opening = drawer_open(front, drawer["id"], FLOAT, start, opening_float=8800)
    session_id = opening["entity_id"]
    lunch_id, lunch = await cash_sale(
        tenant, front, 1250, start + timedelta(hours=1), tip=150, seq=1
    )
    _, tea = await cash_sale(tenant, front, 2360, start + timedelta(hours=2), seq=2)
    # Taken on the bar's iPad, where no drawer is open: outside any session.
    bar_payment, bar_sale = await cash_sale(tenant, bar, 900, start + timedelta(hours=1), seq=3)
    assert await send(client, front, [opening, lunch, tea]) == [("applied", None)] * 3
    assert await send(client, bar, [bar_sale]) == [("applied", None)]

    # A cashier's paid-out needs a manager's approval: refused alone, kept in the quarantine.
    paid_out = movement(front, session_id, "paid_out", 1500, start + timedelta(hours=2, minutes=30))
    assert await send(client, front, [paid_out]) == [("rejected", "needs_approval")]
    assert [q["reason"] for q in await quarantine(client, tenant)] == ["needs_approval"]
    boss = await offline_sign_in(front.ipad, manager)
    with_approval = movement(
        front,
        session_id,
        "paid_out",
        1500,
        start + timedelta(hours=2, minutes=30),
        approved_by=str(manager),
    )
    signed = approved(front, with_approval, boss, "drawer.cash_movement")
    assert await send(client, front, [signed]) == [("applied", None)]
    # A manager's paid-in needs nobody else.
    front.sign_in(boss)
    paid_in = movement(front, session_id, "paid_in", 1000, start + timedelta(minutes=10))
    assert await send(client, front, [paid_in]) == [("applied", None)]
    # £3.00 of the tea handed back in cash.
    assert (await refund(client, tenant.headers, tea["entity_id"], amount=300)).status_code == 201

    # The cashier counts blind: their view of the open session has no expected figure.
    cashier_ipad = await sign_in(app, await make_ipad(app, tenant, name="Cashier's view"), cashier)
    blind = await session(client, cashier_ipad.headers, session_id)
    assert blind["status"] == "open" and blind["opening_float"] == 8800
    assert (blind["expected_cash"], blind["expected_lines"], blind["cash"]) == (None, [], [])

    front.sign_in(await offline_sign_in(front.ipad, cashier))
    closed_at = now() + timedelta(minutes=1)
    closing = drawer_close(front, session_id, COUNT, closed_at)
    assert "expected_cash" not in closing["fields"]
    assert await send(client, front, [closing]) == [("applied", None)]

    # Hand-computed: 8800 float + 1250 + 150 tip + 2360 sales - 300 refund + 1000 in
    # - 1500 out = 11760 expected; counted 11810; over by 50.
    read = await session(client, tenant.headers, session_id)
    assert [(line["label"], line["sign"], line["amount"]) for line in read["expected_lines"]] == [
        ("opening float", "+", 8800),
        ("cash sales, with cash tips", "+", 3760),
        ("cash refunds", "-", 300),
        ("paid in", "+", 1000),
        ("paid out", "-", 1500),
    ]
    assert (read["status"], read["expected_cash"], read["counted_cash"]) == (
        "closed",
        11760,
        11810,
    )
    assert (read["over_short"], read["flagged"], read["threshold"], read["flags"]) == (
        50,
        False,
        500,
        [],
    )
    assert read["counts"] == {str(pence): pieces for pence, pieces in COUNT.items()}
    assert sorted((c["kind"], c["amount"]) for c in read["cash"]) == [
        ("refund", 300),
        ("sale", 1400),
        ("sale", 2360),
    ]
    assert str(lunch_id) in {c["payment_id"] for c in read["cash"]}
    assert [(m["kind"], m["amount"], m["approved_by"]) for m in read["movements"]] == [
        ("paid_in", 1000, None),
        ("paid_out", 1500, str(manager)),
    ]

    # The day it opened on lists it, and the bar's cash outside any session. (That day, not
    # today's: run between 04:00 and 07:00, the session opened the trading day before.)
    listed = await client.get(
        f"{CASHUP}/drawer-sessions",
        params={"start": day.isoformat(), "end": day.isoformat()},
        headers=tenant.headers,
    )
    assert listed.status_code == 200, listed.text
    assert [s["id"] for s in listed.json()["items"]] == [session_id]
    assert [(c["payment_id"], c["amount"]) for c in listed.json()["cash_outside_sessions"]] == [
        (str(bar_payment), 900)
    ]

    # The iPads hear the result.
    ipad: ReferenceDevice = await device(client, await make_ipad(app, tenant, name="Office"))
    assert await ipad.pull()
    shown = ipad.get("drawer_session", UUID(session_id))
    assert shown is not None
    assert (shown.data["status"], shown.data["over_short"]) == ("closed", 50)

    # The Z-report's reading of the day it closed on.
    closed_day = business_day(closed_at, "Europe/London", DAY_STARTS)
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        summary = await drawer_summary(
            conn, tenant.restaurant_id, tenant.location_id, closed_day, closed_day, DAY_STARTS
        )
    assert summary == [
        DrawerDay(
            day=closed_day,
            session_id=UUID(session_id),
            drawer_id=UUID(drawer["id"]),
            drawer_name="Front till",
            opening_float=8800,
            cash_sales=3760,
            cash_refunds=300,
            paid_in=1000,
            paid_out=1500,
            expected_cash=11760,
            counted_cash=11810,
            over_short=50,
            flagged=False,
            status="closed",
        )
    ]
