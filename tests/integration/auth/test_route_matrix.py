"""Every route answers every kind of caller as ``permissions.POLICY`` says (reliability A3).

The routes come from the app's own route table, so a route added later joins the matrix
without anyone editing this file, and one that declares neither ``opt=PUBLIC`` nor
``opt=allow(...)`` fails it. The expected answer for each caller is computed from
``POLICY`` with ``decide()``, never written out by hand:

- anonymous on a route that is not public: 401;
- ``deny``: 403 ``forbidden``;
- ``approval`` without an ``X-Fynlo-Approval`` header: 403 with ``needs_approval: true``;
- ``allow``, and anyone on a public route: anything but 401, 403 or a server error.

Each request is real: path parameters name rows of the callers' own restaurant and bodies
are valid, so an allowed caller reaches the handler and gets a real answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final
from uuid import UUID, uuid4

import httpx
import msgspec
import pytest
import pytest_asyncio
from litestar import Litestar
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler
from litestar.routes import HTTPRoute

from server.auth import ratelimit
from server.auth.dependencies import guard
from server.auth.passwords import hash_password
from server.auth.permissions import DEVICE, POLICY, Actor, Permission, decide
from server.auth.sessions import user_pair
from server.auth.tables import Role, User
from server.auth.tokens import Caller, issue_access_token
from server.devices.schemas import EnrolmentCodeCreate
from server.devices.services import create_enrolment_code
from server.employees.schemas import EmployeeCreate
from server.employees.services import create_employee
from server.settings import get_settings
from tests.factories import (
    DEFAULT_PIN,
    Tenant,
    make_employee,
    make_ipad,
    make_order,
    make_tenant,
    sign_in,
)
from tests.integration.sync.test_sync_remedies import logged_conflict, quarantined_discount

# A TEST-NET-1 peer of our own, so the per-client login and enrolment budgets this module
# spends are not the ones other tests spend from the shared client's 127.0.0.1.
PEER: Final = ("192.0.2.31", 40031)
PIN: Final = DEFAULT_PIN
PASSWORD: Final = "correct horse battery staple"

# Back-office accounts are owners or managers only; staff sign in on an iPad with a PIN.
USER_ROLES: Final = (Role.owner, Role.manager)
ANONYMOUS: Final = "anonymous"


@dataclass(frozen=True)
class Who:
    """One kind of caller: its name in the table and the actor ``decide()`` judges."""

    name: str
    actor: Actor | None  # None: no token at all


CALLERS: Final = (
    Who(ANONYMOUS, None),
    *(Who(f"user+{role}", role) for role in USER_ROLES),
    Who("ipad", DEVICE),
    *(Who(f"ipad+{role}", role) for role in Role),
)

# Expected answers, as shown in the failure table.
OPEN: Final = "not 401/403/5xx"
UNAUTHENTICATED: Final = "401 not_authenticated"
DENIED: Final = "403 forbidden"
NEEDS_APPROVAL: Final = "403 forbidden needs_approval"
VERDICTS: Final = {"allow": OPEN, "approval": NEEDS_APPROVAL, "deny": DENIED}


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
    def takes_body(self) -> bool:
        return "data" in self.handler.parsed_fn_signature.parameters


def is_schema(app: Litestar, path: str) -> bool:
    """Litestar's own OpenAPI routes (public by design, checked separately)."""
    root = app.openapi_config.path if app.openapi_config else "/schema"
    return path == root or path.startswith(f"{root}/")


def handlers_of(route: Any) -> list[BaseRouteHandler]:
    if isinstance(route, HTTPRoute):
        return list(route.route_handlers)
    return [route.route_handler]  # WebSocket and ASGI routes hold one handler


def is_generated_options(handler: BaseRouteHandler) -> bool:
    """The OPTIONS handler Litestar adds to every path; it declares nothing of its own."""
    return handler.fn.__qualname__.startswith("HTTPRoute.create_options_handler.")


def is_office(path: str) -> bool:
    """The back office's HTML pages: same guards and ``POLICY``, but a browser's answers (a
    redirect to sign in, a refusal page); ``tests/e2e/test_back_office.py`` checks them."""
    return path == "/office" or path.startswith("/office/")


def endpoints(app: Litestar) -> Iterator[Endpoint]:
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or is_schema(app, route.path) or is_office(route.path):
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                yield Endpoint(route.path, method, handler)


