"""A new iPad bootstraps from an empty cursor: a complete, paginated, resumable snapshot.

Menu and floor come first (tier 0), then open orders and their lines (tier 1), then closed
orders (tier 2); tombstones come in their tier with their clocks, so a device that starts
over knows what it deleted. Writes made while a device is bootstrapping reach it through the
feed that follows, exactly once.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from litestar import Litestar

from server.auth.tables import Role
from server.catalog.sync import availability_id
from server.db.engine import DB
from server.restaurants.tables import Location
from tests.factories import Ipad, Tenant, make_ipad
from tests.integration.sync.test_push_pull import change, new_order, prefix_of, push
from tests.problems import assert_problem

MENU_TYPES = ("category", "product", "modifier_group", "modifier")
TIER_0 = frozenset({*MENU_TYPES, "availability", "floor_table", "table_state"})
CLOSED = ("paid", "voided")


def tier_of(state: dict[str, Any], statuses: dict[str, str]) -> int:
    """The priority a state should arrive with, from what the wire shows.

    ``statuses`` maps order ids to their status: a line arrives with its order.
    """
    if state["entity_type"] in TIER_0:
        return 0
    if state["entity_type"] == "order":
        return 2 if state["data"]["status"] in CLOSED else 1
    if state["entity_type"] == "order_line":
        return 2 if statuses.get(state["data"]["order_id"]) in CLOSED else 1
    return 1  # payments


def statuses_of(states: list[dict[str, Any]]) -> dict[str, str]:
    return {s["entity_id"]: s["data"]["status"] for s in states if s["entity_type"] == "order"}


def key(state: dict[str, Any]) -> tuple[str, str]:
    return state["entity_type"], state["entity_id"]


def version(state: dict[str, Any]) -> str:
    """One stored version of one entity: its identity and everything it holds."""
    return json.dumps(state, sort_keys=True)


# ---------------------------------------------------------------------------------------
# Making data: the back office over REST, tills over sync pushes


async def create(client: httpx.AsyncClient, tenant: Tenant, path: str, body: Any) -> str:
    response = await client.post(f"/api/v1/{path}", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def edit(client: httpx.AsyncClient, tenant: Tenant, path: str, body: Any) -> None:
    response = await client.patch(f"/api/v1/{path}", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text


@dataclass
class Till:
    """An iPad that pushes, keeping its own sequence and vector clock counters."""

    client: httpx.AsyncClient
    ipad: Ipad
    prefix: str = ""
    seq: int = 0
    orders: int = 0
    counters: dict[UUID, int] = field(default_factory=dict)

    @classmethod
    async def enrol(cls, app: Litestar, client: httpx.AsyncClient, tenant: Tenant) -> Till:
        ipad = await make_ipad(app, tenant, signed_in=Role.manager, name=f"Till {uuid4().hex[:4]}")
        return cls(client, ipad, await prefix_of(ipad))

    async def send(self, *edits: tuple[str, UUID, dict[str, Any], str]) -> None:
        changes = []
        for entity_type, entity_id, fields, op in edits:
            self.seq += 1
            self.counters[entity_id] = self.counters.get(entity_id, 0) + 1
            changes.append(
                change(
                    self.ipad,
                    self.seq,
                    entity_type,
                    entity_id,
                    fields,
                    counter=self.counters[entity_id],
                    op=op,
                )
            )
        response = await push(self.client, self.ipad, changes)
        assert response.status_code == 200, response.text
        outcomes = [result["outcome"] for result in response.json()["results"]]
        assert set(outcomes) == {"applied"}, response.text

    async def open_order(self, lines: int, *, status: str = "open") -> tuple[UUID, list[UUID]]:
        self.orders += 1
        order_id, line_ids = uuid4(), [uuid4() for _ in range(lines)]
        line = {"name": "Tea", "unit_price": 300, "quantity": 1, "vat_rate_bp": 2000}
        await self.send(
            (
                "order",
                order_id,
                {**new_order(self.prefix, self.orders), "status": status},
                "upsert",
            ),
            *(
                ("order_line", line_id, {**line, "order_id": str(order_id)}, "upsert")
                for line_id in line_ids
            ),
        )
        return order_id, line_ids

    async def close(self, order_id: UUID, status: str = "paid") -> UUID | None:
        """Close the order; to pay it, take cash first (an order is paid only when money
        covers it), and return the cash payment's id."""
        closed_at = datetime.now(UTC).isoformat()
        closing = ("order", order_id, {"status": status, "closed_at": closed_at}, "upsert")
        if status != "paid":
            await self.send(closing)
            return None
        cash_id = uuid4()
        cash = {"order_id": str(order_id), "amount": 10_000, "tendered": 10_000,
                "currency": "GBP", "taken_at": closed_at}  # fmt: skip
        await self.send(("cash_payment", cash_id, cash, "upsert"), closing)
        return cash_id

    async def seat(self, table_id: UUID, covers: int) -> None:
        await self.send(("table_state", table_id, {"status": "seated", "covers": covers}, "upsert"))

    async def clear(self, table_id: UUID) -> None:
        await self.send(("table_state", table_id, {}, "delete"))


