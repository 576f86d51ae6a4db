"""How orders and their lines sync: merge specs, checks, and writing them into the order tables.

- An order's status only moves forward: open → sent → paid, and open or sent → voided. An
  iPad never reopens a paid order (only the server does, through ``ledger.reopen``, when a
  card taken offline is declined); void is a state, never a delete. Concurrent status changes keep
  the furthest (paid beats voided: money was taken).
- Lines are their own entities, so lines added on two iPads at once are simply both kept
  (the union); a line is voided, never deleted, and stays voided.
- Everything else is last-writer-wins per field, ordered by hybrid logical clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg
import msgspec

from server import events
from server.auth.permissions import Permission
from server.auth.tables import Role
from server.catalog.prices import PriceCheck, Verdict, catalog_prices
from server.orders import pricing, void_limits
from server.orders.numbers import format_order_number
from server.orders.tables import OrderStatus
from server.payments import ledger
from server.sync import store
from server.sync.clock import parse_hlc
from server.sync.protocol import ChangeIn
from server.sync.registry import (
    Admission,
    Correction,
    DeviceContext,
    FieldRule,
    ProjectionRefused,
    Written,
    needs_of,
    register,
)
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
MAX_PRICE: Pence = 10_000_000
"""The most a line's unit price may be (£100,000)."""


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
    seat: int | msgspec.UnsetType | None = msgspec.UNSET
    course: int | msgspec.UnsetType | None = msgspec.UNSET


MAX_SEAT = 500
"""A seat number is at most the most covers an order may have."""
MAX_COURSE = 20

DISCOUNT_THRESHOLD_BP = 1_000
"""A discount taking more than 10% off its order or line needs a manager (or their approval):
the usual line between a courtesy and a comp."""

TAKING = frozenset({Permission.orders_take})
"""What every order or line change needs, whatever fields it sets."""
_TAKE = FieldRule(Permission.orders_take)
_DISCOUNT = FieldRule(
    Permission.orders_take, when={"over_threshold": Permission.orders_discount_over_threshold}
)
_PRICE = FieldRule(Permission.orders_take, when={"off_catalog": Permission.orders_price_override})

ORDER_FIELDS: dict[str, FieldRule] = {
    "number": _TAKE,
    "device_prefix": _TAKE,
    "device_seq": _TAKE,
    "opened_at": _TAKE,
    "closed_at": _TAKE,
    "status": FieldRule(
        Permission.orders_take,
        when={"paid": Permission.payments_take, "voided": Permission.orders_void},
    ),
    "table_id": _TAKE,
    "covers": _TAKE,
    "notes": _TAKE,
    "discount_kind": _DISCOUNT,
    "discount_value": _DISCOUNT,
    "discount_reason": _TAKE,
    "service_charge_bp": _TAKE,
    "tip": _TAKE,
}
"""Who may set each order field on the sync path (``docs/sync-protocol.md``)."""

LINE_FIELDS: dict[str, FieldRule] = {
    "order_id": _TAKE,
    "product_id": _TAKE,
    "name": _TAKE,
    "unit_price": _PRICE,
    "quantity": _TAKE,
    "vat_rate_bp": _TAKE,
    "modifiers": _PRICE,
    "discount_kind": _DISCOUNT,
    "discount_value": _DISCOUNT,
    # Taking back a dish the kitchen was already asked for is a void; before that, a fix.
    "voided": FieldRule(Permission.orders_take, when={"after_sending": Permission.orders_void}),
    "notes": _TAKE,
    "position": _TAKE,
    # Where the dish goes and when: no price changes with either.
    "seat": _TAKE,
    "course": _TAKE,
}


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
    _check_range("unit_price", fields.unit_price, 0, MAX_PRICE)
    _check_range("quantity", fields.quantity, 1, 10_000)
    _check_range("vat_rate_bp", fields.vat_rate_bp, 0, 10_000)
    _check_range("seat", fields.seat, 1, MAX_SEAT)
    _check_range("course", fields.course, 1, MAX_COURSE)
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


