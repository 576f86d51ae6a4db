"""Demo data for ``make run``: one restaurant with a menu, a floor and a few orders.

Loaded once (the restaurant's fixed id marks it as loaded) and never in production.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4, uuid5

import asyncpg
import msgspec

from server import events
from server.auth import offline
from server.auth.passwords import hash_password
from server.auth.tables import Role, User
from server.auth.tokens import Caller
from server.cashup import drawers_manage
from server.cashup.drawers_schemas import DrawerCreate
from server.catalog import services as catalog
from server.catalog.schemas import (
    CategoryCreate,
    ModifierCreate,
    ModifierGroupCreate,
    ProductCreate,
)
from server.db.engine import DB
from server.devices.schemas import CODE_TTL_MAX, EnrolmentCodeCreate
from server.devices.services import create_enrolment_code
from server.employees.tables import Employee
from server.floor import services as floor
from server.floor.schemas import FloorTableCreate
from server.orders.numbers import format_order_number
from server.orders.services import save_order
from server.orders.tables import OrderStatus
from server.restaurants.tables import Location, Restaurant
from server.sync import entities as _entities  # noqa: F401 - registers the synced types
from server.sync import store
from server.wire import Wire, instant

_NAMESPACE = UUID("6f0c1d2e-7a51-4f0b-9a43-5d1e0c3b2a10")
RESTAURANT_ID = uuid5(_NAMESPACE, "restaurant")
LOCATION_ID = uuid5(_NAMESPACE, "location:soho")
_DEMO_PREFIX = "A"  # the demo's own orders; enrolled iPads are given other prefixes


class DemoLogin(Wire, kw_only=True):
    email: str
    password: str
    role: Role


class DemoEmployee(Wire, kw_only=True):
    id: UUID
    name: str
    role: Role
    pin: str


class DemoCredentials(Wire, kw_only=True):
    restaurant_id: UUID
    location_id: UUID
    logins: list[DemoLogin]
    employees: list[DemoEmployee]
    enrolment_code: str | None = None
    """A fresh one-time code for enrolling an iPad at the demo location (needs the database)."""
    enrolment_code_expires_at: datetime | None = None


# Demo-only secrets, printed on purpose by `make run`; production refuses to load them.
CREDENTIALS = DemoCredentials(
    restaurant_id=RESTAURANT_ID,
    location_id=LOCATION_ID,
    logins=[
        DemoLogin(email="owner@demo.fynlo.app", password="demo-owner-2026", role=Role.owner),
        DemoLogin(email="manager@demo.fynlo.app", password="demo-manager-2026", role=Role.manager),
    ],
    employees=[
        DemoEmployee(
            id=uuid5(_NAMESPACE, "employee:maya"), name="Maya", role=Role.manager, pin="2580"
        ),
        DemoEmployee(
            id=uuid5(_NAMESPACE, "employee:alex"), name="Alex", role=Role.cashier, pin="7391"
        ),
        DemoEmployee(
            id=uuid5(_NAMESPACE, "employee:sam"), name="Sam", role=Role.server, pin="4826"
        ),
        DemoEmployee(id=uuid5(_NAMESPACE, "employee:jo"), name="Jo", role=Role.kitchen, pin="6042"),
    ],
)
_OWNER_ID = uuid5(_NAMESPACE, "user:owner")

# name, VAT-inclusive price in pence, VAT basis points
_MENU: dict[str, list[tuple[str, int, int]]] = {
    "Starters": [
        ("Burrata", 950, 2000),
        ("Soup of the day", 650, 2000),
        ("Padron peppers", 550, 2000),
    ],
    "Mains": [
        ("Ribeye steak", 2800, 2000),
        ("Fish and chips", 1650, 2000),
        ("Mushroom risotto", 1450, 2000),
    ],
    "Desserts": [("Sticky toffee pudding", 750, 2000), ("Affogato", 600, 2000)],
    "Drinks": [
        ("House red (175ml)", 795, 2000),
        ("Lager (pint)", 650, 2000),
        ("Still water (750ml)", 350, 2000),
        ("Espresso", 280, 2000),
    ],
}


def _id(name: str) -> UUID:
    return uuid5(_NAMESPACE, name)


async def demo_loaded() -> bool:
    exists: bool = await Restaurant.exists().where(Restaurant.id == RESTAURANT_ID)
    return exists


async def load_demo() -> bool:
    """Load the demo restaurant unless it is there already; True if it was loaded now."""
    if await demo_loaded():
        await _ensure_employees()
        return False
    async with events.collect(), DB.transaction():
        await _load()
        await _ensure_employees()
    return True


async def fresh_credentials() -> DemoCredentials:
    """The demo credentials with a new enrolment code for the demo location."""
    code = await create_enrolment_code(
        restaurant_id=RESTAURANT_ID,
        created_by=_OWNER_ID,
        body=EnrolmentCodeCreate(location_id=LOCATION_ID, ttl_seconds=CODE_TTL_MAX),
    )
    return msgspec.structs.replace(
        CREDENTIALS, enrolment_code=code.code, enrolment_code_expires_at=code.expires_at
    )


async def _ensure_employees() -> None:
    """Add the demo employees (with their PINs and offline seeds) to a demo restaurant loaded
    before they existed, and give offline seeds to those made before seeds existed."""
    for employee in CREDENTIALS.employees:
        done = Employee.exists().where(
            (Employee.id == employee.id) & Employee.offline_seed.is_not_null()
        )
        if await done:
            continue
        salt, seed = await asyncio.to_thread(offline.new_seed, employee.pin)
        if not await Employee.exists().where(Employee.id == employee.id):
            await Employee.insert(
                Employee(
                    id=employee.id,
                    restaurant_id=RESTAURANT_ID,
                    name=employee.name,
                    role=employee.role,
                    pin_hash=await hash_password(employee.pin),
                    offline_salt=salt,
                    offline_seed=seed,
                )
            )
        else:
            await Employee.update({Employee.offline_salt: salt, Employee.offline_seed: seed}).where(
                (Employee.id == employee.id) & Employee.offline_seed.is_null()
            )


async def _load() -> None:
    rid = RESTAURANT_ID
    await Restaurant.insert(Restaurant(id=rid, name="Fynlo Demo Bistro", currency="GBP"))
    from server.employees.services import set_pin_policy  # the demo's PINs have four digits

    await set_pin_policy(restaurant_id=rid, allow_four_digit_pins=True)  # audited, as the system
    await Location.insert(
        Location(id=LOCATION_ID, restaurant_id=rid, name="Soho", address="1 Dean Street, London W1")
    )
    await User.insert(
        *[
            User(
                id=_OWNER_ID if login.role == Role.owner else uuid5(_NAMESPACE, login.email),
                restaurant_id=rid,
                email=login.email,
                name=login.role.value.title(),
                password_hash=await hash_password(login.password),
                role=login.role,
            )
            for login in CREDENTIALS.logins
        ]
    )
    # The floor and the menu go in through the back office's own services, so they reach
    # the iPads through the sync store exactly as a manager's edits do.
    for n in range(1, 11):
        await floor.create_table(
            restaurant_id=rid,
            body=FloorTableCreate(
                id=_id(f"table:{n}"), location_id=LOCATION_ID, name=str(n), seats=4 if n % 3 else 6
            ),
        )
    # The till's cash drawer, added as the owner would: staff open it with a counted float.
    owner = Caller(restaurant_id=rid, role=Role.owner, user_id=_OWNER_ID)
    await drawers_manage.create_drawer(
        caller=owner,
        body=DrawerCreate(id=_id("drawer:front"), name="Front till", location_id=LOCATION_ID),
    )
    cooking = _id("group:cooking")
    extras = _id("group:extras")
    await catalog.create_modifier_group(
        restaurant_id=rid,
        body=ModifierGroupCreate(
            id=cooking, name="How would you like it cooked?", min_choices=1, max_choices=1
        ),
    )
    await catalog.create_modifier_group(
        restaurant_id=rid,
        body=ModifierGroupCreate(id=extras, name="Extras", min_choices=0, max_choices=3),
    )
    for i, name in enumerate(["Rare", "Medium rare", "Medium", "Well done"]):
        await catalog.create_modifier(
            restaurant_id=rid,
            body=ModifierCreate(
                id=_id(f"modifier:{name}"), group_id=cooking, name=name, position=i
            ),
        )
    for i, (key, name, delta) in enumerate(
        [("peppercorn", "Peppercorn sauce", 350), ("truffle-fries", "Truffle fries", 450)]
    ):
        await catalog.create_modifier(
            restaurant_id=rid,
            body=ModifierCreate(
                id=_id(f"modifier:{key}"), group_id=extras, name=name, price_delta=delta, position=i
            ),
        )
    products: dict[str, dict[str, Any]] = {}
    for position, (category_name, items) in enumerate(_MENU.items()):
        category_id = _id(f"category:{category_name}")
        await catalog.create_category(
            restaurant_id=rid,
            body=CategoryCreate(id=category_id, name=category_name, position=position),
        )
        for item_position, (name, price, vat) in enumerate(items):
            product: dict[str, Any] = {
                "id": _id(f"product:{name}"),
                "name": name,
                "price": price,
                "vat_rate_bp": vat,
            }
            products[name] = product
            await catalog.create_product(
                restaurant_id=rid,
                body=ProductCreate(
                    category_id=category_id,
                    position=item_position,
                    modifier_group_ids=[cooking, extras] if name == "Ribeye steak" else [],
                    **product,
                ),
            )
    await _orders(products)


async def _orders(products: dict[str, dict[str, Any]]) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    baskets = [
        (
            OrderStatus.paid,
            1,
            [("Burrata", 1), ("Ribeye steak", 2), ("House red (175ml)", 2)],
            1250,
            500,
        ),
        (OrderStatus.paid, 4, [("Fish and chips", 2), ("Lager (pint)", 2)], 1250, 0),
        (
            OrderStatus.sent,
            2,
            [("Soup of the day", 1), ("Mushroom risotto", 1), ("Still water (750ml)", 1)],
            0,
            0,
        ),
        (OrderStatus.open, 7, [("Espresso", 2), ("Affogato", 1)], 0, 0),
    ]
    for seq, (status, table, items, service_bp, tip) in enumerate(baskets, start=1):
        order_id = _id(f"order:{seq}")
        opened_at = now - timedelta(minutes=15 * (len(baskets) - seq + 1))
        paid = status == OrderStatus.paid
        order = {
            "id": order_id,
            "restaurant_id": RESTAURANT_ID,
            "location_id": LOCATION_ID,
            "table_id": _id(f"table:{table}"),
            "number": format_order_number(_DEMO_PREFIX, seq),
            "device_prefix": _DEMO_PREFIX,
            "device_seq": seq,
            # A paid order is sent, then paid by its cash sale (below), as on a till.
            "status": OrderStatus.sent if paid else status,
            "covers": 2,
            "service_charge_bp": service_bp,
            "tip": tip,
            "opened_at": opened_at,
        }
        lines = []
        for position, (name, quantity) in enumerate(items):
            product = products[name]
            modifiers = (
                [
                    {
                        "modifier_id": str(_id("modifier:Medium rare")),
                        "name": "Medium rare",
                        "price_delta": 0,
                    },
                    {
                        "modifier_id": str(_id("modifier:peppercorn")),
                        "name": "Peppercorn sauce",
                        "price_delta": 350,
                    },
                ]
                if name == "Ribeye steak"
                else []
            )
            lines.append(
                {
                    "id": _id(f"order:{seq}:line:{position}"),
                    "restaurant_id": RESTAURANT_ID,
                    "order_id": order_id,
                    "product_id": product["id"],
                    "name": name,
                    "unit_price": product["price"],
                    "quantity": quantity,
                    "vat_rate_bp": product["vat_rate_bp"],
                    "modifiers": modifiers,
                    "position": position,
                    "voided": False,
                }
            )
        await save_order(order, lines)
        if paid:
            await _paid_in_cash(order_id, taken_at=opened_at + timedelta(minutes=50))


async def _paid_in_cash(order_id: UUID, *, taken_at: datetime) -> None:
    """The demo's closed orders were paid in cash: a cash sale through the sync store, as an
    iPad records one, so the ledger, the order's status and the reports agree."""
    async with store.transaction() as conn:
        total_due = await conn.fetchval("SELECT total_due FROM orders WHERE id = $1", order_id)
        await _record(conn, "cash_payment", _id(f"payment:{order_id}"), {
            "order_id": str(order_id), "amount": total_due, "tendered": total_due,
            "currency": "GBP", "taken_at": instant(taken_at),
        })  # fmt: skip


