"""The sandbox's refunds: out of a settled payment's merchant account, when the money is there.

A refund is ``pending`` until the account's available balance covers it (oldest first), then
executes ``refund_seconds`` later and leaves the account; the payer's bank can still return it
(``failed``, ``returned``), which puts the money back
(docs.truelayer.com/docs/payout-and-refund-statuses, docs.truelayer.com/docs/refunds). The
bank checks that the payment is settled and that refunds stay within it before asking here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from server.payments.fakes.open_banking_sandbox_accounts import MerchantAccount
from server.payments.fakes.open_banking_sandbox_errors import SandboxClock, SandboxRefusal
from server.payments.fakes.open_banking_sandbox_events import refund_event


class RefundStatus(StrEnum):
    pending = "pending"
    executed = "executed"
    failed = "failed"


@dataclass
class SandboxRefund:
    id: str
    payment_id: str
    merchant_account_id: str
    amount_in_minor: int
    currency: str
    reference: str
    metadata: dict[str, str]
    created_at: datetime
    status: RefundStatus = RefundStatus.pending
    reserved_at: datetime | None = None
    """When the balance covered it; None while it waits for money to arrive."""
    executed_at: datetime | None = None
    failed_at: datetime | None = None
    failure_reason: str | None = None


class Refunds:
    """Every refund, and the only code that moves one or its money."""

    def __init__(
        self,
        *,
        clock: SandboxClock,
        accounts: dict[str, MerchantAccount],
        refund_seconds: int,
        emit: Callable[[dict[str, Any]], object],
    ) -> None:
        self._clock = clock
        self._accounts = accounts
        self._delay = timedelta(seconds=refund_seconds)
        self._emit = emit
        self._refunds: dict[str, SandboxRefund] = {}

    def __len__(self) -> int:
        return len(self._refunds)

    def get(self, payment_id: str, refund_id: str) -> SandboxRefund:
        refund = self._refunds.get(refund_id)
        if refund is None or refund.payment_id != payment_id:
            raise SandboxRefusal(404, "not-found", "Not Found", f"no refund {refund_id}")
        return refund

    def add(self, refund: SandboxRefund) -> None:
        self._refunds[refund.id] = refund
        self._reserve_waiting()

    def fail(self, refund_id: str) -> SandboxRefund:
        """The payer's bank returned a refund; its money comes back to the merchant account."""
        refund = self._refunds.get(refund_id)
        if refund is None or refund.status is RefundStatus.failed:
            raise SandboxRefusal(
                422, "refund-not-failable", "Refund Not Failable", f"{refund_id} cannot fail"
            )
        account = self._accounts[refund.merchant_account_id]
        if refund.status is RefundStatus.executed:
            account.credit(refund.amount_in_minor)
        elif refund.reserved_at is not None:
            account.release(refund.amount_in_minor)
        refund.status = RefundStatus.failed
        refund.failed_at = self._clock.now()
        refund.failure_reason = "returned"
        self._emit(
            refund_event(
                "refund_failed", refund, failed_at=refund.failed_at, failure_reason="returned"
            )
        )
        return refund

    def sweep(self, now: datetime) -> None:
        """Start the refunds the balance now covers; execute those whose time has come."""
        self._reserve_waiting()
        for refund in self._refunds.values():
            if refund.status is not RefundStatus.pending or refund.reserved_at is None:
                continue
            due = refund.reserved_at + self._delay
            if due <= now:
                refund.status = RefundStatus.executed
                refund.executed_at = due
                self._accounts[refund.merchant_account_id].pay_out(refund.amount_in_minor)
                self._emit(refund_event("refund_executed", refund, executed_at=due))

    def executed_from(self, account_id: str) -> list[SandboxRefund]:
        return [
            r
            for r in self._refunds.values()
            if r.merchant_account_id == account_id and r.executed_at is not None
        ]

    def _reserve_waiting(self) -> None:
        """Oldest first, each waiting refund the balance now covers starts on its way out."""
        now = self._clock.now()
        for refund in self._refunds.values():
            waiting = refund.status is RefundStatus.pending and refund.reserved_at is None
            account = self._accounts[refund.merchant_account_id]
            if waiting and account.reserve(refund.amount_in_minor):
                refund.reserved_at = now
