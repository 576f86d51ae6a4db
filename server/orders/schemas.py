"""Order bodies on the wire. Amounts are integer minor units in ``currency``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from msgspec import Meta

from server.orders.tables import DiscountKind, OrderStatus
from server.wire import Input, Wire

MAX_VOID_AMOUNT = 100_000_000  # £1,000,000, the bound payments put on an amount


class VoidRequest(Input, kw_only=True):
    reason: Annotated[str, Meta(min_length=1, max_length=200)]


class VoidLimits(Wire, kw_only=True):
    """What one employee may void in a day (the location's calendar day, until the time clock
    gives shifts) on their own; each void past either limit needs a manager's approval.
    Owners are not held to them."""

    count: int
    """Voids a day (3 unless the owner set another)."""
    amount: int
    """Minor units of voided orders' ``total_due`` a day (10,000, that is £100.00, unless
    the owner set another)."""


class VoidLimitsUpdate(Input, kw_only=True):
    """What to change; a member left out keeps its value. Only an owner raises a limit; a
    manager may lower them."""

    count: Annotated[int, Meta(ge=0, le=10_000)] | None = None
    amount: Annotated[int, Meta(ge=0, le=MAX_VOID_AMOUNT)] | None = None


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
    seat: int | None
    """The seat at the table (1, 2, ...) the dish is for; null when nobody said."""
    course: int | None
    """The course it is served in (1, 2, ...); null when nobody said."""
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
