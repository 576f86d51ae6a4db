"""How much one employee may refund in a day before a manager must approve.

Every refund is counted against whoever asked for it (an employee signed in on an iPad, or a
back-office user), per calendar day in the time zone of the refunded payment's location:
refunds pending or done count, failed ones do not. Within the restaurant's limits
(``GET/PUT /api/v1/payments/refund-limits``: 5 refunds and 10,000 minor units a day by
default; an owner raises them, a manager may only lower them) a refund needs nothing more
than the ``payments.refund`` permission. A refund that would take the employee past either
limit needs a manager's approval, ``X-Fynlo-Approval`` for ``payments.refund``, given by a
manager or owner other than the employee (a cashier's refunds carry one always, which is
enough). Without it the refund is 403 ``refund.needs_approval`` and nothing is written.
Owners are not held to the limits.

Refunds by one employee queue on a transaction-scoped lock while their day is counted, so
concurrent refunds cannot slip past the limit together.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from server.auth.tables import Role
from server.daily_limits import DailyLimits, Limits
from server.payments import schemas as s
from server.payments.errors import RefundNeedsApproval

DEFAULT_COUNT = 5
"""Refunds one employee may make in a day without an approval, unless the owner sets another."""
DEFAULT_AMOUNT = 10_000
"""Minor units (£100.00) one employee may refund in a day without an approval."""


LIMITS = DailyLimits(
    table="payment_policies",
    count_column="refund_limit_count",
    amount_column="refund_limit_amount",
    default=Limits(DEFAULT_COUNT, DEFAULT_AMOUNT),
    what="refund",
)


async def load_limits(conn: asyncpg.Connection, restaurant_id: UUID) -> s.RefundLimits:
    limits = await LIMITS.load(conn, restaurant_id)
    return s.RefundLimits(count=limits.count, amount=limits.amount)


async def get_limits(*, restaurant_id: UUID) -> s.RefundLimits:
    limits = await LIMITS.get(restaurant_id=restaurant_id)
    return s.RefundLimits(count=limits.count, amount=limits.amount)


async def set_limits(
    *, restaurant_id: UUID, role: Role | None, update: s.RefundLimitsUpdate
) -> s.RefundLimits:
    """Change what ``update`` names and keep the rest (``server.daily_limits``)."""
    limits = await LIMITS.set(
        restaurant_id=restaurant_id, role=role, count=update.count, amount=update.amount
    )
    return s.RefundLimits(count=limits.count, amount=limits.amount)


@dataclass(frozen=True)
class Refunder:
    """Who asks for a refund, and how a manager's approval of it can be had."""

    actor_id: UUID | None
    role: Role | None
    approved_by: UUID | None = None
    """The approver of an approval the route already spent (a cashier's refunds)."""
    approve: Callable[[], Awaitable[UUID | None]] | None = None
    """Spends the request's ``X-Fynlo-Approval`` if it has one; the approver's id, or None."""


async def check(
    conn: asyncpg.Connection, refunder: Refunder, payment: asyncpg.Record, amount: int
) -> UUID | None:
    """Allow a refund of ``amount`` on the locked ``payment`` by ``refunder``, inside the
    transaction that writes it; the approver when one was needed. Raises
    ``RefundNeedsApproval`` when the refund is past the limits and nobody else approved it."""
    if refunder.actor_id is None or refunder.role is Role.owner:
        return None
    limits = await load_limits(conn, payment["restaurant_id"])
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        f"fynlo.refund_limit:{refunder.actor_id}",
    )
    today = await conn.fetchrow(
        "SELECT count(*) AS refunds, coalesce(sum(r.amount), 0)::bigint AS refunded"
        " FROM refunds r, locations l WHERE l.id = $3 AND r.restaurant_id = $1"
        " AND r.requested_by = $2 AND r.state IN ('pending', 'succeeded')"
        " AND (r.created_at AT TIME ZONE l.timezone)::date = (now() AT TIME ZONE l.timezone)::date",
        payment["restaurant_id"],
        refunder.actor_id,
        payment["location_id"],
    )
    within = today["refunds"] + 1 <= limits.count and today["refunded"] + amount <= limits.amount
    if within:
        return None
    if refunder.approved_by is not None:
        return refunder.approved_by
    approver = await refunder.approve() if refunder.approve is not None else None
    details = {
        "needs_approval": True,
        "permission": "payments.refund",
        "refunds_today": today["refunds"],
        "refunded_today": today["refunded"],
        "refund_limit_count": limits.count,
        "refund_limit_amount": limits.amount,
    }
    if approver is None:
        raise RefundNeedsApproval(
            "past today's refund limit: a manager must approve this refund", **details
        )
    if approver == refunder.actor_id:
        raise RefundNeedsApproval(
            "past today's refund limit: another manager must approve this refund",
            reason="approval_by_self",
            **details,
        )
    return approver
