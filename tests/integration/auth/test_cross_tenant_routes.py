"""Another restaurant's ids, wherever a route takes an id, answer like ids that do not exist.

Reliability notes A1 (BOLA): restaurant B, signed in, calls every route of the app's route
table with restaurant A's ids: in the path, in the query and in the body. Each call is made
twice, once with A's id and once with a random one of its type, and the two answers must be the same
apart from ``request_id`` and ``instance``; A's row, read back as A, must be unchanged. A
third call with B's own row proves that the request was otherwise valid, so the refusal is
about ownership and not about a bad body.

The id slots are found from the route table and the handlers' types, so a new route joins
without edits here; an id whose name has no factory below fails until one is added.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal
from uuid import UUID, uuid4

import httpx
import msgspec.inspect as mi
import pytest
import pytest_asyncio
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from server.auth import ratelimit
from server.auth.permissions import DEVICE, Actor, Permission, decide
from server.auth.tables import Role
from server.db.engine import DB
from server.payments import gateway
from server.payments.gateway import Gateway
from server.payments.providers.cash import CashProvider
from tests.factories import (
    DEFAULT_PIN,
    Tenant,
    make_employee,
    make_ipad,
    make_order,
    make_tenant,
    offline_sign_in,
    sign_in,
)
from tests.fakes.open_banking import start_open_banking_sandbox
from tests.fakes.stripe import start_stripe_fake
from tests.integration.sync.test_push_rules import change, push
from tests.integration.sync.test_sync_remedies import logged_conflict, quarantined_discount

# A TEST-NET-1 peer of our own, so this module's requests spend nobody else's budgets.
PEER: Final = ("192.0.2.32", 40032)
PIN: Final = DEFAULT_PIN
PER_REQUEST: Final = ("request_id", "instance")

# --- the route table ------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    path: str  # as declared: /api/v1/orders/{order_id:uuid}
    method: str
    handler: HTTPRouteHandler

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path

    @property
    def path_names(self) -> list[str]:
        """The ids in the path (a ``{currency:str}`` names no row)."""
        names = [s[1:-1].split(":", 1)[0] for s in self.path.split("/") if s.startswith("{")]
        return [name for name in names if name.endswith("_id")]

    @property
    def body_type(self) -> Any:
        data = self.handler.parsed_fn_signature.parameters.get("data")
        return None if data is None else data.annotation


@dataclass(frozen=True)
class Slot:
    """One place a route takes an id: a path parameter, a query parameter or a body field."""

    endpoint: Endpoint
    where: Literal["path", "query", "body"]
    name: str
    many: bool = False  # a list of ids, such as ``modifier_group_ids``

    @property
    def label(self) -> str:
        return f"{self.endpoint.method} {self.endpoint.path} {self.where}.{self.name}"


def endpoints(app: Litestar) -> Iterator[Endpoint]:
    root = app.openapi_config.path if app.openapi_config else "/schema"
    for route in app.routes:
        is_schema = route.path == root or route.path.startswith(f"{root}/")
        # The back office's pages: their tenancy is checked in tests/e2e/test_back_office.py.
        is_office = route.path.startswith("/office")
        if not isinstance(route, HTTPRoute) or is_schema or is_office:
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                yield Endpoint(route.path, method, handler)


def uuid_shape(annotation: Any) -> Literal["one", "many"] | None:
    """Whether a type holds one UUID, a collection of them, or neither."""
    try:
        info = annotation if isinstance(annotation, mi.Type) else mi.type_info(annotation)
    except (TypeError, ValueError):
        return None
    if isinstance(info, mi.UUIDType):
        return "one"
    if isinstance(info, mi.Metadata):
        return uuid_shape(info.type)
    if isinstance(info, mi.UnionType):
        shapes = {uuid_shape(member) for member in info.types} - {None}
        return shapes.pop() if len(shapes) == 1 else None
    if isinstance(info, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        return "many" if uuid_shape(info.item_type) == "one" else None
    return None


# Routes whose body ids are not references to rows: a sync batch names its own new batch id
# and must name the caller's own device (else 403 device_mismatch, whatever the id), and its
# entity ids are scoped by the token's restaurant. tests/integration/sync covers them.
# Enrolling again names the iPad's own device id, proven by its device secret and a one-time
# code rather than by a token; tests/integration/auth/test_reenrolment.py covers it.
# An offline PIN failure report names its own new id, kept per iPad, and the employee ids it
# counts are counted within the token's restaurant whatever they are (as a typed PIN's);
# tests/integration/employees/test_offline_pin_failures.py covers another restaurant's.
OWN_ID_CHECKS: Final = frozenset(
    {
        "/api/v1/sync/push",
        "/api/v1/devices/enroll",
        "/api/v1/employees/offline-pin-failures",
    }
)


def slots(app: Litestar) -> Iterator[Slot]:
    for endpoint in endpoints(app):
        for name in endpoint.path_names:
            yield Slot(endpoint, "path", name)
        parameters = endpoint.handler.parsed_fn_signature.parameters
        injected = set(endpoint.handler.resolve_dependencies())
        for name, parameter in parameters.items():
            if name == "data" or name in endpoint.path_names or name in injected:
                continue
            if shape := uuid_shape(parameter.annotation):
                yield Slot(endpoint, "query", name, many=shape == "many")
        body = endpoint.body_type
        if endpoint.path in OWN_ID_CHECKS:
            continue  # ids in the body are checked against the token; see OWN_ID_CHECKS
        if body is not None and isinstance(info := mi.type_info(body), mi.StructType):
            for member in info.fields:
                if member.encode_name == "id":
                    continue  # the new row's own id: see the create test below
                if shape := uuid_shape(member.type):
                    yield Slot(endpoint, "body", member.encode_name, many=shape == "many")


# --- rows of a restaurant, one factory per kind of id ---------------------------------------


@dataclass
class World:
    """Restaurant A, whose rows are probed, and restaurant B, which probes them."""

    app: Litestar
    http: httpx.AsyncClient
    a: Tenant
    b: Tenant
    b_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    a_rows: dict[str, str] = field(default_factory=dict)
    b_reader: str = ""
    """The card reader registered at B's location, once the providers run."""
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    async def row_of_a(self, kind: str) -> str:
        """A's row of this kind, made once and shared by every slot of the kind."""
        if kind not in self.a_rows:
            self.a_rows[kind] = await MAKERS[kind](self, self.a)
        return self.a_rows[kind]


