"""Exact money arithmetic in integer pence: the one rounding rule and the one way to share.

Every amount in Fynlo is an ``int`` of minor units (pence). Nothing here touches floats: a
fraction of a penny only ever exists as an integer numerator over an integer denominator,
and :func:`round_half_up` is the single place where it becomes whole pence again.
:func:`format_money` is the one way an amount is written for a person to read.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["allocate_largest_remainder", "format_money", "round_half_up"]

_SYMBOLS = {"GBP": "£", "EUR": "€"}


def round_half_up(numerator: int, denominator: int) -> int:
    """Round ``numerator / denominator`` to the nearest integer, halves away from zero.

    For non-negative values this is the familiar "half up" (2.5 -> 3). Negative values mirror
    the positive ones (-2.5 -> -3, -2.4 -> -2), so ``round_half_up(-n, d) ==
    -round_half_up(n, d)`` and a refund rounds to exactly the negative of its sale.

    Raises:
        ValueError: if ``denominator`` is not positive.
    """
    if denominator <= 0:
        raise ValueError(f"denominator must be positive, got {denominator}")
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return -magnitude if numerator < 0 else magnitude


def allocate_largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """Share ``total`` pence between parts in proportion to ``weights``, summing exactly.

    Each part first gets the whole pence of its exact share ``total * weight / sum(weights)``;
    the pence left over go one each to the parts with the largest fractional remainders
    (Hamilton's method), ties going to the lowest index. So equal weights give an equal split
    with any leftover pence on the first parts, and no part is ever more than 1p away from its
    exact share. When every weight is zero there is nothing to be proportional to, and the
    total is shared equally instead.

    Raises:
        ValueError: if ``total`` is negative, ``weights`` is empty or any weight is negative.
    """
    if total < 0:
        raise ValueError(f"cannot allocate a negative total, got {total}")
    if not weights:
        raise ValueError("cannot allocate between no parts")
    if any(weight < 0 for weight in weights):
        raise ValueError(f"weights must not be negative, got {list(weights)}")
    if sum(weights) == 0:
        weights = [1] * len(weights)
    weight_sum = sum(weights)
    shares = [divmod(total * weight, weight_sum) for weight in weights]
    parts = [whole for whole, _ in shares]
    leftover = total - sum(parts)
    # Stable sort on remainder alone keeps lower indexes first among equal remainders.
    by_remainder = sorted(range(len(weights)), key=lambda index: -shares[index][1])
    for index in by_remainder[:leftover]:
        parts[index] += 1
    return parts


def format_money(amount: int, currency: str) -> str:
    """``1234, "GBP"`` → ``£12.34``; ``-5, "GBP"`` → ``-£0.05``; ``1234, "USD"`` →
    ``12.34 USD``. Integer arithmetic only: minor units are hundredths, as in every currency
    Fynlo takes."""
    units, minor = divmod(abs(amount), 100)
    sign = "-" if amount < 0 else ""
    symbol = _SYMBOLS.get(currency.strip())
    if symbol is None:
        return f"{sign}{units:,}.{minor:02d} {currency.strip()}"
    return f"{sign}{symbol}{units:,}.{minor:02d}"
