"""What managers' corrections did to each punch: as punched, as each correction found and left
it, and as it counts now. Pure; read by the shifts a manager sees and by the audit of a new
correction (docs/time-clock.md, "Corrections").

Corrections apply exactly as ``shifts.effective`` applies them (the one rule), in order of
creation: an ``add`` sets a punch, a ``move`` gives an existing one a new time, a ``void``
removes it; a move or void of a punch that does not count (already voided) changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from uuid import UUID

from server.timeclock.shifts import Correction, Punch


@dataclass(frozen=True)
class Step:
    """One correction of a punch: the punch before it and after it (None: not counting)."""

    correction_id: UUID
    before: Punch | None
    after: Punch | None


@dataclass
class History:
    punch_id: UUID
    original: Punch | None
    """As an iPad punched it; None for a punch a manager added."""
    current: Punch | None = None
    """As it counts now; None once voided."""
    last: Punch | None = None
    """As it counted last: ``current``, or for a voided punch how it stood before the void."""
    steps: list[Step] = field(default_factory=list)

    @property
    def voided(self) -> bool:
        return self.current is None and self.last is not None


def histories(punches: Iterable[Punch], corrections: Iterable[Correction]) -> dict[UUID, History]:
    """Every punch named by ``punches`` or by a correction, with what happened to it."""
    found: dict[UUID, History] = {
        punch.id: History(punch.id, punch, current=punch, last=punch) for punch in punches
    }
    for correction in sorted(corrections, key=lambda c: (c.created_at, c.id)):
        if correction.action == "add" and correction.punch is not None:
            added = correction.punch
            history = found.setdefault(added.id, History(added.id, None))
            _step(history, correction.id, added)
        elif correction.punch_id in found:
            history = found[correction.punch_id]
            if history.current is None:
                continue  # as ``effective``: nothing left to move or void
            if correction.action == "void":
                _step(history, correction.id, None)
            elif correction.action == "move" and correction.at is not None:
                _step(history, correction.id, replace(history.current, at=correction.at))
    return found


def _step(history: History, correction_id: UUID, after: Punch | None) -> None:
    history.steps.append(Step(correction_id, history.current, after))
    history.current = after
    if after is not None:
        history.last = after
