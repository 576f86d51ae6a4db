"""How orders and their lines sync: merge specs, checks, and writing them into the order tables.

- An order's status only moves forward: open → sent → paid, and open or sent → voided. A
  paid order never reopens; void is a state, never a delete. Concurrent status changes keep
  the furthest (paid beats voided: money was taken).
- Lines are their own entities, so lines added on two iPads at once are simply both kept
  (the union); a line is voided, never deleted, and stays voided.
- Everything else is last-writer-wins per field, ordered by hybrid logical clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg
import msgspec

from server import events
from server.orders import pricing
from server.orders.numbers import format_order_number
from server.orders.tables import OrderStatus
from server.payments import ledger
from server.sync import store
from server.sync.registry import DeviceContext, ProjectionRefused, Written, register
from server.sync.rules import Change, EntitySpec, Rejected, StateMachine, Version

ORDER_STATES = StateMachine(
    field="status",
    ranks={"open": 0, "sent": 1, "voided": 2, "paid": 3},
    allowed={
        "open": frozenset({"sent", "paid", "voided"}),
        "sent": frozenset({"paid", "voided"}),
        "paid": frozenset(),
        "voided": frozenset(),
    },
)

ORDER = EntitySpec(
    entity_type="order",
    scope="location",
    required_on_create=frozenset({"number", "device_prefix", "device_seq", "opened_at", "status"}),
    create_only=frozenset({"number", "device_prefix", "device_seq", "opened_at"}),
    state=ORDER_STATES,
)

ORDER_LINE = EntitySpec(
    entity_type="order_line",
    scope="location",
    required_on_create=frozenset({"order_id", "name", "unit_price", "quantity", "vat_rate_bp"}),
    create_only=frozenset(
        {"order_id", "product_id", "name", "unit_price", "vat_rate_bp", "modifiers"}
    ),
    sticky_true=frozenset({"voided"}),
)

Pence = int
BasisPoints = int


class OrderFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The fields an order change may carry, with their types."""

    number: str | msgspec.UnsetType = msgspec.UNSET
    device_prefix: str | msgspec.UnsetType = msgspec.UNSET
    device_seq: int | msgspec.UnsetType = msgspec.UNSET
    opened_at: datetime | msgspec.UnsetType = msgspec.UNSET
    closed_at: datetime | msgspec.UnsetType | None = msgspec.UNSET
    status: OrderStatus | msgspec.UnsetType = msgspec.UNSET
    table_id: UUID | msgspec.UnsetType | None = msgspec.UNSET
    covers: int | msgspec.UnsetType = msgspec.UNSET
    notes: str | msgspec.UnsetType = msgspec.UNSET
    discount_kind: Literal["percent", "fixed"] | msgspec.UnsetType | None = msgspec.UNSET
    discount_value: int | msgspec.UnsetType | None = msgspec.UNSET
    discount_reason: str | msgspec.UnsetType = msgspec.UNSET
    service_charge_bp: BasisPoints | msgspec.UnsetType = msgspec.UNSET
    tip: Pence | msgspec.UnsetType = msgspec.UNSET


class LineModifier(msgspec.Struct, forbid_unknown_fields=True):
    modifier_id: UUID | None
    name: str
    price_delta: int


class LineFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    order_id: UUID | msgspec.UnsetType = msgspec.UNSET
    product_id: UUID | msgspec.UnsetType | None = msgspec.UNSET
    name: str | msgspec.UnsetType = msgspec.UNSET
    unit_price: Pence | msgspec.UnsetType = msgspec.UNSET
    quantity: int | msgspec.UnsetType = msgspec.UNSET
    vat_rate_bp: BasisPoints | msgspec.UnsetType = msgspec.UNSET
    modifiers: list[LineModifier] | msgspec.UnsetType = msgspec.UNSET
    discount_kind: Literal["percent", "fixed"] | msgspec.UnsetType | None = msgspec.UNSET
    discount_value: int | msgspec.UnsetType | None = msgspec.UNSET
    voided: bool | msgspec.UnsetType = msgspec.UNSET
    notes: str | msgspec.UnsetType = msgspec.UNSET
    position: int | msgspec.UnsetType = msgspec.UNSET


