"""The safety net under webhooks: finds payments and refunds that are stuck and settles them.

Webhooks can be late or lost, and a provider call can die without an answer. Each sweep, in
bounded batches:

1. carries on payments still waiting after their deadline (a QR's or a card's 15 minutes)
   or quiet for a while, by ``recovery``'s rule: it reads where each stands, confirms one
   waiting for the card the till asked us to charge (same card, same idempotency key), and
   cancels those still open past their deadline: they end ``expired``, which offers the
   card fallback;
2. does the same for payments whose creation never got an answer (a pay-by-bank payment's
   once its payer gave their details): the create is sent again with the same idempotency
   key (so it finds the object it may already have made instead of a new one), or, for
   Apple Pay, whose token we never keep, the PaymentIntent is looked up by our id; one the
   provider has no trace of ends ``failed`` (``never_reached_provider``), unless a request
   is working on it right now; a pay-by-bank QR whose payer never started ends ``expired``
   at its deadline without a provider call;
3. sends refunds that are still pending without a provider reference, again with their key
   (a pay-by-bank refund once its payment's money has settled);
4. finds the PaymentIntents of cards taken offline that iPads have forwarded since
   (``offline_cards.settle_forwarded``): each is matched to its payment once, captured, or
   failed with its order reopened;
5. fetches the provider's own fee for recent succeeded payments that have none yet, where
   the provider's payment carries it;
6. deletes idempotency keys past their retention.

A bank payment still authorising 20 minutes after its payer went to the bank is put on the
attention list at step 1, once (``attention.flag_not_executing``).

A card in person that is authorised is captured at step 1 (``recovery.settle``), so an
authorisation never lapses unnoticed; one held for a manager is left to the manager.

Every step is idempotent, so two processes sweeping at once would do no harm; still, a server
sweeps only while it holds the lease ``payments_sweep`` (``server/background/leases.py``), so
a fleet sweeps once per interval, not once per server (and asks the providers once).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import asyncpg

from server.db.engine import connection, transaction
from server.payments import attention, gateway, idempotency, ledger, offline_cards, recovery
from server.payments.providers.base import ProviderPayment, ProviderRefused, ProviderUnavailable
from server.payments.refunds import send_refund
from server.payments.services import record_outcome
from server.payments.states import PaymentState

log = logging.getLogger("fynlo.payments.poller")

BATCH = 100
QUIET = timedelta(minutes=2)
"""A waiting payment with no news for this long is asked about, expired or not."""
_PAYMENTS = (
    "SELECT p.*, o.number AS order_number, p.expires_at < now() AS past_expiry"
    " FROM payments p JOIN orders o ON o.id = p.order_id"
)


@dataclass
class Sweep:
    checked: int = 0
    moved: int = 0
    expired: int = 0
    resumed: int = 0
    never_reached: int = 0
    forwarded: int = 0
    refunds_sent: int = 0
    fees_recorded: int = 0
    keys_purged: int = 0
    unreachable: int = 0
    flagged: int = 0


async def sweep() -> Sweep:
    report = Sweep()
    async with connection() as conn:
        waiting = await conn.fetch(
            f"{_PAYMENTS} WHERE p.state IN ('awaiting_customer', 'authorizing')"
            " AND p.provider_reference IS NOT NULL AND p.capture_hold IS NULL"
            " AND (p.expires_at < now() OR p.updated_at < now() - $1::interval)"
            " ORDER BY p.created_at LIMIT $2",
            QUIET,
            BATCH,
        )
        unanswered = await conn.fetch(
            f"{_PAYMENTS} WHERE p.provider_reference IS NULL"
            " AND (p.state = 'created' OR (p.state = 'awaiting_customer' AND p.payer IS NOT NULL))"
            # Quiet for a minute since it was made, or since its payer gave their details.
            " AND CASE WHEN p.state = 'created' THEN p.created_at ELSE p.updated_at END"
            "   < now() - interval '1 minute'"
            " ORDER BY p.created_at LIMIT $1",
            BATCH,
        )
        unscanned = await conn.fetch(
            "SELECT id FROM payments WHERE method = 'open_banking' AND state = 'awaiting_customer'"
            " AND payer IS NULL AND expires_at < now() ORDER BY expires_at LIMIT $1",
            BATCH,
        )
        unforwarded = await conn.fetch(
            f"{_PAYMENTS} WHERE p.offline_stored_at IS NOT NULL"
            " AND p.provider_reference IS NULL AND p.state = 'authorizing'"
            " ORDER BY p.offline_stored_at LIMIT $1",
            BATCH,
        )
        refunds = await conn.fetch(
            "SELECT r.id FROM refunds r JOIN payments p ON p.id = r.payment_id"
            " WHERE r.state = 'pending' AND r.provider_reference IS NULL"
            " AND (r.created_at < now() - interval '30 seconds' OR p.method = 'open_banking')"
            # A bank refund waits for its money to settle (``refunds.send_refund``).
            " AND (p.method <> 'open_banking' OR p.settlement = 'settled')"
            " ORDER BY r.created_at LIMIT $1",
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
        await _check(row, report)
    for row in unanswered:
        await _resume(row, report)
    for row in unscanned:
        report.expired += await _expire_unscanned(row["id"])
    for row in unforwarded:
        try:
            report.forwarded += await offline_cards.settle_forwarded(row)
        except (ProviderUnavailable, ProviderRefused):
            report.unreachable += 1
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


async def _carry_on(row: asyncpg.Record) -> ProviderPayment | None:
    held = recovery.Held(payment_method=row["payment_method"])
    return await gateway.current().call(
        row["provider"],
        lambda p: recovery.settle(p, row, held=held, past_deadline=bool(row["past_expiry"])),
    )


async def _check(row: asyncpg.Record, report: Sweep) -> None:
    report.checked += 1
    try:
        result = await _carry_on(row)
    except (ProviderUnavailable, ProviderRefused):
        report.unreachable += 1
        return
    if result is not None and await record_outcome(row["id"], result, source="poller"):
        report.moved += 1
        report.expired += result.state is PaymentState.expired
    elif row["state"] == PaymentState.authorizing:
        async with transaction() as conn:
            report.flagged += await attention.flag_not_executing(conn, row)


async def _resume(row: asyncpg.Record, report: Sweep) -> None:
    try:
        result = await _carry_on(row)
    except ProviderUnavailable:
        report.unreachable += 1
        return
    except ProviderRefused as exc:
        result = ProviderPayment(reference="", state=PaymentState.failed, failure_reason=exc.reason)
    if result is None:
        report.never_reached += await _never_reached(row["id"])
        return
    report.resumed += 1
    await record_outcome(row["id"], result, source="poller")


async def _never_reached(payment_id: UUID) -> bool:
    """End a payment its provider has no trace of, unless a request (the till's retry,
    holding its Idempotency-Key's lease) may be making it there right now. The payment row is
    locked first; a retry locks it too before it reads it, so one of them sees the other."""
    async with transaction() as conn:
        row = await ledger.lock_payment(conn, payment_id)
        if (
            row is None
            or row["state"] != PaymentState.created
            or row["provider_reference"] is not None
            or await idempotency.working_on(conn, payment_id)
        ):
            return False
        return await ledger.move_payment(
            conn, row, PaymentState.failed, source="poller", failure_reason=recovery.NEVER_REACHED
        )


async def _expire_unscanned(payment_id: UUID) -> bool:
    """A QR whose payer never gave their details: nothing exists at the provider, so it
    simply expires here (the payer page refuses to start it once its time is up)."""
    async with transaction() as conn:
        row = await ledger.lock_payment(conn, payment_id)
        if row is None or row["state"] != PaymentState.awaiting_customer or row["payer"]:
            return False
        return await ledger.move_payment(
            conn, row, PaymentState.expired, source="poller", failure_reason="expired"
        )


async def sweep_and_log() -> None:
    """One sweep, logged when it did or met something (the lifespan runs it under a lease)."""
    report = await sweep()
    if (
        report.moved
        or report.resumed
        or report.forwarded
        or report.refunds_sent
        or report.unreachable
    ):
        log.info("payments sweep", extra={"sweep": report.__dict__})
