"""Price history (issue 13): every price a product or modifier has had is recorded when the
back office publishes it, and a pushed price is checked against the prices in force in the
day before the line was taken (``server/catalog/prices.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from server.catalog.piccolo_migrations.catalog_2026_12_05t12_00_00_000000 import (
    BACKFILL_PRICES,
)
from server.catalog.prices import (
    MENU_STALENESS,
    UNKNOWN,
    Kind,
    PriceCheck,
    Verdict,
    catalog_prices,
)
from server.db.engine import DB
from tests.factories import Tenant

HOUR = timedelta(hours=1)
TICK = timedelta(microseconds=1)


async def create(client: httpx.AsyncClient, tenant: Tenant, path: str, body: Any) -> Any:
    response = await client.post(f"/api/v1/{path}", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def patch(client: httpx.AsyncClient, tenant: Tenant, path: str, body: Any) -> Any:
    response = await client.patch(f"/api/v1/{path}", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def product(client: httpx.AsyncClient, tenant: Tenant, price: int) -> UUID:
    body = {"name": "Burger", "price": price, "vat_rate_bp": 2000}
    return UUID((await create(client, tenant, "products", body))["id"])


async def modifier(client: httpx.AsyncClient, tenant: Tenant, price_delta: int) -> UUID:
    group = await create(client, tenant, "modifier-groups", {"name": "Sauce"})
    body = {"group_id": group["id"], "name": "Mayo", "price_delta": price_delta}
    return UUID((await create(client, tenant, "modifiers", body))["id"])


async def history(item_id: UUID) -> list[tuple[int, int | None, datetime]]:
    assert DB.pool is not None
    rows = await DB.pool.fetch(
        "SELECT price, vat_rate_bp, valid_from FROM catalog_prices WHERE item_id = $1"
        " ORDER BY valid_from",
        item_id,
    )
    return [(row["price"], row["vat_rate_bp"], row["valid_from"]) for row in rows]


async def check(tenant: Tenant, *checks: PriceCheck) -> list[Verdict]:
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        verdicts = await catalog_prices(conn, tenant.restaurant_id, checks)
    assert set(verdicts) == set(checks)
    return [verdicts[one] for one in checks]


def at(item_id: UUID, when: datetime, price: int, kind: Kind = "product") -> PriceCheck:
    return PriceCheck(item_id=item_id, at=when, price=price, kind=kind)


async def test_a_price_change_is_recorded_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    burger = await product(client, tenant, 2400)
    assert [row[:2] for row in await history(burger)] == [(2400, 2000)]

    await patch(client, tenant, f"products/{burger}", {"name": "Cheeseburger"})
    await patch(client, tenant, f"products/{burger}", {"price": 2400, "position": 3})
    assert [row[:2] for row in await history(burger)] == [(2400, 2000)]

    await patch(client, tenant, f"products/{burger}", {"price": 2600})
    await patch(client, tenant, f"products/{burger}", {"price": 2600})
    await patch(client, tenant, f"products/{burger}", {"vat_rate_bp": 500})
    deleted = await client.delete(f"/api/v1/products/{burger}", headers=tenant.headers)
    assert deleted.status_code == 204
    rows = await history(burger)
    assert [row[:2] for row in rows] == [(2400, 2000), (2600, 2000), (2600, 500)]
    assert rows[0][2] < rows[1][2] < rows[2][2]

    mayo = await modifier(client, tenant, 50)
    await patch(client, tenant, f"modifiers/{mayo}", {"name": "Garlic mayo"})
    await patch(client, tenant, f"modifiers/{mayo}", {"price_delta": -20})
    assert [row[:2] for row in await history(mayo)] == [(50, None), (-20, None)]


async def test_an_old_price_is_accepted_for_a_day(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    burger = await product(client, tenant, 2400)
    await patch(client, tenant, f"products/{burger}", {"price": 2600})
    (_, _, created), (_, _, changed) = await history(burger)
    assert MENU_STALENESS == 24 * HOUR

    verdicts = await check(
        tenant,
        at(burger, changed + 23 * HOUR, 2400),  # yesterday's menu, still honest
        at(burger, changed + 23 * HOUR, 2600),
        at(burger, changed + 24 * HOUR - TICK, 2400),  # the old price at the window's start
        at(burger, changed + 24 * HOUR, 2400),  # the window opens as the new price starts
        at(burger, changed + 25 * HOUR, 2400),
        at(burger, changed - TICK, 2600),  # a price set after the line was taken
        at(burger, changed - TICK, 1),
        at(burger, changed, 2600),  # a price counts from its first instant
        at(burger, created - 30 * 24 * HOUR, 2400),  # before the history: its first price
    )
    assert verdicts == [
        Verdict(known=True, accepted=True, in_force=2600, vat_rate_bp=2000),
        Verdict(known=True, accepted=True, in_force=2600, vat_rate_bp=2000),
        Verdict(known=True, accepted=True, in_force=2600, vat_rate_bp=2000),
        Verdict(known=True, accepted=False, in_force=2600, vat_rate_bp=2000),
        Verdict(known=True, accepted=False, in_force=2600, vat_rate_bp=2000),
        Verdict(known=True, accepted=False, in_force=2400, vat_rate_bp=2000),
        Verdict(known=True, accepted=False, in_force=2400, vat_rate_bp=2000),
        Verdict(known=True, accepted=True, in_force=2600, vat_rate_bp=2000),
        Verdict(known=True, accepted=True, in_force=2400, vat_rate_bp=2000),
    ]


async def test_a_vat_rate_is_checked_with_its_price(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    burger = await product(client, tenant, 2400)
    await patch(client, tenant, f"products/{burger}", {"price": 2500, "vat_rate_bp": 500})
    _, (_, _, changed) = await history(burger)
    soon = changed + HOUR

    def pair(price: int, vat_rate_bp: int) -> PriceCheck:
        return PriceCheck(burger, soon, price, "product", vat_rate_bp=vat_rate_bp)

    verdicts = await check(tenant, pair(2400, 2000), pair(2500, 500), pair(2400, 500))
    assert [v.accepted for v in verdicts] == [True, True, False]
    assert (verdicts[0].in_force, verdicts[0].vat_rate_bp) == (2500, 500)


async def test_modifier_prices_likewise(client: httpx.AsyncClient, tenant: Tenant) -> None:
    mayo = await modifier(client, tenant, 50)
    await patch(client, tenant, f"modifiers/{mayo}", {"price_delta": 80})
    _, (_, _, changed) = await history(mayo)

    verdicts = await check(
        tenant,
        at(mayo, changed + 23 * HOUR, 50, "modifier"),
        at(mayo, changed + 25 * HOUR, 50, "modifier"),
        at(mayo, changed - TICK, 80, "modifier"),
        at(mayo, changed + 25 * HOUR, 80, "modifier"),
        at(mayo, changed, 50, "product"),  # a modifier's id is no product
    )
    assert verdicts == [
        Verdict(known=True, accepted=True, in_force=80, vat_rate_bp=None),
        Verdict(known=True, accepted=False, in_force=80, vat_rate_bp=None),
        Verdict(known=True, accepted=False, in_force=50, vat_rate_bp=None),
        Verdict(known=True, accepted=True, in_force=80, vat_rate_bp=None),
        UNKNOWN,
    ]


async def test_another_restaurants_item_is_unknown(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await product(client, other_tenant, 2400)
    their_mayo = await modifier(client, other_tenant, 50)
    now = datetime.now(UTC)
    verdicts = await check(
        tenant,
        at(theirs, now, 2400),
        at(their_mayo, now, 50, "modifier"),
        at(uuid4(), now, 2400),
        at(uuid4(), now, 50, "modifier"),
    )
    assert verdicts == [UNKNOWN] * 4
    assert (await check(other_tenant, at(theirs, now, 2400)))[0].accepted


async def test_two_lines_at_one_instant_get_their_own_verdicts(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    burger = await product(client, tenant, 2400)
    now = datetime.now(UTC)
    honest, forged = at(burger, now, 2400), at(burger, now, 1)
    assert [v.accepted for v in await check(tenant, forged, honest, forged)] == [
        False,
        True,
        False,
    ]


async def test_the_backfill_gives_existing_items_their_price(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Items from before the history began (inserted here as rows only) get one row each,
    valid from their creation, so lines taken before the migration still match."""
    old_burger, old_mayo = uuid4(), uuid4()
    created = datetime(2026, 6, 1, 12, tzinfo=UTC)
    group = await create(client, tenant, "modifier-groups", {"name": "Sauce"})
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO products (id, restaurant_id, name, description, sku, price,"
            " vat_rate_bp, position, archived, created_at, updated_at)"
            " VALUES ($1, $2, 'Old burger', '', '', 1900, 2000, 0, false, $3, $3)",
            old_burger, tenant.restaurant_id, created,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO modifiers (id, restaurant_id, group_id, name, price_delta, position,"
            " archived, created_at, updated_at) VALUES ($1, $2, $3, 'Old mayo', 40, 0, false,"
            " $4, $4)",
            old_mayo, tenant.restaurant_id, UUID(group["id"]), created,
        )  # fmt: skip
        await conn.execute(BACKFILL_PRICES)
        await conn.execute(BACKFILL_PRICES)  # a second run adds nothing
    assert await history(old_burger) == [(1900, 2000, created)]
    assert await history(old_mayo) == [(40, None, created)]

    await patch(client, tenant, f"products/{old_burger}", {"price": 2100})
    assert [row[:2] for row in await history(old_burger)] == [(1900, 2000), (2100, 2000)]
    verdicts = await check(
        tenant,
        at(old_burger, created - HOUR, 1900),
        at(old_burger, created + 30 * 24 * HOUR, 1900),
        at(old_mayo, created + 30 * 24 * HOUR, 40, "modifier"),
    )
    assert verdicts == [
        Verdict(known=True, accepted=True, in_force=1900, vat_rate_bp=2000),
        Verdict(known=True, accepted=True, in_force=1900, vat_rate_bp=2000),
        Verdict(known=True, accepted=True, in_force=40, vat_rate_bp=None),
    ]


class CountingConnection:
    """Stands in for an asyncpg connection and records every method called on it."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.conn, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return target(*args, **kwargs)

        return call


async def test_one_query_for_a_batch_of_500(client: httpx.AsyncClient, tenant: Tenant) -> None:
    burger = await product(client, tenant, 2400)
    mayo = await modifier(client, tenant, 50)
    await patch(client, tenant, f"products/{burger}", {"price": 2600})
    start = datetime.now(UTC)
    checks = [
        PriceCheck(
            item_id=(burger, mayo, uuid4())[n % 3],
            at=start - n * timedelta(minutes=7),
            price=(2400, 50, 1)[n % 3],
            kind=("product", "modifier", "product")[n % 3],  # type: ignore[arg-type]
        )
        for n in range(500)
    ]
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        counting = CountingConnection(conn)
        verdicts = await catalog_prices(counting, tenant.restaurant_id, checks)  # type: ignore[arg-type]
    assert counting.calls == ["fetch"]
    assert len(verdicts) == 500
    assert all(verdicts[one].accepted for one in checks[0::3] + checks[1::3])
    assert all(verdicts[one] == UNKNOWN for one in checks[2::3])
    assert await check(tenant) == []


async def test_a_naive_instant_is_refused(tenant: Tenant) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await check(tenant, at(uuid4(), datetime(2026, 12, 1, 12), 100))
