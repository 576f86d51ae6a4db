"""One forward-only state machine for every payment method, and one for refunds.

Providers deliver events late, twice and out of order (Stripe and TrueLayer both say so), so
a state only ever moves forward along the edges below; an event that would move it back, or
sideways between two endings, is recorded and ignored.

    created → awaiting_customer → authorizing → succeeded
       └──────────┴───────────────────┴──→ failed | expired | canceled

Refunds are their own objects: pending → succeeded | failed.
"""

from __future__ import annotations

from enum import StrEnum


class PaymentState(StrEnum):
    created = "created"
    awaiting_customer = "awaiting_customer"
    authorizing = "authorizing"
    succeeded = "succeeded"
    failed = "failed"
    expired = "expired"
    canceled = "canceled"


class RefundState(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


ENDINGS = frozenset(
    {PaymentState.succeeded, PaymentState.failed, PaymentState.expired, PaymentState.canceled}
)
_STEP = {
    PaymentState.created: 0,
    PaymentState.awaiting_customer: 1,
    PaymentState.authorizing: 2,
}


def can_move(current: PaymentState, new: PaymentState) -> bool:
    """True if ``new`` is further along than ``current`` (endings are final)."""
    if current in ENDINGS or new == current:
        return False
    return new in ENDINGS or _STEP[new] > _STEP[current]


def advance(current: PaymentState, event: PaymentState) -> PaymentState:
    """The state after a provider event: ``event`` if it moves forward, else unchanged."""
    return event if can_move(current, event) else current


def advance_refund(current: RefundState, event: RefundState) -> RefundState:
    if current is RefundState.pending and event is not RefundState.pending:
        return event
    return current
