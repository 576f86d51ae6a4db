"""What every payment provider offers the payments service, in our own words.

A provider translates between our one state machine (``server.payments.states``) and its own
API. It never touches the database: the service writes the payment row first, then asks the
provider, then records what the provider said. Every call that creates something carries an
idempotency key derived from our own ids, so a retry after a lost response can never create
a second charge at the provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Literal, Protocol, runtime_checkable
from uuid import UUID

import msgspec

from server.payments.states import PaymentState, RefundState


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered 5xx; the outcome of the call is unknown.

    The payment stays as it was; the same call may be retried (same idempotency key).
    """


class ProviderRefused(Exception):
    """The provider understood the call and said no (a decline, an invalid amount)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class WebhookRejected(Exception):
    """A webhook whose signature, timestamp or body does not verify. Nothing may change."""


class Payer(msgspec.Struct, frozen=True, kw_only=True):
    """Who pays by bank, as the payer typed it on our page before the bank step: TrueLayer
    requires the remitter's name, and from a client it does not regulate an email or a
    phone number too (docs.truelayer.com/docs/end-user-information-payments)."""

    name: str
    email: str | None = None
    phone: str | None = None
    """With its country code, e.g. ``+447700900123``."""


class Settlement(StrEnum):
    """Where pay-by-bank money stands after the bank executed it (TrueLayer's merchant
    account: ``payment_creditable``, ``payment_settled``, ``payment_settlement_stalled``,
    ``payment_reversed``). The payment is ``succeeded`` from ``executed`` on; this says
    whether the money reached our account, is stuck, or went back."""

    executed = "executed"
    """The bank sent it; the merchant account has not received it yet."""
    creditable = "creditable"
    """TrueLayer says the money will be credited to the merchant account."""
    settled = "settled"
    """In the merchant account: refundable from here."""
    stalled = "stalled"
    """Settlement stopped (TrueLayer is checking it): the money may never arrive."""
    reversed = "reversed"
    """The money went back to the payer after it settled."""


class NewPayment(msgspec.Struct, frozen=True, kw_only=True):
    payment_id: UUID
    """Our id: the provider's idempotency key and metadata are derived from it."""
    amount: int
    """Minor units the customer is charged (sale + tip + any surcharge)."""
    currency: str
    reference: str
    """Shown on the customer's bank statement or receipt, e.g. the order number."""
    expires_at: datetime | None = None
    wallet_token: str | None = None
    """Apple Pay: the payment token from PassKit, turned into a card PaymentMethod."""
    in_person: bool = False
    """A card presented at the till (Stripe Terminal): authorised there, captured by us."""
    payer: Payer | None = None
    """Pay by bank: who pays (required by the provider)."""
    return_uri: str | None = None
    """Pay by bank: where the hosted payment page sends the payer back to (our result page)."""
    merchant_account_id: str | None = None
    """Pay by bank: the restaurant's own merchant account, if it has one for the currency;
    None: the platform's account for the currency."""


class ProviderPayment(msgspec.Struct, frozen=True, kw_only=True):
    reference: str
    """The provider's id for this payment (a PaymentIntent id, a TrueLayer payment id)."""
    state: PaymentState
    link: str | None = None
    """Where the customer approves the payment (the hosted payment page behind the QR)."""
    client_secret: str | None = None
    """What a Stripe client needs to confirm a card on the iPad."""
    failure_reason: str | None = None
    provider_fee: int | None = None
    """The provider's own fee in minor units, once it reports one (never recomputed)."""
    capturable: bool = False
    """Authorised and waiting for our capture (a card in person)."""
    tip: int | None = None
    """A tip the customer added on the card reader, in minor units (part of the amount)."""
    settlement: Settlement | None = None
    """Pay by bank, once succeeded: where the money stands (None for other providers)."""


class ProviderRefund(msgspec.Struct, frozen=True, kw_only=True):
    reference: str
    state: RefundState
    failure_reason: str | None = None


class ProviderEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One verified webhook, reduced to what changes our records."""

    event_id: str
    """The provider's event id; an event seen before is acknowledged and ignored."""
    kind: Literal["payment", "refund"]
    reference: str
    """The provider's id of the payment or refund the event is about."""
    payment_id: UUID | None
    """Our payment id, from the metadata we sent, when the provider echoes it."""
    refund_id: UUID | None = None
    """Our refund id, for refund events whose provider echoes our metadata."""
    state: PaymentState | RefundState
    occurred_at: datetime
    failure_reason: str | None = None
    provider_fee: int | None = None
    capturable: bool = False
    """The payment is authorised and waits for our capture."""
    settlement: Settlement | None = None
    """Pay by bank: the settlement step this event reports (see ``Settlement``)."""


class Provider(Protocol):
    name: str
    """``stripe`` or ``open_banking``: stored on the payment, names the webhook route."""

    async def create(self, payment: NewPayment) -> ProviderPayment: ...

    async def status(self, reference: str) -> ProviderPayment: ...

    async def cancel(self, reference: str) -> ProviderPayment: ...

    async def refund(
        self, reference: str, *, refund_id: UUID, amount: int, currency: str
    ) -> ProviderRefund: ...

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> ProviderEvent | None:
        """The event in a signed webhook, or None for event kinds we do not act on.

        Raises WebhookRejected if the signature, timestamp (older than 300 s) or body is bad.
        """
        ...


@runtime_checkable
class ConfirmsCards(Protocol):
    """A provider that charges a waiting payment with a card the till holds (Stripe)."""

    async def confirm(self, reference: str, payment_method: str) -> ProviderPayment:
        """Charge ``payment_method``; the idempotency key is made from both arguments, so
        confirming again with the same card reaches the first attempt's outcome."""
        ...


@runtime_checkable
class FindsPayments(Protocol):
    """A provider that can find one of its payments by our id, without making one."""

    async def find(self, payment_id: UUID, created_at: datetime) -> ProviderPayment | None:
        """The payment carrying ``payment_id`` in its metadata, made around ``created_at``;
        None if the provider has none (the request that would have made it never arrived).

        Raises ProviderUnavailable when it cannot say for sure.
        """
        ...


@runtime_checkable
class CapturesCards(Protocol):
    """A provider whose in-person authorisations we capture (Stripe Terminal)."""

    async def capture(self, reference: str) -> ProviderPayment:
        """Capture everything authorised (the bill and any tip added on the reader); a
        payment already captured or ended answers as it stands."""
        ...


@runtime_checkable
class FindsForwarded(Protocol):
    """A provider an iPad forwards offline payments to (Stripe Terminal)."""

    async def find_forwarded(self, payment_id: UUID) -> list[ProviderPayment]:
        """Every payment made for ``payment_id``, oldest first (the first is the one;
        more are a forward gone wrong)."""
        ...


class LedgerEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One movement of money in the provider's own books, for reconciliation."""

    kind: Literal["payment", "refund"]
    reference: str
    """The provider's id of the payment or refund."""
    payment_id: UUID | None
    """Our payment id, from the metadata we sent."""
    amount: int
    """Minor units, positive for both kinds."""
    currency: str
    fee: int | None
    """The provider's fee on this movement, as it reports it."""
    at: datetime


class LedgerSource(Protocol):
    """A provider whose books can be listed, for ``fynlo reconcile``."""

    name: str

    async def ledger(self, since: datetime, until: datetime) -> list[LedgerEntry]: ...
