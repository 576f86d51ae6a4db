"""Payment bodies on the wire. Amounts are integer minor units in ``currency``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from msgspec import Meta

from server.openapi import Variant
from server.payments.fees import Method
from server.payments.providers.base import Settlement
from server.payments.states import PaymentState, RefundState
from server.wire import Input, Wire

MAX_AMOUNT = 100_000_000  # £1,000,000: far above any bill, far below integer trouble
Amount = Annotated[int, Meta(gt=0, le=MAX_AMOUNT)]
Tip = Annotated[int, Meta(ge=0, le=MAX_AMOUNT)]
SurchargePolicy = Literal["absorb", "pass_on"]


class CreatePayment(Input, kw_only=True):
    """A payment towards an order. Some members belong to one method only:

    - ``tendered``: cash, and required for cash (at least ``amount`` + ``tip``);
    - ``wallet_token``: Apple Pay, and required for it;
    - ``payment_method``: card, optional (without it the card is confirmed later).

    ``card_present`` takes none of them: the answer's ``client_secret`` is for the iPad's
    Terminal SDK (Tap to Pay), or ``POST /payments/{id}/collect`` sends it to a reader.
    """

    # What ``services._check_method_fields`` enforces, as the document's shapes.
    openapi_variants: ClassVar[tuple[Variant, ...]] = (
        Variant(
            title="open_banking",
            description="Pay by bank: the answer carries the QR code.",
            const={"method": Method.open_banking.value},
            absent=("tendered", "wallet_token", "payment_method"),
        ),
        Variant(
            title="card",
            description="Card: with the reader's `payment_method` it is charged at once;"
            " without, the answer's `client_secret` serves a later confirm.",
            const={"method": Method.card.value},
            absent=("tendered", "wallet_token"),
        ),
        Variant(
            title="card_present",
            description="Card in person (Stripe Terminal): Tap to Pay with the answer's"
            " `client_secret`, or a reader through `POST /payments/{id}/collect`; the server"
            " captures once the card is authorised.",
            const={"method": Method.card_present.value},
            absent=("tendered", "wallet_token", "payment_method"),
        ),
        Variant(
            title="apple_pay",
            description="Apple Pay: the PassKit token is charged at once.",
            const={"method": Method.apple_pay.value},
            required=("wallet_token",),
            absent=("tendered", "payment_method"),
        ),
        Variant(
            title="cash",
            description="Cash: `tendered` is what the customer handed over, at least"
            " `amount` + `tip`; the answer says the change.",
            const={"method": Method.cash.value},
            required=("tendered",),
            absent=("wallet_token", "payment_method"),
        ),
    )

    order_id: UUID
    method: Method
    amount: Amount
    """What this payment puts towards the order's total (one part of a split bill)."""
    tip: Tip = 0
    """Given on top of the bill at payment time; recorded apart from the sale."""
    accept_surcharge: bool = False
    """Under a ``pass_on`` policy: the customer agreed to pay the method's fee. If not, the
    restaurant absorbs it."""
    tendered: Tip | None = None
    """Cash only, and required for cash: what the customer handed over, at least ``amount``
    + ``tip``; the answer says the change."""
    wallet_token: Annotated[str, Meta(min_length=1, max_length=20_000)] | None = None
    """Apple Pay only, and required for Apple Pay: the PassKit payment token."""
    payment_method: Annotated[str, Meta(min_length=1, max_length=255)] | None = None
    """Card only: a Stripe PaymentMethod from the card reader, to charge at once."""


class ConfirmCard(Input, kw_only=True):
    payment_method: Annotated[str, Meta(min_length=1, max_length=255)]


class Collect(Input, kw_only=True):
    reader_id: Annotated[str, Meta(min_length=1, max_length=255)]
    """A reader registered at the payment's location (``GET /payments/terminal/readers``)."""
    tip_on_reader: bool = False
    """The reader asks the customer for a tip (only when the payment carries none)."""


class CreateRefund(Input, kw_only=True):
    amount: Amount | None = None
    """Defaults to everything still refundable."""
    reason: Annotated[str, Meta(min_length=1, max_length=200)]


class Fees(Wire, kw_only=True):
    schedule: str
    estimated_provider_fee: int
    platform_fee: int
    provider_fee: int | None
    """The provider's own figure, once it reports it; never recomputed by us."""


class Qr(Wire, kw_only=True):
    png: str
    svg: str
    link: str
    expires_at: datetime