@dataclass
class OrderFacts:
    """What admitting a batch's orders and lines needs from the database, read once."""

    statuses: dict[UUID, str] = field(default_factory=dict)
    """Order id -> status, as stored before the batch."""
    batch_statuses: dict[UUID, list[tuple[int, str]]] = field(default_factory=dict)
    """Order id -> each status this batch sets, with its change's seq, in seq order."""
    subtotals: dict[UUID, int] = field(default_factory=dict)
    """Order id -> what its lines add up to, stored and in this batch: a fixed discount's base."""
    line_orders: dict[UUID, UUID] = field(default_factory=dict)
    """Stored line id -> its order id, for lines this batch edits."""
    prices: dict[PriceCheck, Verdict] = field(default_factory=dict)

    def status_at(self, order_id: UUID, seq: int) -> str | None:
        """The order's status when the device made change ``seq``: the last one this batch
        set before it, else as stored. A line voided offline before the order was sent is a
        fix, even when the send travels in the same batch."""
        status = self.statuses.get(order_id)
        for at, set_to in self.batch_statuses.get(order_id, []):
            if at < seq:
                status = set_to
        return status


async def prepare_orders(
    conn: asyncpg.Connection, device: DeviceContext, changes: Sequence[ChangeIn]
) -> OrderFacts:
    facts = OrderFacts()
    lines = [c for c in changes if c.entity_type == "order_line" and c.op == "upsert"]
    # A line edit names no order_id (it is create-only): read which order it belongs to.
    edits = [c.entity_id for c in lines if "order_id" not in c.fields]
    if edits:
        for row in await conn.fetch(
            "SELECT id, order_id FROM order_lines"
            " WHERE restaurant_id = $1 AND id = ANY($2::uuid[])",
            device.restaurant_id,
            edits,
        ):
            facts.line_orders[row["id"]] = row["order_id"]
    order_ids = {c.entity_id for c in changes if c.entity_type == "order"}
    order_ids |= set(facts.line_orders.values())
    order_ids |= {order_id for c in lines if (order_id := _order_of(c.fields)) is not None}
    if order_ids:
        for row in await conn.fetch(
            "SELECT id, status, subtotal FROM orders"
            " WHERE restaurant_id = $1 AND id = ANY($2::uuid[])",
            device.restaurant_id,
            list(order_ids),
        ):
            facts.statuses[row["id"]] = row["status"]
            facts.subtotals[row["id"]] = row["subtotal"]
    for change in changes:
        if change.entity_type == "order" and isinstance(change.fields.get("status"), str):
            facts.batch_statuses.setdefault(change.entity_id, []).append(
                (change.seq, change.fields["status"])
            )
    checks = []
    for change in lines:
        order_id = _order_of(change.fields)
        gross = _gross(change.fields)
        if order_id is not None and gross is not None:
            facts.subtotals[order_id] = facts.subtotals.get(order_id, 0) + gross
        checks += _price_checks(change)
    facts.prices = await catalog_prices(conn, device.restaurant_id, checks)
    return facts


def _order_of(fields: dict[str, Any]) -> UUID | None:
    try:
        return UUID(str(fields["order_id"])) if "order_id" in fields else None
    except ValueError:
        return None


def _gross(fields: dict[str, Any]) -> int | None:
    """A line's price times quantity, with its modifiers, if the fields are well formed."""
    try:
        typed: LineFields = msgspec.convert(fields, LineFields, strict=False)
    except msgspec.ValidationError:
        return None
    if not isinstance(typed.unit_price, int):
        return None
    quantity = typed.quantity if isinstance(typed.quantity, int) else 1
    deltas = sum(m.price_delta for m in typed.modifiers) if isinstance(typed.modifiers, list) else 0
    return (typed.unit_price + deltas) * quantity


def _taken_at(change: ChangeIn) -> datetime:
    """When the device took the line, by its clock (no later than now)."""
    wall_ms = min(parse_hlc(change.hlc).wall_ms, int(datetime.now(UTC).timestamp() * 1000))
    return datetime.fromtimestamp(wall_ms / 1000, UTC)