class DemoOrder(Wire, kw_only=True):
    id: UUID
    number: str
    amount: int
    """What is left to pay, in minor units of ``currency`` (the whole total: nothing is paid)."""
    currency: str


# A fresh order's basket: a starter, a main and a drink, for a card-sized amount.
_FRESH_BASKET = (("Burrata", 1), ("Fish and chips", 1), ("Lager (pint)", 1))


async def new_order() -> DemoOrder:
    """A fresh unpaid order at the demo location, for walking through a payment again.

    Written as the server through the sync store, as an iPad's order is, so every enrolled
    iPad pulls it. Numbers continue the demo's own ``A-`` sequence.
    """
    if not await demo_loaded():
        raise LookupError("the demo restaurant is not loaded (make run loads it)")
    async with store.transaction() as conn:
        # One fresh order at a time, so two callers never take the same number.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('fynlo-demo-order'))")
        seq = 1 + await conn.fetchval(
            "SELECT coalesce(max(device_seq), 0) FROM orders"
            " WHERE location_id = $1 AND device_prefix = $2",
            LOCATION_ID,
            _DEMO_PREFIX,
        )
        products = {
            row["name"]: row
            for row in await conn.fetch(
                "SELECT id, name, price, vat_rate_bp FROM products WHERE restaurant_id = $1",
                RESTAURANT_ID,
            )
        }
        order_id = uuid4()
        number = format_order_number(_DEMO_PREFIX, seq)
        await _record(conn, "order", order_id, {
            "number": number, "device_prefix": _DEMO_PREFIX, "device_seq": seq,
            "status": "open", "covers": 2, "table_id": str(_id("table:3")),
            "opened_at": instant(datetime.now(UTC)),
        })  # fmt: skip
        for position, (name, quantity) in enumerate(_FRESH_BASKET):
            product = products[name]
            await _record(conn, "order_line", uuid4(), {
                "order_id": str(order_id), "product_id": str(product["id"]), "name": name,
                "unit_price": product["price"], "quantity": quantity,
                "vat_rate_bp": product["vat_rate_bp"], "modifiers": [],
                "position": position, "voided": False,
            })  # fmt: skip
        row = await conn.fetchrow("SELECT total_due, currency FROM orders WHERE id = $1", order_id)
    return DemoOrder(id=order_id, number=number, amount=row["total_due"], currency=row["currency"])


async def _record(
    conn: asyncpg.Connection, entity_type: str, entity_id: UUID, data: dict[str, Any]
) -> None:
    await store.server_change(
        conn,
        restaurant_id=RESTAURANT_ID,
        entity_type=entity_type,
        entity_id=entity_id,
        location_id=LOCATION_ID,
        data=data,
    )
