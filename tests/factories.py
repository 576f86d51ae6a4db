"""Small factories for test records; each call makes a new, isolated restaurant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from litestar import Litestar

from server.auth.tables import Role, User
from server.auth.tokens import Caller, issue_access_token
from server.orders.numbers import format_order_number
from server.orders.services import save_order
from server.restaurants.tables import Location, Restaurant
from server.settings import get_settings


@dataclass
class Tenant:
    restaurant_id: UUID
    location_id: UUID
    user_id: UUID
    token: str

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
