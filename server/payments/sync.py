"""Cash taken offline syncs as an append-only, immutable record.

The payments work validates these against the order and the ledger; until then they are
kept exactly as the iPad recorded them. A payment is never edited or deleted: a mistake is
corrected with a refund, which is a record of its own.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from server.sync.registry import DeviceContext, register
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


register(CASH_PAYMENT, tier=1, validate=validate_cash_payment)
