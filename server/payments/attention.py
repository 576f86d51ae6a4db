"""Payments a manager must decide on, and the one action that settles each.

Money the server cannot put right alone: a card taken offline and declined later, held past
the limits, or never forwarded (``offline_cards``); money taken after we had ended the
payment (a late success, ``ledger.move_payment``); an order paid twice (the bank's money
arrived while the till took another method: the payment that paid last is listed); bank
money whose settlement stalled or was reversed (``ledger.record_settlement``); a bank
payment the payer's bank authorised but does not send; any payment still waiting well past
its deadline, which the poller could not end (its provider unreachable). Each but the last
is announced in real time (``payment.attention``) when it arises, and all are listed by
:func:`attention` until a manager acts: a refund (the usual remedy for money taken twice), a
capture (a held card), or an acknowledgement, which keeps the money or accepts the loss, and
for a payment still waiting stops waiting for it, freeing its amount on the order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg

from server import events
from server.db.engine import connection, transaction
from server.payments import ledger
from server.payments import schemas as s
from server.payments.fees import Method
from server.payments.offline_cards import FORWARD_WITHIN
from server.payments.reconcile import STUCK_AFTER
from server.payments.services import visible
from server.payments.states import ENDINGS, PaymentState

NOT_EXECUTING = timedelta(minutes=20)
"""A bank payment still not executed this long after the payer went to their bank needs a
manager: TrueLayer fails one nobody authorised after 15 minutes, and Faster Payments execute
within seconds of approval, so by then it is authorised and stuck."""
STOPPED_WAITING = "stopped_waiting"
"""``failure_reason`` of a payment a manager stopped waiting for."""
_WAITING = ("not_executing", "past_expiry")
"""The reasons an acknowledgement also ends the payment."""

_REMEDIES: dict[str, list[s.Remedy]] = {
    "declined": ["acknowledge"],
    "held": ["capture"],
    "not_forwarded": ["acknowledge"],
    "late_success": ["refund", "acknowledge"],
    "settlement_stalled": ["acknowledge"],
    "settlement_reversed": ["acknowledge"],
    "not_executing": ["acknowledge"],
    "past_expiry": ["acknowledge"],
    "paid_twice": ["refund", "acknowledge"],
}

# One query for the whole list; ``why`` is decided in SQL so the filter and the label agree.
_WHY = """CASE
    WHEN p.late_success_at IS NOT NULL THEN 'late_success'
    WHEN p.settlement = 'reversed' THEN 'settlement_reversed'
    WHEN p.settlement = 'stalled' THEN 'settlement_stalled'
    WHEN p.offline_stored_at IS NOT NULL AND p.state IN ('failed', 'canceled', 'expired')
      THEN 'declined'
    WHEN p.offline_stored_at IS NOT NULL AND p.capture_hold IS NOT NULL
      AND p.state = 'authorizing' THEN 'held'
    WHEN p.offline_stored_at IS NOT NULL AND p.provider_reference IS NULL
      AND p.state = 'authorizing' AND p.offline_stored_at < $3 THEN 'not_forwarded'
    WHEN p.method = 'open_banking' AND p.state = 'authorizing' AND p.authorizing_at < $4
      THEN 'not_executing'
    WHEN p.offline_stored_at IS NULL AND p.state IN ('created', 'awaiting_customer', 'authorizing')
      AND NOT (p.method = 'open_banking' AND p.state = 'authorizing')
      AND coalesce(p.expires_at, p.created_at) < $5 THEN 'past_expiry'
  END"""
_SINCE = """coalesce(p.late_success_at,
    CASE WHEN p.settlement IN ('stalled', 'reversed') THEN p.updated_at END,
    p.offline_stored_at, p.succeeded_at, p.authorizing_at, p.expires_at, p.updated_at)"""


async def attention(*, restaurant_id: UUID, location_id: UUID | None) -> list[s.PaymentAttention]:
    """What needs a manager, newest first (at most 500)."""
    now = datetime.now(UTC)
    covering = ledger.covers("c")
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT *, coalesce(why_first, CASE WHEN overpaid > 0 AND last_to_pay"
            " THEN 'paid_twice' END) AS why FROM ("
            f" SELECT p.*, o.number AS order_number, {_WHY} AS why_first, {_SINCE} AS since,"
            f" greatest(0, (SELECT coalesce(sum(c.amount), 0) FROM payments c"
            f"   WHERE c.order_id = p.order_id AND {covering}) - o.total_due)::bigint AS overpaid,"
            f" {ledger.COVERS} AND p.succeeded_at >= (SELECT max(c.succeeded_at) FROM payments c"
            f"   WHERE c.order_id = p.order_id AND {covering}) AS last_to_pay"
            " FROM payments p JOIN orders o ON o.id = p.order_id"
            " WHERE p.restaurant_id = $1 AND ($2::uuid IS NULL OR p.location_id = $2)"
            " AND p.acknowledged_at IS NULL) AS listed"
            " WHERE why_first IS NOT NULL OR (overpaid > 0 AND last_to_pay)"
            " ORDER BY since DESC, id LIMIT 500",
            restaurant_id,
            location_id,
            now - FORWARD_WITHIN,
            now - NOT_EXECUTING,
            now - STUCK_AFTER,
        )
    return [_item(row) for row in rows]


async def acknowledge(
    *,
    restaurant_id: UUID,
    location_id: UUID | None,
    employee_id: UUID | None,
    payment_id: UUID,
) -> s.PaymentAttention | None:
    """A manager has decided: the payment leaves the list. A bank payment that does not
    execute, or any payment still waiting past its deadline, is also ended here (canceled,
    ``stopped_waiting``), so its amount no longer blocks the order; if its money arrives
    after all, that is a late success, listed again.
    Answers the item as it was, None if there was nothing to acknowledge."""
    listed = {
        item.payment_id: item
        for item in await attention(restaurant_id=restaurant_id, location_id=location_id)
    }
    async with transaction() as conn:
        await visible(conn, payment_id, restaurant_id, location_id)  # 404 for anyone else's
        row = await ledger.lock_payment(conn, payment_id)
        item = listed.get(payment_id)
        if row is None or item is None or row["acknowledged_at"] is not None:
            return None
        if item.why in _WAITING and PaymentState(row["state"]) not in ENDINGS:
            await ledger.move_payment(
                conn, row, PaymentState.canceled, source="manager", failure_reason=STOPPED_WAITING
            )
        await conn.execute(
            "UPDATE payments SET acknowledged_at = now(), acknowledged_by = $2 WHERE id = $1",
            payment_id,
            employee_id,
        )
    return item


async def flag_not_executing(conn: asyncpg.Connection, row: asyncpg.Record) -> bool:
    """Tell the till and managers, once, that a bank payment is stuck authorised; True if
    told now. Called by the sweep for each waiting bank payment it checks."""
    if (
        row["method"] != Method.open_banking
        or row["state"] != PaymentState.authorizing
        or row["authorizing_at"] is None
        or row["authorizing_at"] > datetime.now(UTC) - NOT_EXECUTING
    ):
        return False
    told = await conn.fetchval(
        "INSERT INTO payment_events (restaurant_id, payment_id, source, from_state, to_state,"
        " applied) SELECT $1, $2, 'attention', 'authorizing', 'authorizing', false"
        " WHERE NOT EXISTS (SELECT 1 FROM payment_events WHERE payment_id = $2"
        " AND source = 'attention') RETURNING true",
        row["restaurant_id"],
        row["id"],
    )
    if told:
        await events.announce(
            events.PaymentNeedsAttention(
                restaurant_id=str(row["restaurant_id"]),
                location_id=str(row["location_id"]),
                payment_id=str(row["id"]),
                order_id=str(row["order_id"]),
                why="not_executing",
            )
        )
    return bool(told)


def _item(row: asyncpg.Record) -> s.PaymentAttention:
    return s.PaymentAttention(
        payment_id=row["id"],
        order_id=row["order_id"],
        order_number=row["order_number"],
        location_id=row["location_id"],
        device_id=row["device_id"],
        employee_id=row["employee_id"],
        method=Method(row["method"]),
        currency=row["currency"].strip(),
        amount=row["charged"],
        why=row["why"],
        failure_reason=row["failure_reason"],
        since=row["since"],
        overpaid=row["overpaid"],
        remedies=_REMEDIES[row["why"]],
    )
