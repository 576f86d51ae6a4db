"""The money rules, applied inside the caller's transaction.

- A payment's state moves only through ``states.advance``; every attempt, applied or not, is
  logged in ``payment_events`` so support can see what a provider said and when. One
  exception: a provider that takes the money after we ended a payment on our own (expired,
  canceled) overrules us (a late success), and a manager is told.
- An order is paid once the payments covering it (``COVERS``) reach its total. A mistake is
  put right with a refund, as on a till; the order is reopened only when money it counted
  on never arrives (a card taken offline declined later, bank money reversed).
- Refunds against a payment never add up to more than it charged: the payment row is locked
  while the sum is checked, so concurrent refund requests queue instead of racing.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any
from uuid import UUID

import asyncpg

from server import events
from server.payments.providers.base import Settlement
from server.payments.states import PaymentState, RefundState, advance, advance_refund
from server.sync import store
from server.wire import instant

log = logging.getLogger("fynlo.payments")


def covers(alias: str) -> str:
    """``COVERS`` for payments named ``alias`` in a query."""
    a = alias
    return (
        f"(({a}.state = 'succeeded' AND {a}.settlement IS DISTINCT FROM 'reversed')"
        f" OR ({a}.state = 'authorizing' AND {a}.offline_stored_at IS NOT NULL))"
    )


COVERS = covers("p")
"""Payments (``p``) that pay an order: money taken and not sent back, or a card taken offline
that Stripe has not decided yet (the customer has left; if it is declined, or bank money is
reversed, the order reopens: ``reopen``)."""
LATE_ENDINGS = frozenset({PaymentState.expired, PaymentState.canceled})
"""Endings we decided on our own (time ran out, staff stopped it) that the provider can
overrule by taking the money all the same: a late success."""
_SETTLEMENT_ORDER = "ARRAY['executed', 'creditable', 'stalled', 'settled', 'reversed']"
PAID_AT = "coalesce(p.succeeded_at, p.offline_stored_at)"


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
    late = current in LATE_ENDINGS and event is PaymentState.succeeded
    if late:
        # The money moved after all: the payment is what the provider says, and a manager
        # is told (``attention``), since the till may have taken another payment meanwhile.
        new = PaymentState.succeeded
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
        " provider_reference = coalesce(provider_reference, $6), updated_at = now(),"
        " late_success_at = CASE WHEN $7 THEN now() ELSE late_success_at END,"
        " authorizing_at = CASE WHEN $2 = 'authorizing' THEN coalesce(authorizing_at, now())"
        "   ELSE authorizing_at END"
        " WHERE id = $1",
        payment["id"],
        new,
        applied,
        failure_reason,
        provider_fee,
        reference,
        late,
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
    if late:
        log.warning(
            "late success: the provider took the money after we ended the payment",
            extra={"payment_id": str(payment["id"]), "state": current.value},
        )
        await events.announce(
            events.PaymentNeedsAttention(
                restaurant_id=str(payment["restaurant_id"]),
                location_id=str(payment["location_id"]),
                payment_id=str(payment["id"]),
                order_id=str(payment["order_id"]),
                why="late_success",
            )
        )
    if applied and new is PaymentState.succeeded:
        await settle_order(conn, payment["restaurant_id"], payment["order_id"])
        if not late and await overpaid(conn, payment["order_id"]):
            await events.announce(
                events.PaymentNeedsAttention(
                    restaurant_id=str(payment["restaurant_id"]),
                    location_id=str(payment["location_id"]),
                    payment_id=str(payment["id"]),
                    order_id=str(payment["order_id"]),
                    why="paid_twice",
                )
            )
    if applied and new is not PaymentState.succeeded and payment["offline_stored_at"] is not None:
        # A card taken offline that Stripe declined (or that lapsed, or a manager released):
        # the order it paid is owed that money again.
        await reopen(conn, payment["restaurant_id"], payment["order_id"])
    return applied


async def record_settlement(
    conn: asyncpg.Connection, payment_id: UUID, settlement: Settlement, *, source: str
) -> bool:
    """Where a succeeded pay-by-bank payment's money stands, moving only forward (executed,
    creditable, stalled, settled, reversed); True if it moved. Money reversed no longer pays
    its order, which reopens; stalled or reversed money is on the attention list."""
    row = await conn.fetchrow(
        "UPDATE payments SET settlement = $2, updated_at = now(),"
        " settled_at = CASE WHEN $2 = 'settled' THEN now() ELSE settled_at END"
        " WHERE id = $1 AND state = 'succeeded' AND (settlement IS NULL OR"
        f" array_position({_SETTLEMENT_ORDER}, settlement) < array_position({_SETTLEMENT_ORDER},"
        " $2::text)) RETURNING restaurant_id, location_id, order_id, method",
        payment_id,
        settlement.value,
    )
    if row is None:
        return False
    log.info(
        "settlement moved",
        extra={"payment_id": str(payment_id), "settlement": settlement.value, "source": source},
    )
    if settlement is Settlement.reversed:
        await reopen(conn, row["restaurant_id"], row["order_id"])
    if settlement in (Settlement.stalled, Settlement.reversed):
        await events.announce(
            events.PaymentNeedsAttention(
                restaurant_id=str(row["restaurant_id"]),
                location_id=str(row["location_id"]),
                payment_id=str(payment_id),
                order_id=str(row["order_id"]),
                why=f"settlement_{settlement.value}",
            )
        )
    return True


async def overpaid(conn: asyncpg.Connection, order_id: UUID) -> int:
    """How much the payments covering an order exceed its total (0 when they do not)."""
    over: int = await conn.fetchval(
        f"SELECT greatest(0, coalesce(sum(p.amount), 0) - o.total_due)::bigint FROM orders o"
        f" LEFT JOIN payments p ON p.order_id = o.id AND {COVERS}"
        " WHERE o.id = $1 GROUP BY o.total_due",
        order_id,
    )
    return over or 0


async def settle_order(conn: asyncpg.Connection, restaurant_id: UUID, order_id: UUID) -> None:
    """Mark the order paid once its succeeded payments cover it, after the current batch.

    Inside a push, the device's own changes to the order (its ``status: paid`` and
    ``closed_at``) are written first, so a cash sale closes the order once, at the device's
    time, with no conflict against the server.
    """
    await store.after_batch(conn, ("settle", order_id), partial(_settle, restaurant_id, order_id))


async def _settle(restaurant_id: UUID, order_id: UUID, conn: asyncpg.Connection) -> None:
    key = ("order", order_id)
    current = (await store.lock(conn, restaurant_id, [key])).get(key)
    if current is None or current.version.data.get("status") in ("paid", "voided"):
        return
    # One read: the bill, what covers it, and when the money last arrived (a cash sale's time,
    # from the iPad), which closes the order unless the iPad closed it itself.
    money = await conn.fetchrow(
        "SELECT o.total_due, coalesce(sum(p.amount), 0)::bigint AS paid,"
        f" max({PAID_AT}) AS paid_at FROM orders AS o LEFT JOIN payments AS p"
        f" ON p.order_id = o.id AND {COVERS}"
        " WHERE o.id = $1 AND o.restaurant_id = $2 GROUP BY o.total_due",
        order_id,
        restaurant_id,
    )
    if money is None or money["paid_at"] is None or money["paid"] < money["total_due"]:
        return
    paid_at = money["paid_at"]
    closed_at = current.version.data.get("closed_at") or instant(paid_at)
    await store.server_change(
        conn,
        restaurant_id=restaurant_id,
        entity_type="order",
        entity_id=order_id,
        location_id=current.location_id,
        data={"status": "paid", "closed_at": closed_at},
        current=current,
    )


async def reopen(conn: asyncpg.Connection, restaurant_id: UUID, order_id: UUID) -> None:
    """Take a paid order back to ``sent`` once what pays it no longer covers it, after the
    current batch: every iPad then shows its balance again."""
    await store.after_batch(conn, ("reopen", order_id), partial(_reopen, restaurant_id, order_id))


async def _reopen(restaurant_id: UUID, order_id: UUID, conn: asyncpg.Connection) -> None:
    key = ("order", order_id)
    current = (await store.lock(conn, restaurant_id, [key])).get(key)
    if current is None or current.version.data.get("status") != "paid":
        return
    covered = await conn.fetchval(
        f"SELECT coalesce(sum(p.amount), 0)::bigint >= o.total_due FROM orders AS o"
        f" LEFT JOIN payments AS p ON p.order_id = o.id AND {COVERS}"
        " WHERE o.id = $1 GROUP BY o.total_due",
        order_id,
    )
    if covered:
        return
    await store.server_change(
        conn,
        restaurant_id=restaurant_id,
        entity_type="order",
        entity_id=order_id,
        location_id=current.location_id,
        data={"status": "sent", "closed_at": None},
        current=current,
    )


async def held_by(conn: asyncpg.Connection, order_id: UUID) -> int:
    """Money the restaurant holds for an order: succeeded payments' charges, less refunds
    pending or done, plus payments still in flight (they may yet succeed)."""
    held: int = await conn.fetchval(
        "SELECT coalesce(sum(CASE WHEN state = 'succeeded'"
        " AND settlement IS DISTINCT FROM 'reversed' THEN charged"
        " WHEN state IN ('created', 'awaiting_customer', 'authorizing') THEN amount END), 0)"
        " - (SELECT coalesce(sum(r.amount), 0) FROM refunds AS r JOIN payments AS p"
        " ON p.id = r.payment_id WHERE p.order_id = $1 AND r.state IN ('pending', 'succeeded'))"
        " FROM payments WHERE order_id = $1",
        order_id,
    )
    return held


async def paid_towards(conn: asyncpg.Connection, order_id: UUID) -> int:
    paid: int = await conn.fetchval(
        "SELECT coalesce(sum(amount), 0)::bigint FROM payments WHERE order_id = $1"
        " AND state = 'succeeded' AND settlement IS DISTINCT FROM 'reversed'",
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
