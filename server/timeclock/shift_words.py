"""Flags said to a manager: one sentence each, with the local time and the iPad, and what to
do about it. Also the schedule's flags, ``late`` and ``early``: the hours still count from
the clock-in as punched (docs/time-clock.md); a manager moves it if it should not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from server.timeclock.shifts import Kind

_KIND_WORDS = {
    Kind.clock_in: "Clocked in",
    Kind.break_start: "Started a break",
    Kind.break_end: "Ended a break",
    Kind.clock_out: "Clocked out",
}


@dataclass(frozen=True)
class Said:
    """Where and when a punch happened, as a manager reads it."""

    kind: Kind
    at: datetime
    zone: str
    device_name: str | None

    @property
    def when(self) -> str:
        local = self.at.astimezone(ZoneInfo(self.zone)).strftime("%H:%M")
        return f"{local} on {self.device_name}" if self.device_name else local


def sentence(flag: str, punch: Said, *, limit: timedelta | None = None) -> str:
    """The sentence for one of ``shifts.Flag``'s codes about ``punch``."""
    what = _KIND_WORDS[punch.kind]
    if flag == "duplicate_clock_in":
        return (
            f"Clocked in again at {punch.when} while already clocked in (two iPads): the "
            "earlier clock-in counts. Void this one if it was a mistake."
        )
    if flag == "not_clocked_in":
        return (
            f"{what} at {punch.when} while not clocked in: it counts for nothing. Add the "
            "missing clock-in, or void it."
        )
    if flag == "break_while_on_break":
        return (
            f"Started a break at {punch.when} while already on one: it counts for nothing. "
            "Void it, or add the missing end of the first break."
        )
    if flag == "break_end_without_break":
        return (
            f"Ended a break at {punch.when} without starting one: it counts for nothing. Add "
            "the missing break start, or void it."
        )
    if flag == "auto_closed":
        hours = _duration(limit or timedelta())
        return (
            f"Nobody clocked out: the shift was closed {hours} after the clock-in at "
            f"{punch.when}. Add the clock-out at the time they left."
        )
    raise ValueError(f"no sentence for {flag!r}")


@dataclass(frozen=True)
class Scheduled:
    starts_at: datetime


def schedule_flag(
    clock_in: Said,
    planned: Sequence[Scheduled],
    *,
    late_after: timedelta,
    early_before: timedelta,
) -> tuple[str, str] | None:
    """``("late" | "early", sentence)`` against the planned shift starting nearest the
    clock-in (the caller passes those of the same employee, location and business day)."""
    if not planned:
        return None
    nearest = min(planned, key=lambda p: (abs(p.starts_at - clock_in.at), p.starts_at))
    start = nearest.starts_at.astimezone(ZoneInfo(clock_in.zone)).strftime("%H:%M")
    gap = clock_in.at - nearest.starts_at
    if gap > late_after:
        return "late", (
            f"Clocked in at {clock_in.when}, {_duration(gap)} after the scheduled {start} "
            "start. The hours count from the clock-in."
        )
    if -gap > early_before:
        return "early", (
            f"Clocked in at {clock_in.when}, {_duration(-gap)} before the scheduled {start} "
            "start. The hours count from the clock-in: move it if they should not."
        )
    return None


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds()) // 60
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"