@dataclass
class Restaurant:
    """What the back office and a till made, by entity, to check a snapshot against."""

    menu: dict[str, list[str]] = field(default_factory=dict)
    tables: list[UUID] = field(default_factory=list)
    sold_out: list[UUID] = field(default_factory=list)
    seated: list[UUID] = field(default_factory=list)
    cleared: list[UUID] = field(default_factory=list)
    open_orders: dict[UUID, list[UUID]] = field(default_factory=dict)
    closed_orders: dict[UUID, list[UUID]] = field(default_factory=dict)
    payments: list[UUID] = field(default_factory=list)
    elsewhere: set[str] = field(default_factory=set)
    """Entities at another location of the same restaurant: never sent to this one."""
    table_elsewhere: str = ""

    def expected(self) -> set[tuple[str, str]]:
        keys = {(kind, item) for kind, items in self.menu.items() for item in items}
        keys |= {("floor_table", str(table)) for table in self.tables}
        keys |= {("availability", str(item)) for item in self.sold_out}
        keys |= {("table_state", str(table)) for table in self.seated if table not in self.cleared}
        for orders in (self.open_orders, self.closed_orders):
            for order_id, line_ids in orders.items():
                keys.add(("order", str(order_id)))
                keys |= {("order_line", str(line)) for line in line_ids}
        keys |= {("cash_payment", str(payment)) for payment in self.payments}
        return keys

    def tombstones(self) -> set[tuple[str, str]]:
        return {("table_state", str(table)) for table in self.cleared}


async def build_restaurant(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, till: Till
) -> Restaurant:
    made = Restaurant()
    categories = [
        await create(client, tenant, "categories", {"name": name}) for name in ("Hot", "Cold")
    ]
    groups = [
        await create(client, tenant, "modifier-groups", {"name": name}) for name in ("Milk", "Size")
    ]
    modifiers = [
        await create(client, tenant, "modifiers", {"group_id": group, "name": f"{n}"})
        for group in groups
        for n in ("A", "B")
    ]
    products = [
        await create(
            client,
            tenant,
            "products",
            {
                "name": f"Drink {n}",
                "price": 250 + n,
                "category_id": categories[n % 2],
                "modifier_group_ids": groups[: n % 3],
            },
        )
        for n in range(6)
    ]
    made.menu = {
        "category": categories,
        "modifier_group": groups,
        "modifier": modifiers,
        "product": products,
    }
    made.tables = [
        UUID(
            await create(
                client,
                tenant,
                "tables",
                {"location_id": str(tenant.location_id), "name": f"T{n}"},
            )
        )
        for n in range(4)
    ]
    for product in products[:2]:
        response = await client.put(
            "/api/v1/availability",
            json={"location_id": str(tenant.location_id), "product_id": product, "sold_out": True},
            headers=tenant.headers,
        )
        assert response.status_code == 200, response.text
        made.sold_out.append(availability_id(tenant.location_id, UUID(product)))

    for covers, table in enumerate(made.tables[:3], start=2):
        await till.seat(table, covers)
        made.seated.append(table)
    await till.clear(made.tables[0])  # a tombstone: in a snapshot, with its clock
    made.cleared.append(made.tables[0])

    for _ in range(4):
        order_id, lines = await till.open_order(2)
        made.open_orders[order_id] = lines
    order_id, lines = await till.open_order(1, status="sent")
    made.open_orders[order_id] = lines
    for status in ("paid", "paid", "paid", "voided"):
        order_id, lines = await till.open_order(1)
        if (payment := await till.close(order_id, status)) is not None:
            made.payments.append(payment)
        made.closed_orders[order_id] = lines

    # The same restaurant's second location: its floor and orders stay there.
    second = uuid4()
    await Location.insert(Location(id=second, restaurant_id=tenant.restaurant_id, name="Second"))
    there = Tenant(tenant.restaurant_id, second, tenant.user_id, tenant.token)
    made.table_elsewhere = await create(
        client, tenant, "tables", {"location_id": str(second), "name": "X1"}
    )
    made.elsewhere.add(made.table_elsewhere)
    other_till = await Till.enrol(app, client, there)
    order_id, lines = await other_till.open_order(1)
    made.elsewhere |= {str(order_id), *(str(line) for line in lines)}
    return made


