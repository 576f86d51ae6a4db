"""The back office's Payments page: payments still waiting past their deadline, the last
reconciliation's findings, amounts written from integer pence (in process, then once in
Chromium with a screenshot)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest
import pytest_asyncio
from litestar import Litestar

from server.auth.tables import Role
from server.db.engine import DB
from server.payments import gateway
from server.payments.reconcile import STUCK_AFTER, reconcile
from tests.e2e.test_back_office import (  # noqa: F401 (fixtures)
    Browser,
    browser,
    csrf_of,
    office_server,
    office_sign_in,
    with_password,
)
from tests.factories import Tenant, make_order, make_tenant
from tests.integration.payments.conftest import install

PIZZA = [("Pizza", 2505, 1, 2000)]


@pytest.fixture(autouse=True)
def cash_only() -> Iterator[None]:
    install({})
    yield
    gateway.install(None)


@pytest_asyncio.fixture
async def manager(app: Litestar) -> Tenant:
    return await make_tenant(app, role=Role.manager)


async def payment_row(order_id: UUID, **columns: object) -> UUID:
    """A payment of the order's whole total, as the server would have stored it."""
    assert DB.pool is not None
    payment_id = uuid4()
    names = ", ".join(columns)
    values = ", ".join(f"${n}" for n in range(3, len(columns) + 3))
    await DB.pool.execute(
        "INSERT INTO payments (id, restaurant_id, location_id, order_id, currency, amount,"
        f" fee_schedule, estimated_provider_fee, platform_fee, {names})"
        " SELECT $1, restaurant_id, location_id, id, currency, total_due, 'x', 0, 0,"
        f" {values} FROM orders WHERE id = $2",
        payment_id,
        order_id,
        *columns.values(),
    )
    return payment_id


async def stuck_card(tenant: Tenant, seq: int) -> UUID:
    """A card payment still waiting for its card well past its deadline (Stripe was down)."""
    return await payment_row(
        await make_order(tenant, seq=seq, lines=PIZZA),
        method="card",
        provider="stripe",
        state="awaiting_customer",
        provider_reference=f"pi_{uuid4().hex}",
        expires_at=datetime.now(UTC) - STUCK_AFTER - timedelta(minutes=1),
    )


async def paid_twice(tenant: Tenant, seq: int) -> UUID:
    """An order of £25.05 paid in cash on two iPads while offline."""
    order_id = await make_order(tenant, seq=seq, lines=PIZZA)
    for _ in range(2):
        await payment_row(
            order_id,
            method="cash",
            provider="cash",
            state="succeeded",
            tendered=2505,
            provider_reference=f"cash-{uuid4()}",
            source="sync",
            succeeded_at=datetime.now(UTC),
        )
    return order_id


def window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(hours=1), now + timedelta(hours=1)


async def test_a_payment_past_its_deadline_is_on_the_page_in_pounds_and_pence(
    client: httpx.AsyncClient, manager: Tenant
) -> None:
    payment_id = await stuck_card(manager, seq=1)
    await office_sign_in(client, await with_password(manager))
    page = await client.get("/office/payments")
    assert page.status_code == 200, page.text
    card = re.search(rf'id="payment-{payment_id}">(.*?)</li>', page.text, re.S)
    assert card, page.text
    assert "Order T-0001: £25.05 by card" in card.group(1)
    assert "Past expiry" in card.group(1)

    acknowledged = await client.post(
        f"/office/payments/{payment_id}/acknowledge",
        data={"csrf": csrf_of(page.text), "note": "Stripe was down; took cash instead"},
    )
    assert acknowledged.status_code == 303, acknowledged.text
    assert acknowledged.headers["location"] == "/office/payments"
    after = await client.get("/office/payments")
    assert f'id="payment-{payment_id}"' not in after.text
    assert "No payment needs a decision." in after.text


async def test_the_last_reconciliation_is_shown_with_its_findings(
    client: httpx.AsyncClient, manager: Tenant
) -> None:
    await office_sign_in(client, await with_password(manager))
    assert "No reconcile run yet." in (await client.get("/office/payments")).text

    order_id = await paid_twice(manager, seq=1)
    await reconcile(*window(), restaurant_id=manager.restaurant_id)
    page = await client.get("/office/payments")
    finding = re.search(r'<tr class="finding">(.*?)</tr>', page.text, re.S)
    assert finding, page.text
    cells = re.sub(r"<[^>]+>", "|", finding.group(1))
    assert "Overpaid order" in cells and "took more than its total: refund the difference" in cells
    assert str(order_id) not in cells  # the support staff's detail, with ids, stays in the API
    assert "Order T-0001" in cells and "|£50.10|" in cells and "|£25.05|" in cells
    assert re.search(r"Last reconcile: \d\d \w{3} \d{4} \d\d:\d\d UTC, over", page.text)
    # The paid-twice order is also on the attention list, in the same money.
    assert "overpaid £25.05" in page.text
    live = await client.get("/office/payments/live")
    assert live.status_code == 200 and '<tr class="finding">' in live.text


async def test_a_balanced_run_says_so_and_another_restaurants_run_is_not_seen(
    app: Litestar, client: httpx.AsyncClient, manager: Tenant
) -> None:
    other = await make_tenant(app, role=Role.manager)
    await paid_twice(other, seq=1)
    await reconcile(*window(), restaurant_id=other.restaurant_id)
    await office_sign_in(client, await with_password(manager))
    page = await client.get("/office/payments")
    assert "No reconcile run yet." in page.text and "overpaid" not in page.text

    await reconcile(*window(), restaurant_id=manager.restaurant_id)
    page = await client.get("/office/payments")
    assert re.search(r"Last reconcile: \d\d \w{3} \d{4} \d\d:\d\d UTC, balanced\.", page.text)
    assert "£" not in page.text  # nothing waits and nothing was found


@pytest.mark.browser
async def test_the_payments_page_in_a_browser(
    manager: Tenant,
    browser: Browser,  # noqa: F811
    tmp_path: Path,
) -> None:
    payment_id = await stuck_card(manager, seq=1)
    await paid_twice(manager, seq=2)
    await reconcile(*window(), restaurant_id=manager.restaurant_id)
    await browser.sign_in(await with_password(manager))
    await browser.page.click("nav >> text=Payments")
    card = browser.page.locator(f"#payment-{payment_id}")
    assert "£25.05 by card" in await card.inner_text()
    finding = browser.page.locator("tr.finding", has_text="overpaid order")
    assert "Order T-0002" in await finding.inner_text()
    stuck = browser.page.locator("tr.finding", has_text="stuck payment")
    assert f"payment {payment_id}" in await stuck.inner_text()
    await browser.screenshot(tmp_path / "payments.png")

    await card.locator("input[name=note]").fill("Stripe was down; took cash instead")
    await card.locator("button", has_text="Acknowledge").click()
    await browser.page.wait_for_selector(f"#payment-{payment_id}", state="detached")
    await browser.screenshot(tmp_path / "payments-acknowledged.png")
