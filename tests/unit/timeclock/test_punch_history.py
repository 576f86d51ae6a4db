"""What corrections did to each punch (``server/timeclock/punch_history.py``) agrees with the
shift rule's own reading of them (``shifts.effective``), for any punches and corrections;
and the sentences a manager reads say the times, iPads and durations right."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from server.timeclock.punch_history import histories
from server.timeclock.shift_words import Said, Scheduled, schedule_flag, sentence
from server.timeclock.shifts import Correction, Kind, Punch, effective

EMPLOYEE, LOCATION = UUID(int=1), UUID(int=2)
START = datetime(2026, 12, 5, 8, tzinfo=UTC)


def _punch(number: int, kind: Kind, minutes: int) -> Punch:
    return Punch(
        UUID(int=100 + number), EMPLOYEE, LOCATION, kind, START + timedelta(minutes=minutes)
    )


punches = st.lists(st.tuples(st.sampled_from(list(Kind)), st.integers(0, 600)), max_size=6).map(
    lambda items: [_punch(n, kind, minutes) for n, (kind, minutes) in enumerate(items)]
)


@st.composite
def corrections(draw: st.DrawFn, made: list[Punch]) -> list[Correction]:
    """Adds, moves and voids, some of punches that exist, some of added ones, in any order
    of creation (ties of time broken by id, as the rule does)."""
    known = [punch.id for punch in made]
    found: list[Correction] = []
    for number in range(draw(st.integers(0, 6))):
        action = draw(st.sampled_from(["add", "move", "void"]))
        created = START + timedelta(days=1, minutes=draw(st.integers(0, 3)))
        correction_id = UUID(int=500 + number)
        if action == "add" or not known:
            added = _punch(
                200 + number, draw(st.sampled_from(list(Kind))), draw(st.integers(0, 600))
            )
            known.append(added.id)
            found.append(Correction(correction_id, "add", created, added.id, added.at, added))
            continue
        target = draw(st.sampled_from(known))
        at = START + timedelta(minutes=draw(st.integers(0, 600))) if action == "move" else None
        found.append(Correction(correction_id, action, created, target, at))
    return found


@settings(max_examples=300, deadline=None)
@given(made=punches, data=st.data())
def test_each_punch_counts_now_exactly_as_the_shift_rule_counts_it(
    made: list[Punch], data: st.DataObject
) -> None:
    fixes = data.draw(corrections(made))
    found = histories(made, fixes)
    counting = {h.punch_id: h.current for h in found.values() if h.current is not None}
    assert counting == {punch.id: punch for punch in effective(made, fixes)}
    for history in found.values():
        # Each step starts where the previous one left the punch; none is lost.
        stand = history.original
        for step in history.steps:
            assert step.before == stand
            stand = step.after
        assert stand == history.current
        assert history.voided == (history.current is None and history.last is not None)


def test_a_sentence_says_the_local_time_and_the_ipad() -> None:
    summer = datetime(2026, 7, 1, 8, 2, tzinfo=UTC)  # 09:02 in London (BST)
    said = Said(Kind.clock_in, summer, "Europe/London", "Bar till")
    assert sentence("duplicate_clock_in", said).startswith(
        "Clocked in again at 09:02 on Bar till while already clocked in"
    )
    anywhere = Said(Kind.clock_out, summer, "Europe/London", None)
    assert sentence("not_clocked_in", anywhere).startswith("Clocked out at 09:02 while not")
    assert "closed 7 h 30 min after" in sentence(
        "auto_closed", said, limit=timedelta(hours=7, minutes=30)
    )


def test_the_nearest_planned_shift_decides_late_or_early() -> None:
    day = datetime(2026, 12, 2, tzinfo=UTC)
    planned = [Scheduled(day.replace(hour=9)), Scheduled(day.replace(hour=18))]

    def flag(hour: int, minute: int) -> str | None:
        said = Said(Kind.clock_in, day.replace(hour=hour, minute=minute), "Europe/London", None)
        found = schedule_flag(
            said, planned, late_after=timedelta(minutes=5), early_before=timedelta(minutes=15)
        )
        return None if found is None else found[0]

    assert [flag(9, 5), flag(9, 6), flag(8, 45), flag(8, 44), flag(17, 30), flag(18, 10)] == [
        None,
        "late",
        None,
        "early",
        "early",
        "late",
    ]
    assert (
        schedule_flag(
            Said(Kind.clock_in, day, "Europe/London", None),
            [],
            late_after=timedelta(),
            early_before=timedelta(),
        )
        is None
    )
