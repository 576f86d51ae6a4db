"""The back office's Cash-up page: a drawer opened, traded, paid out of and closed on an iPad
yesterday, read as a manager; the day closed with a Z-report, once; its CSV (in process,
then in Chromium against ``fynlo serve`` with every request off 127.0.0.1 blocked)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import httpx
import pytest
import pytest_asyncio
from litestar import Litestar
from playwright.async_api import Page, Request, Route

from server.auth.tables import Role
from server.db.engine import connection
from server.office import cashup_reads
from server.timeclock.services import business_day, day_bounds
from tests.e2e.test_back_office import (  # noqa: F401 (fixtures)
    LOCAL_HOST,
    PASSWORD,
    Browser,
    browser,
    csrf_of,
    office_server,
    office_sign_in,
    with_password,
)
from tests.factories import (
    DEFAULT_PIN,
    Tenant,
    make_ipad,
    make_order,
    make_tenant,
    offline_sign_in,
    sign_in,
    staff_member,
)
from tests.integration.api.test_void_limits import SERVER_PIN, approval, on_ipad, void
from tests.integration.cashup.drawer_fixtures import (
    add_drawer,
    approved,
    cash_sale,
    drawer_close,
    drawer_open,
    movement,
)
from tests.integration.timeclock.punch_fixtures import send, till

ZONE, DAY_STARTS = "Europe/London", time(4)
# 2 x £20, 3 x £10, 2 x £5, 5 x £1, 4 x 50p, 5 x 20p = £88.00.
FLOAT = {2000: 2, 1000: 3, 500: 2, 100: 5, 50: 4, 20: 5}
# 4 x £20, £5, £2, 50p = £87.50.
COUNT = {2000: 4, 500: 1, 200: 1, 50: 1}


@dataclass(frozen=True)
class TradedDay:
    day: date
    session_id: str
    lunch_order: str
    cashier: UUID
    manager: UUID


def yesterday() -> date:
    """The last business day that is over at the tenant's location (London, from 04:00)."""
    return business_day(datetime.now(UTC), ZONE, DAY_STARTS) - timedelta(days=1)


@pytest_asyncio.fixture
async def manager(app: Litestar) -> Tenant:
    return await make_tenant(app, role=Role.manager)


@pytest_asyncio.fixture
async def traded(app: Litestar, client: httpx.AsyncClient, manager: Tenant) -> TradedDay:
    """Yesterday on the front till: a float of £88.00, lunch of £12.50 paid in cash with a
    £1.50 tip, £15.00 paid out to the window cleaner (the cashier's, with the manager's
    approval), counted blind at £87.50. Expected 8800 + 1400 - 1500 = 8700: over by 50p."""
    day = yesterday()
    starts, _ = day_bounds(day, ZONE, DAY_STARTS)
    drawer = await add_drawer(client, manager, name="Front drawer")
    cashier = await staff_member(manager, Role.cashier)
    boss = await staff_member(manager, Role.manager)
    front = await till(app, manager, "Front till", cashier)

    opening = drawer_open(front, drawer["id"], FLOAT, starts + timedelta(hours=6))
    session_id = opening["entity_id"]
    _, lunch = await cash_sale(manager, front, 1250, starts + timedelta(hours=8), tip=150, seq=1)
    paid_out = movement(
        front,
        session_id,
        "paid_out",
        1500,
        starts + timedelta(hours=9),
        reason="window cleaner",
        approved_by=str(boss),
    )
    approval = await offline_sign_in(front.ipad, boss)
    signed = approved(front, paid_out, approval, "drawer.cash_movement")
    closing = drawer_close(front, session_id, COUNT, starts + timedelta(hours=11))
    assert await send(client, front, [opening, lunch]) == [("applied", None)] * 2
    assert await send(client, front, [signed]) == [("applied", None)]
    assert await send(client, front, [closing]) == [("applied", None)]
    return TradedDay(day, str(session_id), "T-0001", cashier, boss)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- in process -----------------------------------------------------------------------------


