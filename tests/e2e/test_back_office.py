"""The back office page at /office/: signed in with the back-office password, live over the socket.

In-process requests check the session cookie, CSRF, the CSP and who may reach what; a real
``fynlo serve`` on the tests' database and headless Chromium check the pages as a manager sees
them, live, with every request off 127.0.0.1 blocked (and none tried).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import httpx
import pytest
import pytest_asyncio
from litestar import Litestar
from playwright.async_api import Page, Request, Route, WebSocketRoute, async_playwright

from server.auth.passwords import hash_password
from server.auth.tables import Role, User
from server.db.engine import connection
from server.office.session import SESSION_COOKIE
from server.settings import Settings
from server.sync import lag
from tests.e2e.processes import FYNLO, free_port, fynlo_env, stop, wait_for
from tests.factories import Ipad, Tenant, make_ipad, make_tenant, sign_in, staff_member
from tests.integration.sync.test_push_rules import (
    change,
    device,
    order_fields,
    prefix_of,
    pull_page,
    push,
)
from tests.integration.sync.test_sync_remedies import logged_conflict
from tests.optional import CHROMIUM

PASSWORD = "back-office-2026"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
LOCAL_HOST = "127.0.0.1"
LIVE_MS = 15_000


async def with_password(tenant: Tenant) -> str:
    """The tenant's back-office user's email, now with ``PASSWORD``."""
    await User.update({User.password_hash: await hash_password(PASSWORD)}).where(
        User.id == tenant.user_id
    )
    return f"{tenant.user_id.hex}@test.fynlo.app"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def office_sign_in(client: httpx.AsyncClient, email: str) -> httpx.Response:
    form = await client.get("/office/login")
    assert form.status_code == 200, form.text
    return await client.post(
        "/office/login",
        data={"email": email, "password": PASSWORD, "csrf": csrf_of(form.text)},
    )


async def quarantined_change(client: httpx.AsyncClient, ipad: Ipad, seq: int = 1) -> None:
    """``ipad`` pushes an order at a table that does not exist: the server keeps it aside."""
    refused = order_fields(await prefix_of(ipad), seq, table_id=str(uuid4()))
    response = await push(client, ipad, [change(ipad, seq, "order", uuid4(), refused)])
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["outcome"] == "rejected"


# --- in process -----------------------------------------------------------------------------


@pytest_asyncio.fixture
async def manager(app: Litestar) -> Tenant:
    return await make_tenant(app, role=Role.manager)


async def test_signing_in_sets_a_strict_session_and_the_page_lists_the_ipads(
    app: Litestar, client: httpx.AsyncClient, manager: Tenant
) -> None:
    await make_ipad(app, manager, name="Bar iPad")
    signed_in = await office_sign_in(client, await with_password(manager))

    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/office/devices"
    cookies = [v for k, v in signed_in.headers.multi_items() if k == "set-cookie"]
    session = next(c for c in cookies if c.startswith("fynlo_office="))
    assert "HttpOnly" in session and "Path=/office" in session
    assert "samesite=strict" in session.lower() and "Secure" not in session  # test env
    page = await client.get("/office/devices")
    assert page.status_code == 200
    assert "Bar iPad" in page.text and "Amber" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "<script>" not in page.text and "style=" not in page.text
    token = (await client.get("/office/session/token")).json()["token"]
    assert (
        await client.get("/api/v1/sync/devices", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 200


async def test_a_form_without_its_csrf_token_is_refused(
    app: Litestar, client: httpx.AsyncClient, manager: Tenant
) -> None:
    ipad = await make_ipad(app, manager)
    await office_sign_in(client, await with_password(manager))
    forged = await client.post(f"/office/devices/{ipad.device_id}/revoke", data={"csrf": "x"})
    assert forged.status_code == 403
    listed = await client.get("/api/v1/devices", headers=manager.headers)
    assert [d["revoked_at"] for d in listed.json()] == [None]


async def test_logout_ends_the_refresh_family(client: httpx.AsyncClient, manager: Tenant) -> None:
    await office_sign_in(client, await with_password(manager))
    page = await client.get("/office/devices")
    out = await client.post("/office/logout", data={"csrf": csrf_of(page.text)})
    assert out.status_code == 303 and out.headers["location"] == "/office/login"
    after = await client.get("/office/devices")
    assert after.status_code in (302, 303) and after.headers["location"] == "/office/login"


async def test_only_a_page_load_renews_an_expired_session(
    client: httpx.AsyncClient, manager: Tenant
) -> None:
    await office_sign_in(client, await with_password(manager))
    _, _, refresh = client.cookies[SESSION_COOKIE].partition("|")
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, f"expired|{refresh}")
    # The page's background fetches run several at once: none of them rotates the session
    # (that would look like a stolen refresh token); the script reloads the page instead.
    fetched = await client.get("/office/devices/live", headers={"Sec-Fetch-Mode": "cors"})
    assert fetched.status_code == 401, fetched.text
    assert SESSION_COOKIE not in fetched.headers.get("set-cookie", "")  # kept, not ended
    loaded = await client.get("/office/devices", headers={"Sec-Fetch-Mode": "navigate"})
    assert loaded.status_code == 200, loaded.text
    assert f"{SESSION_COOKIE}=" in loaded.headers["set-cookie"]
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, loaded.cookies[SESSION_COOKIE])
    again = await client.get("/office/devices/live", headers={"Sec-Fetch-Mode": "cors"})
    assert again.status_code == 200, again.text
    client.cookies.clear()


async def test_a_cashier_cannot_reach_the_page(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    cashier = await sign_in(
        app, await make_ipad(app, tenant), await staff_member(tenant, Role.cashier)
    )
    refused = await client.get("/office/devices", headers=cashier.headers)
    assert refused.status_code == 403 and "may not sync.view" in refused.text
    # A cashier account has no back-office password sign-in at all.
    user = await make_tenant(app, role=Role.cashier)
    answer = await office_sign_in(client, await with_password(user))
    assert answer.status_code == 401 and "email or password is wrong" in answer.text
    assert "fynlo_office=" not in answer.headers.get("set-cookie", "")


async def test_another_restaurants_manager_sees_none_of_it(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, manager: Tenant
) -> None:
    ipad = await make_ipad(app, tenant, name="Their secret till")
    await quarantined_change(client, ipad)
    theirs = (await client.get("/api/v1/sync/quarantine", headers=tenant.headers)).json()
    quarantine_id = theirs["items"][0]["id"]

    await office_sign_in(client, await with_password(manager))
    for page in ("devices", "quarantine", "conflicts"):
        answer = await client.get(f"/office/{page}")
        assert answer.status_code == 200 and "Their secret till" not in answer.text, page
    csrf = csrf_of((await client.get("/office/quarantine")).text)
    dismissed = await client.post(
        f"/office/quarantine/{quarantine_id}/dismiss", data={"csrf": csrf, "reason": "mine now"}
    )
    revoked = await client.post(f"/office/devices/{ipad.device_id}/revoke", data={"csrf": csrf})
    assert (dismissed.status_code, revoked.status_code) == (404, 404)
    still = (await client.get("/api/v1/sync/quarantine", headers=tenant.headers)).json()
    assert still["items"][0]["state"] == "open"


async def test_the_quarantine_filters_by_device_kind_time_and_state_and_live_keeps_them(
    app: Litestar, client: httpx.AsyncClient, manager: Tenant
) -> None:
    bar, door = (
        await make_ipad(app, manager, name="Bar iPad"),
        await make_ipad(app, manager, name="Door iPad"),
    )
    await quarantined_change(client, bar)
    await quarantined_change(client, door)
    await office_sign_in(client, await with_password(manager))

    everything = await client.get("/office/quarantine")
    assert everything.text.count('class="card"') == 2
    mine = {"device": str(bar.device_id), "entity_type": "order", "since": "", "until": ""}
    only_bar = await client.get("/office/quarantine", params={**mine, "state": "open"})
    assert only_bar.status_code == 200
    assert "from Bar iPad" in only_bar.text and "from Door iPad" not in only_bar.text
    live = re.search(r'data-live="([^"]+)"', only_bar.text)
    assert live and f"device={bar.device_id}" in live.group(1)
    again = await client.get(live.group(1).replace("&amp;", "&"))
    assert "from Bar iPad" in again.text and "from Door iPad" not in again.text
    assert f'<option value="{bar.device_id}" selected>' in only_bar.text

    for narrower in (
        {"state": "dismissed"},
        {"entity_type": "payment"},
        {"since": "2999-01-01T00:00"},
        {"until": "2000-01-01T00:00"},
    ):
        answer = await client.get("/office/quarantine", params={**mine, **narrower})
        assert "Nothing in quarantine." in answer.text, narrower
    any_state = await client.get("/office/quarantine", params={"state": ""})
    assert any_state.text.count('class="card"') == 2
    for wrong in ({"device": "nope"}, {"since": "yesterday"}, {"state": "lost"}):
        refused = await client.get("/office/quarantine", params=wrong)
        assert refused.status_code == 400, wrong


async def test_the_conflicts_page_filters_the_same_way(
    app: Litestar, client: httpx.AsyncClient, manager: Tenant
) -> None:
    ipad = await make_ipad(app, manager, name="Bar iPad")
    await office_sign_in(client, await with_password(manager))
    page = await client.get(
        "/office/conflicts", params={"device": str(ipad.device_id), "state": "acknowledged"}
    )
    assert page.status_code == 200 and "No conflict waiting." in page.text
    assert '<option value="acknowledged" selected>' in page.text
    assert "/office/conflicts/live?device=" in page.text
    assert (await client.get("/office/conflicts", params={"state": "open"})).status_code == 400


def pages_of(html: str) -> tuple[str | None, str]:
    """The page's "Next page" query (None on the last page) and its live region's address."""
    following = re.search(r'href="\?([^"]*)" rel="next">Next page', html)
    live = re.search(r'data-live="([^"]+)"', html)
    assert live, html
    unescaped = live.group(1).replace("&amp;", "&")
    return (following.group(1).replace("&amp;", "&") if following else None), unescaped


async def test_the_devices_list_pages_past_its_first_page_and_live_keeps_the_page(
    app: Litestar, client: httpx.AsyncClient, manager: Tenant
) -> None:
    for name in ("Bar iPad", "Door iPad", "Patio iPad"):
        await make_ipad(app, manager, name=name)
    await office_sign_in(client, await with_password(manager))

    first = await client.get("/office/devices", params={"limit": "2"})
    assert first.status_code == 200 and first.text.count('<tr class="device ') == 2
    following, live = pages_of(first.text)
    assert following and "limit=2" in following and "First page" not in first.text
    second = await client.get(f"/office/devices?{following}")
    assert second.text.count('<tr class="device ') == 1 and "First page" in second.text
    assert pages_of(second.text)[0] is None
    shown = re.findall(r'<th scope="row" data-label="iPad">([^<]+)<', first.text + second.text)
    assert sorted(shown) == ["Bar iPad", "Door iPad", "Patio iPad"]
    live = pages_of(second.text)[1]
    assert "cursor=" in live and "limit=2" in live
    again = await client.get(live)
    assert again.text.count('<tr class="device ') == 1 and shown[-1] in again.text
    assert "cursor=" not in pages_of(first.text)[1]
    for wrong in ({"limit": "0"}, {"limit": "lots"}, {"cursor": "not-ours"}):
        assert (await client.get("/office/devices", params=wrong)).status_code == 400, wrong


async def test_the_quarantine_pages_past_its_first_page_keeping_the_filters(
    app: Litestar, client: httpx.AsyncClient, manager: Tenant
) -> None:
    bar, door = (
        await make_ipad(app, manager, name="Bar iPad"),
        await make_ipad(app, manager, name="Door iPad"),
    )
    for seq in (1, 2, 3):
        await quarantined_change(client, bar, seq=seq)
    await quarantined_change(client, door)
    await office_sign_in(client, await with_password(manager))

    mine = {"device": str(bar.device_id), "limit": "2"}
    first = await client.get("/office/quarantine", params=mine)
    assert first.text.count('class="card"') == 2
    following, _ = pages_of(first.text)
    assert following and f"device={bar.device_id}" in following and "limit=2" in following
    second = await client.get(f"/office/quarantine?{following}")
    assert second.text.count('class="card"') == 1 and "from Door iPad" not in second.text
    assert "change 1</p>" in second.text and pages_of(second.text)[0] is None
    live = await client.get(pages_of(second.text)[1])
    assert live.text.count('class="card"') == 1 and "change 1</p>" in live.text


async def test_the_conflicts_page_pages_past_its_first_page(
    app: Litestar, client: httpx.AsyncClient, manager: Tenant
) -> None:
    await logged_conflict(app, client, manager)
    await logged_conflict(app, client, manager)
    await office_sign_in(client, await with_password(manager))

    first = await client.get("/office/conflicts", params={"limit": "1"})
    assert first.text.count('class="card"') == 1
    following, _ = pages_of(first.text)
    assert following and "state=new" in following
    second = await client.get(f"/office/conflicts?{following}")
    assert second.text.count('class="card"') == 1 and pages_of(second.text)[0] is None
    ids = re.findall(r'id="conflict-(\d+)"', first.text + second.text)
    assert len(set(ids)) == 2
    live = await client.get(pages_of(second.text)[1])
    assert re.findall(r'id="conflict-(\d+)"', live.text) == ids[1:]


def figures(html: str, table: str, column: str) -> int:
    """The sum of ``column`` over the rows of the Activity table ``table``."""
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return sum(
        int(n) for n in re.findall(rf'<td data-label="{re.escape(column)}">(\d+)</td>', body)
    )


async def test_the_activity_page_counts_the_changes_and_pushes_of_the_last_hour(
    app: Litestar, client: httpx.AsyncClient, manager: Tenant
) -> None:
    ipad = await make_ipad(app, manager, name="Bar iPad")
    prefix = await prefix_of(ipad)
    orders = [change(ipad, seq, "order", uuid4(), order_fields(prefix, seq)) for seq in (1, 2, 3)]
    assert (await push(client, ipad, orders)).status_code == 200
    await quarantined_change(client, ipad, seq=4)
    await office_sign_in(client, await with_password(manager))

    page = await client.get("/office/activity")
    assert page.status_code == 200
    assert "Changes per minute by answer: 4 in the last hour</title>" in page.text
    assert "Pushes per minute by outcome: 2 in the last hour</title>" in page.text
    assert figures(page.text, "changes-table", "Applied") == 3
    assert figures(page.text, "changes-table", "Rejected") == 1
    assert figures(page.text, "pushes-table", "Clean") == 1
    assert figures(page.text, "pushes-table", "Refused") == 1
    assert page.text.count('<rect class="s-applied"') >= 1
    lag_row = page.text.split('id="lag-table"', 1)[1]
    assert "Bar iPad" in lag_row and "never pulled" in lag_row
    assert "style=" not in page.text and "<script>" not in page.text
    live = await client.get("/office/activity/live")
    assert "Changes per minute by answer: 4 in the last hour</title>" in live.text


async def test_the_activity_page_draws_each_ipads_sampled_lag_over_the_hour(
    app: Litestar, client: httpx.AsyncClient, manager: Tenant
) -> None:
    bar, door = (
        await make_ipad(app, manager, name="Bar iPad"),
        await make_ipad(app, manager, name="Door iPad"),
    )
    first = await pull_page(client, bar)
    assert first.status_code == 200, first.text
    assert (await pull_page(client, bar, first.json()["cursor"])).status_code == 200
    prefix = await prefix_of(door)
    orders = [change(door, seq, "order", uuid4(), order_fields(prefix, seq)) for seq in (1, 2, 3)]
    assert (await push(client, door, orders)).status_code == 200
    now = datetime.now(UTC)

    assert await lag.sample(now=now - timedelta(hours=25)) >= 1  # kept a day, then gone
    assert await lag.sample(now=now - timedelta(minutes=2)) >= 1
    assert await lag.sample(now=now) >= 1
    assert await lag.sample(now=now) == 0  # a sample a minute per iPad
    async with connection() as conn:
        kept = await conn.fetchval(
            "SELECT count(*) FROM sync_lag_samples WHERE device_id = $1", bar.device_id
        )
    assert kept == 2  # door never pulled: no sample; the day-old one was deleted
    await office_sign_in(client, await with_password(manager))

    page = await client.get("/office/activity")
    assert page.status_code == 200
    assert "Feed lag per iPad over the last hour: 1 iPads</title>" in page.text
    assert page.text.count('<polyline class="trend" points="') == 1
    trend = page.text.split('id="trend-table"', 1)[1].split("</table>", 1)[0]
    assert trend.count('<th scope="row">Bar iPad</th>') == 2 and "Door iPad" not in trend
    assert figures(page.text, "trend-table", "Behind (changes)") == 6
    assert "style=" not in page.text
    live = await client.get("/office/activity/live")
    assert 'id="trend-table"' in live.text


# --- a real server and Chromium -------------------------------------------------------------


@pytest.fixture(scope="module")
def office_server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``fynlo serve`` on the tests' database and signing keys."""
    port = free_port()
    env = fynlo_env(
        FYNLO_DATABASE_URL=settings.database_url or "",
        FYNLO_DATA_DIR=str(settings.data_dir),
        FYNLO_PORT=str(port),
    )
    log_path = tmp_path_factory.mktemp("office") / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [FYNLO, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
    base_url = f"http://{LOCAL_HOST}:{port}"
    try:
        wait_for(f"{base_url}/ready", process)
        yield base_url
    finally:
        stop(process)


class Browser:
    """A Chromium page that may reach only 127.0.0.1, recording anything else it tried."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page, self.base_url = page, base_url
        self.blocked: list[str] = []
        self.errors: list[str] = []

    async def sign_in(self, email: str) -> None:
        await self.page.goto(f"{self.base_url}/office/")
        await self.page.fill("#email", email)
        await self.page.fill("#password", PASSWORD)
        await self.page.click("button[type=submit]")
        await self.page.wait_for_url("**/office/devices")

    async def live(self) -> None:
        """Wait until the page's socket has said welcome and the page has caught up after it
        (each live region fetched once more), so what it shows from now on came live."""
        await self.page.wait_for_selector("body[data-live=connected]", timeout=LIVE_MS)
        await self.page.wait_for_selector(
            "[data-events]:not([data-refreshed])", state="detached", timeout=LIVE_MS
        )

    async def screenshot(self, path: Path) -> None:
        await self.page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")

    async def mark(self) -> None:
        """Leave a mark in the document: a reload or a navigation wipes it."""
        await self.page.evaluate("window.fynloTestMark = true")

    async def still_marked(self) -> bool:
        """Whether the page is still the document ``mark`` marked (nothing reloaded it)."""
        marked: bool = await self.page.evaluate("window.fynloTestMark === true")
        return marked


@pytest_asyncio.fixture
async def browser(office_server: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await chromium.new_page(viewport={"width": 1180, "height": 820})
            seen = Browser(page, office_server)

            async def only_this_host(route: Route, request: Request) -> None:
                if urlsplit(request.url).hostname == LOCAL_HOST:
                    await route.continue_()
                else:
                    seen.blocked.append(request.url)
                    await route.abort()

            await page.route("**/*", only_this_host)
            page.on("websocket", lambda socket: _local_socket(seen, socket.url))
            page.on("pageerror", lambda error: seen.errors.append(str(error)))
            yield seen
            assert seen.blocked == [], "the page tried to reach another host"
            assert seen.errors == []
        finally:
            await chromium.close()


def _local_socket(seen: Browser, url: str) -> None:
    if urlsplit(url).hostname != LOCAL_HOST:
        seen.blocked.append(url)


@pytest.mark.browser
async def test_an_ipad_turns_green_live_when_it_pushes(
    app: Litestar, manager: Tenant, browser: Browser, office_server: str, tmp_path: Path
) -> None:
    ipad = await make_ipad(app, manager, name="Till by the door")
    async with httpx.AsyncClient(base_url=office_server, timeout=10) as http:
        first = await pull_page(http, ipad)  # its first copy, then a pull from its cursor
        assert (await pull_page(http, ipad, first.json()["cursor"])).status_code == 200
        prefix = await prefix_of(ipad)
        waiting = [change(ipad, 1, "order", uuid4(), order_fields(prefix, 1))]
        sent = await push(http, ipad, waiting, outbox_backlog=4, oldest_unsent_age_seconds=30)
        assert sent.status_code == 200, sent.text

        await browser.sign_in(await with_password(manager))
        row = browser.page.locator("tr.device", has_text="Till by the door")
        assert "Amber" in await row.inner_text() and "sending" in await row.inner_text()
        await browser.live()
        await browser.mark()
        await browser.screenshot(tmp_path / "devices-amber.png")

        rest = [change(ipad, 2, "order", uuid4(), order_fields(prefix, 2))]
        assert (await push(http, ipad, rest, outbox_backlog=0)).status_code == 200
        await browser.page.wait_for_selector(
            "tr.device.green:has-text('Till by the door')", timeout=LIVE_MS
        )
    assert "Green" in await row.inner_text()
    assert await browser.still_marked()
    await browser.screenshot(tmp_path / "devices-green.png")


@pytest.mark.browser
async def test_a_quarantined_change_dismissed_on_the_page_is_in_the_audit_log(
    app: Litestar, manager: Tenant, browser: Browser, office_server: str, tmp_path: Path
) -> None:
    ipad = await make_ipad(app, manager, name="Terrace iPad")
    async with httpx.AsyncClient(base_url=office_server, timeout=10) as http:
        await quarantined_change(http, ipad)
        await browser.sign_in(await with_password(manager))
        assert "Red" in await browser.page.locator("tr.device", has_text="Terrace").inner_text()
        await browser.screenshot(tmp_path / "devices-red.png")

        await browser.page.click("nav >> text=Quarantine")
        card = browser.page.locator("li.card", has_text="Terrace iPad")
        await browser.screenshot(tmp_path / "quarantine.png")
        await card.locator("input[name=reason]").fill("table was removed; re-entered by hand")
        await card.locator("button", has_text="Dismiss").click()
        await browser.page.wait_for_selector("text=Nothing in quarantine.")
        await browser.screenshot(tmp_path / "quarantine-dismissed.png")

        audit = await http.get("/api/v1/audit", headers=manager.headers)
    entries = audit.json()["items"] if isinstance(audit.json(), dict) else audit.json()
    dismissal = [e for e in entries if e["action"] == "dismiss_quarantined"]
    assert len(dismissal) == 1, entries
    assert dismissal[0]["target_type"] == "quarantine"


@pytest.mark.browser
async def test_a_cashier_account_cannot_sign_in_to_the_page(
    app: Litestar, browser: Browser, tmp_path: Path
) -> None:
    cashier = await make_tenant(app, role=Role.cashier)
    email = await with_password(cashier)
    await browser.page.goto(f"{browser.base_url}/office/devices")
    assert browser.page.url.endswith("/office/login")
    await browser.page.fill("#email", email)
    await browser.page.fill("#password", PASSWORD)
    await browser.page.click("button[type=submit]")
    await browser.page.wait_for_selector("[role=alert]")
    assert "email or password is wrong" in await browser.page.inner_text("[role=alert]")
    await browser.screenshot(tmp_path / "cashier-refused.png")
    await browser.page.goto(f"{browser.base_url}/office/devices")
    assert browser.page.url.endswith("/office/login")


@pytest.mark.browser
async def test_the_activity_page_draws_the_last_hour(
    app: Litestar, manager: Tenant, browser: Browser, office_server: str, tmp_path: Path
) -> None:
    bar = await make_ipad(app, manager, name="Bar iPad")
    door = await make_ipad(app, manager, name="Till by the door")
    async with httpx.AsyncClient(base_url=office_server, timeout=10) as http:
        first = await pull_page(http, door)  # the door till is caught up, then falls behind
        assert (await pull_page(http, door, first.json()["cursor"])).status_code == 200
        prefix = await prefix_of(bar)
        orders = [change(bar, seq, "order", uuid4(), order_fields(prefix, seq)) for seq in (1, 2)]
        assert (await push(http, bar, orders)).status_code == 200
        await quarantined_change(http, bar, seq=3)

        await browser.sign_in(await with_password(manager))
        await browser.page.click("nav >> text=Activity")
        await browser.page.wait_for_url("**/office/activity")
        await browser.live()
        title = browser.page.locator("#changes-chart title").first
        assert await title.text_content() == "Changes per minute by answer: 3 in the last hour"
        assert await browser.page.locator("#changes-chart rect").count() >= 2
        assert await browser.page.locator("#lag-chart rect").count() == 2
        door_row = browser.page.locator("#lag-table tr", has_text="Till by the door")
        assert (await door_row.locator("td").last.text_content()) == "2"
        for summary in await browser.page.locator("summary").all():
            await summary.click()
        await browser.screenshot(tmp_path / "activity.png")


@pytest.mark.browser
async def test_a_concurrent_edit_appears_on_the_conflicts_page_live(
    app: Litestar, manager: Tenant, browser: Browser, office_server: str, tmp_path: Path
) -> None:
    door_ipad = await make_ipad(app, manager, name="Till by the door", signed_in=Role.manager)
    bar_ipad = await make_ipad(app, manager, name="Bar iPad", signed_in=Role.manager)
    async with httpx.AsyncClient(base_url=office_server, timeout=10) as http:
        door, bar = await device(http, door_ipad), await device(http, bar_ipad)
        order_id = door.open_order()
        assert await door.sync() and await bar.sync()  # both hold the order

        await browser.sign_in(await with_password(manager))
        await browser.page.click("nav >> text=Conflicts")
        await browser.page.wait_for_url("**/office/conflicts")
        await browser.live()
        assert await browser.page.locator("#conflicts li.card").count() == 0
        await browser.mark()

        door.edit("order", order_id, {"notes": "window seat"})  # offline from each other,
        bar.edit("order", order_id, {"notes": "birthday"})  # both change the same order
        assert await door.push() and await bar.push()
        card = browser.page.locator("#conflicts li.card", has_text="from Bar iPad")
        await card.wait_for(timeout=LIVE_MS)
    assert await browser.still_marked()
    assert "Order changed on two tills" in await card.locator("h2").inner_text()
    assert await card.locator(".sub strong").inner_text() == "the later edit kept"  # lww
    notes = card.locator("tr.differs", has_text="Notes")
    cells = [await cell.inner_text() for cell in await notes.locator("td").all()]
    assert cells[:2] == ["window seat", "birthday"], cells  # the server's, the iPad's
    assert cells[2] in ("window seat", "birthday"), cells  # what the rule kept
    await browser.screenshot(tmp_path / "conflict-live.png")

    await card.locator("button", has_text="Acknowledge").click()
    await browser.page.wait_for_selector("text=No conflict waiting.", timeout=LIVE_MS)
    await browser.screenshot(tmp_path / "conflict-acknowledged.png")


async def ten_minutes_pass(ipad: Ipad) -> None:
    """Simulated time: everything ``ipad`` did happened ten minutes earlier, so it looks out
    of touch (no socket, not seen within five minutes: ``server.sync.device_health``)."""
    async with connection() as conn, conn.transaction():
        await conn.execute(
            "UPDATE devices SET last_seen_at = last_seen_at - interval '10 minutes' WHERE id = $1",
            ipad.device_id,
        )
        await conn.execute(
            "UPDATE sync_devices SET last_push_at = last_push_at - interval '10 minutes',"
            " last_pull_at = last_pull_at - interval '10 minutes',"
            " oldest_unsent_at = oldest_unsent_at - interval '10 minutes' WHERE device_id = $1",
            ipad.device_id,
        )


async def status_of(http: httpx.AsyncClient, manager: Tenant, ipad: Ipad) -> dict[str, Any]:
    listed = await http.get("/api/v1/sync/devices", headers=manager.headers)
    assert listed.status_code == 200, listed.text
    [status] = [d for d in listed.json()["items"] if d["device_id"] == str(ipad.device_id)]
    return status


@pytest.mark.browser
async def test_an_ipad_offline_with_a_backlog_is_red_then_green_live_when_it_comes_back(
    app: Litestar, manager: Tenant, browser: Browser, office_server: str, tmp_path: Path
) -> None:
    ipad = await make_ipad(app, manager, name="Patio iPad")
    async with httpx.AsyncClient(base_url=office_server, timeout=10) as http:
        copy = await pull_page(http, ipad)  # its first copy, then a pull from its cursor
        pulled = await pull_page(http, ipad, copy.json()["cursor"])
        assert pulled.status_code == 200, pulled.text
        prefix = await prefix_of(ipad)
        sent = [change(ipad, 1, "order", uuid4(), order_fields(prefix, 1))]
        answer = await push(http, ipad, sent, outbox_backlog=3, oldest_unsent_age_seconds=60)
        assert answer.status_code == 200, answer.text
        await ten_minutes_pass(ipad)  # the Wi-Fi went with three orders still on the till

        await browser.sign_in(await with_password(manager))
        row = browser.page.locator("tr.device", has_text="Patio iPad")
        assert await row.get_attribute("class") == "device red"
        assert await row.locator(".reasons").inner_text() == "offline with backlog"
        await browser.live()
        await browser.mark()
        await browser.screenshot(tmp_path / "devices-offline-red.png")

        # Back on the Wi-Fi: it sends what waited, then pulls what it missed.
        queued = [
            change(ipad, seq, "order", uuid4(), order_fields(prefix, seq)) for seq in (2, 3, 4)
        ]
        back = await push(http, ipad, queued, outbox_backlog=0)
        assert back.status_code == 200, back.text
        missed = await pull_page(http, ipad, pulled.json()["cursor"])
        assert missed.status_code == 200, missed.text
        assert (await pull_page(http, ipad, missed.json()["cursor"])).status_code == 200
        await browser.page.wait_for_selector(
            "tr.device.green:has-text('Patio iPad')", timeout=LIVE_MS
        )
        caught_up = await status_of(http, manager, ipad)
    assert await browser.still_marked()
    assert await row.locator(".reasons").inner_text() == "all good"
    assert (caught_up["status"], caught_up["outbox_backlog"], caught_up["behind_changes"]) == (
        "green",
        0,
        0,
    )
    await browser.screenshot(tmp_path / "devices-back-green.png")


class SocketSwitch:
    """Stands between the page and ``/api/v1/ws`` like the network: passes the page's socket
    through to the server, cuts it (both ends close, as when the LAN or the server goes), and
    turns new ones away until it is switched back on."""

    def __init__(self) -> None:
        self.on = True
        self.through: list[tuple[WebSocketRoute, WebSocketRoute]] = []

    async def route(self, page_side: WebSocketRoute) -> None:
        if self.on:
            self.through.append((page_side, page_side.connect_to_server()))
        else:
            await page_side.close(code=1001, reason="unreachable")

    async def cut(self) -> None:
        self.on = False
        for page_side, server_side in self.through:
            await server_side.close(code=1001, reason="cut")
            await page_side.close(code=1001, reason="cut")
        self.through.clear()


@pytest.mark.browser
async def test_the_page_says_when_the_socket_drops_and_catches_up_when_it_returns(
    app: Litestar, manager: Tenant, browser: Browser, office_server: str, tmp_path: Path
) -> None:
    ipad = await make_ipad(app, manager, name="Terrace iPad")
    switch = SocketSwitch()
    await browser.page.route_web_socket("**/api/v1/ws", switch.route)
    banner = browser.page.locator("#live-banner")
    async with httpx.AsyncClient(base_url=office_server, timeout=10) as http:
        await browser.sign_in(await with_password(manager))
        await browser.page.click("nav >> text=Quarantine")
        await browser.page.wait_for_url("**/office/quarantine")
        await browser.live()
        assert await banner.is_hidden()
        await browser.mark()

        await switch.cut()
        await browser.page.wait_for_selector("body[data-live=lost]", timeout=LIVE_MS)
        await banner.wait_for(state="visible", timeout=LIVE_MS)
        await quarantined_change(http, ipad)  # meanwhile a till's change is refused
        # No event reaches the page now (its 30 s refresh is far off: it loaded just now).
        assert await browser.page.locator("#quarantine li.card").count() == 0
        await browser.screenshot(tmp_path / "socket-lost.png")

        switch.on = True
        # The page retries after a growing pause (1 s, 2 s, 4 s…): allow for a few of them.
        await browser.page.wait_for_selector("body[data-live=connected]", timeout=2 * LIVE_MS)
        await browser.page.locator("#quarantine li.card", has_text="Terrace iPad").wait_for(
            timeout=LIVE_MS
        )
    assert await banner.is_hidden()
    assert await browser.still_marked()
    await browser.screenshot(tmp_path / "socket-back.png")
