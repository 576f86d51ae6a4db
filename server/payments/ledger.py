"""The money rules, applied inside the caller's transaction.

- A payment's state moves only through ``states.advance``; every attempt, applied or not, is
  logged in ``payment_events`` so support can see what a provider said and when.
- An order is paid once its succeeded payments cover its total; it is never un-paid (a
  mistake is put right with a refund, as on a till).
- Refunds against a payment never add up to more than it charged: the payment row is locked
  while the sum is checked, so concurrent refund requests queue instead of racing.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from server import events
from server.payments.states import PaymentState, RefundState, advance, advance_refund
from server.sync.publish import record_server_change_in


async def lock_payment(conn: asyncpg.Connection, payment_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM payments WHERE id = $1 FOR UPDATE", payment_id
    )
    return row


async def move_payment(
    conn: asyncpg.Connection,
    payment: asyncpg.Record,
    event: PaymentState,
    *,
    source: str,
    provider_event_id: str | None = None,
    failure_reason: str | None = None,
    provider_fee: int | None = None,
    reference: str | None = None,
) -> bool:
    """Apply ``event`` to a locked payment row; True if the state changed. A payment that
    succeeds may complete its order (``settle_order``)."""
    current = PaymentState(payment["state"])
    new = advance(current, event)
    applied = new != current
    await conn.execute(
        "INSERT INTO payment_events (restaurant_id, payment_id, source, provider_event_id,"
        " from_state, to_state, applied) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        payment["restaurant_id"],
        payment["id"],
        source,
        provider_event_id,
        current,
        event,
        applied,
    )
    await conn.execute(
        "UPDATE payments SET state = $2,"
        " failure_reason = CASE WHEN $3 THEN coalesce($4, failure_reason) ELSE failure_reason END,"
        " succeeded_at = CASE WHEN $2 = 'succeeded' AND succeeded_at IS NULL THEN now()"
        "   ELSE succeeded_at END,"
        # The provider's fee is its own figure: the first one reported is kept.
        " provider_fee = coalesce(provider_fee, $5),"
        " provider_reference = coalesce(provider_reference, $6), updated_at = now()"
        " WHERE id = $1",
        payment["id"],
        new,
        applied,
        failure_reason,
        provider_fee,
        reference,
    )
    if applied:
        await events.announce(
            events.PaymentStatusChanged(
                restaurant_id=str(payment["restaurant_id"]),
                location_id=str(payment["location_id"]),
                payment_id=str(payment["id"]),
                order_id=str(payment["order_id"]),
                method=payment["method"],
                state=new,
            )
        )
    if applied and new is PaymentState.succeeded:
        await settle_order(conn, payment["restaurant_id"], payment["order_id"])
    return applied


async def settle_order(conn: asyncpg.Connection, restaurant_id: UUID, order_id: UUID) -> bool:
    """Mark the order paid if its succeeded payments now cover it; True if it changed."""
    order = await conn.fetchrow(
        "SELECT status, total_due, location_id FROM orders WHERE id = $1 FOR UPDATE", order_id
    )
    if order is None or order["status"] == "paid":
        return False
    paid = await paid_towards(conn, order_id)
    if paid < order["total_due"]:
        return False
    await conn.execute(
        "UPDATE orders SET status = 'paid', closed_at = coalesce(closed_at, now()),"
        " updated_at = now() WHERE id = $1",
        order_id,
    )
    await events.announce(
        events.OrderStatusChanged(
            restaurant_id=str(restaurant_id),
            location_id=str(order["location_id"]),
            order_id=str(order_id),
            status="paid",
        )
    )
    if await _in_feed(conn, restaurant_id, order_id):
        # iPads learn the order is paid through the feed, like any other change.
        closed_at = await conn.fetchval("SELECT closed_at FROM orders WHERE id = $1", order_id)
        await record_server_change_in(
            conn,
            restaurant_id=restaurant_id,
            entity_type="order",
            entity_id=order_id,
            location_id=order["location_id"],
            data={"status": "paid", "closed_at": closed_at.isoformat().replace("+00:00", "Z")},
        )
    return True


async def _in_feed(conn: asyncpg.Connection, restaurant_id: UUID, order_id: UUID) -> bool:
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM sync_entities WHERE restaurant_id = $1"
        " AND entity_type = 'order' AND entity_id = $2)",
        restaurant_id,
        order_id,
    )
    return found


async def paid_towards(conn: asyncpg.Connection, order_id: UUID) -> int:
    paid: int = await conn.fetchval(
        "SELECT coalesce(sum(amount), 0)::bigint FROM payments"
        " WHERE order_id = $1 AND state = 'succeeded'",
        order_id,
    )
    return paid


async def in_flight_towards(conn: asyncpg.Connection, order_id: UUID) -> int:
    """Amounts of payments still waiting for the customer or the bank (they may succeed)."""
    waiting: int = await conn.fetchval(
        "SELECT coalesce(sum(amount), 0)::bigint FROM payments WHERE order_id = $1"
        " AND state IN ('created', 'awaiting_customer', 'authorizing')",
        order_id,
    )
    return waiting


async def refund_room(conn: asyncpg.Connection, payment: asyncpg.Record) -> int:
    """What may still be refunded: charged, less refunds pending or done. Lock the payment
    first (``lock_payment``) so two refunds cannot both see the same room."""
    taken: int = await conn.fetchval(
        "SELECT coalesce(sum(amount), 0)::bigint FROM refunds WHERE payment_id = $1"
        " AND state IN ('pending', 'succeeded')",
        payment["id"],
    )
    if payment["state"] != PaymentState.succeeded:
        return 0
    room: int = payment["charged"] - taken
    return room


async def move_refund(
    conn: asyncpg.Connection,
    refund: dict[str, Any] | asyncpg.Record,
    event: RefundState,
    *,
    source: str,
    provider_event_id: str | None = None,
    failure_reason: str | None = None,
    reference: str | None = None,
) -> bool:
    current = RefundState(refund["state"])
    new = advance_refund(current, event)
    applied = new != current
    await conn.execute(
        "INSERT INTO payment_events (restaurant_id, payment_id, refund_id, source,"
        " provider_event_id, from_state, to_state, applied)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        refund["restaurant_id"],
        refund["payment_id"],
        refund["id"],
        source,
        provider_event_id,
        f"refund_{current}",
        f"refund_{event}",
        applied,
    )
    await conn.execute(
        "UPDATE refunds SET state = $2, failure_reason = coalesce($3, failure_reason),"
        " provider_reference = coalesce(provider_reference, $4), updated_at = now()"
        " WHERE id = $1",
        refund["id"],
        new,
        failure_reason if applied else None,
        reference,
    )
    return applied