def _price_checks(change: ChangeIn) -> list[PriceCheck]:
    """The catalog prices a new line claims: its product's, and each modifier's."""
    try:
        typed: LineFields = msgspec.convert(change.fields, LineFields, strict=False)
        at = _taken_at(change)
    except (msgspec.ValidationError, ValueError):
        return []
    checks = []
    # Only prices validation can accept are looked up: an absurd one is refused on its own,
    # and must not fail the batch's one price query for every other line.
    if (
        isinstance(typed.product_id, UUID)
        and isinstance(typed.unit_price, int)
        and isinstance(typed.vat_rate_bp, int)
        and 0 <= typed.unit_price <= MAX_PRICE
        and 0 <= typed.vat_rate_bp <= pricing.BASIS_POINTS
    ):
        checks.append(_product_check(typed.product_id, at, typed.unit_price, typed.vat_rate_bp))
    for modifier in typed.modifiers if isinstance(typed.modifiers, list) else []:
        if modifier.modifier_id is not None and abs(modifier.price_delta) <= MAX_PRICE:
            checks.append(_modifier_check(modifier.modifier_id, at, modifier.price_delta))
    return checks


def _product_check(product_id: UUID, at: datetime, price: int, vat_rate_bp: int) -> PriceCheck:
    # The price and VAT rate are checked as a pair: one changed with the other is one price.
    return PriceCheck(
        item_id=product_id, at=at, price=price, kind="product", vat_rate_bp=vat_rate_bp
    )


def _modifier_check(modifier_id: UUID, at: datetime, price: int) -> PriceCheck:
    return PriceCheck(item_id=modifier_id, at=at, price=price, kind="modifier")


def admit_order(change: ChangeIn, current: Version | None, facts: OrderFacts) -> Admission:
    before = current.data if current is not None else {}
    conditions = []
    status = change.fields.get("status")
    if status in ("paid", "voided") and before.get("status") != status:
        conditions.append(("status", str(status)))
    if _discount_touched(change) and _over_threshold(
        change.fields, before, base=facts.subtotals.get(change.entity_id, 0)
    ):
        conditions.append(("discount_value", "over_threshold"))
    return Admission(TAKING | needs_of(ORDER_FIELDS, change.fields, conditions))


def admit_line(change: ChangeIn, current: Version | None, facts: OrderFacts) -> Admission:
    before = current.data if current is not None else {}
    conditions = []
    corrections: list[Correction] = []
    if change.fields.get("voided") is True and not before.get("voided"):
        order_id = _order_of(before) or _order_of(change.fields)
        if order_id is not None and facts.status_at(order_id, change.seq) in ("sent", "paid"):
            conditions.append(("voided", "after_sending"))
    if _discount_touched(change):
        after = {**before, **change.fields}
        if _over_threshold(change.fields, before, base=_gross(after) or 0):
            conditions.append(("discount_value", "over_threshold"))
    if current is None and change.op == "upsert":
        corrected = _catalog_price(change, facts)
        if corrected is None:  # an open item: no catalog price to hold it to
            conditions.append(("unit_price", "off_catalog"))
        elif corrected:
            corrections.append(
                Correction(corrected, rule="catalog_price", unless=Permission.orders_price_override)
            )
    return Admission(TAKING | needs_of(LINE_FIELDS, change.fields, conditions), tuple(corrections))


