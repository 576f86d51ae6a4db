"""Order bodies on the wire. Amounts are integer minor units in ``currency``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from msgspec import Meta

from server.orders.tables import DiscountKind, OrderStatus
from server.wire import Input, Wire


class VoidRequest(Input, kw_only=True):
    reason: Annotated[str, Meta(min_length=1, max_length=200)]


class Discount(Wire, kw_only=True):
    kind: DiscountKind
    value: int
    """Basis points for ``percent``, minor units for ``fixed``."""


class LineModifier(Wire, kw_only=True):
    modifier_id: UUID | None
    name: str
    price_delta: int


class OrderLine(Wire, kw_only=True):
    id: UUID
    product_id: UUID | None
    name: str
    unit_price: int
    quantity: int
    vat_rate_bp: int
    modifiers: list[LineModifier]
    discount: Discount | None
    voided: bool
    notes: str
    total: int
    """What the line costs after its own and its share of the order's discount."""


class VatBucket(Wire, kw_only=True):
    rate_bp: int
    gross: int
    vat: int
    net: int


class OrderSummary(Wire, kw_only=True):
    id: UUID
    location_id: UUID
    table_id: UUID | None
    number: str
    status: OrderStatus
    covers: int
    currency: str
    total_due: int
    opened_at: datetime
    closed_at: datetime | None
    updated_at: datetime


class Order(OrderSummary):
    notes: str
    discount: Discount | None
    discount_reason: str
    service_charge_bp: int
    subtotal: int
    discount_total: int
    vat_total: int
    vat: list[VatBucket]
    service_charge: int
    tip: int
    lines: list[OrderLine]