def _typed(kind: type[msgspec.Struct], fields: dict[str, Any]) -> Any:
    try:
        return msgspec.convert(fields, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise Rejected("invalid_fields", str(exc)) from exc


def validate_order(change: Change, current: Version | None, device: DeviceContext) -> None:
    if change.op == "delete":
        return  # the spec refuses it with its own reason
    fields: OrderFields = _typed(OrderFields, change.fields)
    if current is not None and current.data.get("status") == "voided" and fields.status == "paid":
        # Money cannot be taken for a voided order (its cash sale is quarantined, cards are
        # refused), so "paid" here would be an order paid with nothing received.
        raise Rejected("order_voided", "the order was voided on another device or the back office")
    if current is None and fields.device_prefix != device.prefix:
        raise Rejected("wrong_prefix", f"this iPad numbers its orders {device.prefix}-…")
    numbered = isinstance(fields.number, str) and isinstance(fields.device_seq, int)
    if numbered and fields.number != format_order_number(
        str(fields.device_prefix),
        int(fields.device_seq),  # type: ignore[arg-type]
    ):
        raise Rejected("bad_number", "number must be the prefix and sequence, like A-0042")
    _check_range("covers", fields.covers, 0, 500)
    _check_range("service_charge_bp", fields.service_charge_bp, 0, 10_000)
    _check_range("tip", fields.tip, 0, 10_000_000)
    _check_discount(fields, current, "order")


def validate_line(change: Change, current: Version | None, device: DeviceContext) -> None:
    if change.op == "delete":
        return
    fields: LineFields = _typed(LineFields, change.fields)
    _check_range("unit_price", fields.unit_price, 0, 10_000_000)
    _check_range("quantity", fields.quantity, 1, 10_000)
    _check_range("vat_rate_bp", fields.vat_rate_bp, 0, 10_000)
    _check_discount(fields, current, "line")
    if isinstance(fields.modifiers, list) and isinstance(fields.unit_price, int):
        lowest = fields.unit_price + sum(modifier.price_delta for modifier in fields.modifiers)
        if lowest < 0:
            raise Rejected("invalid_fields", "modifiers take the unit price below zero")


def _check_discount(fields: OrderFields | LineFields, current: Version | None, owner: str) -> None:
    """The discount the entity will hold after this change, checked by the pricing module's
    own rule, so a bad one is refused here instead of failing every reprice after it."""
    before = current.data if current is not None else {}
    kind = (
        before.get("discount_kind")
        if fields.discount_kind is msgspec.UNSET
        else fields.discount_kind
    )
    value = (
        before.get("discount_value")
        if fields.discount_value is msgspec.UNSET
        else fields.discount_value
    )
    if kind is None:
        if value is not None:
            raise Rejected("invalid_fields", f"{owner} discount: a value needs discount_kind")
        return
    if not isinstance(value, int):
        raise Rejected("invalid_fields", f"{owner} discount: discount_value must be an integer")
    try:
        pricing.check_discount(pricing.Discount(kind=kind, value=value), owner)
    except pricing.PricingError as exc:
        raise Rejected("invalid_fields", str(exc)) from exc


def _check_range(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, int) and not low <= value <= high:
        raise Rejected("invalid_fields", f"{name} must be between {low} and {high}")


def order_tier(data: dict[str, Any]) -> int:
    return 1 if data.get("status") in ("open", "sent") else 2


async def project_orders(
    conn: asyncpg.Connection, restaurant_id: UUID, written: Sequence[Written]
) -> None:
    """Write synced orders into ``orders`` and bring in any lines that arrived first."""
    currency = await conn.fetchval("SELECT currency FROM restaurants WHERE id = $1", restaurant_id)
    before = {
        row["id"]: row["status"]
        for row in await conn.fetch(
            "SELECT id, status FROM orders WHERE restaurant_id = $1 AND id = ANY($2::uuid[])",
            restaurant_id,
            [item.entity_id for item in written],
        )
    }
    for item in written:
        voiding = item.version.data.get("status") == "voided"
        was = before.get(item.entity_id)
        if (
            voiding
            and was not in (None, "voided")
            and await ledger.held_by(conn, item.entity_id) > 0
        ):
            raise ProjectionRefused(
                "order_holds_money", "refund or cancel the order's payments, then void it"
            )
    rows = []
    for item in written:
        data = item.version.data
        rows.append(
            (
                item.entity_id, restaurant_id, item.location_id, _uuid(data.get("table_id")),
                data["number"], data["device_prefix"], data["device_seq"],
                data.get("status", "open"),
                data.get("covers", 0), data.get("notes", ""), currency, data.get("discount_kind"),
                data.get("discount_value"), data.get("discount_reason", ""),
                data.get("service_charge_bp", 0), data.get("tip", 0),
                _instant(data["opened_at"]), _instant(data.get("closed_at")),
            )
        )  # fmt: skip
    await conn.executemany(
        "INSERT INTO orders (id, restaurant_id, location_id, table_id, number, device_prefix,"
        " device_seq, status, covers, notes, currency, discount_kind, discount_value,"
        " discount_reason, service_charge_bp, tip, opened_at, closed_at, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
        " $18, now(), now()) ON CONFLICT (id) DO UPDATE SET table_id = excluded.table_id,"
        " status = excluded.status, covers = excluded.covers, notes = excluded.notes,"
        " discount_kind = excluded.discount_kind, discount_value = excluded.discount_value,"
        " discount_reason = excluded.discount_reason,"
        " service_charge_bp = excluded.service_charge_bp, tip = excluded.tip,"
        " closed_at = excluded.closed_at, updated_at = now()"
        # Ids are chosen by iPads: one restaurant's push must never update another's row.
        " WHERE orders.restaurant_id = excluded.restaurant_id",
        rows,
    )
    for item in written:
        status = item.version.data.get("status", "open")
        if item.entity_id in before and before[item.entity_id] != status:
            await events.announce(
                events.OrderStatusChanged(
                    restaurant_id=str(restaurant_id),
                    location_id=str(item.location_id),
                    order_id=str(item.entity_id),
                    status=status,
                )
            )
    order_ids = [item.entity_id for item in written]
    pending = await store.children(conn, restaurant_id, "order_line", "order_id", order_ids)
    await _upsert_lines(conn, restaurant_id, [(line.entity_id, line.data) for line in pending])
    await reprice(conn, order_ids)
    await _retier_lines(conn, restaurant_id, order_ids)


async def project_lines(
    conn: asyncpg.Connection, restaurant_id: UUID, written: Sequence[Written]
) -> None:
    """Write synced lines whose order is already in ``orders``; reprice those orders.

    A paid or voided order's bill is final: a new line, or a change to what a line costs, is
    refused (``order_closed``) and kept for a manager, never priced into a settled bill.
    """
    await _refuse_changes_to_closed_bills(conn, restaurant_id, written)
    await _upsert_lines(
        conn, restaurant_id, [(item.entity_id, item.version.data) for item in written]
    )
    order_ids = list({UUID(str(item.version.data["order_id"])) for item in written})
    await reprice(conn, order_ids)
    await _retier_lines(conn, restaurant_id, order_ids)


def _priced(line: dict[str, Any]) -> tuple[object, ...]:
    """What a line adds to the bill, beyond the create-only price fields."""
    return (
        line.get("quantity"),
        line.get("discount_kind"),
        line.get("discount_value"),
        bool(line.get("voided")),
    )


async def _refuse_changes_to_closed_bills(
    conn: asyncpg.Connection, restaurant_id: UUID, written: Sequence[Written]
) -> None:
    order_ids = list({UUID(str(item.version.data["order_id"])) for item in written})
    closed = {
        row["id"]: row["status"]
        for row in await conn.fetch(
            "SELECT id, status FROM orders WHERE restaurant_id = $1 AND id = ANY($2::uuid[])"
            " AND status IN ('paid', 'voided')",
            restaurant_id,
            order_ids,
        )
    }
    if not closed:
        return
    stored = {
        row["id"]: row
        for row in await conn.fetch(
            "SELECT id, quantity, discount_kind, discount_value, voided FROM order_lines"
            " WHERE id = ANY($1::uuid[])",
            [item.entity_id for item in written],
        )
    }
    for item in written:
        status = closed.get(UUID(str(item.version.data["order_id"])))
        if status is None:
            continue
        line = stored.get(item.entity_id)
        if line is None or _priced(dict(line)) != _priced(item.version.data):
            raise ProjectionRefused("order_closed", f"the order is {status}: its bill is final")


async def _retier_lines(
    conn: asyncpg.Connection, restaurant_id: UUID, order_ids: Sequence[UUID]
) -> None:
    """A line bootstraps with its order: open orders' lines first, closed orders' with history.

    Two single-table reads and an update by key, never one join on the jsonb order id:
    nothing indexes that id, and PostgreSQL once planned that join as nested loops over every
    line of the restaurant (seconds per push at a few thousand lines; load/sync_bench.py).
    """
    lines = await store.children(conn, restaurant_id, "order_line", "order_id", order_ids)
    if not lines:
        return
    parents = await store.read(
        conn, restaurant_id, [("order", order_id) for order_id in {x.parent_id for x in lines}]
    )
    tiers = {key[1]: order_tier(parent.version.data) for key, parent in parents.items()}
    moved = [
        (line.entity_id, tiers[line.parent_id])
        for line in lines
        if line.parent_id in tiers and line.tier != tiers[line.parent_id]
    ]
    await store.retier(conn, restaurant_id, "order_line", moved)


async def _upsert_lines(
    conn: asyncpg.Connection, restaurant_id: UUID, lines: Sequence[tuple[UUID, dict[str, Any]]]
) -> None:
    if not lines:
        return
    await conn.executemany(
        "INSERT INTO order_lines (id, restaurant_id, order_id, product_id, name, unit_price,"
        " quantity, vat_rate_bp, modifiers, discount_kind, discount_value, voided, notes,"
        " position, created_at, updated_at)"
        " SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, now(), now()"
        " WHERE EXISTS (SELECT 1 FROM orders WHERE id = $3 AND restaurant_id = $2)"
        " ON CONFLICT (id) DO UPDATE SET quantity = excluded.quantity,"
        " discount_kind = excluded.discount_kind, discount_value = excluded.discount_value,"
        " voided = excluded.voided, notes = excluded.notes, position = excluded.position,"
        " updated_at = now() WHERE order_lines.restaurant_id = excluded.restaurant_id",
        [
            (
                line_id, restaurant_id, UUID(str(data["order_id"])), _uuid(data.get("product_id")),
                data["name"], data["unit_price"], data["quantity"], data["vat_rate_bp"],
                msgspec.json.encode(data.get("modifiers") or []).decode(),
                data.get("discount_kind"), data.get("discount_value"), bool(data.get("voided")),
                data.get("notes", ""), data.get("position", 0),
            )
            for line_id, data in lines
        ],
    )  # fmt: skip


async def reprice(conn: asyncpg.Connection, order_ids: Sequence[UUID]) -> None:
    """Recompute the cached totals of orders from their lines, with the one pricing module."""
    if not order_ids:
        return
    orders = await conn.fetch(
        "SELECT id, discount_kind, discount_value, service_charge_bp, tip FROM orders"
        " WHERE id = ANY($1::uuid[])",
        order_ids,
    )
    lines = await conn.fetch(
        "SELECT id, order_id, unit_price, quantity, vat_rate_bp, modifiers, discount_kind,"
        " discount_value, voided FROM order_lines WHERE order_id = ANY($1::uuid[])"
        " ORDER BY position, created_at",
        order_ids,
    )
    by_order: dict[UUID, list[asyncpg.Record]] = {}
    for line in lines:
        by_order.setdefault(line["order_id"], []).append(line)
    updates = []
    for order in orders:
        totals = pricing.price_order(
            [
                pricing.PricingLine(
                    line_id=str(line["id"]),
                    unit_price=line["unit_price"],
                    quantity=line["quantity"],
                    vat_rate_bp=line["vat_rate_bp"],
                    modifier_deltas=tuple(m["price_delta"] for m in _json(line["modifiers"]) or []),
                    discount=_discount(line),
                    voided=line["voided"],
                )
                for line in by_order.get(order["id"], [])
            ],
            order_discount=_discount(order),
            service_charge_bp=order["service_charge_bp"],
            tip=order["tip"],
        )
        updates.append(
            (order["id"], totals.subtotal, totals.discount_total, totals.vat_total,
             totals.service_charge, totals.total_due)
        )  # fmt: skip
    await conn.executemany(
        "UPDATE orders SET subtotal = $2, discount_total = $3, vat_total = $4,"
        " service_charge = $5, total_due = $6 WHERE id = $1",
        updates,
    )


def _discount(row: Any) -> pricing.Discount | None:
    if row["discount_kind"] is None or row["discount_value"] is None:
        return None
    return pricing.Discount(kind=row["discount_kind"], value=row["discount_value"])


def _uuid(value: object) -> UUID | None:
    return None if value is None else UUID(str(value))


def _instant(value: object) -> datetime | None:
    return None if value is None else msgspec.convert(value, datetime, strict=False)


def _json(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, (str, bytes)) else value


register(ORDER, tier=order_tier, validate=validate_order, project=project_orders)
register(ORDER_LINE, tier=1, validate=validate_line, project=project_lines)