def _catalog_price(change: ChangeIn, facts: OrderFacts) -> dict[str, Any] | None:
    """The fields that put a new line at the catalog's prices ({} if it already is), or None
    if it has no product to price it by (an open item) or names a modifier with no catalog
    entry and a price."""
    typed: LineFields = _typed(LineFields, change.fields)
    if not isinstance(typed.product_id, UUID):
        return None
    if not isinstance(typed.unit_price, int) or not isinstance(typed.vat_rate_bp, int):
        return {}  # required_on_create refuses it with its own reason
    at = _taken_at(change)
    product = facts.prices.get(
        _product_check(typed.product_id, at, typed.unit_price, typed.vat_rate_bp)
    )
    if product is None or not product.known:
        raise Rejected("unknown_product", "product_id is not on this restaurant's menu")
    corrected: dict[str, Any] = {}
    if not product.accepted:
        corrected |= {"unit_price": product.in_force, "vat_rate_bp": product.vat_rate_bp}
    modifiers = typed.modifiers if isinstance(typed.modifiers, list) else []
    fixed = []
    for modifier in modifiers:
        if modifier.modifier_id is None:
            if modifier.price_delta != 0:
                return None  # a free-text modifier with a price is an open price
            fixed.append(modifier)
            continue
        verdict = facts.prices.get(_modifier_check(modifier.modifier_id, at, modifier.price_delta))
        if verdict is None or not verdict.known:
            raise Rejected("unknown_product", "a modifier_id is not on this restaurant's menu")
        delta = modifier.price_delta if verdict.accepted else verdict.in_force
        fixed.append(LineModifier(modifier.modifier_id, modifier.name, int(delta or 0)))
    if fixed != modifiers:
        corrected["modifiers"] = msgspec.to_builtins(fixed)
    return corrected


def _discount_touched(change: ChangeIn) -> bool:
    return "discount_kind" in change.fields or "discount_value" in change.fields


def _over_threshold(fields: dict[str, Any], before: dict[str, Any], *, base: int) -> bool:
    """Whether the discount after this change takes more than the threshold off ``base``."""
    kind = fields.get("discount_kind", before.get("discount_kind"))
    value = fields.get("discount_value", before.get("discount_value"))
    if kind is None or not isinstance(value, int):
        return False
    if kind == "percent":
        return value > DISCOUNT_THRESHOLD_BP
    return value * pricing.BASIS_POINTS > DISCOUNT_THRESHOLD_BP * max(base, 0)


async def after_orders(
    conn: asyncpg.Connection,
    device: DeviceContext,
    applied: Sequence[ChangeIn],
    before: Mapping[UUID, Version | None],
) -> list[tuple[int, str, str]]:
    """What needs the whole batch in: voids within their maker's daily limit, and paid
    orders covered by money. A change refused here puts its order back where it was."""
    refused = await _limit_voids(conn, device, applied, before)
    return refused + await _hold_paid_to_money(conn, device, applied, before)


async def _limit_voids(
    conn: asyncpg.Connection,
    device: DeviceContext,
    applied: Sequence[ChangeIn],
    before: Mapping[UUID, Version | None],
) -> list[tuple[int, str, str]]:
    """Count each void against its maker (``void_limits``), as a REST void is; one past the
    limit without another manager's approval is refused and the order stays as it was."""
    voids = [
        c
        for c in applied
        if c.fields.get("status") == "voided"
        and c.actor is not None
        and _status(before.get(c.entity_id)) != "voided"
    ]
    refused = []
    for change in voids:
        assert change.actor is not None
        row = await conn.fetchrow(
            "SELECT o.status, o.total_due, e.role FROM orders AS o, employees AS e"
            " WHERE o.id = $1 AND o.restaurant_id = $2 AND e.id = $3",
            change.entity_id,
            device.restaurant_id,
            change.actor.employee_id,
        )
        if row is None or row["status"] != "voided":
            continue  # merged away by a concurrent paid: nothing was voided
        approval = change.approval
        approved_by = (
            approval.approver_id
            if approval is not None and approval.permission == Permission.orders_void
            else None
        )
        try:
            await void_limits.check_void(
                conn,
                restaurant_id=device.restaurant_id,
                location_id=device.location_id,
                employee_id=change.actor.employee_id,
                user_id=None,
                role=Role(row["role"]),
                approved_by=approved_by,
                amount=row["total_due"],
            )
        except void_limits.VoidNeedsApproval as exc:
            await _put_back(conn, device, change.entity_id, before.get(change.entity_id))
            refused.append((change.seq, "needs_approval", exc.detail))
            continue
        await void_limits.record_void(
            conn,
            restaurant_id=device.restaurant_id,
            location_id=device.location_id,
            order_id=change.entity_id,
            employee_id=change.actor.employee_id,
            user_id=None,
            approved_by=approved_by,
            amount=row["total_due"],
        )
    return refused