class Payment(Wire, kw_only=True):
    id: UUID
    order_id: UUID
    location_id: UUID
    method: Method
    state: PaymentState
    currency: str
    amount: int
    tip: int
    surcharge: int
    charged: int
    """What the customer pays: amount + tip + surcharge."""
    tendered: int | None
    change: int | None
    refunded: int
    fees: Fees
    qr: Qr | None
    client_secret: str | None
    failure_reason: str | None
    fallback: list[Method]
    """After a decline or expiry: the methods to offer instead, best first."""
    open_drawer: bool
    reader_id: str | None
    """Card in person: the reader asked to collect the card (None: Tap to Pay)."""
    offline_stored_at: datetime | None
    """Card in person taken with no network: when the iPad stored it. Until Stripe has it
    (the iPad forwards it when back online) the payment is ``authorizing``."""
    capture_hold: str | None
    """Why the server will not capture it on its own (``over_offline_limit``: a manager
    captures or cancels it)."""
    settlement: Settlement | None
    """Pay by bank, once succeeded: ``executed`` (sent by the payer's bank; the order is
    paid), ``creditable``, ``settled`` (in the merchant account: refundable), ``stalled``
    (may never arrive) or ``reversed`` (went back to the payer: it no longer pays the
    order). None for other methods."""
    created_at: datetime
    succeeded_at: datetime | None


class Refund(Wire, kw_only=True):
    id: UUID
    payment_id: UUID
    amount: int
    currency: str
    state: RefundState
    reason: str
    failure_reason: str | None
    created_at: datetime


class OrderPayments(Wire, kw_only=True):
    order_id: UUID
    currency: str
    total_due: int
    paid: int
    """Succeeded payments' amounts towards the bill (tips and surcharges excluded)."""
    in_flight: int
    """Payments still waiting for the customer or the bank."""
    remaining: int
    tips: int
    refunded: int
    order_status: str
    payments: list[Payment]


class MethodQuote(Wire, kw_only=True):
    method: Method
    provider_fee: int
    platform_fee: int
    total_fee: int
    saving_vs_card: int
    surcharge: int
    """What the customer would be asked to add under this restaurant's policy."""
    customer_pays: int


class Quote(Wire, kw_only=True):
    amount: int
    currency: str
    schedule: str
    surcharge_policy: SurchargePolicy
    methods: list[MethodQuote]


class Policy(Wire, kw_only=True):
    surcharge: SurchargePolicy


class PolicyUpdate(Input, kw_only=True):
    surcharge: SurchargePolicy


class RefundLimits(Wire, kw_only=True):
    """What one employee may refund in a day (the location's calendar day) on their own; each
    refund past either limit needs a manager's approval. Owners are not held to them."""

    count: int
    """Refunds a day (5 unless the owner set another)."""
    amount: int
    """Minor units refunded a day (10,000, that is £100.00, unless the owner set another)."""


class RefundLimitsUpdate(Input, kw_only=True):
    """What to change; a member left out keeps its value. Only an owner raises a limit; a
    manager may lower them."""

    count: Annotated[int, Meta(ge=0, le=10_000)] | None = None
    amount: Annotated[int, Meta(ge=0, le=MAX_AMOUNT)] | None = None


class OfflineCardLimits(Wire, kw_only=True):
    """How much may be taken by card with no network: the restaurant's risk, since a card
    declined when the iPad forwards it later is money owed (docs/payments.md)."""

    per_payment: int
    """Minor units one card taken offline may charge (10,000 unless the owner set another)."""
    total: int
    """Minor units one iPad may hold offline, not yet at Stripe (100,000 unless set)."""


class OfflineCardLimitsUpdate(Input, kw_only=True):
    """What to change; a member left out keeps its value. Only an owner raises a limit."""

    per_payment: Annotated[int, Meta(ge=0, le=MAX_AMOUNT)] | None = None
    total: Annotated[int, Meta(ge=0, le=MAX_AMOUNT)] | None = None


AttentionWhy = Literal[
    "declined",
    "held",
    "not_forwarded",
    "late_success",
    "settlement_stalled",
    "settlement_reversed",
    "not_executing",
    "past_expiry",
    "paid_twice",
]
Remedy = Literal["refund", "capture", "acknowledge"]


class PaymentAttention(Wire, kw_only=True):
    """A payment a manager must decide on, with what can be done about it."""

    payment_id: UUID
    order_id: UUID
    order_number: str
    location_id: UUID
    device_id: UUID | None
    employee_id: UUID | None
    method: Method
    currency: str
    amount: int
    """What the payment charges (bill, tip and surcharge)."""
    why: AttentionWhy
    """A card taken offline: ``declined`` by Stripe after the customer left (or lapsed, or
    released; its order is open again), ``held`` past the offline limits for a manager to
    capture, ``not_forwarded`` to Stripe a day after. Any payment: ``late_success``, the
    provider took the money after we had ended the payment (the till may have taken
    another). Pay by bank: ``settlement_stalled`` (the money may never reach the account),
    ``settlement_reversed`` (it went back to the payer; the order is open again),
    ``not_executing`` (not sent 20 minutes after the payer went to their bank, so authorised
    and stuck; its amount still blocks the order). ``past_expiry``: any method, still
    waiting five minutes past its deadline (a QR's time, a card's 15 minutes) because the
    poller could not end it; its amount still blocks the order. ``paid_twice``: the order's
    payments exceed its total (the bank's money arrived while the till took another
    method); the payment that paid last is listed."""
    failure_reason: str | None
    since: datetime
    """When the problem arose (as near as the server knows)."""
    overpaid: int
    """How much the order's payments now exceed its total (a refund of this much puts it
    right); 0 when they do not."""
    remedies: list[Remedy]
    """``refund``: ``POST /payments/{id}/refunds``; ``capture``: ``POST /payments/{id}/capture``;
    ``acknowledge``: ``POST /payments/{id}/acknowledge`` (keep the money, or accept the loss,
    or stop waiting for a payment that does not execute or is past its deadline)."""


