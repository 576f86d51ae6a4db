"""What each method costs a customer here: the fee schedule in force, the restaurant's
surcharge policy, and the quote the till shows before the customer chooses."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from server.db.engine import connection, transaction
from server.payments import schemas as s
from server.payments.fees import FeeSchedule, Method, fee_for, load_schedule
from server.payments.fees import quote as quote_fees
from server.settings import get_settings

_schedule: FeeSchedule | None = None


def schedule() -> FeeSchedule:
    """The fee schedule in force (from ``fee_schedule_file``, else the product plan)."""
    global _schedule
    if _schedule is None:
        _schedule = load_schedule(get_settings().fee_schedule_file)
    return _schedule


async def surcharge_policy(conn: asyncpg.Connection, restaurant_id: UUID) -> s.SurchargePolicy:
    policy = await conn.fetchval(
        "SELECT surcharge FROM payment_policies WHERE restaurant_id = $1", restaurant_id
    )
    return "pass_on" if policy == "pass_on" else "absorb"


def surcharge_for(amount: int, method: Method, policy: s.SurchargePolicy) -> int:
    """The fee the customer may be asked to add; zero when the restaurant absorbs fees."""
    if policy == "absorb":
        return 0
    return fee_for(amount, method, schedule()).total_fee


async def quote(*, restaurant_id: UUID, amount: int) -> s.Quote:
    async with connection() as conn:
        policy = await surcharge_policy(conn, restaurant_id)
        currency = await conn.fetchval(
            "SELECT currency FROM restaurants WHERE id = $1", restaurant_id
        )
    fees = schedule()
    methods = []
    for fee in quote_fees(amount, fees):
        surcharge = surcharge_for(amount, fee.method, policy)
        methods.append(
            s.MethodQuote(
                method=fee.method,
                provider_fee=fee.provider_fee,
                platform_fee=fee.platform_fee,
                total_fee=fee.total_fee,
                saving_vs_card=fee.saving_vs_card,
                surcharge=surcharge,
                customer_pays=amount + surcharge,
            )
        )
    return s.Quote(
        amount=amount,
        currency=currency,
        schedule=fees.version,
        surcharge_policy=policy,
        methods=methods,
    )


async def get_policy(*, restaurant_id: UUID) -> s.Policy:
    async with connection() as conn:
        return s.Policy(surcharge=await surcharge_policy(conn, restaurant_id))


async def set_policy(*, restaurant_id: UUID, surcharge: s.SurchargePolicy) -> s.Policy:
    async with transaction() as conn:
        await conn.execute(
            "INSERT INTO payment_policies (restaurant_id, surcharge) VALUES ($1, $2)"
            " ON CONFLICT (restaurant_id) DO UPDATE SET surcharge = excluded.surcharge,"
            " updated_at = now()",
            restaurant_id,
            surcharge,
        )
    return s.Policy(surcharge=surcharge)