def _status(version: Version | None) -> object:
    return None if version is None else version.data.get("status")


async def _put_back(
    conn: asyncpg.Connection, device: DeviceContext, order_id: UUID, was: Version | None
) -> None:
    """Return an order's status to what it was before the batch (never to paid: open)."""
    data = was.data if was is not None else {}
    status = data.get("status", "open")
    await store.server_change(
        conn,
        restaurant_id=device.restaurant_id,
        entity_type="order",
        entity_id=order_id,
        location_id=device.location_id,
        data={
            "status": status if status in ("open", "sent") else "sent",
            "closed_at": data.get("closed_at"),
        },
    )


async def _hold_paid_to_money(
    conn: asyncpg.Connection,
    device: DeviceContext,
    applied: Sequence[ChangeIn],
    before: Mapping[UUID, Version | None],
) -> list[tuple[int, str, str]]:
    """An order an iPad marked paid must be covered by succeeded payments once its whole batch
    is in (the cash taken with it included); if not, it goes back to where it was."""
    marked = [c for c in applied if c.fields.get("status") == "paid"]
    if not marked:
        return []
    ids = list({c.entity_id for c in marked})
    money = {
        row["id"]: (row["status"], row["total_due"], row["paid"])
        for row in await conn.fetch(
            "SELECT o.id, o.status, o.total_due, coalesce(sum(p.amount), 0)::bigint AS paid"
            " FROM orders AS o LEFT JOIN payments AS p"
            f" ON p.order_id = o.id AND {ledger.COVERS}"
            " WHERE o.id = ANY($1::uuid[]) AND o.restaurant_id = $2 GROUP BY o.id",
            ids,
            device.restaurant_id,
        )
    }
    refused = []
    for order_id in ids:
        status, due, paid = money.get(order_id, (None, 0, 0))
        if status != "paid" or paid >= due:
            continue
        await _put_back(conn, device, order_id, before.get(order_id))
        detail = f"payments cover {paid} of the {due} due: take the rest, then it is paid"
        refused += [(c.seq, "order_unpaid", detail) for c in marked if c.entity_id == order_id]
    return refused


