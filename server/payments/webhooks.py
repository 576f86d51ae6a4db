"""Provider webhooks: verified on the raw body, applied once, never backwards.

Providers deliver at least once and in any order. The event id goes into
``provider_events`` in the same transaction as its effect, so a repeat is acknowledged and
ignored; the state only moves forward (``states.advance``), so a late ``processing`` after
``succeeded`` changes nothing. An event for a payment or refund we cannot find is answered
404, which makes the provider retry instead of dropping it (our row is written before the
provider is called, so this only happens for an object that is not ours, or not yet
committed).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from uuid import UUID

import asyncpg

from server.db.engine import transaction
from server.payments import gateway, in_person, ledger
from server.payments import schemas as s
from server.payments.errors import (
    InvalidWebhook,
    ProviderDown,
    UnknownWebhookTarget,
    WebhookNotConfigured,
)
from server.payments.providers.base import ProviderEvent, ProviderUnavailable, WebhookRejected
from server.payments.services import record_outcome
from server.payments.states import PaymentState, RefundState

log = logging.getLogger("fynlo.payments.webhooks")


async def receive(provider_name: str, headers: Mapping[str, str], body: bytes) -> s.WebhookAck:
    try:
        provider = gateway.current().provider(provider_name)
    except ProviderUnavailable as exc:
        raise WebhookNotConfigured(str(exc)) from exc
    try:
        event = await provider.verify_webhook(headers, body)
    except WebhookRejected as exc:
        log.warning("webhook rejected", extra={"provider": provider_name, "reason": str(exc)})
        raise InvalidWebhook(str(exc)) from exc
    except ProviderUnavailable as exc:  # its signing keys could not be fetched: retry later
        raise ProviderDown(str(exc), retry_after_seconds=30) from exc
    if event is None:
        return s.WebhookAck(received=True, duplicate=False)
    async with transaction() as conn:
        fresh = await conn.fetchval(
            "INSERT INTO provider_events (provider, event_id) VALUES ($1, $2)"
            " ON CONFLICT DO NOTHING RETURNING true",
            provider_name,
            event.event_id,
        )
        if not fresh:
            return s.WebhookAck(received=True, duplicate=True)
        payment, moved, duplicate_of = None, False, None
        if event.kind == "payment":
            duplicate_of = await _second_forward(conn, provider_name, event)
            if duplicate_of is None:
                moved, payment = await _apply_to_payment(conn, provider_name, event)
        else:
            await _apply_to_refund(conn, provider_name, event)
    if duplicate_of is not None:
        await in_person.release_duplicate(duplicate_of, event.reference)
        return s.WebhookAck(received=True, duplicate=False)
    if payment is not None and event.capturable:
        await in_person.capture_due(payment["id"])
    # Stripe's fee is often not in the success event (asynchronous capture: it comes later,
    # with ``charge.updated``): whenever a succeeded payment still has none, ask for it.
    if (
        payment is not None
        and event.state is PaymentState.succeeded
        and event.provider_fee is None
        and payment["provider_fee"] is None
        and (moved or payment["state"] == PaymentState.succeeded)
    ):
        await _fetch_fee(provider_name, payment["id"], event.reference)
    return s.WebhookAck(received=True, duplicate=False)


async def _apply_to_payment(
    conn: asyncpg.Connection, provider_name: str, event: ProviderEvent
) -> tuple[bool, asyncpg.Record]:
    payment = await conn.fetchrow(
        "SELECT * FROM payments WHERE provider = $1 AND"
        " (provider_reference = $2 OR (provider_reference IS NULL AND id = $3)) FOR UPDATE",
        provider_name,
        event.reference,
        event.payment_id,
    )
    if payment is None:
        raise UnknownWebhookTarget(f"no payment for {provider_name} {event.reference}")
    moved = await ledger.move_payment(
        conn,
        payment,
        PaymentState(event.state),
        source=f"webhook:{provider_name}",
        provider_event_id=event.event_id,
        failure_reason=event.failure_reason,
        provider_fee=event.provider_fee,
        reference=event.reference,
    )
    if event.settlement is not None:
        moved |= await ledger.record_settlement(
            conn, payment["id"], event.settlement, source=f"webhook:{provider_name}"
        )
    if not moved and event.state is PaymentState.succeeded and payment["state"] != "succeeded":
        # The provider took the money for a payment that had failed here: never silently.
        # `fynlo reconcile` lists it for a refund.
        log.error(
            "provider reports success for an ended payment",
            extra={"payment_id": str(payment["id"]), "state": payment["state"]},
        )
    return moved, payment


async def _second_forward(
    conn: asyncpg.Connection, provider_name: str, event: ProviderEvent
) -> UUID | None:
    """Our payment, if ``event`` is about another PaymentIntent made for a card taken offline
    whose own intent we already have (a forward that went twice)."""
    if event.payment_id is None:
        return None
    found: UUID | None = await conn.fetchval(
        "SELECT id FROM payments WHERE id = $1 AND provider = $2"
        " AND offline_stored_at IS NOT NULL AND provider_reference <> $3",
        event.payment_id,
        provider_name,
        event.reference,
    )
    return found


async def _apply_to_refund(
    conn: asyncpg.Connection, provider_name: str, event: ProviderEvent
) -> None:
    refund = await conn.fetchrow(
        "SELECT r.* FROM refunds r JOIN payments p ON p.id = r.payment_id"
        " WHERE p.provider = $1 AND (r.provider_reference = $2"
        " OR (r.provider_reference IS NULL AND r.id = $3)) FOR UPDATE OF r",
        provider_name,
        event.reference,
        event.refund_id,
    )
    if refund is None:
        raise UnknownWebhookTarget(f"no refund for {provider_name} {event.reference}")
    await ledger.move_refund(
        conn,
        refund,
        RefundState(event.state),
        source=f"webhook:{provider_name}",
        provider_event_id=event.event_id,
        failure_reason=event.failure_reason,
        reference=event.reference,
    )


async def _fetch_fee(provider_name: str, payment_id: UUID, reference: str) -> None:
    """Record the provider's own fee when the success event did not carry it (best effort:
    the poller and `fynlo reconcile` fill in any that are still missing)."""
    try:
        status = await gateway.current().call(provider_name, lambda p: p.status(reference))
    except ProviderUnavailable:
        return
    if status.provider_fee is not None:
        await record_outcome(payment_id, status, source=f"fee:{provider_name}")
