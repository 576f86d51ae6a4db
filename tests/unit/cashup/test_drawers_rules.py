"""The drawer rules without a database: counts, the expected-cash sum, the flag, the one
open session per drawer, and which session cash belongs to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.cashup.drawers_rules import (
    DENOMINATIONS,
    BadCount,
    Expected,
    Opening,
    Window,
    count_total,
    is_flagged,
    over_short,
    session_of,
    surviving,
)

T0 = datetime(2026, 12, 13, 10, tzinfo=UTC)
pence = st.integers(min_value=0, max_value=10_000_000)


def test_a_count_is_worked_out_from_notes_and_coins() -> None:
    assert count_total({"2000": 2, "1000": 3, "500": 2, "100": 5, "50": 4, "20": 5}) == 8800
    assert count_total({}) == 0


@pytest.mark.parametrize(
    "counts",
    [{"300": 1}, {"2000": -1}, {"abc": 1}, {"100": 1.5}, {"100": True}, {"-5": 1}],
    ids=["no £3 note", "negative", "not a number", "a fraction", "a boolean", "a minus"],
)
def test_a_count_that_is_not_notes_and_coins_is_refused(counts: dict[str, object]) -> None:
    with pytest.raises(BadCount):
        count_total(counts)


@given(st.dictionaries(st.sampled_from(DENOMINATIONS), st.integers(0, 1000)))
def test_a_count_is_the_sum_of_each_denomination_times_its_pieces(counts: dict[int, int]) -> None:
    assert count_total({str(k): v for k, v in counts.items()}) == sum(
        k * v for k, v in counts.items()
    )


@given(pence, pence, pence, pence, pence, pence)
def test_expected_cash_adds_float_sales_and_paid_ins_and_takes_refunds_and_paid_outs(
    opening: int, sales: int, refunds: int, paid_in: int, paid_out: int, counted: int
) -> None:
    expected = Expected(opening, sales, refunds, paid_in, paid_out)
    assert expected.total == opening + sales - refunds + paid_in - paid_out
    # Over/short is what the count has beyond it, and counting it exactly is never flagged.
    assert over_short(counted, expected.total) + expected.total == counted
    assert not is_flagged(over_short(expected.total, expected.total), 0)


def test_the_worked_example_is_over_by_50p() -> None:
    expected = Expected(opening_float=8800, cash_sales=3760, cash_refunds=300, paid_in=1000,
                        paid_out=1500)  # fmt: skip
    assert (expected.total, over_short(11810, expected.total)) == (11760, 50)


@pytest.mark.parametrize(
    ("difference", "flagged"), [(500, False), (-500, False), (501, True), (-501, True), (0, False)]
)
def test_a_difference_is_flagged_only_beyond_the_threshold(difference: int, flagged: bool) -> None:
    assert is_flagged(difference, 500) is flagged


openings = st.lists(
    st.builds(
        Opening,
        session_id=st.uuids(),
        at=st.integers(0, 600).map(lambda minutes: T0 + timedelta(minutes=minutes)),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda opening: opening.session_id,
)


@given(openings, st.randoms())
def test_the_same_opens_in_any_order_leave_the_same_session(
    opens: list[Opening], random: object
) -> None:
    shuffled = list(opens)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    assert surviving(shuffled) == surviving(opens)
    winner = surviving(opens)
    assert all((winner.at, winner.session_id) <= (o.at, o.session_id) for o in opens)


def test_opens_at_the_same_moment_are_settled_by_id() -> None:
    low, high = UUID(int=1), UUID(int=2)
    assert surviving([Opening(high, T0), Opening(low, T0)]).session_id == low


FRONT, BAR = UUID(int=10), UUID(int=11)
A, B = UUID(int=1), UUID(int=2)


def test_cash_belongs_to_the_session_open_on_its_ipad_then() -> None:
    windows = [
        Window(A, A, FRONT, T0, T0 + timedelta(hours=8)),
        # The bar opened the same drawer and was merged into A: its cash is A's.
        Window(B, A, BAR, T0 + timedelta(hours=1), T0 + timedelta(hours=8)),
    ]
    assert session_of(FRONT, T0 + timedelta(hours=2), windows) == A
    assert session_of(BAR, T0 + timedelta(hours=2), windows) == A
    assert session_of(BAR, T0 + timedelta(minutes=30), windows) is None  # before it opened
    assert session_of(FRONT, T0 + timedelta(hours=8), windows) is None  # at the close: after
    assert session_of(None, T0 + timedelta(hours=2), windows) is None


def test_on_an_ipad_with_two_sessions_open_cash_goes_to_the_latest_opened() -> None:
    windows = [Window(A, A, FRONT, T0, None), Window(B, B, FRONT, T0 + timedelta(hours=1), None)]
    assert session_of(FRONT, T0 + timedelta(minutes=30), windows) == A
    assert session_of(FRONT, T0 + timedelta(hours=2), windows) == B
