"""Shifts derived from punches: the one rule the server and every iPad apply (docs/time-clock.md).

Punches are append-only facts from any iPad, often offline, so two iPads may disagree about
whether someone is in. Nothing here drops a punch: each one either moves the employee's
state (out → in → on break → in → out) or is kept as a *flag* for a manager. The result
depends only on the set of punches and corrections (not their order or how often each
arrived) and, for a shift still open, on ``now``:

1. Punches are taken by id (a duplicate delivery is the same punch), corrections applied
   (a void hides a punch, a move changes its time, an add is a punch a manager made), and
   the rest sorted by time, then HLC, then id.
2. Out: ``clock_in`` opens a shift; anything else is flagged and ignored.
3. In: ``break_start`` starts a break; ``clock_out`` ends the shift; a second ``clock_in``
   (two iPads, both offline) is flagged and the earlier one stands; ``break_end`` is
   flagged.
4. On break: ``break_end`` ends it; ``clock_out`` ends the break and the shift at once;
   ``break_start`` and ``clock_in`` are flagged.
5. A shift still open ``auto_close_after`` past its start (a forgotten clock-out) closes at
   exactly that limit, flagged: by the next punch that comes later, or by ``now``.

Times are whole seconds (a punch's fraction of a second is dropped), so hours add up to the
second and pay is rounded once per shift with the project's one rounding rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal
from uuid import UUID

from server.money import round_half_up


class Kind(StrEnum):
    clock_in = "clock_in"
    break_start = "break_start"
    break_end = "break_end"
    clock_out = "clock_out"


@dataclass(frozen=True)
class Punch:
    id: UUID
    employee_id: UUID
    location_id: UUID
    kind: Kind
    at: datetime
    hlc: str = ""
    """The device's hybrid logical clock when it punched: orders two punches in one second."""
    paid: bool = False
    """For a ``break_start``: whether the break is paid (the break type's, when punched)."""
    break_type_id: UUID | None = None
    job_role_id: UUID | None = None
    """For a ``clock_in``: the role worked (None: the employee's current one)."""
    declared_tips: int = 0
    """For a ``clock_out``: cash tips the employee declared, in minor units."""
    device_id: UUID | None = None


@dataclass(frozen=True)
class Correction:
    """A manager's change to the punches: never an edit of one. ``void`` hides ``punch_id``,
    ``move`` gives it the time ``at``, ``add`` is ``punch`` (made by the manager)."""

    id: UUID
    action: Literal["add", "move", "void"]
    created_at: datetime
    punch_id: UUID | None = None
    at: datetime | None = None
    punch: Punch | None = None


class Flag(StrEnum):
    duplicate_clock_in = "duplicate_clock_in"
    """Clocked in while already in (two iPads offline): the earlier clock-in stands."""
    not_clocked_in = "not_clocked_in"
    """A break or clock-out while out: ignored."""
    break_while_on_break = "break_while_on_break"
    break_end_without_break = "break_end_without_break"
    auto_closed = "auto_closed"
    """Nobody clocked out: closed at the restaurant's limit."""


@dataclass(frozen=True)
class Flagged:
    punch_id: UUID
    flag: Flag


@dataclass(frozen=True)
class Break:
    started_at: datetime
    ended_at: datetime | None
    paid: bool
    break_type_id: UUID | None = None


@dataclass(frozen=True)
class Shift:
    """One stretch of work: its id is the id of the clock-in that opened it."""

    id: UUID
    employee_id: UUID
    location_id: UUID
    job_role_id: UUID | None
    started_at: datetime
    ended_at: datetime | None
    """None while the employee is still in."""
    breaks: tuple[Break, ...] = ()
    punch_ids: tuple[UUID, ...] = ()
    """Every punch that counted towards it, in order."""
    flags: tuple[Flagged, ...] = ()
    declared_tips: int = 0
    auto_closed: bool = False

    def seconds(self, until: datetime) -> Hours:
        """Its hours by type, up to ``until`` if it is still open."""
        start = _seconds(self.started_at)
        # An open shift asked about before its own punches (``until`` too early) has none.
        end = max(start, _seconds(self.ended_at or until))
        total = end - start
        paid_breaks = unpaid_breaks = 0
        for item in self.breaks:
            last = end if item.ended_at is None else min(end, _seconds(item.ended_at))
            length = max(0, last - max(start, _seconds(item.started_at)))
            if item.paid:
                paid_breaks += length
            else:
                unpaid_breaks += length
        return Hours(
            regular=total - paid_breaks - unpaid_breaks,
            paid_breaks=paid_breaks,
            unpaid_breaks=unpaid_breaks,
        )


@dataclass(frozen=True)
class Hours:
    """Seconds of a shift: ``regular`` worked, breaks paid and unpaid. Paid time is
    ``regular + paid_breaks``."""

    regular: int = 0
    paid_breaks: int = 0
    unpaid_breaks: int = 0

    @property
    def paid(self) -> int:
        return self.regular + self.paid_breaks

    def __add__(self, other: Hours) -> Hours:
        return Hours(
            self.regular + other.regular,
            self.paid_breaks + other.paid_breaks,
            self.unpaid_breaks + other.unpaid_breaks,
        )


