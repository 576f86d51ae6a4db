"""How many orders one employee may void in a day before a manager must approve.

There is no time clock yet, so the "shift" a void is counted in is the employee's calendar
day in the time zone of the voided order's location (as for refunds,
``server/payments/refund_limits.py``); the time clock issue will replace it with the
employee's shift.

Every void is recorded in ``order_voids`` (``record_void``) against whoever made it: an
employee signed in on an iPad, or a back-office user. Within the restaurant's limits
(``GET/PUT /api/v1/orders/void-limits``: 3 voids and 10,000 minor units of voided order
value, the orders' ``total_due``, a day by default; an owner raises them, a manager may only
lower them) a void needs nothing more than the ``orders.void`` permission. A void that would
take the employee past either limit needs a manager's approval for ``orders.void``, given by
a manager or owner other than the employee (a server's or cashier's void carries one always,
which is enough). Without it the void is 403 ``void.needs_approval`` and nothing is written.
Owners are not held to the limits; their voids are recorded all the same.

``check_void`` and ``record_void`` run on the caller's connection, inside the transaction
that writes the void: REST (``services.void_order``) and the sync path alike. Voids by one
employee queue on a transaction-scoped lock while their day is counted, so concurrent voids
cannot slip past the limit together.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from server.auth.tables import Role
from server.daily_limits import DailyLimits, Limits
from server.errors import Forbidden, NotFound
from server.orders import schemas as s

DEFAULT_COUNT = 3
"""Voids one employee may make in a day without an approval, unless the owner sets another."""
DEFAULT_AMOUNT = 10_000
"""Minor units (£100.00) of voided orders one employee may void in a day without approval."""
PERMISSION = "orders.void"
"""What the approval past the limit is for (``Permission.orders_void``)."""


class VoidNeedsApproval(Forbidden):
    """Past the employee's void limit for the day; carries ``needs_approval``, the limits and
    what the employee has voided today."""

    code = "void.needs_approval"
    title = "This void is past today's void limit and needs a manager's approval"


LIMITS = DailyLimits(
    table="order_policies",
    count_column="void_limit_count",
    amount_column="void_limit_amount",
    default=Limits(DEFAULT_COUNT, DEFAULT_AMOUNT),
    what="void",
)


async def load_limits(conn: asyncpg.Connection, restaurant_id: UUID) -> s.VoidLimits:
    limits = await LIMITS.load(conn, restaurant_id)
    return s.VoidLimits(count=limits.count, amount=limits.amount)


async def get_limits(*, restaurant_id: UUID) -> s.VoidLimits:
    limits = await LIMITS.get(restaurant_id=restaurant_id)
    return s.VoidLimits(count=limits.count, amount=limits.amount)


async def set_limits(
    *, restaurant_id: UUID, role: Role | None, update: s.VoidLimitsUpdate
) -> s.VoidLimits:
    """Change what ``update`` names and keep the rest (``server.daily_limits``)."""
    limits = await LIMITS.set(
        restaurant_id=restaurant_id, role=role, count=update.count, amount=update.amount
    )
    return s.VoidLimits(count=limits.count, amount=limits.amount)


async def check_void(
    conn: asyncpg.Connection,
    *,
    restaurant_id: UUID,
    location_id: UUID,
    employee_id: UUID | None,
    user_id: UUID | None,
    role: Role | None,
    approved_by: UUID | None,
    amount: int,
) -> None:
    """Allow a void of an order worth ``amount`` (its ``total_due``) at ``location_id`` by the
    employee (or back-office user), inside the transaction that writes it.

    Takes the per-person transaction lock first, then counts the person's voids of today (the
    location's calendar day). Raises ``VoidNeedsApproval`` when the void is past the limits
    and nobody else approved it (``approved_by`` missing, or the person themselves), and
    ``Forbidden`` (``reason: "no_actor"``) when nobody is named to count it against.
    """
    actor = employee_id if employee_id is not None else user_id
    if actor is None:
        raise Forbidden("a void is made by someone signed in", reason="no_actor")
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"fynlo.void_limit:{actor}"
    )
    if role is Role.owner:
        return
    timezone = await conn.fetchval(
        "SELECT timezone FROM locations WHERE id = $1 AND restaurant_id = $2",
        location_id,
        restaurant_id,
    )
    if timezone is None:
        raise NotFound("no such location")
    limits = await load_limits(conn, restaurant_id)
    today = await conn.fetchrow(
        "SELECT count(*) AS voids, coalesce(sum(amount), 0)::bigint AS voided FROM order_voids"
        " WHERE restaurant_id = $1 AND (employee_id = $2 OR user_id = $2)"
        " AND voided_at >= date_trunc('day', now() AT TIME ZONE $3) AT TIME ZONE $3"
        " AND voided_at < (date_trunc('day', now() AT TIME ZONE $3) + interval '1 day')"
        " AT TIME ZONE $3",
        restaurant_id,
        actor,
        timezone,
    )
    if today["voids"] + 1 <= limits.count and today["voided"] + amount <= limits.amount:
        return
    details: dict[str, Any] = {
        "needs_approval": True,
        "permission": PERMISSION,
        "voids_today": today["voids"],
        "voided_today": today["voided"],
        "void_limit_count": limits.count,
        "void_limit_amount": limits.amount,
    }
    if approved_by is None:
        raise VoidNeedsApproval(
            "past today's void limit: a manager must approve this void", **details
        )
    if approved_by in (employee_id, user_id):
        raise VoidNeedsApproval(
            "past today's void limit: another manager must approve this void",
            reason="approval_by_self",
            **details,
        )


async def record_void(
    conn: asyncpg.Connection,
    *,
    restaurant_id: UUID,
    location_id: UUID,
    order_id: UUID,
    employee_id: UUID | None,
    user_id: UUID | None,
    approved_by: UUID | None,
    amount: int,
) -> None:
    """Count the void of ``order_id`` against the person who made it, now, in the caller's
    transaction; a second record of the same order changes nothing. The foreign key to the
    order is checked at commit, so the order may be written after this in the transaction."""
    if employee_id is None and user_id is None:
        raise ValueError("a void is recorded against an employee or a user")
    await conn.execute(
        "INSERT INTO order_voids (order_id, restaurant_id, location_id, employee_id, user_id,"
        " approved_by, amount) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (order_id) DO NOTHING",
        order_id,
        restaurant_id,
        location_id,
        employee_id,
        user_id,
        approved_by,
        amount,
    )
