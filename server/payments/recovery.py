"""Payments whose provider answer was lost: found, finished or stopped, exactly once.

A provider call can do its work and lose its answer on the way back (a timeout, a dropped
connection). Our row then lags behind the provider: still ``created`` with no reference, or
``awaiting_customer`` while the provider has already charged, or is waiting for a confirm
that never arrived. Whoever comes next — the till's retry with the same Idempotency-Key,
the poller, ``fynlo payments sweep``, a cancel — carries the payment on by the one rule
below, so all of them reach the same end:

1. **Find** the provider's object: by the reference we hold; else by sending the create
   again with the same idempotency key and exactly the same parameters (the provider replays
   its first answer, or makes it now if the first never arrived). Past the deadline, and
   for Apple Pay, whose wallet token we never keep (only the till's own retry has it),
   nothing that could make a payment is sent: the PaymentIntent is looked up by our id.
2. **Read** where it stands now (a replayed answer is as old as the first call).
3. If it has ended, that is the outcome. If it is authorised and waits for our capture (a
   card in person), it is **captured**, whatever the deadline, unless held for a manager.
4. If it is past its deadline (a QR's 15 minutes, or a card's), **cancel** it at the
   provider; it ends ``expired``, or as the provider says if it ended meanwhile.
5. If it waits for a card and we hold the card the till asked us to charge, **confirm**
   with it, with the same idempotency key as the confirm whose answer was lost: a confirm
   that did reach the provider is replayed, never repeated. If the provider refuses that
   card, the payment is canceled at the provider and ends ``failed``.
6. Otherwise it keeps waiting (for the customer, or the till) until its deadline.

A card taken offline is made at the provider only by the iPad that forwards it: it is only
ever looked up (``FindsForwarded``), never created.

Nothing here touches the database: callers record the outcome (``services.record_outcome``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import msgspec

from server.payments import qr
from server.payments.fees import Method
from server.payments.providers.base import (
    CapturesCards,
    ConfirmsCards,
    FindsForwarded,
    FindsPayments,
    NewPayment,
    Payer,
    Provider,
    ProviderPayment,
    ProviderRefused,
    ProviderUnavailable,
)
from server.payments.states import ENDINGS, PaymentState

CARD_DEADLINE = timedelta(minutes=15)
"""How long a card or Apple Pay payment may wait for its card before it is canceled at the
provider: as long as a QR code's (``FYNLO_PAYMENT_QR_TTL_SECONDS``' default)."""
KEY_RETENTION = timedelta(hours=23)
"""Stripe may forget an idempotency key once it is 24 hours old: a create resent after that
could make a second payment, so an older payment is only ever looked up by our id."""
NEVER_REACHED = "never_reached_provider"
"""``failure_reason`` of a payment the provider has no trace of."""


@dataclass(frozen=True)
class Held:
    """What we hold to finish a payment: the till's card, or (only in the till's own retry)
    its Apple Pay token."""

    payment_method: str | None = None
    wallet_token: str | None = None


def statement_reference(order_number: str) -> str:
    """What the customer's statement shows: the order number, the same on every retry."""
    return f"Fynlo {order_number}"


def new_payment(row: asyncpg.Record, wallet_token: str | None = None) -> NewPayment:
    """The create exactly as first sent: a provider refuses a reused key with other
    parameters. ``row`` is a payment joined with its order's ``order_number``."""
    bank = row["method"] == Method.open_banking
    payer = None
    if bank and row["payer"] is not None:
        payer = msgspec.json.decode(row["payer"], type=Payer)
    return NewPayment(
        payment_id=row["id"],
        amount=row["charged"],
        currency=row["currency"].strip(),
        reference=statement_reference(row["order_number"]),
        expires_at=row["expires_at"] if row["method"] == Method.open_banking else None,
        wallet_token=wallet_token,
        in_person=row["method"] == Method.card_present,
        payer=payer,
        return_uri=qr.return_uri() if bank else None,
        merchant_account_id=row["merchant_account_id"] if bank else None,
    )


def refused(reason: str) -> ProviderPayment:
    """The outcome of a payment its provider would not make."""
    return ProviderPayment(reference="", state=PaymentState.failed, failure_reason=reason)


