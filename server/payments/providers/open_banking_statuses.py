"""TrueLayer's payment and refund statuses and webhook types, in our states.

Payments (docs.truelayer.com/docs/payment-statuses-for-payments-v3):

    TrueLayer                 our state       settlement
    authorization_required    awaiting_customer
    authorizing               authorizing
    attempt_failed            authorizing     (a retryable attempt failed; the payer may retry)
    authorized                authorizing
    executed                  succeeded       executed   (the bank accepted it)
    settled                   succeeded       settled    (in the merchant account)
    failed                    by failure_reason: expired → expired, canceled → canceled,
                              anything else (user_canceled_at_provider, authorization_failed,
                              provider_rejected …) → failed; the reason is kept as sent

A payment into a merchant account is ``succeeded`` from ``executed`` on: later webhooks only
say where its money stands (``payment_creditable``, ``payment_settled``,
``payment_settlement_stalled``, ``payment_reversed``; docs.truelayer.com/docs/payment-webhooks).
Refunds: ``pending`` → ``authorized`` → ``executed`` | ``failed``
(docs.truelayer.com/docs/payout-and-refund-statuses).
"""

from __future__ import annotations

from server.payments.providers.base import Settlement
from server.payments.states import PaymentState, RefundState

_PAYMENT_STATES = {
    "authorization_required": PaymentState.awaiting_customer,
    "authorizing": PaymentState.authorizing,
    "attempt_failed": PaymentState.authorizing,
    "authorized": PaymentState.authorizing,
    "executed": PaymentState.succeeded,
    "settled": PaymentState.succeeded,
}
_SETTLEMENTS = {
    "executed": Settlement.executed,
    "settled": Settlement.settled,
}
_FAILURE_STATES = {
    "expired": PaymentState.expired,
    "canceled": PaymentState.canceled,
    "cancelled": PaymentState.canceled,
}
_REFUND_STATES = {
    "pending": RefundState.pending,
    "authorized": RefundState.pending,
    "executed": RefundState.succeeded,
    "failed": RefundState.failed,
}
NOT_SETTLED_YET = frozenset({"authorized", "executed"})
"""Statuses of a payment whose money may still reach the merchant account."""


class UnknownStatus(ValueError):
    """A status TrueLayer has not documented; the caller must not guess what it means."""


def payment_state(status: str, failure_reason: str | None = None) -> PaymentState:
    if status == "failed":
        return failed_payment_state(failure_reason)
    try:
        return _PAYMENT_STATES[status]
    except KeyError:
        raise UnknownStatus(f"unknown payment status {status!r}") from None


def settlement(status: str) -> Settlement | None:
    """Where a succeeded payment's money stands, from its status; None before ``executed``."""
    return _SETTLEMENTS.get(status)


def failed_payment_state(failure_reason: str | None) -> PaymentState:
    """``expired`` and ``canceled`` are endings of their own; every other reason is failed."""
    return _FAILURE_STATES.get(failure_reason or "", PaymentState.failed)


def refund_state(status: str) -> RefundState:
    try:
        return _REFUND_STATES[status]
    except KeyError:
        raise UnknownStatus(f"unknown refund status {status!r}") from None
