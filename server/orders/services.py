"""Reading orders, and writing them with totals priced by the one pricing module."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from server.auth.tables import Role
from server.db import plain, scoped
from server.errors import Conflict, NotFound
from server.orders import pricing, void_limits
from server.orders import schemas as s
from server.orders.tables import Order, OrderLine, OrderStatus
from server.pagination import Page, Position, check_instant
from server.payments import ledger
from server.sync import store
from server.wire import instant


class OrderHoldsMoney(Conflict):
    code = "order_holds_money"
    title = "The order holds money"


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


_LINES_SQL = (
    f"SELECT {plain.columns(OrderLine)} FROM order_lines"
    " WHERE order_id = $1 AND restaurant_id = $2 ORDER BY position, created_at"
)


async def get_order(
    *, restaurant_id: UUID, order_id: UUID, location_id: UUID | None = None
) -> s.Order:
    """An order with its lines and a fresh VAT breakdown."""
    row = await _get_visible(restaurant_id, order_id, location_id)
    lines = await plain.fetch(_LINES_SQL, order_id, restaurant_id)
    for line in lines:
        line["modifiers"] = json.loads(line["modifiers"]) if line["modifiers"] else []
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
                seat=line["seat"],
                course=line["course"],
                total=line_totals[str(line["id"])],
            )
            for line in lines
        ],
    )


async def void_order(
    *,
    restaurant_id: UUID,
    order_id: UUID,
    location_id: UUID | None,
    reason: str,
    voider: Voider,
) -> s.Order:
    """Void an open or sent order that holds no money, as the server, so every iPad pulls it
    and none can undo it. A paid order is refunded, never voided; an order holding money
    (paid in part, or a payment in flight) is refunded or cancelled first. Each void is held
    to its employee's daily void limit (``void_limits``) and recorded against them; voiding
    an order already voided changes nothing and is not counted again."""
    order = await _get_visible(restaurant_id, order_id, location_id)
    async with store.transaction() as conn:
        key = ("order", order_id)
        current = (await store.lock(conn, restaurant_id, [key])).get(key)
        if current is None:  # every order is in the store; a missing one answers as missing
            raise NotFound("no such order")
        status = current.version.data.get("status")
        if status == OrderStatus.paid:
            raise Conflict("a paid order is refunded, not voided", field="status")
        if status != OrderStatus.voided:
            if await ledger.held_by(conn, order_id) > 0:
                raise OrderHoldsMoney(
                    "the order holds money: refund or cancel its payments, then void it",
                    field="status",
                )
            amount = await conn.fetchval("SELECT total_due FROM orders WHERE id = $1", order_id)
            approved_by = await _check_void_limit(
                conn, voider, restaurant_id, order["location_id"], amount or 0
            )
            await void_limits.record_void(
                conn,
                restaurant_id=restaurant_id,
                location_id=order["location_id"],
                order_id=order_id,
                employee_id=voider.employee_id,
                user_id=voider.user_id,
                approved_by=approved_by,
                amount=amount or 0,
            )
            notes = str(current.version.data.get("notes", ""))
            await store.server_change(
                conn,
                restaurant_id=restaurant_id,
                entity_type="order",
                entity_id=order_id,
                location_id=order["location_id"],
                data={
                    "status": OrderStatus.voided.value,
                    "closed_at": instant(datetime.now(UTC)),
                    "notes": f"{notes}\nVoid: {reason}".lstrip("\n"),
                },
                current=current,
            )
    return await get_order(restaurant_id=restaurant_id, order_id=order_id, location_id=location_id)


@dataclass(frozen=True)
class Voider:
    """Who asks for a void, and how a manager's approval of it can be had."""

    employee_id: UUID | None
    user_id: UUID | None
    role: Role | None
    approved_by: UUID | None = None
    """The approver of an approval the route already spent (front of house's voids)."""
    approve: Callable[[], Awaitable[UUID | None]] | None = None
    """Spends the request's ``X-Fynlo-Approval`` if it has one; the approver's id, or None.
    Called only when the void is past the limits, so an approval is not spent for nothing."""


async def _check_void_limit(
    conn: asyncpg.Connection, voider: Voider, restaurant_id: UUID, location_id: UUID, amount: int
) -> UUID | None:
    """Hold the void to the limits; the approver it carries, or the one it needed."""

    async def check(approved_by: UUID | None) -> None:
        await void_limits.check_void(
            conn,
            restaurant_id=restaurant_id,
            location_id=location_id,
            employee_id=voider.employee_id,
            user_id=voider.user_id,
            role=voider.role,
            approved_by=approved_by,
            amount=amount,
        )

    try:
        await check(voider.approved_by)
    except void_limits.VoidNeedsApproval:
        if voider.approved_by is not None or voider.approve is None:
            raise
        approver = await voider.approve()
        if approver is None:
            raise
        await check(approver)
        return approver
    return voider.approved_by


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
    """Create an order and its lines as the server, through the sync store (the demo, tests
    and benchmarks): every iPad at the location pulls it, and its totals are priced there."""
    restaurant_id, location_id = order["restaurant_id"], order["location_id"]
    async with store.transaction() as conn:
        # Lines first: the order, arriving last, takes them in with it, as a batch from an
        # iPad does; a line written after an order that is already paid would be refused.
        for line in lines:
            await store.server_change(
                conn,
                restaurant_id=restaurant_id,
                entity_type="order_line",
                entity_id=line["id"],
                location_id=location_id,
                data=_fields(line, _NOT_LINE_FIELDS),
            )
        await store.server_change(
            conn,
            restaurant_id=restaurant_id,
            entity_type="order",
            entity_id=order["id"],
            location_id=location_id,
            data=_fields(order, _NOT_ORDER_FIELDS) | {"status": order.get("status", "open")},
        )


# Row columns that are not fields of the synced entity (the store knows them otherwise).
_NOT_ORDER_FIELDS = frozenset({"id", "restaurant_id", "location_id", "currency"})
_NOT_LINE_FIELDS = frozenset({"id", "restaurant_id"})


def _fields(row: dict[str, Any], leave_out: frozenset[str]) -> dict[str, Any]:
    """A row's values as the JSON an iPad would send (ids and instants as strings)."""
    fields: dict[str, Any] = msgspec.to_builtins(
        {key: value for key, value in row.items() if key not in leave_out}
    )
    return fields


def _discount_in(row: dict[str, Any]) -> pricing.Discount | None:
    if row.get("discount_kind") is None:
        return None
    return pricing.Discount(kind=row["discount_kind"], value=row["discount_value"])


def _discount_out(row: dict[str, Any]) -> s.Discount | None:
    if row.get("discount_kind") is None:
        return None
    return s.Discount(kind=row["discount_kind"], value=row["discount_value"])
