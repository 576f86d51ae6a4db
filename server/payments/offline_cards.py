"""Cards taken with no network: Stripe Terminal's offline mode, and the money it puts at risk.

Offline, the iPad's Terminal SDK stores the card and forwards it to Stripe when the network
returns; only then does the customer's bank decide (docs.stripe.com/terminal/features/
operate-offline/collect-card-payments). The customer has left by then, so a decline is money
the restaurant is owed. Here:

- The iPad records each such payment as an ``offline_card_payment``: an append-only sync
  entity like offline cash, whose id is our payment id, which the iPad also puts in the
  PaymentIntent's metadata (``payment_id``) when it creates it offline. On arrival it enters
  ``payments`` as a ``card_present`` payment, ``authorizing``, which pays its order until
  Stripe decides (``ledger.COVERS``).
- It reaches its PaymentIntent exactly once: by the webhook of the forwarded intent, or by
  the sweep, which looks forwarded intents up by our id (``find_forwarded``). The first one
  made is the payment; any other a forward made for the same id is canceled, so the card is
  charged once. An approved one is captured like any card in person.
- The restaurant's limits (``GET/PUT /api/v1/payments/offline-card-limits``, per payment and
  in total on one iPad) are enforced by the app and checked again here: a payment past
  either is kept (the card was taken) but held, ``capture_hold = over_offline_limit``, until
  a manager captures or cancels it.
- Declined, lapsed or released, it fails and its order reopens (``ledger.reopen``);
  ``GET /api/v1/payments/attention`` lists those, the held ones and any not forwarded yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg
import msgspec

from server.auth.permissions import Permission
from server.auth.tables import Role
from server.db.engine import connection, transaction
from server.errors import Forbidden
from server.payments import gateway, in_person, ledger, recovery
from server.payments import schemas as s
from server.payments.fees import Method, fee_for
from server.payments.in_person import OVER_OFFLINE_LIMIT
from server.payments.quotes import schedule
from server.payments.services import record_outcome
from server.payments.sync import taken_by_maker
from server.sync.registry import (
    DeviceContext,
    FieldRule,
    ProjectionRefused,
    Written,
    register,
)
from server.sync.rules import Change, EntitySpec, Rejected, Version

DEFAULT_LIMIT = 10_000
"""Minor units (£100.00) one card taken offline may charge, unless the owner sets another."""
DEFAULT_TOTAL = 100_000
"""Minor units (£1,000.00) one iPad may hold offline, not yet at Stripe, at any time."""
FORWARD_WITHIN = timedelta(hours=24)
"""Past this, a card taken offline and still not at Stripe is shown as at risk."""

OFFLINE_CARD_PAYMENT = EntitySpec(
    entity_type="offline_card_payment",
    scope="location",
    immutable=True,
    required_on_create=frozenset({"order_id", "amount", "currency", "stored_at"}),
)


class OfflineCardFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    order_id: UUID
    amount: int
    """Minor units applied to the order."""
    currency: str
    stored_at: datetime
    """When the Terminal SDK stored the payment (its ``offline_details.stored_at``)."""
    employee_id: UUID | None = None
    tip: int = 0
    """A tip on top, part of what the card is charged."""


def validate_offline_card(change: Change, current: Version | None, device: DeviceContext) -> None:
    if change.op == "delete" or current is not None:
        return  # the spec refuses deletes and edits with its own reasons
    try:
        fields = msgspec.convert(change.fields, OfflineCardFields, strict=False)
    except msgspec.ValidationError as exc:
        raise Rejected("invalid_fields", str(exc)) from exc
    if fields.amount <= 0 or fields.tip < 0 or fields.amount + fields.tip > s.MAX_AMOUNT:
        raise Rejected("invalid_fields", f"amount must be 1 to {s.MAX_AMOUNT} and tip not negative")
    if len(fields.currency) != 3 or not fields.currency.isupper():
        raise Rejected("invalid_fields", "currency is an ISO 4217 code such as GBP")


async def project_offline_cards(
    conn: asyncpg.Connection, restaurant_id: UUID, written: Sequence[Written]
) -> None:
    """Enter each card taken offline as a ``card_present`` payment waiting for Stripe."""
    for item in written:
        fields = msgspec.convert(item.version.data, OfflineCardFields, strict=False)
        order = await conn.fetchrow(
            "SELECT location_id, currency FROM orders WHERE id = $1 AND restaurant_id = $2",
            fields.order_id,
            restaurant_id,
        )
        if order is None or order["location_id"] != item.location_id:
            raise ProjectionRefused("unknown_order", "a card taken for an order the server lacks")
        if order["currency"] != fields.currency:
            raise ProjectionRefused("currency_mismatch", f"the order is in {order['currency']}")
        # A voided order still gets its payment: the card was taken, and Stripe will have it.
        fees = fee_for(fields.amount + fields.tip, Method.card_present, schedule())
        inserted = await conn.fetchval(
            "INSERT INTO payments (id, restaurant_id, location_id, order_id, method, provider,"
            " state, currency, amount, tip, fee_schedule, estimated_provider_fee, platform_fee,"
            " employee_id, source, offline_stored_at, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, 'card_present', 'stripe', 'authorizing', $5, $6, $7, $8,"
            " $9, $10, $11, 'sync', $12, now(), now()) ON CONFLICT (id) DO NOTHING"
            " RETURNING true",
            item.entity_id,
            restaurant_id,
            item.location_id,
            fields.order_id,
            fields.currency,
            fields.amount,
            fields.tip,
            schedule().version,
            fees.provider_fee,
            fees.platform_fee,
            fields.employee_id,
            fields.stored_at,
        )
        if inserted:
            await ledger.settle_order(conn, restaurant_id, fields.order_id)


async def settle_forwarded(row: asyncpg.Record) -> bool:
    """Match a card taken offline to the PaymentIntent its iPad forwarded, if Stripe has it:
    the first one made is the payment (captured unless held, or failed and its order
    reopened); any other is released. True if it was found."""
    forwarded = await gateway.current().call("stripe", lambda p: recovery.forwarded(p, row["id"]))
    if not forwarded:
        return False
    first, *others = forwarded
    await record_outcome(row["id"], first, source="forward")
    for other in others:
        await in_person.release_duplicate(row["id"], other.reference)
    if first.capturable:
        await in_person.capture_due(row["id"])
    return True


async def hold_past_limits(
    conn: asyncpg.Connection,
    device: DeviceContext,
    applied: Sequence[object],
    _before: Mapping[UUID, Version | None],
) -> list[tuple[int, str, str]]:
    """Mark the batch's payments with their iPad, and hold those past the limits: above the
    limit per payment, or taking what the iPad holds offline (stored, not yet at Stripe,
    counted in the order they were stored) past the total. Never refused: the card is taken."""
    ids = [change.entity_id for change in applied]  # type: ignore[attr-defined]
    await conn.execute(
        "UPDATE payments SET device_id = $2 WHERE id = ANY($1::uuid[]) AND device_id IS NULL",
        ids,
        device.device_id,
    )
    limits = await load_limits(conn, device.restaurant_id)
    await conn.execute(
        "WITH held AS (SELECT id, charged,"
        "   sum(charged) OVER (ORDER BY offline_stored_at, created_at, id) AS running"
        "   FROM payments WHERE device_id = $2 AND offline_stored_at IS NOT NULL"
        "   AND provider_reference IS NULL AND state = 'authorizing')"
        " UPDATE payments AS p SET capture_hold = $5 FROM held"
        " WHERE p.id = held.id AND p.id = ANY($1::uuid[]) AND p.capture_hold IS NULL"
        " AND (held.charged > $3 OR held.running > $4)",
        ids,
        device.device_id,
        limits.per_payment,
        limits.total,
        OVER_OFFLINE_LIMIT,
    )
    return []


async def load_limits(conn: asyncpg.Connection, restaurant_id: UUID) -> s.OfflineCardLimits:
    row = await conn.fetchrow(
        "SELECT offline_card_limit, offline_card_total FROM payment_policies"
        " WHERE restaurant_id = $1",
        restaurant_id,
    )
    if row is None:
        return s.OfflineCardLimits(per_payment=DEFAULT_LIMIT, total=DEFAULT_TOTAL)
    return s.OfflineCardLimits(
        per_payment=row["offline_card_limit"], total=row["offline_card_total"]
    )


async def get_limits(*, restaurant_id: UUID) -> s.OfflineCardLimits:
    async with connection() as conn:
        return await load_limits(conn, restaurant_id)


async def set_limits(
    *, restaurant_id: UUID, role: Role | None, update: s.OfflineCardLimitsUpdate
) -> s.OfflineCardLimits:
    """Change what ``update`` names; raising either is the owner's decision (the risk is
    the restaurant's), lowering one any manager's."""
    async with transaction() as conn:
        await conn.execute(
            "INSERT INTO payment_policies (restaurant_id) VALUES ($1) ON CONFLICT DO NOTHING",
            restaurant_id,
        )
        await conn.execute(
            "SELECT 1 FROM payment_policies WHERE restaurant_id = $1 FOR UPDATE", restaurant_id
        )
        current = await load_limits(conn, restaurant_id)
        raised = (update.per_payment or 0) > current.per_payment or (
            update.total or 0
        ) > current.total
        if raised and role is not Role.owner:
            raise Forbidden("only an owner raises the offline card limits", reason="owner_only")
        await conn.execute(
            "UPDATE payment_policies SET offline_card_limit = coalesce($2, offline_card_limit),"
            " offline_card_total = coalesce($3, offline_card_total), updated_at = now()"
            " WHERE restaurant_id = $1",
            restaurant_id,
            update.per_payment,
            update.total,
        )
        return await load_limits(conn, restaurant_id)


# Taking money needs someone signed in at the till, as for cash (payments.take).
OFFLINE_CARD_FIELDS = {
    name: FieldRule(Permission.payments_take) for name in OfflineCardFields.__struct_fields__
}

register(
    OFFLINE_CARD_PAYMENT,
    tier=1,
    admit=taken_by_maker,
    fields=OFFLINE_CARD_FIELDS,
    validate=validate_offline_card,
    project=project_offline_cards,
    after=hold_past_limits,
    projects_after=("order", "order_line"),  # it settles an order already priced
)
