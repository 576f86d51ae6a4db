"""Orders and their lines. Amounts are integer pence in the restaurant's currency."""

from __future__ import annotations

from enum import StrEnum

from piccolo.columns import (
    JSONB,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from server.catalog.tables import Product
from server.db.columns import created_at_column, id_column, updated_at_column
from server.floor.tables import FloorTable
from server.restaurants.tables import Location, Restaurant


class OrderStatus(StrEnum):
    """Forward-only: an order moves right, or to voided; a paid order never reopens."""

    open = "open"
    sent = "sent"
    paid = "paid"
    voided = "voided"


class DiscountKind(StrEnum):
    percent = "percent"
    fixed = "fixed"


class Order(Table, tablename="orders"):
    """One bill. ``number`` is allocated offline by the device: its prefix and its sequence."""

    id = id_column()
    restaurant_id = ForeignKey(references=Restaurant, on_delete=OnDelete.restrict, null=False)
    location_id = ForeignKey(references=Location, on_delete=OnDelete.restrict, null=False)
    table_id = ForeignKey(references=FloorTable, on_delete=OnDelete.set_null, null=True)
    number = Varchar(length=16, help_text="Human order number, unique per location: A-0042.")
    device_prefix = Varchar(length=3)
    device_seq = Integer()
    status = Varchar(length=16, choices=OrderStatus, default=OrderStatus.open)
    covers = Integer(default=0, help_text="Guests served.")
    notes = Text(default="")
    currency = Varchar(length=3, default="GBP")
    discount_kind = Varchar(length=8, choices=DiscountKind, null=True, default=None)
    discount_value = Integer(null=True, default=None, help_text="Basis points or pence.")
    discount_reason = Varchar(length=200, default="")
    service_charge_bp = Integer(default=0, help_text="Discretionary, outside VAT.")
    tip = Integer(default=0, help_text="Kept apart from sales; goes to staff.")
    subtotal = Integer(default=0, help_text="Cached pricing result, recomputed on each change.")
    discount_total = Integer(default=0)
    vat_total = Integer(default=0)
    service_charge = Integer(default=0)
    total_due = Integer(default=0)
    opened_at = Timestamptz()
    closed_at = Timestamptz(null=True, default=None)
    created_at = created_at_column()
    updated_at = updated_at_column()


class OrderLine(Table, tablename="order_lines"):
    """One product on an order, with the menu facts copied in at the time of sale."""

    id = id_column()
    restaurant_id = ForeignKey(references=Restaurant, on_delete=OnDelete.restrict, null=False)
    order_id = ForeignKey(references=Order, on_delete=OnDelete.cascade, null=False)
    product_id = ForeignKey(references=Product, on_delete=OnDelete.set_null, null=True)
    name = Varchar(length=120)
    unit_price = Integer(help_text="VAT-inclusive pence before modifiers.")
    quantity = Integer(default=1)
    vat_rate_bp = Integer()
    modifiers = JSONB(
        default=[], help_text="Snapshot: [{modifier_id, name, price_delta}] at time of sale."
    )
    discount_kind = Varchar(length=8, choices=DiscountKind, null=True, default=None)
    discount_value = Integer(null=True, default=None)
    voided = Boolean(default=False)
    notes = Text(default="")
    position = Integer(default=0)
    seat = Integer(null=True, default=None, help_text="Seat at the table (1, 2, ...), if said.")
    course = Integer(null=True, default=None, help_text="Course it is served in (1, 2, ...).")
    created_at = created_at_column()
    updated_at = updated_at_column()