def expected(handler: BaseRouteHandler, who: Who) -> str:
    """The answer ``who`` should get, from the route's ``opt`` and ``POLICY``."""
    if handler.opt.get("public") is True:
        return OPEN
    if who.actor is None:
        return UNAUTHENTICATED
    permission = handler.opt.get("permission")
    if not isinstance(permission, Permission):
        return DENIED  # ``authorize`` closes a route that declares no permission
    return VERDICTS[decide(permission, who.actor)]


def answer(response: httpx.Response) -> str:
    """A response as the table shows it: the status, and for 401/403 the problem's code."""
    if response.status_code not in (401, 403):
        return str(response.status_code)
    problem = response.json()
    text = f"{response.status_code} {problem.get('code')}"
    return f"{text} needs_approval" if problem.get("needs_approval") is True else text


def satisfies(want: str, response: httpx.Response) -> bool:
    if want == OPEN:
        return response.status_code not in (401, 403) and response.status_code < 500
    return answer(response) == want


def table(rows: list[tuple[str, ...]]) -> str:
    rows = [("route", "method", "caller", "expected", "got"), *rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = (
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    )
    return "\n".join(line.rstrip() for line in lines)


# --- the callers' restaurant ----------------------------------------------------------------


@dataclass
class Site:
    """One restaurant with every kind of caller, and rows for the routes to act on."""

    app: Litestar
    tenant: Tenant
    login_email: str
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    """Path parameter (or ``Ref`` name) to the id of a row of this restaurant."""


@dataclass(frozen=True)
class Ref:
    """A placeholder in a body or query for one of ``Site.ids``."""

    name: str


Fresh = Callable[[Site], Awaitable[Any]]


async def login_body(site: Site) -> Any:
    limiter: ratelimit.RateLimiter = site.app.state.limiter
    # Every caller signs in once; the budget for this account is not what is tested here.
    await limiter.clear(ratelimit.LOGIN_PER_ACCOUNT, site.login_email)
    await limiter.clear(ratelimit.LOGIN_PER_CLIENT, PEER[0])
    return {"email": site.login_email, "password": PASSWORD}


async def refresh_body(site: Site) -> Any:
    """A refresh token never used before, so rotating or revoking it is a real success."""
    owner = Caller(
        user_id=site.tenant.user_id, restaurant_id=site.tenant.restaurant_id, role=Role.owner
    )
    pair = await user_pair(site.app.state.signing_keys, get_settings(), caller=owner)
    return {"refresh_token": pair.refresh_token}


async def enrol_body(site: Site) -> Any:
    await site.app.state.limiter.clear(ratelimit.ENROL_PER_CLIENT, PEER[0])
    code = await create_enrolment_code(
        restaurant_id=site.tenant.restaurant_id,
        created_by=site.tenant.user_id,
        body=EnrolmentCodeCreate(location_id=site.tenant.location_id),
    )
    return {"code": code.code, "name": "Matrix iPad"}


# Valid bodies, so an allowed caller gets past decoding; a route missing here is sent ``{}``.
BODIES: Final[dict[tuple[str, str], Any]] = {
    ("POST", "/api/v1/auth/login"): login_body,
    ("POST", "/api/v1/auth/refresh"): refresh_body,
    ("POST", "/api/v1/auth/logout"): refresh_body,
    ("POST", "/api/v1/auth/pin"): {"employee_id": Ref("pin_employee"), "pin": PIN},
    ("POST", "/api/v1/auth/approvals"): {
        "employee_id": Ref("approver"),
        "pin": PIN,
        "permission": Permission.orders_void.value,
    },
    ("POST", "/api/v1/locations"): {"name": "Annex"},
    ("PATCH", "/api/v1/locations/{location_id:uuid}"): {"name": "Renamed"},
    ("POST", "/api/v1/tables"): {"location_id": Ref("main_location"), "name": "12"},
    ("PATCH", "/api/v1/tables/{table_id:uuid}"): {"seats": 4},
    ("POST", "/api/v1/categories"): {"name": "Starters"},
    ("PATCH", "/api/v1/categories/{category_id:uuid}"): {"name": "Renamed"},
    ("POST", "/api/v1/products"): {
        "name": "Soup",
        "price": 450,
        "category_id": Ref("category_id"),
        "modifier_group_ids": [Ref("group_id")],
    },
    ("PATCH", "/api/v1/products/{product_id:uuid}"): {"price": 500},
    ("POST", "/api/v1/modifier-groups"): {"name": "Sides"},
    ("PATCH", "/api/v1/modifier-groups/{group_id:uuid}"): {"max_choices": 2},
    ("POST", "/api/v1/modifiers"): {"group_id": Ref("group_id"), "name": "Chips"},
    ("PATCH", "/api/v1/modifiers/{modifier_id:uuid}"): {"price_delta": 50},
    ("PUT", "/api/v1/availability"): {
        "location_id": Ref("main_location"),
        "product_id": Ref("product_id"),
        "sold_out": True,
    },
    ("POST", "/api/v1/orders/{order_id:uuid}/void"): {"reason": "Walked out"},
    ("POST", "/api/v1/devices/enrolment-codes"): {"location_id": Ref("main_location")},
    ("POST", "/api/v1/devices/enroll"): enrol_body,
    ("POST", "/api/v1/employees"): {"name": "New hire", "role": Role.server.value},
    ("PATCH", "/api/v1/employees/{employee_id:uuid}"): {"name": "Renamed"},
    ("PUT", "/api/v1/employees/{employee_id:uuid}/pin"): {"pin": "593718"},
    ("PUT", "/api/v1/employees/pin-policy"): {"allow_four_digit_pins": False},
    ("POST", "/api/v1/sync/quarantine/{quarantine_id:int}/dismiss"): {"reason": "Duplicate"},
}
# Required query parameters.
QUERIES: Final[dict[tuple[str, str], dict[str, Any]]] = {
    ("GET", "/api/v1/availability"): {"location_id": Ref("main_location")},
}


def resolve(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, Ref):
        return ids[value.name]
    if isinstance(value, dict):
        return {key: resolve(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, ids) for item in value]
    return value


async def body_for(site: Site, endpoint: Endpoint) -> Any:
    template = BODIES.get(endpoint.key, {})
    if callable(template):
        return await template(site)
    return resolve(template, site.ids)


def fill_path(path: str, ids: dict[str, str]) -> str:
    """The declared path with each ``{name:type}`` replaced by our row's id (or a new UUID)."""
    parts = []
    for segment in path.split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            name = segment[1:-1].split(":", 1)[0]
            segment = ids.get(name, str(uuid4()))
        parts.append(segment)
    return "/".join(parts)


async def add_user(app: Litestar, tenant: Tenant, role: Role, email: str) -> dict[str, str]:
    """Another back-office account in ``tenant``'s restaurant, with a real password."""
    user_id = uuid4()
    await User.insert(
        User(
            id=user_id,
            restaurant_id=tenant.restaurant_id,
            email=email,
            name=f"Test {role}",
            password_hash=await hash_password(PASSWORD),
            role=role,
        )
    )
    caller = Caller(user_id=user_id, restaurant_id=tenant.restaurant_id, role=role)
    token = issue_access_token(
        app.state.signing_keys, caller, issuer=get_settings().jwt_issuer, ttl=900
    )
    return {"Authorization": f"Bearer {token}"}


async def created(http: httpx.AsyncClient, tenant: Tenant, path: str, body: Any) -> str:
    response = await http.post(f"/api/v1/{path}", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def http(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=PEER)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(app: Litestar, http: httpx.AsyncClient) -> Site:
    tenant = await make_tenant(app)
    email = f"{uuid4().hex}@test.fynlo.app"
    site = Site(app, tenant, login_email=email)

    site.headers[ANONYMOUS] = {}
    site.headers[f"user+{Role.owner}"] = tenant.headers
    site.headers[f"user+{Role.manager}"] = await add_user(app, tenant, Role.manager, email)
    ipad = await make_ipad(app, tenant)
    site.headers["ipad"] = ipad.headers
    staff: dict[Role, UUID] = {}
    for role in Role:
        staff[role] = await make_employee(tenant, role=role, pin=PIN)
        site.headers[f"ipad+{role}"] = (await sign_in(app, ipad, staff[role], PIN)).headers
    assert set(site.headers) == {who.name for who in CALLERS}

    # Rows the routes act on: none of them is a caller, so archiving, revoking or renaming
    # them never changes who the callers are.
    category = await created(http, tenant, "categories", {"name": "Mains"})
    group = await created(http, tenant, "modifier-groups", {"name": "Sauce"})
    product = await created(
        http,
        tenant,
        "products",
        {"name": "Burger", "price": 1250, "category_id": category, "modifier_group_ids": [group]},
    )
    spare_ipad = await make_ipad(app, tenant, name="Spare till")
    victim = await create_employee(
        restaurant_id=tenant.restaurant_id,
        body=EmployeeCreate(name="Spare", role=Role.server),
        by=Role.owner,
    )
    site.ids = {
        "location_id": await created(http, tenant, "locations", {"name": "Patio"}),
        "table_id": await created(
            http, tenant, "tables", {"location_id": str(tenant.location_id), "name": "7"}
        ),
        "category_id": category,
        "group_id": group,
        "product_id": product,
        "modifier_id": await created(
            http, tenant, "modifiers", {"group_id": group, "name": "Mayo"}
        ),
        "order_id": str(await make_order(tenant, seq=1)),
        "employee_id": str(victim.id),
        "device_id": str(spare_ipad.device_id),
        "main_location": str(tenant.location_id),
        "pin_employee": str(staff[Role.server]),
        "approver": str(staff[Role.manager]),
        "quarantine_id": str((await quarantined_discount(http, spare_ipad))["id"]),
        "conflict_id": await a_conflict(app, http, tenant),
    }
    return site


async def a_conflict(app: Litestar, http: httpx.AsyncClient, tenant: Tenant) -> str:
    await logged_conflict(app, http, tenant)
    listed = await http.get("/api/v1/sync/conflicts", headers=tenant.headers)
    return str(listed.json()["items"][0]["id"])


# --- the tests ------------------------------------------------------------------------------


def test_every_handler_declares_public_or_a_permission_in_the_policy(app: Litestar) -> None:
    assert set(POLICY) == set(Permission), "every permission needs a rule"
    undeclared, unguarded = [], []
    for route in app.routes:
        for handler in handlers_of(route):
            methods = sorted(getattr(handler, "http_methods", None) or ())
            where = f"{'/'.join(methods) or 'WS/ASGI'} {route.path}"
            if guard not in handler.resolve_guards():  # authenticate, then authorize
                unguarded.append(where)
            if is_generated_options(handler):
                continue  # Litestar's own; closed by ``authorize``, as the matrix checks
            permission = handler.opt.get("permission")
            if handler.opt.get("public") is True:
                assert permission is None, f"{where} is public and also asks {permission}"
            elif not (isinstance(permission, Permission) and permission in POLICY):
                undeclared.append(f"{where}: opt={handler.opt!r}")
    assert undeclared == [], "routes without opt=PUBLIC or opt=allow(Permission.x)"
    assert unguarded == [], "routes the authenticate/authorize guards do not cover"


async def test_the_openapi_routes_are_public_by_declaration(
    app: Litestar, http: httpx.AsyncClient
) -> None:
    schema = [
        (route.path, handler)
        for route in app.routes
        if is_schema(app, route.path)
        for handler in handlers_of(route)
    ]
    assert schema, "the OpenAPI document is served"
    assert [path for path, handler in schema if handler.opt.get("public") is not True] == []
    assert (await http.get("/schema/openapi.json")).status_code == 200


def test_the_matrix_bodies_fit_their_routes(app: Litestar) -> None:
    """Each body and query above names a real route and decodes strictly as it expects."""
    known = {endpoint.key: endpoint for endpoint in endpoints(app)}
    assert sorted(set(BODIES) - set(known)) == [], "bodies for routes that no longer exist"
    assert sorted(set(QUERIES) - set(known)) == [], "queries for routes that no longer exist"
    for key, template in BODIES.items():
        data = known[key].handler.parsed_fn_signature.parameters.get("data")
        assert data is not None, f"{key} takes no body"
        if callable(template):
            continue  # fresh credentials, built per request
        body = resolve(template, AnyIds())
        msgspec.json.decode(msgspec.json.encode(body), type=data.annotation, strict=True)


class AnyIds(dict[str, str]):
    """Ids for any ``Ref``: enough to check that a body decodes."""

    def __missing__(self, name: str) -> str:
        return str(uuid4())


@pytest.mark.parametrize("who", CALLERS, ids=lambda who: who.name)
async def test_every_route_answers_the_caller_as_the_policy_says(
    app: Litestar, http: httpx.AsyncClient, site: Site, who: Who
) -> None:
    checked, wrong = 0, []
    for endpoint in endpoints(app):
        want = expected(endpoint.handler, who)
        body = await body_for(site, endpoint) if endpoint.takes_body else None
        query = resolve(QUERIES.get(endpoint.key, {}), site.ids)
        response = await http.request(
            endpoint.method,
            fill_path(endpoint.path, site.ids),
            params=query,
            json=body,
            headers=site.headers[who.name],
        )
        checked += 1
        if not satisfies(want, response):
            wrong.append((endpoint.path, endpoint.method, who.name, want, answer(response)))
    assert checked > 0
    if wrong:
        pytest.fail(f"{len(wrong)} of {checked} routes answer {who.name} wrongly:\n{table(wrong)}")
