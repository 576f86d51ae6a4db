"""Payment and refund rows as wire bodies: the one place a row becomes an answer."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from server.errors import NotFound
from server.payments import qr as qr_codes
from server.payments import schemas as s
from server.payments.fees import Method
from server.payments.providers.base import Settlement
from server.payments.states import ENDINGS, PaymentState

# What to offer when a payment fails or expires, best first: the product promise is
# card and Apple Pay after a bank payment; cash is always there.
_FALLBACK_ORDER = (
    Method.card,
    Method.apple_pay,
    Method.card_present,
    Method.open_banking,
    Method.cash,
)


def payment_path(payment_id: UUID) -> str:
    return f"/api/v1/payments/{payment_id}"


def payment_view(row: asyncpg.Record, refunded: int) -> s.Payment:
    state = PaymentState(row["state"])
    method = Method(row["method"])
    waiting = state not in ENDINGS
    qr = None
    if method is Method.open_banking and row["payer_token"] and waiting and row["expires_at"]:
        base = payment_path(row["id"])
        qr = s.Qr(
            png=f"{base}/qr.png",
            svg=f"{base}/qr.svg",
            link=qr_codes.link_for(row["id"], row["payer_token"]),
            expires_at=row["expires_at"],
        )
    tendered = row["tendered"]
    failed = state in (PaymentState.failed, PaymentState.expired)
    return s.Payment(
        id=row["id"],
        order_id=row["order_id"],
        location_id=row["location_id"],
        method=method,
        state=state,
        currency=row["currency"].strip(),
        amount=row["amount"],
        tip=row["tip"],
        surcharge=row["surcharge"],
        charged=row["charged"],
        tendered=tendered,
        change=None if tendered is None else tendered - row["charged"],
        refunded=refunded,
        fees=s.Fees(
            schedule=row["fee_schedule"],
            estimated_provider_fee=row["estimated_provider_fee"],
            platform_fee=row["platform_fee"],
            provider_fee=row["provider_fee"],
        ),
        qr=qr,
        client_secret=row["client_secret"] if waiting else None,
        failure_reason=row["failure_reason"],
        fallback=[m for m in _FALLBACK_ORDER if m is not method] if failed else [],
        open_drawer=method is Method.cash and state is PaymentState.succeeded,
        reader_id=row["reader_id"],
        offline_stored_at=row["offline_stored_at"],
        capture_hold=row["capture_hold"],
        settlement=Settlement(row["settlement"]) if row["settlement"] else None,
        created_at=row["created_at"],
        succeeded_at=row["succeeded_at"],
    )


_WITH_REFUNDED = (
    "SELECT p.*, (SELECT coalesce(sum(amount), 0)::bigint FROM refunds r"
    " WHERE r.payment_id = p.id AND r.state = 'succeeded') AS refunded FROM payments p"
)


async def load_payment(
    conn: asyncpg.Connection,
    payment_id: UUID,
    *,
    restaurant_id: UUID,
    location_id: UUID | None,
) -> s.Payment:
    """A payment of this restaurant (and of the iPad's location); anything else is missing."""
    row = await conn.fetchrow(
        f"{_WITH_REFUNDED} WHERE p.id = $1 AND p.restaurant_id = $2"
        " AND ($3::uuid IS NULL OR p.location_id = $3)",
        payment_id,
        restaurant_id,
        location_id,
    )
    if row is None:
        raise NotFound("no such payment")
    return payment_view(row, row["refunded"])


async def load_order_payments(conn: asyncpg.Connection, order_id: UUID) -> list[s.Payment]:
    """Every payment of an order (whose visibility the caller has checked), oldest first."""
    rows = await conn.fetch(
        f"{_WITH_REFUNDED} WHERE p.order_id = $1 ORDER BY p.created_at, p.id", order_id
    )
    return [payment_view(row, row["refunded"]) for row in rows]


def refund_view(row: asyncpg.Record) -> s.Refund:
    return s.Refund(
        id=row["id"],
        payment_id=row["payment_id"],
        amount=row["amount"],
        currency=row["currency"].strip(),
        state=row["state"],
        reason=row["reason"],
        failure_reason=row["failure_reason"],
        created_at=row["created_at"],
    )
