"""The sandbox's bank: payments and refunds in memory, moved along TrueLayer's statuses.

    authorization_required → authorizing → authorized → executed
            └──────────────────┴─────────────┴──→ failed (failure_reason)

Statuses and failure reasons follow docs.truelayer.com/docs/single-payment-statuses: an
abandoned payment fails with ``expired`` after 15 minutes, a customer who declines gives
``authorization_failed``, a cancel gives ``canceled``. Refunds go pending → executed | failed
(docs.truelayer.com/docs/payout-and-refund-statuses). Time comes from a clock tests can move,
and every change is announced through ``emit`` as a TrueLayer-shaped webhook body. Each executed
payment and refund is a movement on the merchant account and carries the sandbox's fee,
``fee_bp`` basis points of its amount, fixed when it executes.

Everything here runs on the sandbox server's one event loop, so nothing needs a lock.
"""

from __future__ import annotations

import secrets
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from server.money import round_half_up

BASIS_POINTS = 10_000


class PaymentStatus(StrEnum):
    authorization_required = "authorization_required"
    authorizing = "authorizing"
    authorized = "authorized"
    executed = "executed"
    failed = "failed"


class RefundStatus(StrEnum):
    pending = "pending"
    executed = "executed"
    failed = "failed"


AWAITING_CUSTOMER = frozenset({PaymentStatus.authorization_required, PaymentStatus.authorizing})