# ---------------------------------------------------------------------------------------
# Pulling


@dataclass
class Device:
    """A new iPad's local store, filled by pulls exactly as the app applies them."""

    client: httpx.AsyncClient
    ipad: Ipad
    cursor: str | None = None
    snapshot: list[dict[str, Any]] = field(default_factory=list)
    feed: list[dict[str, Any]] = field(default_factory=list)
    store: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    pages: int = 0
    in_feed: bool = False

    async def pull(self, limit: int) -> bool:
        """One page; True while there is more."""
        params: dict[str, Any] = {"schema_version": 1, "app_version": "1.0.0", "limit": limit}
        if self.cursor is not None:
            params["cursor"] = self.cursor
        response = await self.client.get(
            "/api/v1/sync/pull", params=params, headers=self.ipad.headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["changes"]) <= limit
        if page["phase"] == "snapshot":
            assert not self.in_feed, "the snapshot phase came back after the feed began"
            self.snapshot += page["changes"]
        else:
            self.in_feed = True
            self.feed += page["changes"]
        for state in page["changes"]:
            if state["deleted"]:
                self.store.pop(key(state), None)
            else:
                self.store[key(state)] = state
        self.cursor = page["cursor"]
        self.pages += 1
        return bool(page["has_more"])

    async def pull_all(self, limit: int, *, most: int = 500) -> None:
        for _ in range(most):
            if not await self.pull(limit):
                return
        raise AssertionError("pull did not finish")


async def server_states(tenant: Tenant) -> dict[tuple[str, str], dict[str, Any]]:
    """The live entities a device at the tenant's location should hold, as the server has them."""
    assert DB.pool is not None
    rows = await DB.pool.fetch(
        "SELECT entity_type, entity_id, location_id, data, clock, deleted, field_hlcs"
        " FROM sync_entities"
        " WHERE restaurant_id = $1 AND (location_id = $2 OR location_id IS NULL) AND NOT deleted",
        tenant.restaurant_id,
        tenant.location_id,
    )
    states = [
        {
            "entity_type": row["entity_type"],
            "entity_id": str(row["entity_id"]),
            "location_id": None if row["location_id"] is None else str(row["location_id"]),
            "data": json.loads(row["data"]),
            "clock": json.loads(row["clock"]),
            "deleted": row["deleted"],
            "hlc": max(json.loads(row["field_hlcs"]).values(), default=None),
        }
        for row in rows
    ]
    return {key(state): state for state in states}


async def pull_page(client: httpx.AsyncClient, ipad: Ipad, **params: Any) -> httpx.Response:
    query = {"schema_version": 1, "app_version": "1.0.0", **params}
    return await client.get("/api/v1/sync/pull", params=query, headers=ipad.headers)


# ---------------------------------------------------------------------------------------
# Tests


