"""The back office's lists keep what the manager chose: the filter form carries ``limit``, and
dismissing, retrying or acknowledging returns to the same filtered list and page, never
anywhere else; the devices list says why an iPad's push was refused (in process, like the
in-process half of ``test_back_office.py``)."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl, urlsplit
from uuid import uuid4

import httpx
import pytest_asyncio
from litestar import Litestar

from server.auth.tables import Role
from tests.e2e.test_back_office import (
    csrf_of,
    office_sign_in,
    pages_of,
    quarantined_change,
    with_password,
)
from tests.factories import Ipad, Tenant, make_ipad, make_tenant
from tests.integration.sync.test_push_rules import change, order_fields, prefix_of, push
from tests.integration.sync.test_sync_remedies import logged_conflict


@pytest_asyncio.fixture
async def manager(app: Litestar) -> Tenant:
    return await make_tenant(app, role=Role.manager)


def backs(page: str) -> list[str]:
    """Every action form's ``back`` field on the page, as the browser would send it."""
    return [html.unescape(value) for value in re.findall(r'name="back" value="([^"]*)"', page)]


def form_action(page: str, action: str) -> str:
    found = re.search(rf'action="(/office/[^"]+/{action})"', page)
    assert found, page
    return found.group(1)


async def two_ipads_with_quarantine(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> Ipad:
    """Bar's iPad has three changes in quarantine, the door's one; answers the bar's."""
    bar, door = (
        await make_ipad(app, tenant, name="Bar iPad"),
        await make_ipad(app, tenant, name="Door iPad"),
    )
    for seq in (1, 2, 3):
        await quarantined_change(client, bar, seq=seq)
    await quarantined_change(client, door)
    return bar


async def test_the_filter_form_and_clear_keep_the_page_size(
    app: Litestar, client: httpx.AsyncClient, manager: Tenant
) -> None:
    await office_sign_in(client, await with_password(manager))
    for page in ("quarantine", "conflicts"):
        small = await client.get(f"/office/{page}", params={"limit": "2", "state": ""})
        assert '<input type="hidden" name="limit" value="2">' in small.text, page
        assert 'href="?limit=2">Clear</a>' in small.text, page
        default = await client.get(f"/office/{page}")
        assert 'name="limit"' not in default.text and 'href="?">Clear</a>' in default.text


async def test_dismissing_on_a_filtered_second_page_returns_to_that_page(
    app: Litestar, client: httpx.AsyncClient, manager: Tenant
) -> None:
    bar = await two_ipads_with_quarantine(app, client, manager)
    await office_sign_in(client, await with_password(manager))
    first = await client.get(
        "/office/quarantine", params={"device": str(bar.device_id), "limit": "2"}
    )
    following, _ = pages_of(first.text)
    assert following
    second = await client.get(f"/office/quarantine?{following}")
    assert second.text.count('class="card"') == 1 and "change 1</p>" in second.text
    assert set(backs(second.text)) == {following}  # dismiss and retry both carry the page

    dismissed = await client.post(
        form_action(second.text, "dismiss"),
        data={"csrf": csrf_of(second.text), "reason": "typed twice", "back": following},
    )
    assert dismissed.status_code == 303, dismissed.text
    assert dismissed.headers["location"] == f"/office/quarantine?{following}"
    shown = dict(parse_qsl(urlsplit(dismissed.headers["location"]).query, keep_blank_values=True))
    assert shown["device"] == str(bar.device_id) and shown["limit"] == "2" and shown["cursor"]
    again = await client.get(dismissed.headers["location"])
    assert again.status_code == 200 and "Nothing in quarantine." in again.text  # it is settled


async def test_retrying_returns_to_the_filtered_list(
    app: Litestar, client: httpx.AsyncClient, manager: Tenant
) -> None:
    bar = await two_ipads_with_quarantine(app, client, manager)
    await office_sign_in(client, await with_password(manager))
    mine = {"device": str(bar.device_id), "entity_type": "order", "state": "open"}
    page = await client.get("/office/quarantine", params=mine)
    [back, *_] = backs(page.text)
    retried = await client.post(
        form_action(page.text, "retry"), data={"csrf": csrf_of(page.text), "back": back}
    )
    assert retried.status_code == 303, retried.text
    location = retried.headers["location"]
    assert urlsplit(location).path == "/office/quarantine"
    assert {k: v for k, v in parse_qsl(urlsplit(location).query) if k in mine} == mine
    after = await client.get(location)
    assert "from Bar iPad" in after.text and "from Door iPad" not in after.text


async def test_acknowledging_a_conflict_returns_to_the_filtered_list(
    app: Litestar, client: httpx.AsyncClient, manager: Tenant
) -> None:
    device_id = await logged_conflict(app, client, manager)
    await office_sign_in(client, await with_password(manager))
    page = await client.get("/office/conflicts", params={"device": str(device_id), "limit": "5"})
    [back] = backs(page.text)
    acknowledged = await client.post(
        form_action(page.text, "acknowledge"), data={"csrf": csrf_of(page.text), "back": back}
    )
    assert acknowledged.status_code == 303, acknowledged.text
    assert acknowledged.headers["location"] == f"/office/conflicts?{back}"
    assert f"device={device_id}" in back and "limit=5" in back


async def test_an_action_never_sends_the_browser_off_its_list(
    app: Litestar, client: httpx.AsyncClient, manager: Tenant
) -> None:
    ipad = await make_ipad(app, manager)
    for seq in range(1, 6):
        await quarantined_change(client, ipad, seq=seq)
    await office_sign_in(client, await with_password(manager))
    page = await client.get("/office/quarantine")
    csrf = csrf_of(page.text)
    actions = re.findall(r'action="(/office/quarantine/\d+/retry)"', page.text)
    for action, (forged, expected) in zip(
        actions,
        [
            ("https://evil.example/office/quarantine", "/office/quarantine"),
            ("//evil.example/?state=open", "/office/quarantine"),
            ("/office/devices?limit=2", "/office/quarantine"),
            ("state=&next=https://evil.example&limit=3", "/office/quarantine?state=&limit=3"),
            ("", "/office/quarantine"),
        ],
        strict=True,
    ):
        answer = await client.post(action, data={"csrf": csrf, "back": forged})
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == expected, forged


async def test_the_devices_list_says_when_an_ipads_push_was_refused(
    app: Litestar, client: httpx.AsyncClient, manager: Tenant
) -> None:
    ipad = await make_ipad(app, manager, name="Old iPad")
    first = [change(ipad, 1, "order", uuid4(), order_fields(await prefix_of(ipad), 1))]
    assert (await push(client, ipad, first, schema_version=99)).status_code == 426
    await office_sign_in(client, await with_password(manager))
    page = await client.get("/office/devices")
    row = re.search(r'<tr class="device [a-z]+" data-device="[^"]+">(.*?)</tr>', page.text, re.S)
    assert row, page.text
    assert re.search(
        r"push refused \d\d:\d\d UTC, upgrade required: schema version 99", row.group(1)
    )
    assert ">none<" not in row.group(1).replace("\n", "").replace(" ", "")
