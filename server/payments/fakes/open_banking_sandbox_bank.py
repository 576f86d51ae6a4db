"""The sandbox's bank: payments, refunds and merchant accounts in memory, on TrueLayer's statuses.

    authorization_required → authorizing → authorized → executed → settled
         │      ↑ attempt_failed (payments created with ``retry``)   │
         └──────┴──────────────┴─────────────┴──→ failed              └→ (reversed: a webhook)

Statuses follow docs.truelayer.com/docs/payment-statuses-for-payments-v3: a merchant-account
payment ends ``settled`` or ``failed``; ``executed`` means the bank accepted it, not that it
arrived. An abandoned payment fails with ``expired`` after 15 minutes, a payer who cancels at
their bank gives ``user_canceled_at_provider``, a bank that refuses authorisation
``authorization_failed``, a merchant cancel ``canceled``. Settling credits the payment's
merchant account; a refund is only allowed on a settled payment, and leaves that account: it
stays ``pending`` until the available balance covers it, then executes ``refund_seconds`` later
(docs.truelayer.com/docs/refunds, docs.truelayer.com/docs/payout-and-refund-statuses).

Time comes from a clock tests can move, and every change is announced through ``emit`` as a
webhook body (``open_banking_sandbox_events``); refunds live in ``open_banking_sandbox_refunds``.
Everything runs on the sandbox server's one event loop, so nothing needs a lock. The file runs
past 400 lines on purpose: each status change is one short method on the one object allowed to
change a payment, and splitting them would split that rule.
"""

from __future__ import annotations

import secrets
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from server.payments.fakes.open_banking_sandbox_accounts import MerchantAccount
from server.payments.fakes.open_banking_sandbox_errors import (
    SandboxClock,
    SandboxRefusal,
    invalid,
)
from server.payments.fakes.open_banking_sandbox_events import (
    payment_event,
    payment_source,
    rfc3339,
)
from server.payments.fakes.open_banking_sandbox_refunds import (
    Refunds,
    RefundStatus,
    SandboxRefund,
)

# Re-exported: the rest of the sandbox reaches these through the bank.
__all__ = [
    "RefundStatus",
    "SandboxClock",
    "SandboxRefund",
    "SandboxRefusal",
    "invalid",
    "rfc3339",
]


class PaymentStatus(StrEnum):
    authorization_required = "authorization_required"
    authorizing = "authorizing"
    authorized = "authorized"
    executed = "executed"
    settled = "settled"
    failed = "failed"
    attempt_failed = "attempt_failed"


AWAITING_CUSTOMER = frozenset(
    {PaymentStatus.authorization_required, PaymentStatus.authorizing, PaymentStatus.attempt_failed}
)
"""Nobody has authorised these yet: they can still expire, be cancelled or be approved."""

ApprovedUntil = Literal["authorized", "executed", "settled"]


@dataclass
class SandboxPayment:
    id: str
    amount_in_minor: int
    currency: str
    payment_method: dict[str, Any]
    merchant_account_id: str
    user_id: str
    payer_name: str
    user: dict[str, Any]
    """The ``user`` as the client sent it; TrueLayer shows only its ``id`` back."""
    resource_token: str
    metadata: dict[str, str]
    created_at: datetime
    retry: bool = False
    status: PaymentStatus = PaymentStatus.authorization_required
    provider_id: str | None = None
    authorized_at: datetime | None = None
    executed_at: datetime | None = None
    settled_at: datetime | None = None
    failed_at: datetime | None = None
    failure_stage: PaymentStatus | None = None
    failure_reason: str | None = None
    settle_at: datetime | None = None
    """When an executed payment settles by itself; None holds it (a test settles it)."""
    creditable_at: datetime | None = None
    stalled_at: datetime | None = None
    reversed_at: datetime | None = None
    refunds: list[SandboxRefund] = field(default_factory=list)
    transaction_id: str | None = None
    """The merchant account's id for the money arriving; TrueLayer's differs from the payment id."""

    @property
    def statement_reference(self) -> str | None:
        beneficiary = self.payment_method.get("beneficiary", {})
        reference = (
            beneficiary.get("statement_reference") if isinstance(beneficiary, dict) else None
        )
        return str(reference) if reference is not None else None

    @property
    def refundable(self) -> int:
        """Minor units not yet claimed by a pending or executed refund."""
        claimed = sum(
            r.amount_in_minor for r in self.refunds if r.status is not RefundStatus.failed
        )
        return self.amount_in_minor - claimed


