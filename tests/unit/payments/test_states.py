from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from server.payments.states import (
    ENDINGS,
    PaymentState,
    RefundState,
    advance,
    advance_refund,
    can_move,
)

RANK = {
    PaymentState.created: 0,
    PaymentState.awaiting_customer: 1,
    PaymentState.authorizing: 2,
}


def test_the_happy_path_and_late_events() -> None:
    state = PaymentState.created
    for event in ("awaiting_customer", "authorizing", "succeeded"):
        state = advance(state, PaymentState(event))
    assert state is PaymentState.succeeded
    # A late "authorizing" or a duplicate "failed" never undoes a success.
    assert advance(state, PaymentState.authorizing) is PaymentState.succeeded
    assert advance(state, PaymentState.failed) is PaymentState.succeeded


def test_an_expired_qr_stays_expired() -> None:
    state = advance(PaymentState.awaiting_customer, PaymentState.expired)
    assert advance(state, PaymentState.succeeded) is PaymentState.expired
    assert not can_move(PaymentState.expired, PaymentState.authorizing)


@settings(max_examples=1000)
@given(st.lists(st.sampled_from(list(PaymentState)), max_size=20))
def test_no_sequence_of_events_moves_a_payment_backwards(events: list[PaymentState]) -> None:
    state = PaymentState.created
    for event in events:
        after = advance(state, event)
        if state in ENDINGS:
            assert after is state
        elif after not in ENDINGS:
            assert RANK[after] >= RANK[state]
        state = after


@settings(max_examples=500)
@given(st.lists(st.sampled_from(list(PaymentState)), min_size=1, max_size=10))
def test_duplicated_events_change_nothing(events: list[PaymentState]) -> None:
    once = PaymentState.created
    for event in events:
        once = advance(once, event)
    twice = PaymentState.created
    for event in events:
        twice = advance(advance(twice, event), event)
    assert once is twice


def test_a_refund_settles_once() -> None:
    assert advance_refund(RefundState.pending, RefundState.succeeded) is RefundState.succeeded
    assert advance_refund(RefundState.succeeded, RefundState.failed) is RefundState.succeeded
    assert advance_refund(RefundState.failed, RefundState.succeeded) is RefundState.failed


# What providers actually report for one payment, in order: at most one ending.
PROVIDER_PATHS = [
    (PaymentState.awaiting_customer, PaymentState.authorizing, PaymentState.succeeded),
    (PaymentState.awaiting_customer, PaymentState.authorizing, PaymentState.failed),
    (PaymentState.awaiting_customer, PaymentState.failed),
    (PaymentState.awaiting_customer, PaymentState.expired),
    (PaymentState.awaiting_customer, PaymentState.canceled),
    (PaymentState.awaiting_customer, PaymentState.authorizing),
]


@settings(max_examples=1000)
@given(st.sampled_from(PROVIDER_PATHS), st.data())
def test_a_providers_events_in_any_order_and_number_end_where_the_ordered_ones_do(
    path: tuple[PaymentState, ...], data: st.DataObject
) -> None:
    ordered = PaymentState.created
    for event in path:
        ordered = advance(ordered, event)
    repeated = [event for event in path for _ in range(data.draw(st.integers(1, 3)))]
    shuffled = PaymentState.created
    for event in data.draw(st.permutations(repeated)):
        shuffled = advance(shuffled, event)
    assert shuffled is ordered