async def created(world: World, tenant: Tenant, path: str, body: dict[str, Any]) -> str:
    response = await world.http.post(f"/api/v1/{path}", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def new_location(world: World, tenant: Tenant) -> str:
    return await created(world, tenant, "locations", {"name": f"Patio {next(world.numbers)}"})


async def new_table(world: World, tenant: Tenant) -> str:
    body = {"location_id": str(tenant.location_id), "name": f"T{next(world.numbers)}"}
    return await created(world, tenant, "tables", body)


async def new_category(world: World, tenant: Tenant) -> str:
    return await created(world, tenant, "categories", {"name": f"Mains {next(world.numbers)}"})


async def new_group(world: World, tenant: Tenant) -> str:
    return await created(world, tenant, "modifier-groups", {"name": f"Sauce {next(world.numbers)}"})


async def new_product(world: World, tenant: Tenant) -> str:
    body = {"name": f"Burger {next(world.numbers)}", "price": 1250}
    return await created(world, tenant, "products", body)


async def new_modifier(world: World, tenant: Tenant) -> str:
    body = {"group_id": await new_group(world, tenant), "name": "Mayo"}
    return await created(world, tenant, "modifiers", body)


async def new_order(world: World, tenant: Tenant) -> str:
    return str(await make_order(tenant, seq=next(world.numbers)))


async def new_employee(world: World, tenant: Tenant) -> str:
    # A manager with a PIN, so that B's own one can also sign in and approve.
    return str(await make_employee(tenant, role=Role.manager, pin=PIN))


async def new_device(world: World, tenant: Tenant) -> str:
    return str((await make_ipad(world.app, tenant, name=f"Till {next(world.numbers)}")).device_id)


async def paid(world: World, tenant: Tenant, method: str, **body: Any) -> str:
    """A payment of ``tenant`` towards a new order (cash succeeds; others wait)."""
    order = await make_order(tenant, seq=next(world.numbers), lines=[("Pizza", 2500, 1, 2000)])
    response = await world.http.post(
        "/api/v1/payments",
        json={"order_id": str(order), "method": method, "amount": 1000, **body},
        headers={**tenant.headers, "Idempotency-Key": str(uuid4())},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def new_payment(world: World, tenant: Tenant) -> str:
    return await paid(world, tenant, "cash", tendered=1000)


async def new_waiting_card(world: World, tenant: Tenant) -> str:
    return await paid(world, tenant, "card")


async def new_qr_payment(world: World, tenant: Tenant) -> str:
    return await paid(world, tenant, "open_banking")


async def new_card_in_person(world: World, tenant: Tenant) -> str:
    return await paid(world, tenant, "card_present")


async def new_payment_needing_attention(world: World, tenant: Tenant) -> str:
    """A payment on the attention list: its money came after it had expired."""
    payment_id = await new_payment(world, tenant)
    assert DB.pool is not None
    await DB.pool.execute(
        "UPDATE payments SET late_success_at = now() WHERE id = $1", UUID(payment_id)
    )
    return payment_id


async def set_up_terminal(world: World, tenant: Tenant, location_id: str) -> None:
    answer = await world.http.put(
        f"/api/v1/payments/terminal/locations/{location_id}",
        json=BODIES[("PUT", "/api/v1/payments/terminal/locations/{location_id:uuid}")],
        headers=tenant.headers,
    )
    assert answer.status_code == 200, answer.text


async def new_terminal_location(world: World, tenant: Tenant) -> str:
    location_id = await new_location(world, tenant)
    await set_up_terminal(world, tenant, location_id)
    return location_id


async def new_quarantined(world: World, tenant: Tenant) -> str:
    ipad = await make_ipad(world.app, tenant, name=f"Till {next(world.numbers)}")
    return str((await quarantined_discount(world.http, ipad))["id"])


async def new_conflict(world: World, tenant: Tenant) -> str:
    device_id = await logged_conflict(world.app, world.http, tenant)
    listed = await world.http.get(
        "/api/v1/sync/conflicts", params={"device_id": str(device_id)}, headers=tenant.headers
    )
    return str(listed.json()["items"][0]["id"])


async def new_job_role(world: World, tenant: Tenant) -> str:
    body = {"name": f"Role {next(world.numbers)}"}
    return await created(world, tenant, "time-clock/job-roles", body)


async def new_break_type(world: World, tenant: Tenant) -> str:
    body = {"name": f"Break {next(world.numbers)}", "paid": False, "expected_minutes": 30}
    return await created(world, tenant, "time-clock/break-types", body)


async def new_scheduled_shift(world: World, tenant: Tenant) -> str:
    # Each for a new employee, so that no two of a restaurant's overlap.
    body = {
        "employee_id": await new_employee(world, tenant),
        "location_id": str(tenant.location_id),
        "starts_at": "2026-12-14T09:00:00Z",
        "ends_at": "2026-12-14T17:00:00Z",
    }
    return await created(world, tenant, "time-clock/schedules", body)


async def new_shift(world: World, tenant: Tenant) -> str:
    """A shift that is over (its hours no longer change), clocked on an iPad; answers the
    clock-in's id, which is the shift's and the punch's."""
    ipad = await make_ipad(world.app, tenant, name=f"Till {next(world.numbers)}")
    ipad.signed_in = await offline_sign_in(ipad, await make_employee(tenant, role=Role.server))
    assert ipad.signed_in is not None
    now, clock_in = datetime.now(UTC), uuid4()
    punches = [
        change(
            ipad,
            seq,
            "time_punch",
            punch_id,
            {
                "employee_id": str(ipad.signed_in.employee_id),
                "kind": kind,
                "at": (now - timedelta(hours=hours_ago)).isoformat(),
                "device_id": str(ipad.device_id),
            },
        )
        for seq, (punch_id, kind, hours_ago) in enumerate(
            [(clock_in, "clock_in", 3), (uuid4(), "clock_out", 2)], start=1
        )
    ]
    answer = await push(world.http, ipad, punches)
    assert [r["outcome"] for r in answer.json()["results"]] == ["applied"] * 2, answer.text
    return str(clock_in)


async def new_drawer(world: World, tenant: Tenant) -> str:
    body = {"name": f"Drawer {next(world.numbers)}", "location_id": str(tenant.location_id)}
    return await created(world, tenant, "cash-up/drawers", body)


async def new_drawer_session(world: World, tenant: Tenant) -> str:
    """A drawer opened on an iPad with a £10 float; answers the session's id."""
    drawer_id = await new_drawer(world, tenant)
    ipad = await make_ipad(world.app, tenant, name=f"Till {next(world.numbers)}")
    ipad.signed_in = await offline_sign_in(ipad, await make_employee(tenant, role=Role.manager))
    assert ipad.signed_in is not None
    session_id = uuid4()
    opening = {
        "drawer_id": drawer_id,
        "float_counts": {"1000": 1},
        "at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "device_id": str(ipad.device_id),
        "employee_id": str(ipad.signed_in.employee_id),
    }
    answer = await push(world.http, ipad, [change(ipad, 1, "drawer_open", session_id, opening)])
    assert [r["outcome"] for r in answer.json()["results"]] == ["applied"], answer.text
    return str(session_id)


async def new_z_report(world: World, tenant: Tenant) -> str:
    """A Z-report of a day long over, at a new location of the tenant's (one a location)."""
    body = {"location_id": await new_location(world, tenant), "business_day": "2020-01-06"}
    return await created(world, tenant, "reports/z", body)


Maker = Callable[[World, Tenant], Awaitable[str]]
MAKERS: Final[dict[str, Maker]] = {
    "payment_id": new_payment,
    "location_id": new_location,
    "table_id": new_table,
    "category_id": new_category,
    "group_id": new_group,
    "product_id": new_product,
    "modifier_id": new_modifier,
    "order_id": new_order,
    "employee_id": new_employee,
    "device_id": new_device,
    "quarantine_id": new_quarantined,
    "conflict_id": new_conflict,
    "job_role_id": new_job_role,
    "break_type_id": new_break_type,
    "scheduled_shift_id": new_scheduled_shift,
    "shift_id": new_shift,
    "punch_id": new_shift,
    "drawer_id": new_drawer,
    "session_id": new_drawer_session,
    "report_id": new_z_report,
}
# Routes that only accept some rows of a kind: B's own control row is made to suit.
CONTROL_MAKERS: Final[dict[tuple[str, str], Maker]] = {
    ("POST", "/api/v1/payments/{payment_id:uuid}/confirm"): new_waiting_card,
    ("POST", "/api/v1/payments/{payment_id:uuid}/cancel"): new_waiting_card,
    ("GET", "/api/v1/payments/{payment_id:uuid}/qr.png"): new_qr_payment,
    ("GET", "/api/v1/payments/{payment_id:uuid}/qr.svg"): new_qr_payment,
    ("POST", "/api/v1/payments/{payment_id:uuid}/collect"): new_card_in_person,
    ("POST", "/api/v1/payments/{payment_id:uuid}/capture"): new_card_in_person,
    ("POST", "/api/v1/payments/{payment_id:uuid}/acknowledge"): new_payment_needing_attention,
    ("POST", "/api/v1/payments/terminal/readers"): new_terminal_location,
}
# Ids named otherwise than the path parameter of their kind.
ALIASES: Final = {"modifier_group_ids": "group_id"}


def kind_of(name: str) -> str | None:
    return name if name in MAKERS else ALIASES.get(name)


def reader_of(app: Litestar, kind: str) -> str | None:
    """The GET route that reads one row of ``kind``, to check A's row afterwards."""
    for endpoint in endpoints(app):
        if (
            endpoint.method == "GET"
            and endpoint.path_names == [kind]
            and endpoint.path.endswith((f"/{{{kind}:uuid}}", f"/{{{kind}:int}}"))
        ):
            return endpoint.path
    return None


def missing_id(slot: Slot) -> str:
    """An id of the slot's type that names no row: a random UUID, or for a row numbered by
    a sequence (``{quarantine_id:int}``) a number no sequence reaches."""
    if slot.where == "path" and f"{{{slot.name}:int}}" in slot.endpoint.path:
        return str(2**62 + uuid4().int % 2**32)
    return str(uuid4())


def takes_own_id(endpoint: Endpoint) -> bool:
    """A create route whose body may name the new row's id."""
    body = endpoint.body_type
    if endpoint.method != "POST" or body is None:
        return False
    info = mi.type_info(body)
    return isinstance(info, mi.StructType) and any(m.encode_name == "id" for m in info.fields)


def item_kind(app: Litestar, collection: Endpoint) -> str | None:
    """The path parameter of the route reading one row of a collection: ``category_id``."""
    for endpoint in endpoints(app):
        names = endpoint.path_names
        if (
            endpoint.method == "GET"
            and names
            and endpoint.path == f"{collection.path}/{{{names[0]}:uuid}}"
        ):
            return names[0]
    return None


# --- requests -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Own:
    """A placeholder for one of B's own rows of ``kind``."""

    kind: str


@dataclass(frozen=True)
class BReader:
    """A placeholder for the card reader at B's location (registered with the world)."""


# Bodies valid for B with B's own rows, so that only the probed id can make them fail.
BODIES: Final[dict[tuple[str, str], dict[str, Any]]] = {
    ("POST", "/api/v1/auth/pin"): {"employee_id": Own("employee_id"), "pin": PIN},
    ("POST", "/api/v1/reports/z"): {
        "location_id": Own("location_id"),
        "business_day": "2020-01-06",
    },
    ("POST", "/api/v1/auth/approvals"): {
        "employee_id": Own("employee_id"),
        "pin": PIN,
        "permission": Permission.orders_void.value,
    },
    ("POST", "/api/v1/locations"): {"name": "Annex"},
    ("PATCH", "/api/v1/locations/{location_id:uuid}"): {"name": "Hijacked", "timezone": "UTC"},
    ("POST", "/api/v1/tables"): {"location_id": Own("location_id"), "name": "B1"},
    ("PATCH", "/api/v1/tables/{table_id:uuid}"): {"name": "Hijacked", "seats": 99},
    ("POST", "/api/v1/categories"): {"name": "Starters"},
    ("PATCH", "/api/v1/categories/{category_id:uuid}"): {"name": "Hijacked", "archived": True},
    ("POST", "/api/v1/products"): {
        "name": "Soup",
        "price": 450,
        "category_id": Own("category_id"),
        "modifier_group_ids": [Own("group_id")],
    },
    ("PATCH", "/api/v1/products/{product_id:uuid}"): {
        "name": "Hijacked",
        "price": 1,
        "category_id": Own("category_id"),
        "modifier_group_ids": [Own("group_id")],
    },
    ("POST", "/api/v1/modifier-groups"): {"name": "Sides"},
    ("PATCH", "/api/v1/modifier-groups/{group_id:uuid}"): {"name": "Hijacked", "min_choices": 1},
    ("POST", "/api/v1/modifiers"): {"group_id": Own("group_id"), "name": "Chips"},
    ("PATCH", "/api/v1/modifiers/{modifier_id:uuid}"): {"name": "Hijacked", "price_delta": -1000},
    ("PUT", "/api/v1/availability"): {
        "location_id": Own("location_id"),
        "product_id": Own("product_id"),
        "sold_out": True,
    },
    ("POST", "/api/v1/orders/{order_id:uuid}/void"): {"reason": "Hijacked"},
    ("POST", "/api/v1/devices/enrolment-codes"): {"location_id": Own("location_id")},
    ("POST", "/api/v1/employees"): {"name": "Hijacker", "role": Role.server.value},
    ("PATCH", "/api/v1/employees/{employee_id:uuid}"): {"name": "Hijacked", "active": False},
    ("PUT", "/api/v1/employees/{employee_id:uuid}/pin"): {"pin": "593718"},
    ("POST", "/api/v1/payments"): {
        "order_id": Own("order_id"),
        "method": "cash",
        "amount": 100,
        "tendered": 100,
    },
    ("POST", "/api/v1/payments/{payment_id:uuid}/confirm"): {"payment_method": "pm_card_visa"},
    ("POST", "/api/v1/payments/{payment_id:uuid}/refunds"): {"amount": 1, "reason": "probe"},
    ("POST", "/api/v1/payments/{payment_id:uuid}/collect"): {"reader_id": BReader()},
    ("POST", "/api/v1/payments/{payment_id:uuid}/acknowledge"): {"note": "kept"},
    ("PUT", "/api/v1/payments/terminal/locations/{location_id:uuid}"): {
        "line1": "1 High Street",
        "city": "London",
        "postal_code": "N1 1AA",
        "country": "GB",
    },
    ("POST", "/api/v1/payments/terminal/readers"): {
        "location_id": Own("location_id"),
        "registration_code": "simulated-wpe",
        "label": "Probe",
    },
    ("POST", "/api/v1/sync/quarantine/{quarantine_id:int}/dismiss"): {"reason": "probe"},
    ("POST", "/api/v1/time-clock/job-roles"): {"name": "Probe role"},
    ("PATCH", "/api/v1/time-clock/job-roles/{job_role_id:uuid}"): {
        "name": "Hijacked",
        "archived": True,
    },
    ("POST", "/api/v1/time-clock/break-types"): {
        "name": "Probe break",
        "paid": False,
        "expected_minutes": 30,
    },
    ("PATCH", "/api/v1/time-clock/break-types/{break_type_id:uuid}"): {
        "name": "Hijacked",
        "paid": True,
        "archived": True,
    },
    ("POST", "/api/v1/time-clock/employees/{employee_id:uuid}/wage-rates"): {
        "job_role_id": Own("job_role_id"),
        "hourly_rate": 1200,
        "effective_from": "2026-01-01",
    },
    ("POST", "/api/v1/time-clock/schedules"): {
        "employee_id": Own("employee_id"),
        "location_id": Own("location_id"),
        "job_role_id": Own("job_role_id"),
        "starts_at": "2026-12-14T09:00:00Z",
        "ends_at": "2026-12-14T17:00:00Z",
    },
    ("POST", "/api/v1/cash-up/drawers"): {
        "name": "Probe drawer",
        "location_id": Own("location_id"),
    },
    ("PATCH", "/api/v1/cash-up/drawers/{drawer_id:uuid}"): {"archived": True},
    ("PUT", "/api/v1/cash-up/settings"): {"over_short_threshold": 100},
    ("POST", "/api/v1/time-clock/corrections"): {
        "action": "add",
        "employee_id": Own("employee_id"),
        "location_id": Own("location_id"),
        "kind": "clock_in",
        "at": "2026-11-02T09:00:00Z",
        "reason": "probe",
    },
}
# Bodies whose members depend on each other (``openapi_variants``): the one for each slot.
SLOT_BODIES: Final[dict[tuple[str, str, str], dict[str, Any]]] = {
    ("POST", "/api/v1/time-clock/corrections", "punch_id"): {
        "action": "void",
        "punch_id": Own("punch_id"),
        "reason": "probe",
    },
}
# Required query parameters.
QUERIES: Final[dict[tuple[str, str], dict[str, Any]]] = {
    ("GET", "/api/v1/availability"): {"location_id": Own("location_id")},
    ("GET", "/api/v1/payments/reports/daily"): {"start": "2026-11-01", "end": "2026-11-30"},
    ("GET", "/api/v1/time-clock/schedules"): {"start": "2026-12-01", "end": "2026-12-31"},
    ("GET", "/api/v1/cash-up/drawer-sessions"): {"start": "2026-11-01", "end": "2026-11-30"},
    **{
        ("GET", f"/api/v1/time-clock/{listed}"): {"start": "2026-11-01", "end": "2026-11-30"}
        for listed in ("shifts", "timesheets", "corrections", "reports/labour", "reports/tips")
    },
    ("GET", "/api/v1/reports/x"): {"location_id": Own("location_id")},
    ("GET", "/api/v1/reports/sales"): {"start": "2026-11-01", "end": "2026-11-30", "by": "product"},
    **{
        ("GET", f"/api/v1/reports/{listed}"): {"start": "2026-11-01", "end": "2026-11-30"}
        for listed in ("z", "vat", "platform-fees")
    },
}

# B's callers. Routes whose handler needs an enrolled iPad get one; the rest B's owner.
B_ACTORS: Final[dict[str, Actor]] = {
    "user+owner": Role.owner,
    "ipad": DEVICE,
    "ipad+manager": Role.manager,
}
ON_AN_IPAD: Final = {Permission.pin_sign_in: "ipad", Permission.approve: "ipad+manager"}


def caller_for(handler: HTTPRouteHandler) -> str:
    permission = handler.opt.get("permission")
    who = ON_AN_IPAD.get(permission, "user+owner")
    if isinstance(permission, Permission):
        assert decide(permission, B_ACTORS[who]) == "allow", f"pick a caller allowed {permission}"
    return who


class Probe:
    """One slot's request, with everything but the slot fixed to B's own rows."""

    def __init__(self, world: World, slot: Slot) -> None:
        self.world, self.slot = world, slot
        self.own: dict[str, str] = {}

    async def own_row(self, kind: str) -> str:
        if kind not in self.own:
            self.own[kind] = await MAKERS[kind](self.world, self.world.b)
        return self.own[kind]

    async def resolve(self, value: Any) -> Any:
        if isinstance(value, Own):
            return await self.own_row(value.kind)
        if isinstance(value, BReader):
            return self.world.b_reader
        if isinstance(value, dict):
            return {key: await self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [await self.resolve(item) for item in value]
        return value

    async def send(self, subject: str) -> httpx.Response:
        """The request with ``subject`` in the slot."""
        slot, endpoint = self.slot, self.slot.endpoint
        segments = []
        for segment in endpoint.path.split("/"):
            if segment.startswith("{"):
                name = segment[1:-1].split(":", 1)[0]
                is_slot = slot.where == "path" and name == slot.name
                segment = subject if is_slot else await self.own_row(kind_of(name) or name)
            segments.append(segment)
        query = await self.resolve(QUERIES.get(endpoint.key, {}))
        if slot.where == "query":
            query[slot.name] = subject
        body = None
        if endpoint.body_type is not None:
            template = SLOT_BODIES.get((*endpoint.key, slot.name), BODIES[endpoint.key])
            body = await self.resolve(template)
            if slot.where == "body":
                body[slot.name] = [subject] if slot.many else subject
        return await self.world.http.request(
            endpoint.method,
            "/".join(segments),
            params=query,
            json=body,
            # Payment routes need a key; a fresh one each time, as for a new operation.
            headers={
                **self.world.b_headers[caller_for(endpoint.handler)],
                "Idempotency-Key": str(uuid4()),
            },
        )


def comparable(response: httpx.Response) -> tuple[int, str, Any]:
    """Status, content type and body, without what differs from one request to the next."""
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type:
        return response.status_code, content_type, response.content
    body = response.json()
    if isinstance(body, dict):
        body = {key: value for key, value in body.items() if key not in PER_REQUEST}
    return response.status_code, content_type, body


def short(response: httpx.Response) -> str:
    if "json" in response.headers.get("content-type", "") and response.status_code >= 300:
        problem = response.json()
        return f"{response.status_code} {problem.get('code')} {problem.get('field') or ''}".strip()
    return str(response.status_code)


async def read_as_a(world: World, reader: str, kind: str, row: str) -> Any:
    path = reader.replace(f"{{{kind}:uuid}}", row).replace(f"{{{kind}:int}}", row)
    response = await world.http.get(path, headers=world.a.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def check(world: World, slot: Slot, reader: str) -> str | None:
    """What is wrong with B's answers for this slot, if anything."""
    kind = kind_of(slot.name)
    assert kind is not None
    if slot.endpoint.body_type is not None and slot.endpoint.key not in BODIES:
        return "no body in BODIES for this route"
    theirs_id = await world.row_of_a(kind)
    before = await read_as_a(world, reader, kind, theirs_id)

    probe = Probe(world, slot)
    theirs = await probe.send(theirs_id)
    missing = await probe.send(missing_id(slot))

    if await read_as_a(world, reader, kind, theirs_id) != before:
        return f"A's row changed ({short(theirs)})"
    if comparable(theirs) != comparable(missing):
        return f"A's id answers {short(theirs)}, a random id {short(missing)}"
    if not isinstance(slot.endpoint.handler.opt.get("permission"), Permission):
        return None  # closed for everyone (Litestar's OPTIONS): the same answer is enough
    if slot.where == "path" and short(theirs) != "404 not_found":
        return f"expected 404 not_found, got {short(theirs)}"
    if theirs.status_code == 400 and theirs.json().get("field") != slot.name:
        return f"refused for another field: {short(theirs)}"
    if slot.where == "body" and theirs.status_code < 400:
        return f"A's id and a random id are both accepted ({short(theirs)})"
    # The same request with B's own row must work, or the comparison above proves nothing.
    maker = CONTROL_MAKERS.get(slot.endpoint.key, MAKERS[kind])
    control = await probe.send(await maker(world, world.b))
    if control.status_code >= 300:
        return f"B's own row is refused too ({short(control)}): fix the body or the caller"
    return None


# --- fixtures -------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(app: Litestar) -> AsyncIterator[World]:
    transport = httpx.ASGITransport(app=app, client=PEER)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        a, b = await make_tenant(app), await make_tenant(app)
        world = World(app, http, a, b)
        ipad = await make_ipad(app, b, name="B's till")
        manager = await make_employee(b, role=Role.manager, pin=PIN)
        world.b_headers = {
            "user+owner": b.headers,
            "ipad": ipad.headers,
            "ipad+manager": (await sign_in(app, ipad, manager, PIN)).headers,
        }
        assert set(world.b_headers) == set(B_ACTORS)
        # Real providers' fakes, so that every kind of payment can be made and probed.
        stripe, bank = start_stripe_fake(), start_open_banking_sandbox()
        gateway.install(
            Gateway(
                {
                    "cash": CashProvider(),
                    "stripe": stripe.provider(),
                    "open_banking": bank.provider(),
                },
                failure_threshold=5,
                reset_seconds=30,
            )
        )
        try:
            await set_up_terminal(world, b, str(b.location_id))
            reader = await http.post(
                "/api/v1/payments/terminal/readers",
                json={
                    "location_id": str(b.location_id),
                    "registration_code": "simulated-wpe",
                    "label": "B's reader",
                },
                headers=b.headers,
            )
            assert reader.status_code == 201, reader.text
            world.b_reader = reader.json()["id"]
            yield world
        finally:
            gateway.install(None)
            await stripe.aclose()
            await bank.aclose()
            stripe.stop()
            bank.stop()


# --- the tests ------------------------------------------------------------------------------


def test_every_id_a_route_takes_has_a_factory(app: Litestar) -> None:
    found = list(slots(app))
    assert {slot.where for slot in found} == {"path", "query", "body"}
    unknown = sorted({slot.label for slot in found if kind_of(slot.name) is None})
    assert unknown == [], "add a factory to MAKERS (or an alias) for these ids"
    unread = sorted(kind for kind in MAKERS if reader_of(app, kind) is None)
    assert unread == [], "no GET route reads one row of these kinds"
    unused = sorted(set(MAKERS) - {kind_of(slot.name) for slot in found})
    assert unused == [], "factories for ids no route takes any more"
    stale = sorted(
        {*BODIES, *QUERIES, *CONTROL_MAKERS, *((m, p) for m, p, _ in SLOT_BODIES)}
        - {endpoint.key for endpoint in endpoints(app)}
    )
    assert stale == [], "bodies or queries for routes that no longer exist"


@pytest.mark.parametrize("kind", sorted(MAKERS))
async def test_another_restaurants_ids_answer_like_ids_that_do_not_exist(
    app: Litestar, world: World, kind: str
) -> None:
    reader = reader_of(app, kind)
    assert reader is not None
    mine = [slot for slot in slots(app) if kind_of(slot.name) == kind]
    assert mine
    wrong = [
        (slot.label, problem) for slot in mine if (problem := await check(world, slot, reader))
    ]
    if wrong:
        width = max(len(label) for label, _ in wrong)
        rows = "\n".join(f"{label.ljust(width)}  {problem}" for label, problem in wrong)
        pytest.fail(f"{len(wrong)} of {len(mine)} {kind} slots leak or misbehave:\n{rows}")


async def test_a_new_row_cannot_take_another_restaurants_id(app: Litestar, world: World) -> None:
    """Client-chosen ids (iPads create rows offline) never overwrite another restaurant's row."""
    creates = [endpoint for endpoint in endpoints(app) if takes_own_id(endpoint)]
    assert creates
    wrong = []
    for endpoint in creates:
        kind = item_kind(app, endpoint)
        if kind not in MAKERS:
            wrong.append(f"POST {endpoint.path}: no factory for the kind of row it creates")
            continue
        reader = reader_of(app, kind)
        assert reader is not None
        theirs_id = await world.row_of_a(kind)
        before = await read_as_a(world, reader, kind, theirs_id)
        probe = Probe(world, Slot(endpoint, "body", "id"))
        response = await probe.send(theirs_id)
        if short(response) != "409 conflict id":
            wrong.append(f"POST {endpoint.path} with A's id: {short(response)}")
        if await read_as_a(world, reader, kind, theirs_id) != before:
            wrong.append(f"POST {endpoint.path} with A's id changed A's row")
    assert wrong == []


async def test_another_restaurant_cannot_spend_an_employees_pin_budget(world: World) -> None:
    """B's attempts with A's employee id must not lock A's employee out (C2, ASVS 6.1.1)."""
    employee = await make_employee(world.a, role=Role.server, pin=PIN)
    body = {"employee_id": str(employee), "pin": PIN, "permission": Permission.orders_void.value}
    answers = set()
    for _ in range(ratelimit.PIN_PER_EMPLOYEE.item.amount):
        response = await world.http.post(
            "/api/v1/auth/approvals", json=body, headers=world.b_headers["user+owner"]
        )
        answers.add(response.status_code)
    assert answers <= {400, 429}

    ipad = await make_ipad(world.app, world.a, name="A's till")
    response = await world.http.post(
        "/api/v1/auth/pin", json={"employee_id": str(employee), "pin": PIN}, headers=ipad.headers
    )
    assert response.status_code == 200, response.text
