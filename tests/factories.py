"""Small factories for test records; each call makes a new, isolated restaurant."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from litestar import Litestar

from server.auth.offline import SignedIn, statement_of
from server.auth.tables import Role, User
from server.auth.tokens import Caller, issue_access_token
from server.orders.numbers import format_order_number
from server.orders.services import save_order
from server.restaurants.tables import Location, Restaurant
from server.settings import get_settings

# Six digits and on no blocklist: what a restaurant accepts by default (docs/security.md, PINs).
DEFAULT_PIN = "482615"


@dataclass
class Tenant:
    restaurant_id: UUID
    location_id: UUID
    user_id: UUID
    token: str
    staff: dict[Role, UUID] = field(default_factory=dict)
    """One employee per role, made when first asked for (``staff_member``)."""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_tenant(app: Litestar, *, role: Role = Role.owner) -> Tenant:
    restaurant_id, location_id, user_id = uuid4(), uuid4(), uuid4()
    await Restaurant.insert(Restaurant(id=restaurant_id, name=f"Test {restaurant_id.hex[:6]}"))
    await Location.insert(Location(id=location_id, restaurant_id=restaurant_id, name="Main"))
    await User.insert(
        User(
            id=user_id,
            restaurant_id=restaurant_id,
            email=f"{user_id.hex}@test.fynlo.app",
            name="Test owner",
            password_hash="unused",
            role=role,
        )
    )
    caller = Caller(user_id=user_id, restaurant_id=restaurant_id, role=role)
    token = issue_access_token(
        app.state.signing_keys, caller, issuer=get_settings().jwt_issuer, ttl=900
    )
    return Tenant(restaurant_id, location_id, user_id, token)


async def make_order(
    tenant: Tenant,
    *,
    seq: int,
    lines: list[tuple[str, int, int, int]] | None = None,
    opened_at: datetime | None = None,
    **order_fields: Any,
) -> UUID:
    """An order with lines given as (name, unit price, quantity, VAT basis points)."""
    order_id = uuid4()
    order = {
        "id": order_id,
        "restaurant_id": tenant.restaurant_id,
        "location_id": tenant.location_id,
        "number": format_order_number("T", seq),
        "device_prefix": "T",
        "device_seq": seq,
        "opened_at": opened_at or datetime.now(UTC) - timedelta(minutes=seq),
        "service_charge_bp": 0,
        "tip": 0,
        **order_fields,
    }
    rows = [
        {
            "id": uuid4(),
            "restaurant_id": tenant.restaurant_id,
            "order_id": order_id,
            "name": name,
            "unit_price": price,
            "quantity": quantity,
            "vat_rate_bp": vat,
            "modifiers": [],
            "voided": False,
            "position": position,
        }
        for position, (name, price, quantity, vat) in enumerate(lines or [("Tea", 300, 1, 2000)])
    ]
    await save_order(order, rows)
    return order_id


@dataclass
class Ipad:
    """An enrolled device, optionally with an employee signed in on it."""

    tenant: Tenant
    device_id: UUID
    access_token: str
    refresh_token: str
    employee_token: str | None = None
    employee_id: UUID | None = None
    signed_in: SignedIn | None = None
    """Who signs the changes this iPad pushes (``server.auth.offline``), if anyone."""

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.access_token}"}
        if self.employee_token is not None:
            headers["X-Fynlo-Employee"] = self.employee_token
        return headers

    def signed(self, change: dict[str, Any]) -> dict[str, Any]:
        """``change`` with its maker's proof, if someone is signed in and it carries none."""
        if self.signed_in is None or "actor" in change:
            return change
        return change | {"actor": self.signed_in.actor(statement_of(self.device_id, change))}


async def staff_member(tenant: Tenant, role: Role) -> UUID:
    """The tenant's employee of ``role`` (PIN ``DEFAULT_PIN``), made once."""
    if role not in tenant.staff:
        tenant.staff[role] = await make_employee(tenant, role=role)
    return tenant.staff[role]


async def offline_sign_in(ipad: Ipad, employee_id: UUID, pin: str = DEFAULT_PIN) -> SignedIn:
    """Sign ``employee_id`` in on ``ipad`` as the app does offline: from the iPad's credential."""
    from server.employees.services import offline_credentials

    issued = await offline_credentials(
        restaurant_id=ipad.tenant.restaurant_id, device_id=ipad.device_id
    )
    credential = next(c for c in issued.employees if c.employee_id == employee_id)
    return SignedIn.from_pin(
        employee_id=employee_id,
        device_id=ipad.device_id,
        pin=pin,
        salt_hex=credential.salt,
        verifier_hex=credential.verifier,
    )


async def make_ipad(
    app: Litestar, tenant: Tenant, *, name: str = "Till 1", signed_in: Role | None = None
) -> Ipad:
    """Enrol a device at the tenant's location through the real code flow."""
    from server.auth.sessions import device_pair
    from server.devices.schemas import EnrolmentCodeCreate
    from server.devices.services import create_enrolment_code, enrol

    code = await create_enrolment_code(
        restaurant_id=tenant.restaurant_id,
        created_by=tenant.user_id,
        body=EnrolmentCodeCreate(location_id=tenant.location_id),
    )
    device, restaurant_id = await enrol(code=code.code, name=name)
    pair = await device_pair(
        app.state.signing_keys,
        get_settings(),
        restaurant_id=restaurant_id,
        device_id=device.id,
        location_id=device.location_id,
    )
    ipad = Ipad(tenant, device.id, pair.access_token, pair.refresh_token)
    if signed_in is not None:
        ipad.signed_in = await offline_sign_in(ipad, await staff_member(tenant, signed_in))
    return ipad


async def make_employee(tenant: Tenant, *, role: Role, pin: str = DEFAULT_PIN) -> UUID:
    from server.employees.schemas import EmployeeCreate
    from server.employees.services import create_employee

    employee = await create_employee(
        restaurant_id=tenant.restaurant_id,
        body=EmployeeCreate(name=f"{role.value} {uuid4().hex[:4]}", role=role, pin=pin),
        by=Role.owner,
    )
    return employee.id


async def sign_in(app: Litestar, ipad: Ipad, employee_id: UUID, pin: str = DEFAULT_PIN) -> Ipad:
    """The same iPad with an employee signed in by PIN."""
    from server.auth.sessions import employee_session
    from server.auth.tokens import Caller

    caller = Caller(
        restaurant_id=ipad.tenant.restaurant_id,
        role=None,
        device_id=ipad.device_id,
        location_id=ipad.tenant.location_id,
    )
    session = await employee_session(
        app.state.signing_keys,
        get_settings(),
        caller=caller,
        employee_id=employee_id,
        pin=pin,
        limiter=app.state.limiter,
    )
    return Ipad(
        ipad.tenant,
        ipad.device_id,
        ipad.access_token,
        ipad.refresh_token,
        employee_token=session.employee_token,
        employee_id=employee_id,
    )
