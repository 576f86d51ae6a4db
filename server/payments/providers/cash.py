"""Cash: the till is the provider. It succeeds at once and refunds from the drawer.

Tendered and change are checked by the payments service (the customer must hand over at
least the bill and tip); this provider only gives cash the same shape as every other method,
so one flow records, refunds and reports all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from server.payments.providers.base import (
    NewPayment,
    ProviderEvent,
    ProviderPayment,
    ProviderRefund,
    WebhookRejected,
)
from server.payments.states import PaymentState, RefundState


class CashProvider:
    name = "cash"

    async def create(self, payment: NewPayment) -> ProviderPayment:
        return ProviderPayment(reference=f"cash-{payment.payment_id}", state=PaymentState.succeeded)

    async def status(self, reference: str) -> ProviderPayment:
        return ProviderPayment(reference=reference, state=PaymentState.succeeded)

    async def cancel(self, reference: str) -> ProviderPayment:
        # Cash in the drawer cannot be un-taken; a mistake is a refund.
        return ProviderPayment(reference=reference, state=PaymentState.succeeded)

    async def refund(
        self, reference: str, *, refund_id: UUID, amount: int, currency: str
    ) -> ProviderRefund:
        return ProviderRefund(reference=f"cash-{refund_id}", state=RefundState.succeeded)

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> ProviderEvent | None:
        raise WebhookRejected("cash has no webhooks")