async def test_the_day_shows_its_drawer_its_payments_by_order_and_closes_once(
    client: httpx.AsyncClient, manager: Tenant, traded: TradedDay
) -> None:
    await office_sign_in(client, await with_password(manager))
    page = await client.get("/office/cash-up")  # opens on yesterday, the last day over
    assert page.status_code == 200, page.text
    row = re.search(rf'id="session-{traded.session_id}">(.*?)</tr>', page.text, re.S)
    assert row, page.text
    cells = text_of(row.group(1))
    for shown in (
        "Front drawer",
        "£88.00",
        "£14.00",
        "£15.00",
        "£87.00",
        "£87.50",
        "over by £0.50",
    ):
        assert shown in cells, (shown, cells)
    assert cells.strip().endswith("no")  # not flagged: 50p is within the £5.00 threshold
    payments = text_of(page.text)
    assert "Order T-0001 £14.00" in payments  # the cash line traced to its order
    assert "Issue Z-report" in page.text

    detail = text_of((await client.get(f"/office/cash-up/sessions/{traded.session_id}")).text)
    assert "Paid out £15.00 window cleaner" in detail
    assert "Cash sale Order T-0001 £14.00" in detail
    assert "Expected cash £87.00" in detail and "over by £0.50" in detail

    confirm = await client.get(f"/office/cash-up/close?day={traded.day.isoformat()}")
    assert "It cannot be undone" in confirm.text
    form = {"csrf": csrf_of(confirm.text), "location": str(manager.location_id)}
    closed = await client.post("/office/cash-up/close", data=form | {"day": str(traded.day)})
    assert closed.status_code == 303, closed.text
    z_page = await client.get(closed.headers["location"])
    assert "Z-report 1:" in z_page.text and "gives the same figures" in z_page.text

    audit = (await client.get("/api/v1/audit", headers=manager.headers)).json()
    entries = audit["items"] if isinstance(audit, dict) else audit
    assert [e["action"] for e in entries].count("close_day") == 1, entries

    again = await client.post("/office/cash-up/close", data=form | {"day": str(traded.day)})
    assert again.status_code == 409
    assert "is already closed by Z-report 1." in text_of(again.text)
    today = await client.post(
        "/office/cash-up/close", data=form | {"day": str(traded.day + timedelta(days=1))}
    )
    assert today.status_code == 409 and "is not over yet" in today.text
    missing_csrf = await client.post("/office/cash-up/close", data={"day": str(traded.day)})
    assert missing_csrf.status_code == 403

    z_id = closed.headers["location"].rsplit("/", 1)[-1]
    download = await client.get(f"/office/cash-up/z/{z_id}/csv")
    assert download.headers["content-type"].startswith("text/csv")
    assert 'filename="z-report-1.csv"' in download.headers["content-disposition"]
    api = await client.get(
        f"/api/v1/reports/z/{z_id}", params={"format": "csv"}, headers=manager.headers
    )
    assert download.text == api.text  # the API's own CSV, through the office session
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [r["drawer_name"] for r in rows if r["breakdown"] == "drawer"] == ["Front drawer"]


async def test_today_is_still_trading_and_its_void_names_who_approved_it(
    app: Litestar, client: httpx.AsyncClient, manager: Tenant
) -> None:
    order = await make_order(manager, seq=1, lines=[("Steak", 2400, 1, 2000)])
    server = await on_ipad(app, manager, Role.server, SERVER_PIN)
    boss = await staff_member(manager, Role.manager)
    voided = await void(client, await approval(client, server, boss, DEFAULT_PIN), order)
    assert voided.status_code == 200, voided.text
    async with connection() as conn:
        who = await cashup_reads.names(conn, manager.restaurant_id, {boss, server.employee_id})

    await office_sign_in(client, await with_password(manager))
    today = yesterday() + timedelta(days=1)
    page = await client.get("/office/cash-up", params={"day": today.isoformat()})
    assert "Still trading: the day ends at" in page.text
    assert "Issue Z-report" not in page.text and "X-report: the day so far" in page.text
    voids = re.search(r'<table class="list voids">(.*?)</table>', page.text, re.S)
    assert voids, page.text
    assert f"Order T-0001 £24.00 {who[server.employee_id]} {who[boss]}" in text_of(voids.group(1))
    assert "Voids: 1 for £24.00" in page.text


async def test_another_restaurants_session_and_report_answer_as_missing_ones(
    app: Litestar, client: httpx.AsyncClient, manager: Tenant, traded: TradedDay
) -> None:
    other = await make_tenant(app, role=Role.manager)
    await office_sign_in(client, await with_password(other))
    theirs = await client.get(f"/office/cash-up/sessions/{traded.session_id}")
    missing = await client.get(f"/office/cash-up/sessions/{uuid4()}")
    assert (theirs.status_code, missing.status_code) == (404, 404)
    assert text_of(theirs.text) == text_of(missing.text)
    page = await client.get("/office/cash-up", params={"location": str(manager.location_id)})
    assert page.status_code == 404
    assert "Front drawer" not in (await client.get("/office/cash-up")).text


async def test_a_cashier_cannot_reach_the_cash_up(
    app: Litestar, client: httpx.AsyncClient, manager: Tenant
) -> None:
    cashier = await sign_in(
        app, await make_ipad(app, manager), await staff_member(manager, Role.cashier)
    )
    for path in ("/office/cash-up", f"/office/cash-up/sessions/{uuid4()}"):
        refused = await client.get(path, headers=cashier.headers)
        assert refused.status_code == 403, (path, refused.text)
    user = await make_tenant(app, role=Role.cashier)
    answer = await office_sign_in(client, await with_password(user))
    assert answer.status_code == 401


async def test_a_bad_day_or_location_answers_in_words(
    client: httpx.AsyncClient, manager: Tenant
) -> None:
    await office_sign_in(client, await with_password(manager))
    bad_day = await client.get("/office/cash-up", params={"day": "yesterday"})
    assert bad_day.status_code == 400 and "a date like 2026-12-03" in bad_day.text
    bad_place = await client.get("/office/cash-up", params={"location": "front"})
    assert bad_place.status_code == 404 and "no such location" in bad_place.text


