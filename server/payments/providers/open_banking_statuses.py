"""TrueLayer's payment and refund statuses, in our states.

Payments: ``authorization_required`` → ``authorizing`` → ``authorized`` → ``executed`` (→
``settled`` for merchant-account payments), or ``failed`` with a ``failure_reason``
(docs.truelayer.com/docs/single-payment-statuses). A payment nobody authorised in time fails
with ``expired``; one the merchant cancelled fails with ``canceled``. Refunds: ``pending`` →
``authorized`` → ``executed`` | ``failed`` (docs.truelayer.com/docs/payout-and-refund-statuses).
"""

from __future__ import annotations

from server.payments.states import PaymentState, RefundState

_PAYMENT_STATES = {
    "authorization_required": PaymentState.awaiting_customer,
    "authorizing": PaymentState.authorizing,
    "authorized": PaymentState.authorizing,
    "executed": PaymentState.succeeded,
    "settled": PaymentState.succeeded,
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


class UnknownStatus(ValueError):
    """A status TrueLayer has not documented; the caller must not guess what it means."""


def payment_state(status: str, failure_reason: str | None = None) -> PaymentState:
    if status == "failed":
        return failed_payment_state(failure_reason)
    if status == "canceled":
        return PaymentState.canceled
    try:
        return _PAYMENT_STATES[status]
    except KeyError:
        raise UnknownStatus(f"unknown payment status {status!r}") from None


def failed_payment_state(failure_reason: str | None) -> PaymentState:
    """``expired`` and ``canceled`` are endings of their own; every other reason is failed."""
    return _FAILURE_STATES.get(failure_reason or "", PaymentState.failed)


def refund_state(status: str) -> RefundState:
    try:
        return _REFUND_STATES[status]
    except KeyError:
        raise UnknownStatus(f"unknown refund status {status!r}") from None
