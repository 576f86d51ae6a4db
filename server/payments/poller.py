"""The safety net under webhooks: finds payments and refunds that are stuck and settles them.

Webhooks can be late or lost, and a provider call can die without an answer. Each sweep, in
bounded batches:

1. asks the provider about payments still waiting after their expiry (a QR's 15 minutes)
   or quiet for a while, and cancels those that are still open past expiry: they end
   ``expired``, which offers the card fallback;
2. calls the provider again for payments whose creation never got an answer, with the same
   idempotency key, so it finds the object it may already have made instead of a new one;
3. sends refunds that are still pending without a provider reference, again with their key;
4. fetches the provider's own fee for recent succeeded payments that have none yet, where
   the provider's payment carries it;
5. deletes idempotency keys past their retention.

Every step is idempotent, so two processes sweeping at once do no harm.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import asyncpg

from server.db.engine import connection, transaction
from server.payments import gateway, idempotency
from server.payments.providers.base import (
    NewPayment,
    ProviderPayment,
    ProviderRefused,
    ProviderUnavailable,
)
from server.payments.refunds import send_refund
from server.payments.services import record_outcome, statement_reference
from server.payments.states import ENDINGS, PaymentState

log = logging.getLogger("fynlo.payments.poller")

BATCH = 100
QUIET = timedelta(minutes=2)
"""A waiting payment with no news for this long is asked about, expired or not."""


@dataclass
class Sweep:
    checked: int = 0
    moved: int = 0
    expired: int = 0
    resumed: int = 0
    refunds_sent: int = 0
    fees_recorded: int = 0
    keys_purged: int = 0
    unreachable: int = 0


async def sweep() -> Sweep:
    report = Sweep()
    async with connection() as conn:
        waiting = await conn.fetch(
            "SELECT id, provider, provider_reference, expires_at < now() AS past_expiry"
            " FROM payments WHERE state IN ('awaiting_customer', 'authorizing')"
            " AND provider_reference IS NOT NULL"
            " AND (expires_at < now() OR updated_at < now() - $1::interval)"
            " ORDER BY created_at LIMIT $2",
            QUIET,
            BATCH,
        )
        unanswered = await conn.fetch(
            "SELECT p.*, o.number AS order_number FROM payments p"
            " JOIN orders o ON o.id = p.order_id"
            " WHERE p.state = 'created' AND p.provider_reference IS NULL"
            " AND p.method <> 'apple_pay' AND p.created_at < now() - interval '1 minute'"
            " ORDER BY p.created_at LIMIT $1",
            BATCH,
        )
        refunds = await conn.fetch(
            "SELECT id FROM refunds WHERE state = 'pending' AND provider_reference IS NULL"
            " AND created_at < now() - interval '30 seconds' ORDER BY created_at LIMIT $1",
            BATCH,
        )
        unpriced = await conn.fetch(
            "SELECT id, provider, provider_reference FROM payments WHERE state = 'succeeded'"
            " AND provider_fee IS NULL AND provider <> 'cash' AND provider_reference IS NOT NULL"
            " AND succeeded_at > now() - interval '1 day'"
            " ORDER BY succeeded_at LIMIT $1",
            BATCH,
        )
    for row in waiting:
        await _check(
            row["id"], row["provider"], row["provider_reference"], row["past_expiry"], report
        )
    for row in unanswered:
        await _resume(row, report)
    for row in refunds:
        try:
            await send_refund(row["id"])
            report.refunds_sent += 1
        except ProviderUnavailable:
            report.unreachable += 1
    for row in unpriced:
        # Only where the payment itself carries the fee (Stripe's balance transaction); a
        # pay-by-bank fee is in the merchant account's books, read by `fynlo reconcile`.
        provider = gateway.current().providers.get(row["provider"])
        if not getattr(provider, "fees_in_status", False):
            continue
        result = await _ask(row["provider"], row["provider_reference"], report)
        if result is not None and result.provider_fee is not None:
            await record_outcome(row["id"], result, source="poller")
            report.fees_recorded += 1
    async with transaction() as conn:
        report.keys_purged = await idempotency.purge_expired(conn)
    return report


async def _ask(provider: str, reference: str, report: Sweep) -> ProviderPayment | None:
    report.checked += 1
    try:
        return await gateway.current().call(provider, lambda p: p.status(reference))
    except (ProviderUnavailable, ProviderRefused):
        report.unreachable += 1
        return None


async def _check(
    payment_id: UUID, provider: str, reference: str, past_expiry: bool, report: Sweep
) -> None:
    result = await _ask(provider, reference, report)
    if result is None:
        return
    if result.state not in ENDINGS and past_expiry:
        try:
            result = await gateway.current().call(provider, lambda p: p.cancel(reference))
        except (ProviderUnavailable, ProviderRefused):
            report.unreachable += 1
            return
        if result.state is PaymentState.canceled:
            # We stopped it because its time ran out: that is an expiry, not a staff cancel.
            result = ProviderPayment(
                reference=result.reference, state=PaymentState.expired, failure_reason="expired"
            )
    if await record_outcome(payment_id, result, source="poller"):
        report.moved += 1
        report.expired += result.state is PaymentState.expired


async def _resume(row: asyncpg.Record, report: Sweep) -> None:
    # Exactly the parameters of the first attempt: a provider refuses a reused key with
    # different ones.
    payment = NewPayment(
        payment_id=row["id"],
        amount=row["charged"],
        currency=row["currency"].strip(),
        reference=statement_reference(row["order_number"]),
        expires_at=row["expires_at"],
    )
    try:
        result = await gateway.current().call(row["provider"], lambda p: p.create(payment))
    except ProviderUnavailable:
        report.unreachable += 1
        return
    except ProviderRefused as exc:
        result = ProviderPayment(reference="", state=PaymentState.failed, failure_reason=exc.reason)
    report.resumed += 1
    await record_outcome(payment.payment_id, result, source="poller")


async def run_forever(interval_seconds: float) -> None:
    """Sweep every ``interval_seconds`` until cancelled (the app's lifespan owns the task)."""
    while True:
        await asyncio.sleep(interval_seconds)  # the first sweep, too, one interval after start
        try:
            report = await sweep()
            if report.moved or report.resumed or report.refunds_sent or report.unreachable:
                log.info("payments sweep", extra={"sweep": report.__dict__})
        except Exception:  # a bad sweep must not stop the next one
            log.exception("payments sweep failed")
