"""Reading orders, and writing them with totals priced by the one pricing module."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from server import events
from server.db import scoped
from server.db.engine import DB
from server.errors import Conflict, NotFound
from server.orders import pricing
from server.orders import schemas as s
from server.orders.tables import Order, OrderLine, OrderStatus
from server.pagination import Page, Position, check_instant


async def list_orders(
    *,
    restaurant_id: UUID,
    location_id: UUID | None,
    table_id: UUID | None,
    status: OrderStatus | None,
    caller_location_id: UUID | None = None,
    opened_from: datetime | None,
    opened_to: datetime | None,
    after: Position | None,
    limit: int,
) -> Page[s.OrderSummary]:
    """Newest first; filters combine with AND; ``opened_to`` is exclusive."""
    check_instant(opened_from, field="opened_from")
    check_instant(opened_to, field="opened_to")
    filters: list[scoped.Condition] = []
    for only in (location_id, caller_location_id):  # an iPad sees its own location only
        if only is not None:
            filters.append(Order.location_id == only)
    if table_id is not None:
        filters.append(Order.table_id == table_id)
    if status is not None:
        filters.append(Order.status == status)
    if opened_from is not None:
        filters.append(Order.opened_at >= opened_from)
    if opened_to is not None:
        filters.append(Order.opened_at < opened_to)
    rows, cursor = await scoped.page(
        Order,
        restaurant_id=restaurant_id,
        filters=filters,
        sort=Order.opened_at,
        after=after,
        limit=limit,
        newest_first=True,
    )
    return Page(items=msgspec.convert(rows, list[s.OrderSummary]), next_cursor=cursor)


async def get_order(
    *, restaurant_id: UUID, order_id: UUID, location_id: UUID | None = None
) -> s.Order:
    """An order with its lines and a fresh VAT breakdown."""
    row = await _get_visible(restaurant_id, order_id, location_id)
    lines = await (
        OrderLine.select()
        .where((OrderLine.order_id == order_id) & (OrderLine.restaurant_id == restaurant_id))
        .order_by(OrderLine.position)
        .order_by(OrderLine.created_at)
        .output(load_json=True)
    )
    totals = price(row, lines)
    line_totals = {line.line_id: line.total for line in totals.lines}
    return s.Order(
        **{k: row[k] for k in s.OrderSummary.__struct_fields__},
        notes=row["notes"],
        discount=_discount_out(row),
        discount_reason=row["discount_reason"],
        service_charge_bp=row["service_charge_bp"],
        subtotal=totals.subtotal,
        discount_total=totals.discount_total,
        vat_total=totals.vat_total,
        vat=msgspec.convert(
            [msgspec.structs.asdict(bucket) for bucket in totals.vat], list[s.VatBucket]
        ),
        service_charge=totals.service_charge,
        tip=totals.tip,
        lines=[
            s.OrderLine(
                id=line["id"],
                product_id=line["product_id"],
                name=line["name"],
                unit_price=line["unit_price"],
                quantity=line["quantity"],
                vat_rate_bp=line["vat_rate_bp"],
                modifiers=msgspec.convert(line["modifiers"] or [], list[s.LineModifier]),
                discount=_discount_out(line),
                voided=line["voided"],
                notes=line["notes"],
                total=line_totals[str(line["id"])],
            )
            for line in lines
        ],
    )


async def void_order(
    *, restaurant_id: UUID, order_id: UUID, location_id: UUID | None, reason: str
) -> s.Order:
    """Void an open or sent order. Forward-only: a paid order is refunded, never voided."""
    order = await _get_visible(restaurant_id, order_id, location_id)
    async with events.collect(), DB.transaction():
        rows = await Order.raw(
            "SELECT status FROM orders WHERE id = {} AND restaurant_id = {} FOR UPDATE",
            order_id,
            restaurant_id,
        )
        status = OrderStatus(rows[0]["status"])
        if status == OrderStatus.paid:
            raise Conflict("a paid order is refunded, not voided", field="status")
        if status != OrderStatus.voided:
            await Order.update(
                {
                    Order.status: OrderStatus.voided,
                    Order.closed_at: datetime.now(UTC),
                    Order.notes: Order.notes + f"\nVoid: {reason}",
                }
            ).where(Order.id == order_id)
            await events.announce(
                events.OrderStatusChanged(
                    restaurant_id=str(restaurant_id),
                    location_id=str(order["location_id"]),
                    order_id=str(order_id),
                    status=OrderStatus.voided,
                )
            )
    return await get_order(restaurant_id=restaurant_id, order_id=order_id, location_id=location_id)


async def _get_visible(
    restaurant_id: UUID, order_id: UUID, location_id: UUID | None
) -> dict[str, Any]:
    """An order of this restaurant, and of this location when the caller is an iPad there."""
    row = await scoped.get_or_raise(Order, restaurant_id=restaurant_id, row_id=order_id)
    if location_id is not None and row["location_id"] != location_id:
        raise NotFound("no such order")
    return row


def price(order: dict[str, Any], lines: list[dict[str, Any]]) -> pricing.OrderTotals:
    """Price stored rows: the only path from an order's rows to its amounts."""
    return pricing.price_order(
        [
            pricing.PricingLine(
                line_id=str(line["id"]),
                unit_price=line["unit_price"],
                quantity=line["quantity"],
                vat_rate_bp=line["vat_rate_bp"],
                modifier_deltas=tuple(m["price_delta"] for m in line["modifiers"] or []),
                discount=_discount_in(line),
                voided=line["voided"],
            )
            for line in lines
        ],
        order_discount=_discount_in(order),
        service_charge_bp=order["service_charge_bp"],
        tip=order["tip"],
    )


async def save_order(order: dict[str, Any], lines: list[dict[str, Any]]) -> None:
    """Insert an order and its lines with cached totals, in one transaction."""
    totals = price(order, lines)
    cached = {
        "subtotal": totals.subtotal,
        "discount_total": totals.discount_total,
        "vat_total": totals.vat_total,
        "service_charge": totals.service_charge,
        "total_due": totals.total_due,
    }
    async with DB.transaction():
        await scoped.insert(Order, {**order, **cached})
        if lines:
            await OrderLine.insert(*[OrderLine(**line) for line in lines])


def _discount_in(row: dict[str, Any]) -> pricing.Discount | None:
    if row.get("discount_kind") is None:
        return None
    return pricing.Discount(kind=row["discount_kind"], value=row["discount_value"])


def _discount_out(row: dict[str, Any]) -> s.Discount | None:
    if row.get("discount_kind") is None:
        return None
    return s.Discount(kind=row["discount_kind"], value=row["discount_value"])
