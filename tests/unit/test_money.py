"""The rounding rule and largest-remainder sharing in server.money."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from server.money import allocate_largest_remainder, format_money, round_half_up

# No example database: failures replay from the printed blob instead of files in the repo.
PROPERTY = settings(max_examples=1000, derandomize=False, print_blob=True, database=None)

pence = st.integers(min_value=0, max_value=10**9)
weights = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30)


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (0, 7, 0),
        (6, 3, 2),
        (1, 3, 0),
        (2, 3, 1),
        (5, 2, 3),
        (3, 2, 2),
        (7, 2, 4),
        (2385 * 2000, 12000, 398),  # 397.5p of VAT in £23.85 at 20% rounds up
        (2384 * 2000, 12000, 397),  # 397.33p
        (-1, 3, 0),
        (-2, 3, -1),
        (-5, 2, -3),  # negative halves round away from zero, mirroring 2.5 -> 3
        (-3, 2, -2),
        (-7, 2, -4),
    ],
)
def test_round_half_up_examples(numerator: int, denominator: int, expected: int) -> None:
    """Halves go away from zero; everything else goes to the nearest integer."""
    assert round_half_up(numerator, denominator) == expected


@pytest.mark.parametrize("denominator", [0, -1, -12000])
def test_round_half_up_refuses_a_non_positive_denominator(denominator: int) -> None:
    """A zero or negative denominator is a bug in the caller, not a rounding case."""
    with pytest.raises(ValueError, match="denominator must be positive"):
        round_half_up(1, denominator)


@PROPERTY
@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(1, 10**6))
def test_round_half_up_is_nearest_with_halves_away_from_zero(
    numerator: int, denominator: int
) -> None:
    """The result is within half of the exact quotient, halves resolved away from zero."""
    exact = Fraction(numerator, denominator)
    rounded = round_half_up(numerator, denominator)
    assert abs(exact - rounded) <= Fraction(1, 2)
    if abs(exact - rounded) == Fraction(1, 2):
        assert abs(rounded) > abs(exact)
    assert round_half_up(-numerator, denominator) == -rounded


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (100, [1, 1, 1], [34, 33, 33]),
        (101, [1, 1, 1], [34, 34, 33]),
        (5, [1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0]),
        (0, [3, 4], [0, 0]),
        (10, [0, 0, 0], [4, 3, 3]),  # nothing to be proportional to: equal split
        (10, [0, 5, 0], [0, 10, 0]),
        # 377 over 1495:475:1798 (W = 3768): floors 149, 47, 179 leave 2p, remainders
        # 2183, 1979, 3374, so the 3rd then the 1st part get a penny each.
        (377, [1495, 475, 1798], [150, 47, 180]),
        (1, [2, 1], [1, 0]),
        (2, [1, 2, 2], [0, 1, 1]),  # exact shares 0.4, 0.8, 0.8: the two 0.8s round up
        (3, [1, 1, 2, 2], [1, 0, 1, 1]),  # 0.5, 0.5, 1, 1: the tied halves go to index 0
    ],
)
def test_allocate_largest_remainder_examples(
    total: int, weights: list[int], expected: list[int]
) -> None:
    """Worked examples, including ties and all-zero weights."""
    assert allocate_largest_remainder(total, weights) == expected


@pytest.mark.parametrize(
    ("total", "weights", "message"),
    [
        (-1, [1], "negative total"),
        (1, [], "no parts"),
        (1, [1, -1], "must not be negative"),
    ],
)
def test_allocate_largest_remainder_refuses_bad_input(
    total: int, weights: list[int], message: str
) -> None:
    """Negative totals, negative weights and no parts at all are refused."""
    with pytest.raises(ValueError, match=message):
        allocate_largest_remainder(total, weights)


@PROPERTY
@given(pence, weights)
def test_allocation_sums_exactly_and_stays_within_a_penny(total: int, weights: list[int]) -> None:
    """Parts add up to the total and each is the floor or ceiling of its exact share."""
    parts = allocate_largest_remainder(total, weights)
    assert sum(parts) == total
    assert len(parts) == len(weights)
    shares_of = weights if sum(weights) else [1] * len(weights)
    for part, weight in zip(parts, shares_of, strict=True):
        exact = Fraction(total * weight, sum(shares_of))
        assert math.floor(exact) <= part <= math.ceil(exact)


@PROPERTY
@given(pence, st.integers(min_value=1, max_value=30))
def test_equal_weights_split_equally_with_leftovers_first(total: int, count: int) -> None:
    """Equal weights give parts within 1p of each other, the larger ones first."""
    parts = allocate_largest_remainder(total, [7] * count)
    assert parts == sorted(parts, reverse=True)
    assert parts[0] - parts[-1] <= 1
    assert parts == allocate_largest_remainder(total, [0] * count)


@PROPERTY
@given(pence, weights)
def test_a_part_never_exceeds_its_weight_when_the_total_fits(
    total: int, weights: list[int]
) -> None:
    """Sharing a discount no bigger than the basket never takes a line below zero."""
    assume(sum(weights) > 0)
    total = total % (sum(weights) + 1)
    parts = allocate_largest_remainder(total, weights)
    assert all(0 <= part <= weight for part, weight in zip(parts, weights, strict=True))


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (1234, "GBP", "£12.34"),
        (5, "GBP", "£0.05"),
        (0, "EUR", "€0.00"),
        (123456789, "GBP", "£1,234,567.89"),
        (-5, "GBP", "-£0.05"),
        (-1234, "GBP", "-£12.34"),
        (1234, "USD", "12.34 USD"),
        (1234, "GBP ", "£12.34"),  # char(3) columns come back padded
    ],
)
def test_format_money_examples(amount: int, currency: str, expected: str) -> None:
    assert format_money(amount, currency) == expected


@PROPERTY
@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_format_money_reads_back_as_the_same_pence(amount: int) -> None:
    written = format_money(amount, "XYZ").removesuffix(" XYZ").replace(",", "")
    whole, _, minor = written.lstrip("-").partition(".")
    assert len(minor) == 2
    assert (-1 if written.startswith("-") else 1) * (int(whole) * 100 + int(minor)) == amount