# --- in Chromium ----------------------------------------------------------------------------


async def other_manager_on(browser: Browser, url: str, email: str) -> Page:  # noqa: F811
    """A second browser context (its own cookies) signed in as ``email`` and showing ``url``,
    kept to 127.0.0.1 like the first."""
    chromium = browser.page.context.browser
    assert chromium is not None
    page = await (await chromium.new_context(viewport={"width": 1180, "height": 820})).new_page()

    async def only_this_host(route: Route, request: Request) -> None:
        if urlsplit(request.url).hostname == LOCAL_HOST:
            await route.continue_()
        else:
            browser.blocked.append(request.url)
            await route.abort()

    await page.route("**/*", only_this_host)
    await page.goto(f"{browser.base_url}/office/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/office/devices")
    await page.goto(url)
    return page


@pytest.mark.browser
async def test_the_cash_up_page_in_a_browser(
    manager: Tenant,
    traded: TradedDay,
    browser: Browser,  # noqa: F811
    tmp_path: Path,
) -> None:
    await browser.sign_in(await with_password(manager))
    await browser.page.click("nav >> text=Cash-up")
    row = browser.page.locator(f"#session-{traded.session_id}")
    assert "over by £0.50" in await row.inner_text()
    await browser.screenshot(tmp_path / "cash-up.png")

    await row.locator("a", has_text="Front drawer").click()
    assert "window cleaner" in await browser.page.locator("tr.movement").inner_text()
    await browser.screenshot(tmp_path / "cash-up-session.png")
    await browser.page.go_back()

    await browser.page.click("text=Issue Z-report")
    assert "cannot be undone" in await browser.page.inner_text("main")
    await browser.screenshot(tmp_path / "cash-up-confirm.png")
    # A second manager, in another browser, has the same confirmation open.
    second = await other_manager_on(browser, browser.page.url, await with_password(manager))

    await browser.page.click("button.danger")
    await browser.page.wait_for_selector("h1:has-text('Z-report 1')")
    assert "gives the same figures" in await browser.page.inner_text("main")
    await browser.screenshot(tmp_path / "cash-up-z.png")

    await second.click("button.danger")
    await second.wait_for_selector("[role=alert]")
    assert "already closed by Z-report 1" in await second.inner_text("[role=alert]")
    await second.screenshot(path=str(tmp_path / "cash-up-closed-twice.png"), full_page=True)
    await second.context.close()
    # Asked again later, the confirmation says so before anything is sent.
    await browser.page.go_back()
    assert "already closed by Z-report 1" in await browser.page.inner_text("[role=alert]")
    assert await browser.page.locator("button.danger").count() == 0

    await browser.page.goto(f"{browser.base_url}/office/cash-up")
    assert "Closed by Z-report 1" in await browser.page.inner_text(".day-status")
    await browser.screenshot(tmp_path / "cash-up-closed.png")
    await browser.page.click("tr.z-report >> text=Z-report 1")
    async with browser.page.expect_download() as waiting:
        await browser.page.click("text=Download CSV")
    download = await waiting.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.name == "z-report-1.csv"
    assert saved.read_text().startswith("breakdown,")
    print(f"screenshots in {tmp_path}")


async def test_the_demo_managers_cash_up_shows_the_demo_day(client: httpx.AsyncClient) -> None:
    """``make run``'s demo: its manager signs in and reads Soho's day so far, its cash sales
    traced to their orders and the orders still open."""
    from server import demo

    await demo.load_demo()
    login = next(x for x in demo.CREDENTIALS.logins if x.role is Role.manager)
    form = await client.get("/office/login")
    signed_in = await client.post(
        "/office/login",
        data={"email": login.email, "password": login.password, "csrf": csrf_of(form.text)},
    )
    assert signed_in.status_code == 303, signed_in.text
    async with connection() as conn:
        taken = await conn.fetch(
            "SELECT coalesce(offline_stored_at, succeeded_at, created_at) AS at FROM payments"
            " WHERE location_id = $1 AND method = 'cash' AND state = 'succeeded'",
            demo.LOCATION_ID,
        )
    # The demo trades just before now: near 04:00 its sales may fall either side of the day.
    days = [business_day(row["at"], ZONE, DAY_STARTS) for row in taken]
    day = max(days)
    page = await client.get("/office/cash-up", params={"day": day.isoformat()})
    assert page.status_code == 200, page.text
    assert re.search(r"<option [^>]*selected>Soho</option>", page.text), page.text
    cash = re.search(
        r'id="method-cash">.*?<tr class="trace"><td colspan="8">(.*?)</td>', page.text, re.S
    )
    assert cash, page.text
    assert len(taken) == 2  # the two paid baskets
    assert len(re.findall(r"Order \S+ £\d+\.\d\d", cash.group(1))) == days.count(day)
    assert "Orders still open (2)" in page.text