class Bank:
    """Every payment, refund and merchant account the sandbox knows; the only code that changes
    them."""

    def __init__(
        self,
        *,
        clock: SandboxClock,
        accounts: dict[str, MerchantAccount],
        expiry_seconds: int,
        refund_seconds: int,
        settle_seconds: int,
        emit: Callable[[dict[str, Any]], object],
    ) -> None:
        self.clock = clock
        self.accounts = accounts
        self._expiry = timedelta(seconds=expiry_seconds)
        self._settle_delay = timedelta(seconds=settle_seconds)
        self._emit = emit
        self._payments: dict[str, SandboxPayment] = {}
        self.refunds = Refunds(
            clock=clock, accounts=accounts, refund_seconds=refund_seconds, emit=emit
        )

    # MARK: payments

    def create(
        self,
        *,
        amount_in_minor: int,
        currency: str,
        payment_method: dict[str, Any],
        merchant_account_id: str,
        metadata: dict[str, str],
        user: dict[str, Any],
        retry: bool,
    ) -> SandboxPayment:
        account = self.accounts.get(merchant_account_id)
        if account is None:
            raise invalid(
                {"payment_method.beneficiary.merchant_account_id": ["no such merchant account"]}
            )
        if account.currency != currency:
            raise invalid({"currency": [f"the merchant account holds {account.currency}"]})
        payment = SandboxPayment(
            id=str(uuid.uuid4()),
            amount_in_minor=amount_in_minor,
            currency=currency,
            payment_method=payment_method,
            merchant_account_id=merchant_account_id,
            user_id=str(user.get("id") or uuid.uuid4()),
            payer_name=str(user.get("name", "")),
            user=user,
            resource_token=secrets.token_urlsafe(32),
            metadata=metadata,
            created_at=self.clock.now(),
            retry=retry,
        )
        self._payments[payment.id] = payment
        return payment

    def payment(self, payment_id: str) -> SandboxPayment:
        self.sweep()
        payment = self._payments.get(payment_id)
        if payment is None:
            raise SandboxRefusal(404, "not-found", "Not Found", f"no payment {payment_id}")
        return payment

    def open_page(self, payment_id: str) -> SandboxPayment:
        """The payer opened the hosted page: authorisation has started (again, after a failed
        attempt)."""
        payment = self.payment(payment_id)
        if payment.status in (PaymentStatus.authorization_required, PaymentStatus.attempt_failed):
            payment.status = PaymentStatus.authorizing
        return payment

    def choose_provider(self, payment_id: str, provider_id: str) -> SandboxPayment:
        payment = self._awaiting_customer(payment_id, "choose a bank for")
        payment.provider_id = provider_id
        payment.status = PaymentStatus.authorizing
        return payment

    def approve(self, payment_id: str, until: ApprovedUntil = "settled") -> SandboxPayment:
        """The payer approved at their bank. ``until`` holds the payment at ``authorized`` or
        ``executed``; ``settled`` (the default) lets it settle ``settle_seconds`` later."""
        payment = self._awaiting_customer(payment_id, "approve")
        self._authorize(payment)
        if until != "authorized":
            self._execute(payment, hold=until == "executed")
        return payment

    def execute(self, payment_id: str, *, hold: bool = False) -> SandboxPayment:
        """The bank accepts an authorised payment."""
        payment = self._in(payment_id, "execute", PaymentStatus.authorized)
        self._execute(payment, hold=hold)
        return payment

    def settle(self, payment_id: str) -> SandboxPayment:
        """The money reaches the merchant account now, whatever was planned; a payment that
        has settled already (on its own, after ``settle_seconds``) stays as it is."""
        payment = self.payment(payment_id)
        if payment.status is PaymentStatus.settled:
            return payment
        payment = self._in(payment_id, "settle", PaymentStatus.executed)
        self._settle(payment, at=self.clock.now())
        return payment

    def make_creditable(self, payment_id: str) -> SandboxPayment:
        """TrueLayer judges an executed payment safe to credit before it settles."""
        payment = self._in(payment_id, "make creditable", PaymentStatus.executed)
        self._creditable(payment, at=self.clock.now())
        return payment

    def stall(self, payment_id: str) -> SandboxPayment:
        """An executed payment has not settled in time; it stops settling by itself."""
        payment = self._in(payment_id, "stall", PaymentStatus.executed)
        payment.settle_at = None
        payment.stalled_at = self.clock.now()
        self._emit(
            payment_event(
                "payment_settlement_stalled", payment, settlement_stalled_at=payment.stalled_at
            )
        )
        return payment

    def reverse(self, payment_id: str) -> SandboxPayment:
        """Settled money goes back to the payer (a recall); the status stays ``settled``."""
        payment = self._in(payment_id, "reverse", PaymentStatus.settled)
        if payment.reversed_at is not None:
            raise _not_actionable(f"payment {payment_id} is already reversed")
        payment.reversed_at = self.clock.now()
        self.accounts[payment.merchant_account_id].take_back(payment.amount_in_minor)
        self._emit(payment_event("payment_reversed", payment, reversed_at=payment.reversed_at))
        return payment

    def decline(self, payment_id: str) -> SandboxPayment:
        """The payer's bank refused to authorise the payment."""
        payment = self._awaiting_customer(payment_id, "decline")
        self._fail(payment, "authorization_failed", at=self.clock.now())
        return payment

    def payer_cancel(self, payment_id: str) -> SandboxPayment:
        """The payer cancelled, on the hosted page or at their bank."""
        payment = self._awaiting_customer(payment_id, "cancel")
        self._fail(payment, "user_canceled_at_provider", at=self.clock.now())
        return payment

    def reject(self, payment_id: str) -> SandboxPayment:
        """The payer approved but the bank then refused the payment."""
        payment = self._awaiting_customer(payment_id, "reject")
        self._authorize(payment)
        self._fail(payment, "provider_rejected", at=self.clock.now())
        return payment

    def attempt_fail(self, payment_id: str) -> SandboxPayment:
        """One attempt of a payment created with ``retry`` failed; the payer may try again."""
        payment = self._awaiting_customer(payment_id, "fail an attempt of")
        if not payment.retry:
            raise _not_actionable("only payments created with retry have failed attempts")
        payment.failure_stage = payment.status
        payment.status = PaymentStatus.attempt_failed
        payment.failure_reason = "provider_rejected"
        payment.failed_at = self.clock.now()
        return payment

    def cancel(self, payment_id: str) -> SandboxPayment:
        """The merchant cancels; allowed until the payment is authorised."""
        payment = self._awaiting_customer(payment_id, "cancel")
        self._fail(payment, "canceled", at=self.clock.now())
        return payment

    # MARK: refunds

    def refund(self, payment_id: str, refund_id: str) -> SandboxRefund:
        self.sweep()
        return self.refunds.get(payment_id, refund_id)

    def create_refund(
        self, payment_id: str, *, amount_in_minor: int, reference: str, metadata: dict[str, str]
    ) -> SandboxRefund:
        payment = self.payment(payment_id)
        if payment.status is not PaymentStatus.settled:
            raise SandboxRefusal(
                400,
                "invalid-state",
                "Invalid State",
                f"only settled payments can be refunded; this one is {payment.status}",
            )
        if amount_in_minor > payment.refundable:
            raise SandboxRefusal(
                422,
                "refund-amount-exceeded",
                "Refund Amount Exceeded",
                f"{amount_in_minor} is more than the {payment.refundable} left to refund",
            )
        refund = SandboxRefund(
            id=str(uuid.uuid4()),
            payment_id=payment.id,
            merchant_account_id=payment.merchant_account_id,
            amount_in_minor=amount_in_minor,
            currency=payment.currency,
            reference=reference,
            metadata=metadata,
            created_at=self.clock.now(),
        )
        payment.refunds.append(refund)
        self.refunds.add(refund)
        return refund

    def fail_refund(self, refund_id: str) -> SandboxRefund:
        return self.refunds.fail(refund_id)

    # MARK: time

    def sweep(self) -> None:
        """Expire abandoned payments, settle payments and start and execute refunds when due."""
        now = self.clock.now()
        for payment in self._payments.values():
            deadline = payment.created_at + self._expiry
            if payment.status in AWAITING_CUSTOMER and deadline <= now:
                self._fail(payment, "expired", at=deadline)
            due = payment.settle_at
            if payment.status is PaymentStatus.executed and due is not None and due <= now:
                self._settle(payment, at=due)
        self.refunds.sweep(now)

    def movements(self, account_id: str) -> tuple[list[SandboxPayment], list[SandboxRefund]]:
        """Settled payments into and executed refunds out of one merchant account."""
        self.sweep()
        return (
            [
                p
                for p in self._payments.values()
                if p.merchant_account_id == account_id and p.settled_at is not None
            ],
            self.refunds.executed_from(account_id),
        )

    def stats(self) -> dict[str, Any]:
        self.sweep()
        payments = list(self._payments.values())
        statuses = Counter(str(p.status) for p in payments)
        return {
            "payments": len(payments),
            "created_by_payment_id": dict(
                Counter(p.metadata.get("payment_id", "") for p in payments)
            ),
            "executed": statuses["executed"],
            "settled": statuses["settled"],
            "failed": statuses["failed"],
            "refunds": len(self.refunds),
            "refunded_in_minor": {
                p.id: sum(r.amount_in_minor for r in p.refunds if r.status is RefundStatus.executed)
                for p in payments
                if p.refunds
            },
            "balances": {a.currency: a.current_balance_in_minor for a in self.accounts.values()},
        }

    # MARK: steps

    def _authorize(self, payment: SandboxPayment) -> None:
        payment.status = PaymentStatus.authorized
        payment.authorized_at = self.clock.now()
        self._emit(
            payment_event("payment_authorized", payment, authorized_at=payment.authorized_at)
        )

    def _execute(self, payment: SandboxPayment, *, hold: bool) -> None:
        now = self.clock.now()
        payment.status = PaymentStatus.executed
        payment.executed_at = now
        payment.settle_at = None if hold else now + self._settle_delay
        self._emit(
            payment_event("payment_executed", payment, executed_at=now, user_id=payment.user_id)
        )

    def _creditable(self, payment: SandboxPayment, *, at: datetime) -> None:
        if payment.creditable_at is None:
            payment.creditable_at = at
            self._emit(payment_event("payment_creditable", payment, creditable_at=at))

    def _settle(self, payment: SandboxPayment, *, at: datetime) -> None:
        # payment_creditable comes by default when the payment settles, before payment_settled
        # (docs.truelayer.com/docs/settlement-risk-and-the-payment_creditable-webhook).
        self._creditable(payment, at=at)
        payment.status = PaymentStatus.settled
        payment.settled_at = at
        payment.settle_at = None
        payment.transaction_id = str(uuid.uuid4())
        self.accounts[payment.merchant_account_id].credit(payment.amount_in_minor)
        self._emit(
            payment_event(
                "payment_settled",
                payment,
                settled_at=at,
                merchant_account_id=payment.merchant_account_id,
                payment_source=payment_source(payment),
                user_id=payment.user_id,
            )
        )

    def _fail(self, payment: SandboxPayment, reason: str, *, at: datetime) -> None:
        stage = payment.failure_stage if payment.status is PaymentStatus.attempt_failed else None
        payment.failure_stage = stage or payment.status
        payment.status = PaymentStatus.failed
        payment.failure_reason = reason
        payment.failed_at = at
        self._emit(
            payment_event(
                "payment_failed",
                payment,
                failed_at=at,
                failure_stage=str(payment.failure_stage),
                failure_reason=reason,
            )
        )

    def _awaiting_customer(self, payment_id: str, action: str) -> SandboxPayment:
        payment = self.payment(payment_id)
        if payment.status not in AWAITING_CUSTOMER:
            raise _not_actionable(f"cannot {action} a payment that is {payment.status}")
        return payment

    def _in(self, payment_id: str, action: str, status: PaymentStatus) -> SandboxPayment:
        payment = self.payment(payment_id)
        if payment.status is not status:
            raise _not_actionable(f"cannot {action} a payment that is {payment.status}")
        return payment


def _not_actionable(detail: str) -> SandboxRefusal:
    return SandboxRefusal(422, "payment-not-actionable", "Payment Not Actionable", detail)