class ReconcileFinding(Wire, kw_only=True):
    """Something a ``fynlo reconcile`` run found wrong (``kind`` as in docs/payments.md,
    "Reconciliation")."""

    kind: str
    detail: str
    """What is wrong, for a person."""
    provider: str | None
    payment_id: UUID | None
    order_id: UUID | None
    order_number: str | None
    reference: str | None
    """The provider's id of the payment or refund, if it has one."""
    ours: int | None
    """The amount in our books (minor units), if the finding has one."""
    theirs: int | None
    """The amount in the provider's books, or what the order was due."""


class ReconcileRun(Wire, kw_only=True):
    """The latest ``fynlo reconcile`` run over the restaurant and what it found there."""

    at: datetime
    """When it ran."""
    since: datetime
    until: datetime
    """The window it checked: from ``since``, up to but not including ``until``."""
    currency: str
    """The restaurant's currency, that of every amount."""
    balanced: bool
    """Nothing found for the restaurant (or the caller's location)."""
    findings: list[ReconcileFinding]
    """In the order the run found them, at most 500."""


class Acknowledgement(Input, kw_only=True):
    note: Annotated[str, Meta(min_length=1, max_length=500)]
    """What the manager decided and why (kept in the audit log)."""


class MerchantAccountSetup(Input, kw_only=True):
    merchant_account_id: Annotated[str, Meta(min_length=1, max_length=100)]
    """The TrueLayer merchant account id (Console, or ``GET /v3/merchant-accounts``)."""


class MerchantAccount(Wire, kw_only=True):
    currency: str
    merchant_account_id: str
    updated_at: datetime


class TerminalLocationSetup(Input, kw_only=True):
    """The address Stripe Terminal registers for a location (readers are ordered to it)."""

    line1: Annotated[str, Meta(min_length=1, max_length=200)]
    line2: Annotated[str, Meta(max_length=200)] | None = None
    city: Annotated[str, Meta(min_length=1, max_length=100)]
    postal_code: Annotated[str, Meta(min_length=1, max_length=20)]
    country: Annotated[str, Meta(pattern="^[A-Z]{2}$")]
    """ISO 3166-1 alpha-2, e.g. GB."""
    state: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    """State, province or region: required in AU, CA, ES, IT and US (Stripe's rule for a
    Terminal location's address), sent when given elsewhere."""


class TerminalLocation(Wire, kw_only=True):
    location_id: UUID
    stripe_location: str
    """Stripe's ``tml_…``: the iPad's Terminal SDK connects to readers here."""


class ConnectionToken(Wire, kw_only=True):
    secret: str
    """For the iPad's Terminal SDK (its ``ConnectionTokenProvider``); short-lived, one use."""
    stripe_location: str


class ReaderRegistration(Input, kw_only=True):
    location_id: UUID
    registration_code: Annotated[str, Meta(min_length=1, max_length=100, pattern="^[A-Za-z0-9-]+$")]
    """What the reader shows when asked to pair: words joined by hyphens (Stripe's
    ``simulated-wpe`` in test mode). It names the registration in Stripe's Idempotency-Key
    header, which takes ASCII only."""
    label: Annotated[str, Meta(min_length=1, max_length=100)]


class Reader(Wire, kw_only=True):
    id: str
    """Stripe's ``tmr_…``: ``POST /payments/{id}/collect`` sends a payment to it."""
    location_id: UUID
    label: str
    device_type: str
    created_at: datetime


class MerchantSessionRequest(Input, kw_only=True):
    validation_url: Annotated[str, Meta(min_length=1, max_length=500)]
    domain: Annotated[str, Meta(min_length=1, max_length=253)]


class DailyRevenue(Wire, kw_only=True):
    day: date
    method: Method
    currency: str
    payments: int
    charged: int
    tips: int
    surcharges: int
    refunded: int
    platform_fees: int
    estimated_provider_fees: int
    provider_fees: int
    """Sum of the provider's reported fees; ``fees_unreported`` payments have none yet."""
    fees_unreported: int


class WebhookAck(Wire, kw_only=True):
    received: bool
    duplicate: bool
