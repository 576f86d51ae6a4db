"""Refunds, full or partial, never more than a payment charged.

The refund row (``pending``) is written while the payment row is locked and the room left
is checked, so fifty concurrent refund requests queue on that lock and the sum of pending
and succeeded refunds can never pass what was charged. Then the provider is asked, with an
idempotency key derived from the refund id, and its answer recorded. A refund the provider
could not be asked stays ``pending``; the poller asks again with the same key. A pay-by-bank
refund also waits, ``pending``, until its payment's money has settled in the merchant
account: TrueLayer refunds nothing before (docs.truelayer.com/docs/refunds).

Each new refund is also held to its employee's daily limit (``refund_limits``); the retry of
a refund already written (same Idempotency-Key) is not counted or checked again.
"""

from __future__ import annotations

from uuid import UUID, uuid4

import asyncpg
import msgspec

from server.db.engine import connection, transaction
from server.errors import NotFound
from server.payments import gateway, idempotency, ledger, refund_limits
from server.payments import schemas as s
from server.payments.errors import NotRefundable, ProviderDown, RefundExceedsCaptured
from server.payments.fees import Method
from server.payments.providers.base import (
    ProviderRefund,
    ProviderRefused,
    ProviderUnavailable,
    Settlement,
)
from server.payments.states import PaymentState, RefundState
from server.payments.views import refund_view

NOT_SETTLED = "payment_not_settled"
"""The provider's refusal of a refund whose payment has not settled yet: try again later."""


async def refund_payment(
    *,
    restaurant_id: UUID,
    location_id: UUID | None,
    refunder: refund_limits.Refunder,
    payment_id: UUID,
    data: s.CreateRefund,
    key: str,
    body: bytes,
) -> tuple[int, bytes]:
    async with transaction() as conn:
        claimed = await idempotency.claim(
            conn,
            restaurant_id=restaurant_id,
            key=key,
            operation=f"POST {payment_id}/refunds",
            body=body,
        )
        if isinstance(claimed, idempotency.Replay):
            return claimed.status_code, claimed.body
        refund_id = claimed.resource_id
        if refund_id is None:
            refund_id = await _insert_refund(
                conn, restaurant_id, location_id, refunder, payment_id, data
            )
            await idempotency.attach(conn, restaurant_id=restaurant_id, key=key, resource=refund_id)
    try:
        await send_refund(refund_id)
    except ProviderUnavailable as exc:
        async with transaction() as conn:
            await idempotency.release(conn, restaurant_id=restaurant_id, key=key)
        raise ProviderDown(
            f"{exc}; the refund is kept as pending and will be sent again",
            retry_after_seconds=5,
            refund_id=str(refund_id),
        ) from exc
    async with transaction() as conn:
        row = await conn.fetchrow("SELECT * FROM refunds WHERE id = $1", refund_id)
        body = msgspec.json.encode(refund_view(row))
        await idempotency.finish(
            conn, restaurant_id=restaurant_id, key=key, status_code=201, body=body
        )
    return 201, body


async def send_refund(refund_id: UUID) -> None:
    """Ask the provider for a pending refund not yet sent (safe to repeat: same key)."""
    async with connection() as conn:
        row = await conn.fetchrow(
            "SELECT r.*, p.provider, p.provider_reference AS payment_reference, p.method,"
            " p.settlement FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = $1",
            refund_id,
        )
    assert row is not None
    if row["state"] != RefundState.pending or row["provider_reference"] is not None:
        return
    if row["method"] == Method.open_banking and row["settlement"] != Settlement.settled:
        return  # TrueLayer refunds only settled money: it waits, pending, for the poller
    try:
        result = await gateway.current().call(
            row["provider"],
            lambda p: p.refund(
                row["payment_reference"],
                refund_id=refund_id,
                amount=row["amount"],
                currency=row["currency"].strip(),
            ),
        )
    except ProviderRefused as exc:
        if exc.reason == NOT_SETTLED:
            return  # settled here before the provider's own books say so: sent again later
        result = ProviderRefund(reference="", state=RefundState.failed, failure_reason=exc.reason)
    async with transaction() as conn:
        locked = await conn.fetchrow("SELECT * FROM refunds WHERE id = $1 FOR UPDATE", refund_id)
        await ledger.move_refund(
            conn,
            locked,
            result.state,
            source="api",
            failure_reason=result.failure_reason,
            reference=result.reference or None,
        )


async def _insert_refund(
    conn: asyncpg.Connection,
    restaurant_id: UUID,
    location_id: UUID | None,
    refunder: refund_limits.Refunder,
    payment_id: UUID,
    data: s.CreateRefund,
) -> UUID:
    payment = await ledger.lock_payment(conn, payment_id)
    if (
        payment is None
        or payment["restaurant_id"] != restaurant_id
        or (location_id is not None and payment["location_id"] != location_id)
    ):
        raise NotFound("no such payment")
    if payment["state"] != PaymentState.succeeded:
        raise NotRefundable(f"the payment is {payment['state']}", field="payment_id")
    if payment["settlement"] == Settlement.reversed:
        raise NotRefundable("the bank already sent this money back", field="payment_id")
    room = await ledger.refund_room(conn, payment)
    amount = room if data.amount is None else data.amount
    if amount <= 0 or amount > room:
        raise RefundExceedsCaptured(
            f"{room} is left to refund on this payment", field="amount", refundable=room
        )
    await refund_limits.check(conn, refunder, payment, amount)
    refund_id = uuid4()
    await conn.execute(
        "INSERT INTO refunds (id, restaurant_id, payment_id, amount, currency, state, reason,"
        " requested_by) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)",
        refund_id,
        restaurant_id,
        payment_id,
        amount,
        payment["currency"],
        data.reason,
        refunder.actor_id,
    )
    return refund_id


async def list_refunds(
    *, restaurant_id: UUID, location_id: UUID | None, payment_id: UUID
) -> list[s.Refund]:
    async with connection() as conn:
        rows = await conn.fetch(
            "SELECT r.* FROM refunds r JOIN payments p ON p.id = r.payment_id"
            " WHERE r.payment_id = $1 AND p.restaurant_id = $2"
            " AND ($3::uuid IS NULL OR p.location_id = $3) ORDER BY r.created_at, r.id",
            payment_id,
            restaurant_id,
            location_id,
        )
    return [refund_view(row) for row in rows]
