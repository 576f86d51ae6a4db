"""The drawer rules, as values in and values out (docs/cash-up.md, "The rules").

- A count is a number of notes or coins per GBP denomination, in pence; its total is worked
  out here, never taken from the iPad.
- Expected cash = opening float + cash sales (with their cash tips) - cash refunds
  + paid-ins - paid-outs. Over/short = counted - expected; a session is flagged when the
  difference, either way, is more than the restaurant's threshold.
- One open session per drawer: of the sessions opened on a drawer and not yet closed, the
  earliest opened (by ``at``, ties by id) is the session; every other is merged into it.
- Cash belongs to the session open on the iPad that took it, at the time it was taken: the
  latest opened such session (ties by id), or, if it was merged, the session it was merged
  into. Cash taken on an iPad with no open session belongs to none and is listed as such.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

DENOMINATIONS = (5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1)
"""Bank of England notes and Royal Mint coins in circulation, in pence, largest first."""
MAX_PIECES = 100_000
"""More of one note or coin than any till holds: a typing slip, not a count."""


class BadCount(ValueError):
    """A count that is not notes and coins: an unknown denomination or a count below zero."""


def count_total(counts: Mapping[str, object]) -> int:
    """The pence a count per denomination holds (keys are denominations in pence, as text,
    the way JSON object keys are)."""
    total = 0
    for key, pieces in counts.items():
        if not key.isdigit() or int(key) not in DENOMINATIONS:
            raise BadCount(f"{key!r} is not a GBP note or coin in pence")
        if type(pieces) is not int or not 0 <= pieces <= MAX_PIECES:
            raise BadCount(f"the count of {key} must be a whole number from 0 to {MAX_PIECES}")
        total += int(key) * pieces
    return total


@dataclass(frozen=True)
class Expected:
    """The cash a drawer should hold, line by line, in pence."""

    opening_float: int
    cash_sales: int
    """Cash taken for sales, with the tips taken in cash: tips stay in the drawer; paying
    them out to staff is a paid-out."""
    cash_refunds: int
    paid_in: int
    paid_out: int

    @property
    def total(self) -> int:
        return (
            self.opening_float + self.cash_sales - self.cash_refunds + self.paid_in - self.paid_out
        )


def over_short(counted: int, expected: int) -> int:
    """Positive: more cash than expected (over); negative: less (short)."""
    return counted - expected


def is_flagged(difference: int, threshold: int) -> bool:
    """A difference is flagged when it is more than the threshold, over or short."""
    return abs(difference) > threshold


@dataclass(frozen=True)
class Opening:
    """A session's claim to be its drawer's one open session."""

    session_id: UUID
    at: datetime


def surviving(openings: Iterable[Opening]) -> Opening:
    """The session of a drawer among sessions opened on it and not closed: the earliest."""
    return min(openings, key=lambda opening: (opening.at, opening.session_id))


@dataclass(frozen=True)
class Window:
    """When a session was open on one iPad: from its opening until the session it belongs
    to (itself, or the one it was merged into) closed, or still open (``until`` None)."""

    session_id: UUID
    belongs_to: UUID
    device_id: UUID | None
    opened_at: datetime
    until: datetime | None


def session_of(device_id: UUID | None, at: datetime, windows: Sequence[Window]) -> UUID | None:
    """The session cash taken on ``device_id`` at ``at`` belongs to, or None (outside)."""
    open_then = [
        window
        for window in windows
        if device_id is not None
        and window.device_id == device_id
        and window.opened_at <= at
        and (window.until is None or at < window.until)
    ]
    if not open_then:
        return None
    latest = max(open_then, key=lambda window: (window.opened_at, window.session_id))
    return latest.belongs_to