def pay(paid_seconds: int, hourly_rate: int) -> int:
    """Minor units for ``paid_seconds`` at ``hourly_rate`` minor units an hour, rounded once."""
    return round_half_up(paid_seconds * hourly_rate, 3600)


@dataclass(frozen=True)
class Derived:
    shifts: list[Shift]
    ignored: list[Flagged] = field(default_factory=list)
    """Flags of punches that belong to no shift (a clock-out while out)."""


_STATE_ORDER = {Kind.clock_in: 0, Kind.break_start: 1, Kind.break_end: 2, Kind.clock_out: 3}


def effective(punches: Iterable[Punch], corrections: Iterable[Correction]) -> list[Punch]:
    """The punches that count, once each, with corrections applied, in the rule's order."""
    by_id = {punch.id: punch for punch in punches}
    for correction in sorted(corrections, key=lambda c: (c.created_at, c.id)):
        if correction.action == "add" and correction.punch is not None:
            by_id[correction.punch.id] = correction.punch
        elif correction.punch_id in by_id:
            if correction.action == "void":
                del by_id[correction.punch_id]
            elif correction.action == "move" and correction.at is not None:
                by_id[correction.punch_id] = replace(by_id[correction.punch_id], at=correction.at)
    return sorted(by_id.values(), key=_order)


def derive(
    punches: Iterable[Punch],
    corrections: Iterable[Correction] = (),
    *,
    now: datetime,
    auto_close_after: timedelta,
) -> Derived:
    """One employee's shifts from their punches (see the module's rule)."""
    shifts: list[Shift] = []
    ignored: list[Flagged] = []
    open_shift: _Open | None = None
    for punch in effective(punches, corrections):
        if open_shift is not None and _whole(punch.at) >= open_shift.started_at + auto_close_after:
            shifts.append(open_shift.auto_close(auto_close_after))
            open_shift = None
        if open_shift is None:
            if punch.kind is Kind.clock_in:
                open_shift = _Open(punch)
            else:
                ignored.append(Flagged(punch.id, Flag.not_clocked_in))
            continue
        if open_shift.take(punch):
            shifts.append(open_shift.closed(punch.at))
            open_shift = None
    if open_shift is not None:
        if now >= open_shift.started_at + auto_close_after:
            shifts.append(open_shift.auto_close(auto_close_after))
        else:
            shifts.append(open_shift.still_open())
    return Derived(shifts, ignored)


class _Open:
    """A shift being read, punch by punch."""

    def __init__(self, clock_in: Punch) -> None:
        self.first = clock_in
        self.started_at = _whole(clock_in.at)
        self.breaks: list[Break] = []
        self.on_break: Break | None = None
        self.punch_ids = [clock_in.id]
        self.flags: list[Flagged] = []
        self.declared_tips = 0

    def take(self, punch: Punch) -> bool:
        """Apply one punch; True when it ends the shift."""
        at = _whole(punch.at)
        if punch.kind is Kind.clock_in:
            self.flags.append(Flagged(punch.id, Flag.duplicate_clock_in))
        elif punch.kind is Kind.break_start:
            if self.on_break is not None:
                self.flags.append(Flagged(punch.id, Flag.break_while_on_break))
            else:
                self.on_break = Break(at, None, punch.paid, punch.break_type_id)
                self.punch_ids.append(punch.id)
        elif punch.kind is Kind.break_end:
            if self.on_break is None:
                self.flags.append(Flagged(punch.id, Flag.break_end_without_break))
            else:
                self.breaks.append(replace(self.on_break, ended_at=at))
                self.on_break = None
                self.punch_ids.append(punch.id)
        else:
            self.declared_tips = punch.declared_tips
            self.punch_ids.append(punch.id)
            return True
        return False

    def closed(self, at: datetime, *, auto: bool = False) -> Shift:
        end = _whole(at)
        breaks = list(self.breaks)
        if self.on_break is not None:
            breaks.append(replace(self.on_break, ended_at=end))
        flags = list(self.flags)
        if auto:
            flags.append(Flagged(self.first.id, Flag.auto_closed))
        return self._shift(end, breaks, flags, auto)

    def auto_close(self, limit: timedelta) -> Shift:
        return self.closed(self.started_at + limit, auto=True)

    def still_open(self) -> Shift:
        breaks = list(self.breaks)
        if self.on_break is not None:
            breaks.append(self.on_break)
        return self._shift(None, breaks, list(self.flags), False)

    def _shift(
        self, end: datetime | None, breaks: Sequence[Break], flags: list[Flagged], auto: bool
    ) -> Shift:
        return Shift(
            id=self.first.id,
            employee_id=self.first.employee_id,
            location_id=self.first.location_id,
            job_role_id=self.first.job_role_id,
            started_at=self.started_at,
            ended_at=end,
            breaks=tuple(breaks),
            punch_ids=tuple(self.punch_ids),
            flags=tuple(flags),
            declared_tips=self.declared_tips,
            auto_closed=auto,
        )


def _order(punch: Punch) -> tuple[int, int, str, str]:
    return (_seconds(punch.at), _STATE_ORDER[punch.kind], punch.hlc, str(punch.id))


def _seconds(at: datetime) -> int:
    return int(at.timestamp() // 1)


def _whole(at: datetime) -> datetime:
    return at.replace(microsecond=0)