async def locate(
    provider: Provider, row: asyncpg.Record, held: Held, *, make: bool = True
) -> ProviderPayment | None:
    """Step 1: the provider's object for this payment, None if it provably has none.

    With ``make`` False (past the deadline, or to cancel) nothing is sent that could make a
    payment: a provider that can look one up by our id is asked that instead.
    """
    if row["provider_reference"] is not None:
        return ProviderPayment(
            reference=row["provider_reference"], state=PaymentState(row["state"])
        )
    if row["offline_stored_at"] is not None:
        made = await forwarded(provider, row["id"])
        return made[0] if made else None
    if row["method"] == Method.open_banking and row["payer"] is None:
        return None  # made at the provider only once the payer gives their details
    keys_kept = row["created_at"] > datetime.now(UTC) - KEY_RETENTION
    can_make = (
        make and keys_kept and (row["method"] != Method.apple_pay or held.wallet_token is not None)
    )
    if not can_make and isinstance(provider, FindsPayments):
        return await provider.find(row["id"], row["created_at"])
    if row["method"] == Method.apple_pay and held.wallet_token is None:
        raise ProviderUnavailable(f"{provider.name} cannot find a payment by our id")
    # Pay by bank has no look-up; its create takes no money (the customer must approve).
    return await provider.create(new_payment(row, held.wallet_token))


def never_reached() -> ProviderPayment:
    """The outcome of a payment its provider has no trace of."""
    return ProviderPayment(reference="", state=PaymentState.failed, failure_reason=NEVER_REACHED)


async def settle(
    provider: Provider, row: asyncpg.Record, *, held: Held, past_deadline: bool
) -> ProviderPayment | None:
    """Steps 1 to 6 for one payment that has not ended here; None if the provider has no
    trace of it (the caller decides whether it is too early to say it never arrived)."""
    located = await locate(provider, row, held, make=not past_deadline)
    if located is None:
        return None
    now = await provider.status(located.reference)
    # A create's answer brings what a status read does not (the QR link, the client secret).
    current = msgspec.structs.replace(
        now,
        link=now.link or located.link,
        client_secret=now.client_secret or located.client_secret,
    )
    if current.state in ENDINGS:
        return current
    if current.capturable:
        if row["capture_hold"] is not None or not isinstance(provider, CapturesCards):
            return current  # a manager decides; the sweep lists it until then
        return await provider.capture(current.reference)
    if past_deadline:
        return await expire(provider, current.reference)
    card = held.payment_method
    if (
        card is not None
        and row["method"] == Method.card
        and current.state is PaymentState.awaiting_customer
        and isinstance(provider, ConfirmsCards)
    ):
        try:
            return await provider.confirm(current.reference, card)
        except ProviderRefused as exc:
            return await _stop(provider, current.reference, exc.reason)
    return current


async def forwarded(provider: Provider, payment_id: UUID) -> list[ProviderPayment]:
    """The payments an iPad's forward made for a card taken offline, oldest first."""
    if not isinstance(provider, FindsForwarded):
        raise ProviderUnavailable(f"{provider.name} takes no offline cards")
    return await provider.find_forwarded(payment_id)


async def expire(provider: Provider, reference: str) -> ProviderPayment:
    """Cancel a payment whose time ran out: ``expired``, unless it ended meanwhile."""
    result = await cancel_or_read(provider, reference)
    if result.state is PaymentState.canceled:
        # We stopped it because its time ran out: that is an expiry, not a staff cancel.
        return ProviderPayment(
            reference=result.reference, state=PaymentState.expired, failure_reason="expired"
        )
    return result


async def cancel_or_read(provider: Provider, reference: str) -> ProviderPayment:
    """Cancel at the provider; if it is too late to (the money is moving), where it is."""
    try:
        return await provider.cancel(reference)
    except ProviderRefused:
        return await provider.status(reference)


async def _stop(provider: Provider, reference: str, reason: str) -> ProviderPayment:
    """A payment that cannot finish with the card we hold: canceled there, failed here."""
    result = await cancel_or_read(provider, reference)
    if result.state is PaymentState.canceled:
        return ProviderPayment(
            reference=reference, state=PaymentState.failed, failure_reason=reason
        )
    return result  # it ended otherwise meanwhile, or its money is moving: as it stands