LINE_TIER = 1
"""Every line is stored at this tier; ``project_*`` move it to its order's."""


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
    await conn.execute(
        "INSERT INTO orders (id, restaurant_id, location_id, table_id, number, device_prefix,"
        " device_seq, status, covers, notes, currency, discount_kind, discount_value,"
        " discount_reason, service_charge_bp, tip, opened_at, closed_at, created_at, updated_at)"
        " SELECT id, $1, location_id, table_id, number, device_prefix, device_seq, status, covers,"
        " notes, $2, discount_kind, discount_value, discount_reason, service_charge_bp, tip,"
        " opened_at, closed_at, now(), now() FROM unnest($3::uuid[], $4::uuid[], $5::uuid[],"
        " $6::text[], $7::text[], $8::integer[], $9::text[], $10::integer[], $11::text[],"
        " $12::text[], $13::integer[], $14::text[], $15::integer[], $16::integer[],"
        " $17::timestamptz[], $18::timestamptz[]) AS o (id, location_id, table_id, number,"
        " device_prefix, device_seq, status, covers, notes, discount_kind, discount_value,"
        " discount_reason, service_charge_bp, tip, opened_at, closed_at)"
        " ON CONFLICT (id) DO UPDATE SET table_id = excluded.table_id,"
        " status = excluded.status, covers = excluded.covers, notes = excluded.notes,"
        " discount_kind = excluded.discount_kind, discount_value = excluded.discount_value,"
        " discount_reason = excluded.discount_reason,"
        " service_charge_bp = excluded.service_charge_bp, tip = excluded.tip,"
        " closed_at = excluded.closed_at, updated_at = now()"
        # Ids are chosen by iPads: one restaurant's push must never update another's row.
        " WHERE orders.restaurant_id = excluded.restaurant_id",
        restaurant_id,
        currency,
        *_columns(
            [
                (
                    item.entity_id, item.location_id, _uuid(data.get("table_id")),
                    data["number"], data["device_prefix"], data["device_seq"],
                    data.get("status", "open"), data.get("covers", 0), data.get("notes", ""),
                    data.get("discount_kind"), data.get("discount_value"),
                    data.get("discount_reason", ""), data.get("service_charge_bp", 0),
                    data.get("tip", 0), _instant(data["opened_at"]),
                    _instant(data.get("closed_at")),
                )
                for item in written
                for data in (item.version.data,)
            ],
            16,
        ),
    )  # fmt: skip
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
    # Lines that arrived before their order wait in the sync store: an order new to ``orders``
    # brings them in. Lines stored by this same write are projected next, by ``project_lines``
    # (which also reprices their orders), so they are neither upserted nor repriced twice.
    arriving = store.written_now("order_line")
    new_orders = [item.entity_id for item in written if item.entity_id not in before]
    if new_orders:
        writing = {line.entity_id for line in arriving}
        pending = await store.children(conn, restaurant_id, "order_line", "order_id", new_orders)
        await _upsert_lines(
            conn,
            restaurant_id,
            [(line.entity_id, line.data) for line in pending if line.entity_id not in writing],
        )
    if not arriving:  # else ``project_lines`` reprices them with their new lines, once
        await reprice(conn, [item.entity_id for item in written])
    # A line bootstraps with its order: lines move when their order changes tier, and lines
    # that waited for a new order take its tier.
    await _retier_lines(
        conn,
        restaurant_id,
        {
            item.entity_id: _tier_now(item)
            for item in written
            if _lines_tier(before, item) != _tier_now(item)
        },
    )


def _lines_tier(before: Mapping[UUID, str], order: Written) -> int:
    """The tier the order's stored lines have: its tier before this write, or the tier
    every line is stored at if the order is new."""
    if order.entity_id not in before:
        return LINE_TIER
    return order_tier({"status": before[order.entity_id]})