async def test_a_new_device_gets_every_entity_and_tombstone_once_in_priority_order(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await Till.enrol(app, client, tenant)
    made = await build_restaurant(app, client, tenant, till)
    device = Device(client, await make_ipad(app, tenant, signed_in=Role.manager, name="New iPad"))
    await device.pull_all(limit=4)

    assert device.feed == []  # nothing was written after the bootstrap began
    assert device.pages >= len(made.expected()) // 4
    keys = [key(state) for state in device.snapshot]
    assert len(keys) == len(set(keys)), "an entity came twice"
    assert set(keys) == made.expected() | made.tombstones()
    tombstones = [state for state in device.snapshot if state["deleted"]]
    assert {key(state) for state in tombstones} == made.tombstones()
    assert all(state["data"] == {} and state["clock"] for state in tombstones)
    assert not {entity_id for _, entity_id in keys} & made.elsewhere
    tiers = [tier_of(state, statuses_of(device.snapshot)) for state in device.snapshot]
    assert tiers == sorted(tiers), "a lower tier arrived after a higher one"
    assert set(tiers) == {0, 1, 2}
    for state in device.snapshot:
        if state["entity_type"] in MENU_TYPES:
            assert state["location_id"] is None  # menu items are restaurant-wide
        else:
            assert state["location_id"] == str(tenant.location_id)
    assert device.store == await server_states(tenant)

    # The next pull continues the feed from the snapshot's watermark: nothing new.
    before = device.cursor
    assert not await device.pull(4)
    assert device.feed == [] and device.cursor == before


async def test_the_bootstrap_resumes_from_a_saved_cursor_and_the_feed_brings_what_changed(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await Till.enrol(app, client, tenant)
    made = await build_restaurant(app, client, tenant, till)
    ipad = await make_ipad(app, tenant, signed_in=Role.manager, name="New iPad")
    first = Device(client, ipad)
    for _ in range(3):
        assert await first.pull(4)
    delivered = {key(state) for state in first.snapshot}
    assert len(delivered) == 12
    assert {kind for kind, _ in delivered} <= TIER_0  # menu and floor come first
    saved = first.cursor

    # The app is killed. Meanwhile the back office and the other tills keep working.
    during: set[tuple[str, str]] = set()
    new_product = await create(client, tenant, "products", {"name": "Late", "price": 999})
    during.add(("product", new_product))
    sent_category = next(c for kind, c in delivered if kind == "category")
    await edit(client, tenant, f"categories/{sent_category}", {"name": "Renamed"})
    during.add(("category", sent_category))
    unsent_product = next(p for p in made.menu["product"] if ("product", p) not in delivered)
    await edit(client, tenant, f"products/{unsent_product}", {"price": 111})
    during.add(("product", unsent_product))
    order_id, (line_id,) = await till.open_order(1)
    during |= {("order", str(order_id)), ("order_line", str(line_id))}
    paying = next(iter(made.open_orders))
    during.add(("cash_payment", str(await till.close(paying))))
    during.add(("order", str(paying)))
    # Its lines now bootstrap with the history, so they are re-sent through the feed.
    during |= {("order_line", str(line)) for line in made.open_orders[paying]}
    unsent_table = next(
        t for t in made.seated if t not in made.cleared and ("table_state", str(t)) not in delivered
    )
    await till.clear(unsent_table)
    during.add(("table_state", str(unsent_table)))
    there = made.table_elsewhere  # another location's table: never this device's
    await edit(client, tenant, f"tables/{there}", {"seats": 6})

    # The app restarts with what it had saved: its store and the cursor.
    resumed = Device(client, ipad, cursor=saved, snapshot=list(first.snapshot))
    resumed.store = dict(first.store)
    await resumed.pull_all(limit=4)

    keys = [key(state) for state in resumed.snapshot]
    assert len(keys) == len(set(keys)), "an entity came twice in the snapshot"
    assert {key(state) for state in resumed.snapshot if state["deleted"]} == made.tombstones()
    tiers = [tier_of(state, statuses_of(resumed.snapshot)) for state in resumed.snapshot]
    assert tiers == sorted(tiers)
    # Entities changed during the bootstrap and not yet sent leave the snapshot for the feed.
    assert set(keys) == ((made.expected() | made.tombstones()) - during) | (delivered & during)

    # The feed brings each write made during the bootstrap exactly once, and nothing else.
    fed = [key(state) for state in resumed.feed]
    assert sorted(fed) == sorted(during)
    assert ("floor_table", there) not in fed
    states = [version(state) for state in resumed.snapshot + resumed.feed]
    assert len(states) == len(set(states)), "the same version came twice"
    tombstone = next(state for state in resumed.feed if state["deleted"])
    assert key(tombstone) == ("table_state", str(unsent_table))

    # The device now holds exactly what the server holds for its location.
    expected = await server_states(tenant)
    assert resumed.store == expected
    assert ("product", new_product) in expected and ("order", str(order_id)) in expected
    assert resumed.store[("product", unsent_product)]["data"]["price"] == 111
    assert resumed.store[("category", sent_category)]["data"]["name"] == "Renamed"
    assert resumed.store[("order", str(paying))]["data"]["status"] == "paid"

    # Another new device bootstrapping now, in one go, converges on the same store.
    late = Device(client, await make_ipad(app, tenant, signed_in=Role.manager, name="Later iPad"))
    await late.pull_all(limit=2000)
    assert late.store == expected and late.feed == []


async def test_a_device_that_lost_its_last_page_can_pull_it_again(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await Till.enrol(app, client, tenant)
    await build_restaurant(app, client, tenant, till)
    ipad = await make_ipad(app, tenant, signed_in=Role.manager, name="New iPad")
    first = Device(client, ipad)
    await first.pull(5)
    saved = first.cursor
    await first.pull(5)
    again = Device(client, ipad, cursor=saved)
    await again.pull(5)  # the app crashed before storing the second page
    assert again.snapshot == first.snapshot[5:]
    assert again.cursor == first.cursor


async def test_lines_of_closed_orders_come_with_the_history(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    till = await Till.enrol(app, client, tenant)
    made = await build_restaurant(app, client, tenant, till)
    device = Device(client, await make_ipad(app, tenant, signed_in=Role.manager, name="New iPad"))
    await device.pull_all(limit=2000)
    order = [key(state) for state in device.snapshot]
    last_open = max(
        order.index(("order_line", str(line)))
        for lines in made.open_orders.values()
        for line in lines
    )
    first_history = min(
        order.index(("order_line", str(line)))
        for lines in made.closed_orders.values()
        for line in lines
    )
    assert first_history > last_open


def forged(cursor: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "%%%",
        "é",
        forged({"type": "x", "xid": 1, "seq": 1}),
        forged({"type": "f", "xid": "one", "seq": 1}),
        forged({"type": "f", "xid": -1, "seq": 0}),
        forged({"type": "f", "xid": 5, "seq": 2**63}),
        forged({"type": "s", "watermark": -5}),
        forged({"type": "s", "watermark": 0}),
        forged({"type": "s", "watermark": 10, "tier": 99999}),
        forged({"type": "s", "watermark": 10, "entity_id": "not-a-uuid"}),
        base64.urlsafe_b64encode(b"not json").decode(),
        "A" * 5000,
    ],
)
async def test_a_cursor_the_server_did_not_issue_is_refused(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, cursor: str
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    response = await pull_page(client, ipad, cursor=cursor, limit=10)
    assert_problem(response, 400, "validation_failed", "cursor")


@pytest.mark.parametrize("limit", [0, -1, 2001, 10**9])
async def test_a_limit_out_of_bounds_is_refused(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant, limit: int
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    response = await pull_page(client, ipad, limit=limit)
    assert_problem(response, 400, "validation_failed", "limit")


async def test_limits_at_the_bounds_are_served(
    app: Litestar, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ipad = await make_ipad(app, tenant, signed_in=Role.manager)
    categories = [await create(client, tenant, "categories", {"name": f"C{n}"}) for n in range(3)]
    one = await pull_page(client, ipad, limit=1)
    assert one.status_code == 200, one.text
    assert len(one.json()["changes"]) == 1 and one.json()["has_more"] is True
    most = await pull_page(client, ipad, limit=2000)
    assert most.status_code == 200, most.text
    assert sorted(state["entity_id"] for state in most.json()["changes"]) == sorted(categories)
    not_a_number = await pull_page(client, ipad, limit="many")
    assert not_a_number.status_code == 400, not_a_number.text