class SandboxRefusal(Exception):
    """A request the sandbox answers with a TrueLayer-style problem instead of an effect."""

    def __init__(self, status: int, slug: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail


class SandboxClock:
    """Wall-clock time plus an offset that tests move forward instead of sleeping."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> None:
        self._offset += timedelta(seconds=seconds)


@dataclass
class SandboxRefund:
    id: str
    payment_id: str
    amount_in_minor: int
    currency: str
    reference: str
    metadata: dict[str, str]
    created_at: datetime
    status: RefundStatus = RefundStatus.pending
    executed_at: datetime | None = None
    failed_at: datetime | None = None
    failure_reason: str | None = None
    fee_in_minor: int | None = None


@dataclass
class SandboxPayment:
    id: str
    amount_in_minor: int
    currency: str
    payment_method: dict[str, Any]
    user_id: str
    resource_token: str
    metadata: dict[str, str]
    created_at: datetime
    status: PaymentStatus = PaymentStatus.authorization_required
    authorized_at: datetime | None = None
    executed_at: datetime | None = None
    failed_at: datetime | None = None
    failure_stage: PaymentStatus | None = None
    failure_reason: str | None = None
    refunds: list[SandboxRefund] = field(default_factory=list)
    transaction_id: str | None = None
    """The merchant account's id for the money arriving; TrueLayer's differs from the payment id."""
    fee_in_minor: int | None = None

    @property
    def refundable(self) -> int:
        """Minor units not yet claimed by a pending or executed refund."""
        claimed = sum(
            refund.amount_in_minor
            for refund in self.refunds
            if refund.status is not RefundStatus.failed
        )
        return self.amount_in_minor - claimed


class Bank:
    """Every payment and refund the sandbox knows, and the only code that changes them."""

    def __init__(
        self,
        *,
        clock: SandboxClock,
        expiry_seconds: int,
        refund_seconds: int,
        emit: Callable[[dict[str, Any]], object],
        fee_bp: int = 0,
    ) -> None:
        if not 0 <= fee_bp <= BASIS_POINTS:
            raise ValueError(f"fee_bp must be between 0 and {BASIS_POINTS}, not {fee_bp}")
        self.clock = clock
        self._fee_bp = fee_bp
        self._expiry = timedelta(seconds=expiry_seconds)
        self._refund_delay = timedelta(seconds=refund_seconds)
        self._emit = emit
        self._payments: dict[str, SandboxPayment] = {}
        self._refunds: dict[str, SandboxRefund] = {}

    def create(
        self,
        *,
        amount_in_minor: int,
        currency: str,
        payment_method: dict[str, Any],
        metadata: dict[str, str],
        user_id: str | None,
    ) -> SandboxPayment:
        payment = SandboxPayment(
            id=str(uuid.uuid4()),
            amount_in_minor=amount_in_minor,
            currency=currency,
            payment_method=payment_method,
            user_id=user_id or str(uuid.uuid4()),
            resource_token=secrets.token_urlsafe(32),
            metadata=metadata,
            created_at=self.clock.now(),
        )
        self._payments[payment.id] = payment
        return payment

    def payment(self, payment_id: str) -> SandboxPayment:
        self.sweep()
        payment = self._payments.get(payment_id)
        if payment is None:
            raise SandboxRefusal(404, "not-found", "Not Found", f"no payment {payment_id}")
        return payment

    def refund(self, payment_id: str, refund_id: str) -> SandboxRefund:
        self.sweep()
        refund = self._refunds.get(refund_id)
        if refund is None or refund.payment_id != payment_id:
            raise SandboxRefusal(404, "not-found", "Not Found", f"no refund {refund_id}")
        return refund

    def open_page(self, payment_id: str) -> SandboxPayment:
        """The customer opened the hosted payment page: authorisation has started."""
        payment = self.payment(payment_id)
        if payment.status is PaymentStatus.authorization_required:
            payment.status = PaymentStatus.authorizing
        return payment

    def approve(self, payment_id: str) -> SandboxPayment:
        """The customer approved at their bank; the bank accepts the payment at once."""
        payment = self._awaiting_customer(payment_id, "approve")
        now = self.clock.now()
        payment.status = PaymentStatus.authorized
        payment.authorized_at = now
        self._emit(self._payment_event("payment_authorized", payment, authorized_at=now))
        payment.status = PaymentStatus.executed
        payment.executed_at = now
        payment.transaction_id = str(uuid.uuid4())
        payment.fee_in_minor = self._fee(payment.amount_in_minor)
        self._emit(self._payment_event("payment_executed", payment, executed_at=now))
        return payment

    def decline(self, payment_id: str) -> SandboxPayment:
        """The customer declined at their bank."""
        payment = self._awaiting_customer(payment_id, "decline")
        self._fail(payment, "authorization_failed", at=self.clock.now())
        return payment

    def reject(self, payment_id: str) -> SandboxPayment:
        """The customer approved but the bank then refused the payment."""
        payment = self._awaiting_customer(payment_id, "reject")
        now = self.clock.now()
        payment.status = PaymentStatus.authorized
        payment.authorized_at = now
        self._emit(self._payment_event("payment_authorized", payment, authorized_at=now))
        self._fail(payment, "provider_rejected", at=now)
        return payment

    def cancel(self, payment_id: str) -> SandboxPayment:
        """The merchant cancels; allowed until the payment is authorised."""
        payment = self._awaiting_customer(payment_id, "cancel")
        self._fail(payment, "canceled", at=self.clock.now())
        return payment

    def create_refund(
        self, payment_id: str, *, amount_in_minor: int, reference: str, metadata: dict[str, str]
    ) -> SandboxRefund:
        payment = self.payment(payment_id)
        if payment.status is not PaymentStatus.executed:
            raise SandboxRefusal(
                422,
                "refund-not-allowed",
                "Refund Not Allowed",
                f"only executed payments can be refunded; this one is {payment.status}",
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
            amount_in_minor=amount_in_minor,
            currency=payment.currency,
            reference=reference,
            metadata=metadata,
            created_at=self.clock.now(),
        )
        payment.refunds.append(refund)
        self._refunds[refund.id] = refund
        return refund

    def fail_refund(self, refund_id: str) -> SandboxRefund:
        """The customer's bank returned a pending refund."""
        refund = self._refunds.get(refund_id)
        if refund is None or refund.status is not RefundStatus.pending:
            raise SandboxRefusal(
                422, "refund-not-pending", "Refund Not Pending", f"{refund_id} is not pending"
            )
        refund.status = RefundStatus.failed
        refund.failed_at = self.clock.now()
        refund.failure_reason = "returned"
        self._emit(
            self._refund_event("refund_failed", refund, failed_at=refund.failed_at)
            | {"failure_reason": refund.failure_reason}
        )
        return refund

    def sweep(self) -> None:
        """Expire abandoned payments and execute refunds that are due."""
        now = self.clock.now()
        for payment in self._payments.values():
            deadline = payment.created_at + self._expiry
            if payment.status in AWAITING_CUSTOMER and deadline <= now:
                self._fail(payment, "expired", at=deadline)
        for refund in self._refunds.values():
            due = refund.created_at + self._refund_delay
            if refund.status is RefundStatus.pending and due <= now:
                refund.status = RefundStatus.executed
                refund.executed_at = due
                refund.fee_in_minor = self._fee(refund.amount_in_minor)
                self._emit(self._refund_event("refund_executed", refund, executed_at=due))

    def movements(self) -> tuple[list[SandboxPayment], list[SandboxRefund]]:
        """Executed payments and executed refunds: the money in and out of merchant accounts."""
        self.sweep()
        return (
            [p for p in self._payments.values() if p.status is PaymentStatus.executed],
            [r for r in self._refunds.values() if r.status is RefundStatus.executed],
        )

    def stats(self) -> dict[str, Any]:
        self.sweep()
        payments = list(self._payments.values())
        return {
            "payments": len(payments),
            "created_by_payment_id": dict(
                Counter(p.metadata.get("payment_id", "") for p in payments)
            ),
            "executed": sum(p.status is PaymentStatus.executed for p in payments),
            "failed": sum(p.status is PaymentStatus.failed for p in payments),
            "refunds": len(self._refunds),
            "refunded_in_minor": {
                p.id: sum(r.amount_in_minor for r in p.refunds if r.status is RefundStatus.executed)
                for p in payments
                if p.refunds
            },
        }

    def _fee(self, amount_in_minor: int) -> int:
        return round_half_up(amount_in_minor * self._fee_bp, BASIS_POINTS)

    def _awaiting_customer(self, payment_id: str, action: str) -> SandboxPayment:
        payment = self.payment(payment_id)
        if payment.status not in AWAITING_CUSTOMER:
            raise SandboxRefusal(
                422,
                "payment-not-actionable",
                "Payment Not Actionable",
                f"cannot {action} a payment that is {payment.status}",
            )
        return payment

    def _fail(self, payment: SandboxPayment, reason: str, *, at: datetime) -> None:
        payment.failure_stage = payment.status
        payment.status = PaymentStatus.failed
        payment.failure_reason = reason
        payment.failed_at = at
        self._emit(
            self._payment_event("payment_failed", payment, failed_at=at)
            | {"failure_stage": payment.failure_stage, "failure_reason": reason}
        )

    def _payment_event(
        self, kind: str, payment: SandboxPayment, **moment: datetime | None
    ) -> dict[str, Any]:
        return {
            "type": kind,
            "event_id": str(uuid.uuid4()),
            "event_version": 1,
            "payment_id": payment.id,
            "payment_method": {"type": payment.payment_method.get("type", "bank_transfer")},
            "metadata": payment.metadata,
            **{name: rfc3339(at) for name, at in moment.items() if at is not None},
        }

    def _refund_event(
        self, kind: str, refund: SandboxRefund, **moment: datetime | None
    ) -> dict[str, Any]:
        return {
            "type": kind,
            "event_id": str(uuid.uuid4()),
            "event_version": 1,
            "payment_id": refund.payment_id,
            "refund_id": refund.id,
            "metadata": refund.metadata,
            **{name: rfc3339(at) for name, at in moment.items() if at is not None},
        }


def rfc3339(moment: datetime) -> str:
    """UTC with milliseconds and a ``Z``, the way TrueLayer writes its timestamps."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
