"""What the reports add up, read per business day and location (``day_figures`` adds it up).

Every query places a row on a business day with the one rule
(``server.restaurants.business_days.business_day_sql``: the location's wall clock less the
restaurant's ``day_starts_at``), at the instant docs/reports.md names for it:

- a sale (a paid order) when it was paid, ``coalesce(closed_at, opened_at)``, as
  ``server.orders.sales`` places net sales;
- a payment when it was taken: an offline card when the iPad stored it, else when it
  succeeded (``server.payments.tips.TAKEN_AT``);
- a refund when it succeeded (its first applied ``refund_succeeded`` event);
- a void when it was recorded (``order_voids.voided_at``);
- a drawer session when it was closed (``server.cashup.drawers.drawer_summary``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from server.orders import pricing
from server.orders.services import price
from server.payments.tips import TAKEN_AT
from server.restaurants.business_days import business_day_sql


def _day(instant: str) -> str:
    return business_day_sql(instant, "l.timezone", "$5")


# A business day is within 2 days of its UTC date: coarse bounds an index can use.
def _near(instant: str) -> str:
    return f" AND {instant} >= $3::date - 2 AND {instant} < $4::date + 3"


_WHERE = " WHERE {alias}.restaurant_id = $1 AND ($2::uuid IS NULL OR {alias}.location_id = $2)"


@dataclass(frozen=True)
class Scope:
    """Business days ``first`` to ``last`` at one location or all of them."""

    restaurant_id: UUID
    location_id: UUID | None
    first: date
    last: date
    day_starts_at: time

    def args(self) -> tuple[Any, ...]:
        return (self.restaurant_id, self.location_id, self.first, self.last, self.day_starts_at)


@dataclass(frozen=True)
class Sale:
    """A paid order priced by the one pricing function, with what the sales reports group
    its lines by."""

    order_id: UUID
    location_id: UUID
    day: date
    paid_at: datetime
    local_hour: int
    employee_id: UUID | None
    """Who took its last payment: who rang it through."""
    totals: pricing.OrderTotals
    lines: dict[str, SoldLineFacts]


@dataclass(frozen=True)
class SoldLineFacts:
    product_id: UUID | None
    name: str
    category_id: UUID | None


@dataclass(frozen=True)
class Taking:
    location_id: UUID
    day: date
    method: str
    amount: int
    tip: int
    surcharge: int
    charged: int
    estimated_provider_fee: int
    provider_fee: int | None
    platform_fee: int


@dataclass(frozen=True)
class RefundMade:
    location_id: UUID
    day: date
    method: str
    amount: int


@dataclass(frozen=True)
class VoidMade:
    location_id: UUID
    day: date
    order_id: UUID
    number: str
    amount: int
    voided_by: UUID | None
    approved_by: UUID | None
    voided_at: datetime


_PAID_AT = "coalesce(o.closed_at, o.opened_at)"


async def sales(conn: asyncpg.Connection, scope: Scope) -> list[Sale]:
    orders = await conn.fetch(
        f"SELECT o.id, o.location_id, {_day(_PAID_AT)} AS day, {_PAID_AT} AS paid_at,"
        f" extract(hour FROM {_PAID_AT} AT TIME ZONE l.timezone)::int AS local_hour,"
        " o.discount_kind, o.discount_value, o.service_charge_bp, o.tip,"
        " (SELECT p.employee_id FROM payments p WHERE p.order_id = o.id"
        f"   AND p.state = 'succeeded' ORDER BY {TAKEN_AT} DESC, p.id DESC LIMIT 1) AS employee_id"
        " FROM orders o JOIN locations l ON l.id = o.location_id"
        + _WHERE.format(alias="o")
        + " AND o.status = 'paid'"
        + _near(_PAID_AT)
        + f" AND {_day(_PAID_AT)} BETWEEN $3 AND $4 ORDER BY {_PAID_AT}, o.id",
        *scope.args(),
    )
    # Lines in the order ``server.orders.sync.reprice`` prices them: an order discount is
    # shared out in that order, so it decides which line gets a leftover penny.
    lines = await conn.fetch(
        "SELECT ol.id, ol.order_id, ol.product_id, ol.name, ol.unit_price, ol.quantity,"
        " ol.vat_rate_bp, ol.modifiers, ol.discount_kind, ol.discount_value, ol.voided,"
        " p.category_id FROM order_lines ol LEFT JOIN products p ON p.id = ol.product_id"
        " WHERE ol.order_id = ANY($1::uuid[]) ORDER BY ol.position, ol.created_at, ol.id",
        [order["id"] for order in orders],
    )
    by_order: dict[UUID, list[dict[str, Any]]] = {}
    for line in lines:
        row = dict(line)
        row["modifiers"] = _json(row["modifiers"])
        by_order.setdefault(line["order_id"], []).append(row)
    return [
        Sale(
            order_id=order["id"],
            location_id=order["location_id"],
            day=order["day"],
            paid_at=order["paid_at"],
            local_hour=order["local_hour"],
            employee_id=order["employee_id"],
            totals=price(dict(order), by_order.get(order["id"], [])),
            lines={
                str(line["id"]): SoldLineFacts(
                    product_id=line["product_id"],
                    name=line["name"],
                    category_id=line["category_id"],
                )
                for line in by_order.get(order["id"], [])
            },
        )
        for order in orders
    ]


_TAKEN = TAKEN_AT


async def takings(conn: asyncpg.Connection, scope: Scope) -> list[Taking]:
    rows = await conn.fetch(
        f"SELECT p.location_id, {_day(_TAKEN)} AS day, p.method, p.amount, p.tip, p.surcharge,"
        " p.charged, p.estimated_provider_fee, p.provider_fee, p.platform_fee"
        " FROM payments p JOIN locations l ON l.id = p.location_id"
        + _WHERE.format(alias="p")
        + " AND p.state = 'succeeded'"
        + _near(_TAKEN)
        + f" AND {_day(_TAKEN)} BETWEEN $3 AND $4",
        *scope.args(),
    )
    return [Taking(**dict(row)) for row in rows]


_REFUNDED_AT = (
    "coalesce((SELECT min(e.at) FROM payment_events e WHERE e.refund_id = r.id"
    " AND e.to_state = 'refund_succeeded' AND e.applied), r.updated_at)"
)


async def refunds(conn: asyncpg.Connection, scope: Scope) -> list[RefundMade]:
    rows = await conn.fetch(
        f"SELECT p.location_id, {_day(_REFUNDED_AT)} AS day, p.method, r.amount"
        " FROM refunds r JOIN payments p ON p.id = r.payment_id"
        " JOIN locations l ON l.id = p.location_id"
        + _WHERE.format(alias="p")
        + " AND r.state = 'succeeded' AND r.created_at < $4::date + 3"
        + f" AND {_day(_REFUNDED_AT)} BETWEEN $3 AND $4",
        *scope.args(),
    )
    return [RefundMade(**dict(row)) for row in rows]


async def voids(conn: asyncpg.Connection, scope: Scope) -> list[VoidMade]:
    rows = await conn.fetch(
        f"SELECT v.location_id, {_day('v.voided_at')} AS day, v.order_id, o.number, v.amount,"
        " coalesce(v.employee_id, v.user_id) AS voided_by, v.approved_by, v.voided_at"
        " FROM order_voids v JOIN orders o ON o.id = v.order_id"
        " JOIN locations l ON l.id = v.location_id"
        + _WHERE.format(alias="v")
        + _near("v.voided_at")
        + f" AND {_day('v.voided_at')} BETWEEN $3 AND $4 ORDER BY v.voided_at, v.order_id",
        *scope.args(),
    )
    return [VoidMade(**dict(row)) for row in rows]


async def open_orders(
    conn: asyncpg.Connection, restaurant_id: UUID, location_id: UUID, before: datetime
) -> list[asyncpg.Record]:
    """Orders at the location opened before ``before`` and neither paid nor voided."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT id AS order_id, number, status, total_due, opened_at FROM orders"
        " WHERE restaurant_id = $1 AND location_id = $2 AND status IN ('open', 'sent')"
        " AND opened_at < $3 ORDER BY opened_at, id",
        restaurant_id,
        location_id,
        before,
    )
    return rows


def _json(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, (str, bytes)) else value
