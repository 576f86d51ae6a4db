"""The Cash-up page's words and groupings: over/short and flags as a manager reads them, the
payments behind each method's figure, and why a day could not be closed."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import NamedTuple

from server.cashup.drawers_schemas import ExpectedLine
from server.errors import ValidationFailed
from server.money import format_money
from server.office.cashup_reads import DayPayment
from server.reports.errors import DayAlreadyClosed, DayNotOver
from server.reports.schemas import MethodTakings

# What each of a session's flags asks a manager to look at (docs/cash-up.md, "What a flag
# means"), in the same words.
FLAG_WORDS = {
    "merged_floats": "another iPad opened the same drawer: its float is not counted",
    "movement_after_close": "a paid-in or paid-out dated after the close (not counted)",
    "extra_close": "counted again after it was closed (the later count is not used)",
    "late_cash": "cash synced after the close changed the expected figure",
}


def parse_day(text: str | None) -> date | None:
    """The ``day`` of the page's query (``2026-12-03``); None when not chosen."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed("the day must be a date like 2026-12-03", field="day") from None


def latest_day_over(today: date) -> date:
    """The page opens on the last business day that has ended: the day before today's."""
    return today - timedelta(days=1)


def over_short_words(over_short: int | None, currency: str) -> str:
    """``50`` → ``over by £0.50``; ``-200`` → ``short by £2.00``; ``0`` → ``exact``."""
    if over_short is None:
        return "not counted yet"
    if over_short == 0:
        return "exact"
    side = "over" if over_short > 0 else "short"
    return f"{side} by {format_money(abs(over_short), currency)}"


def flag_words(flagged: bool | None, threshold: int | None, flags: list[str], currency: str) -> str:
    """Why a session asks for a look, in words; empty when it does not."""
    reasons = []
    if flagged:
        limit = format_money(threshold or 0, currency)
        reasons.append(f"over/short beyond the {limit} threshold")
    reasons += [FLAG_WORDS.get(flag, flag.replace("_", " ")) for flag in flags]
    return "; ".join(reasons)


def expected_parts(lines: list[ExpectedLine]) -> dict[str, int]:
    """A session's expected-cash lines by label (``cash sales, with cash tips``: 3760)."""
    return {line.label: line.amount for line in lines}


class MethodLines(NamedTuple):
    """A method's figure and the payments it adds up."""

    figure: MethodTakings
    payments: list[DayPayment]
    adds_up: bool
    """Whether the listed payments' ``charged`` make the figure: False when something moved
    since the figure was worked out (a stored Z-report read after a late iPad synced)."""


def payments_by_method(
    figures: list[MethodTakings], payments: list[DayPayment]
) -> list[MethodLines]:
    """Each method's figure with its payments under it; a method with payments but no figure
    (it arrived after a Z-report was stored) is listed too, so nothing is hidden."""
    grouped: dict[str, list[DayPayment]] = {}
    for payment in payments:
        grouped.setdefault(payment.method, []).append(payment)
    lines = []
    for figure in figures:
        listed = grouped.pop(figure.method, [])
        total = sum(p.charged for p in listed)
        lines.append(
            MethodLines(figure, listed, total == figure.charged and len(listed) == figure.payments)
        )
    for method, listed in sorted(grouped.items()):
        empty = MethodTakings(
            method=method,
            payments=0,
            amount=0,
            tips=0,
            surcharges=0,
            charged=0,
            provider_fees=0,
            provider_fees_actual=0,
            provider_fees_estimated=0,
            provider_fees_unreported=0,
            platform_fees=0,
        )
        lines.append(MethodLines(empty, listed, False))
    return lines


def refusal_words(refused: DayNotOver | DayAlreadyClosed, day: date, ends_at: datetime) -> str:
    """Why the Z-report was not issued, for the manager who asked."""
    if isinstance(refused, DayAlreadyClosed):
        number = refused.extra.get("number")
        return f"Not issued: business day {day:%a %d %b %Y} is already closed by Z-report {number}."
    return (
        f"Not issued: business day {day:%a %d %b %Y} is not over yet."
        f" It ends at {ends_at:%H:%M} UTC on {ends_at:%d %b}; close it after that."
    )