def _tier_now(order: Written) -> int:
    return order_tier(order.version.data)


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
    order_ids = {UUID(str(item.version.data["order_id"])) for item in written}
    # The orders this write stores are repriced here too (``project_orders`` left them).
    writing = {order.entity_id: order for order in store.written_now("order")}
    await reprice(conn, list(order_ids | writing.keys()))
    # Each line was just stored at tier 1; those of an order in another tier move to it.
    tiers = {order_id: _tier_now(order) for order_id, order in writing.items()}
    unread = [("order", order_id) for order_id in order_ids - writing.keys()]
    if unread:
        orders = await store.read(conn, restaurant_id, unread)
        tiers |= {key[1]: order_tier(order.version.data) for key, order in orders.items()}
    moved = []
    for item in written:
        tier = tiers.get(UUID(str(item.version.data["order_id"])))
        if tier is not None and tier != LINE_TIER:
            moved.append((item.entity_id, tier))
    await store.retier(conn, restaurant_id, "order_line", moved)


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as one list per column, for ``unnest``: one statement writes them all."""
    return [[row[index] for row in rows] for index in range(width)]


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
    # A line stored by the same write as its order (a till that added it and took payment
    # offline) is part of the bill that write closes, not a change to a settled one.
    closing = {order.entity_id for order in store.written_now("order")}
    order_ids = list({UUID(str(item.version.data["order_id"])) for item in written} - closing)
    if not order_ids:
        return
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
    conn: asyncpg.Connection, restaurant_id: UUID, tiers: Mapping[UUID, int]
) -> None:
    """Give the lines of the orders in ``tiers`` their order's new bootstrap tier: open
    orders' lines come first, closed orders' with history.

    A read of the lines (by the index on their order id) and an update by key, never one
    join on the jsonb order id: PostgreSQL once planned that join as nested loops over every
    line of the restaurant (seconds per push at a few thousand lines; load/sync_bench.py).
    """
    if not tiers:
        return
    lines = await store.children(conn, restaurant_id, "order_line", "order_id", list(tiers))
    moved = [
        (line.entity_id, tiers[line.parent_id])
        for line in lines
        if line.tier != tiers[line.parent_id]
    ]
    await store.retier(conn, restaurant_id, "order_line", moved)


async def _upsert_lines(
    conn: asyncpg.Connection, restaurant_id: UUID, lines: Sequence[tuple[UUID, dict[str, Any]]]
) -> None:
    if not lines:
        return
    await conn.execute(
        "INSERT INTO order_lines (id, restaurant_id, order_id, product_id, name, unit_price,"
        " quantity, vat_rate_bp, modifiers, discount_kind, discount_value, voided, notes,"
        " position, seat, course, created_at, updated_at)"
        " SELECT line.id, $1, line.order_id, product_id, name, unit_price, quantity, vat_rate_bp,"
        " modifiers::jsonb, line.discount_kind, line.discount_value, voided, line.notes,"
        " position, seat, course, now(), now() FROM unnest($2::uuid[], $3::uuid[], $4::uuid[],"
        " $5::text[], $6::integer[], $7::integer[], $8::integer[], $9::text[], $10::text[],"
        " $11::integer[], $12::boolean[], $13::text[], $14::integer[], $15::integer[],"
        " $16::integer[]) AS line (id, order_id, product_id, name, unit_price, quantity,"
        " vat_rate_bp, modifiers, discount_kind, discount_value, voided, notes, position, seat,"
        " course)"
        # A line waits in the sync store until its order is in ``orders`` (project_orders).
        " WHERE EXISTS (SELECT 1 FROM orders WHERE id = line.order_id AND restaurant_id = $1)"
        " ON CONFLICT (id) DO UPDATE SET quantity = excluded.quantity,"
        " discount_kind = excluded.discount_kind, discount_value = excluded.discount_value,"
        " voided = excluded.voided, notes = excluded.notes, position = excluded.position,"
        " seat = excluded.seat, course = excluded.course,"
        " updated_at = now() WHERE order_lines.restaurant_id = excluded.restaurant_id",
        restaurant_id,
        *_columns(
            [
                (
                    line_id, UUID(str(data["order_id"])), _uuid(data.get("product_id")),
                    data["name"], data["unit_price"], data["quantity"], data["vat_rate_bp"],
                    msgspec.json.encode(data.get("modifiers") or []).decode(),
                    data.get("discount_kind"), data.get("discount_value"),
                    bool(data.get("voided")), data.get("notes", ""), data.get("position", 0),
                    data.get("seat"), data.get("course"),
                )
                for line_id, data in lines
            ],
            15,
        ),
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
    await conn.execute(
        "UPDATE orders SET subtotal = priced.subtotal, discount_total = priced.discount_total,"
        " vat_total = priced.vat_total, service_charge = priced.service_charge,"
        " total_due = priced.total_due FROM unnest($1::uuid[], $2::bigint[], $3::bigint[],"
        " $4::bigint[], $5::bigint[], $6::bigint[]) AS priced (id, subtotal, discount_total,"
        " vat_total, service_charge, total_due) WHERE orders.id = priced.id",
        *_columns(updates, 6),
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


register(
    ORDER,
    tier=order_tier,
    admit=admit_order,
    fields=ORDER_FIELDS,
    prepare=prepare_orders,
    validate=validate_order,
    project=project_orders,
    after=after_orders,
)
register(
    ORDER_LINE,
    tier=LINE_TIER,
    admit=admit_line,
    fields=LINE_FIELDS,
    prepare=prepare_orders,
    validate=validate_line,
    project=project_lines,
)
