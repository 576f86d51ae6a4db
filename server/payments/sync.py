"""Cash taken offline syncs as an append-only, immutable record.

The fields are checked when the change arrives (``validate_cash_payment``), and the payment
is checked against its order when it is projected into ``payments``: the order must be one
the server has, at the iPad's location, in the same currency, and not voided. A payment that
fails those checks is quarantined with the reason (kept and shown to a manager, never
dropped: the cash is in a drawer somewhere). Two iPads taking cash for the same order
offline is accepted (the money is real) and shows as an overpayment in `fynlo reconcile`.
A payment is never edited or deleted: a mistake is corrected with a refund.

A payment is its maker's: the employee whose PIN signed the change took the money, and its
tip (``taken_by_maker``). The ``employee_id`` the iPad sends is not proof of that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from server.auth.permissions import Permission
from server.payments import ledger
from server.payments.fees import Method, fee_for
from server.payments.quotes import schedule
from server.sync.protocol import ChangeIn
from server.sync.registry import (
    Admission,
    Correction,
    DeviceContext,
    FieldRule,
    ProjectionRefused,
    Written,
    register,
)
from server.sync.rules import Change, EntitySpec, Rejected, Version

CASH_PAYMENT = EntitySpec(
    entity_type="cash_payment",
    scope="location",
    immutable=True,
    required_on_create=frozenset({"order_id", "amount", "tendered", "currency", "taken_at"}),
)


class CashPaymentFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    order_id: UUID
    amount: int
    """Minor units applied to the order."""
    tendered: int
    """Minor units the customer handed over; change = tendered - amount."""
    currency: str
    taken_at: datetime
    employee_id: UUID | None = None
    tip: int = 0


def validate_cash_payment(change: Change, current: Version | None, device: DeviceContext) -> None:
    if change.op == "delete" or current is not None:
        return  # the spec refuses deletes and edits with its own reasons
    try:
        fields = msgspec.convert(change.fields, CashPaymentFields, strict=False)
    except msgspec.ValidationError as exc:
        raise Rejected("invalid_fields", str(exc)) from exc
    if fields.amount <= 0 or fields.tip < 0:
        raise Rejected("invalid_fields", "amount must be positive and tip not negative")
    if fields.tendered < fields.amount + fields.tip:
        raise Rejected("invalid_fields", "tendered must cover the amount and the tip")
    if len(fields.currency) != 3 or not fields.currency.isupper():
        raise Rejected("invalid_fields", "currency is an ISO 4217 code such as GBP")


async def project_cash_payments(
    conn: asyncpg.Connection, restaurant_id: UUID, written: Sequence[Written]
) -> None:
    """Enter synced cash payments into the ledger and settle their orders: one read of the
    orders and one insert for the whole write."""
    payments = [
        (item, msgspec.convert(item.version.data, CashPaymentFields, strict=False))
        for item in written
    ]
    orders = {
        row["id"]: row
        for row in await conn.fetch(
            "SELECT id, location_id, status, currency FROM orders"
            " WHERE id = ANY($1::uuid[]) AND restaurant_id = $2",
            list({fields.order_id for _, fields in payments}),
            restaurant_id,
        )
    }
    for item, fields in payments:
        order = orders.get(fields.order_id)
        if order is None or order["location_id"] != item.location_id:
            raise ProjectionRefused("unknown_order", "cash taken for an order the server lacks")
        if order["currency"] != fields.currency:
            raise ProjectionRefused("currency_mismatch", f"the order is in {order['currency']}")
        if order["status"] == "voided":
            raise ProjectionRefused("order_voided", "cash taken for a voided order")
    fees = [fee_for(fields.amount + fields.tip, Method.cash, schedule()) for _, fields in payments]
    inserted = await conn.fetch(
        "INSERT INTO payments (id, restaurant_id, location_id, order_id, method, provider,"
        " state, currency, amount, tip, tendered, fee_schedule, estimated_provider_fee,"
        " platform_fee, provider_reference, employee_id, source, created_at, updated_at,"
        " succeeded_at) SELECT id, $1, location_id, order_id, 'cash', 'cash', 'succeeded',"
        " currency, amount, tip, tendered, $2, provider_fee, platform_fee, 'cash-' || id,"
        " employee_id, 'sync', taken_at, now(), taken_at FROM unnest($3::uuid[], $4::uuid[],"
        " $5::uuid[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[],"
        " $11::bigint[], $12::uuid[], $13::timestamptz[]) AS cash (id, location_id, order_id,"
        " currency, amount, tip, tendered, provider_fee, platform_fee, employee_id, taken_at)"
        " ON CONFLICT (id) DO NOTHING RETURNING order_id",
        restaurant_id,
        schedule().version,
        [item.entity_id for item, _ in payments],
        [item.location_id for item, _ in payments],
        [fields.order_id for _, fields in payments],
        [fields.currency for _, fields in payments],
        [fields.amount for _, fields in payments],
        [fields.tip for _, fields in payments],
        [fields.tendered for _, fields in payments],
        [fee.provider_fee for fee in fees],
        [fee.platform_fee for fee in fees],
        [fields.employee_id for _, fields in payments],
        [fields.taken_at for _, fields in payments],
    )
    for order_id in dict.fromkeys(row["order_id"] for row in inserted):
        # An order already paid (by this same write: the till marked it paid with the cash)
        # has nothing to settle, and only the server takes it back from paid, after the
        # batch's settling; so it is not locked and read again for nothing.
        if orders[order_id]["status"] != "paid":
            await ledger.settle_order(conn, restaurant_id, order_id)


# Taking money needs someone signed in at the till, as on REST (payments.take).
CASH_PAYMENT_FIELDS = {
    name: FieldRule(Permission.payments_take) for name in CashPaymentFields.__struct_fields__
}
_TAKING = Admission(frozenset({Permission.payments_take}))


def taken_by_maker(change: ChangeIn, _current: Version | None, _facts: object) -> Admission:
    """Money taken on an iPad needs ``payments.take``, and is the maker's: on REST a payment
    carries the employee signed in (``caller.employee_id``), so here it carries the change's
    proven maker (``change.actor``, checked by then). An ``employee_id`` left out or naming
    someone else is set to the maker, and a manager sees the difference as a conflict: the
    tip is the maker's (docs/time-clock.md, "Tips")."""
    maker = change.actor.employee_id if change.actor is not None else None
    if maker is None or _named(change.fields.get("employee_id")) == maker:
        return _TAKING
    return Admission(
        _TAKING.needs, (Correction({"employee_id": str(maker)}, rule="taken_by_maker"),)
    )


def _named(value: object) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


async def mark_taking_ipad(
    conn: asyncpg.Connection,
    device: DeviceContext,
    applied: Sequence[object],
    _before: Mapping[UUID, Version | None],
) -> list[tuple[int, str, str]]:
    """Mark the batch's cash payments with the iPad that took them, as REST does: the cash
    is in the drawer session open on that iPad (docs/cash-up.md). Never refused."""
    await conn.execute(
        "UPDATE payments SET device_id = $2 WHERE id = ANY($1::uuid[]) AND device_id IS NULL",
        [change.entity_id for change in applied],  # type: ignore[attr-defined]
        device.device_id,
    )
    return []


register(
    CASH_PAYMENT,
    tier=1,
    admit=taken_by_maker,
    fields=CASH_PAYMENT_FIELDS,
    validate=validate_cash_payment,
    project=project_cash_payments,
    after=mark_taking_ipad,
    projects_after=("order", "order_line"),  # it settles an order already priced
)
