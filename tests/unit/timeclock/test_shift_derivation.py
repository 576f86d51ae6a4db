"""The shift rule (``server/timeclock/shifts.py``): the shared vectors the iPad runs too, and
properties over any punches: order and duplicate deliveries never change the shifts, hours
are never negative and add up to the shift's length, and nothing is dropped."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.timeclock.shifts import Correction, Derived, Kind, Punch, derive, pay

VECTORS = json.loads(Path("shared/schema/vectors/timeclock.json").read_text())


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def _punch(data: dict[str, Any]) -> Punch:
    at = _time(data["at"])
    assert at is not None
    return Punch(
        id=UUID(data["id"]),
        employee_id=UUID(data["employee_id"]),
        location_id=UUID(data["location_id"]),
        kind=Kind(data["kind"]),
        at=at,
        hlc=data.get("hlc", ""),
        paid=data.get("paid", False),
        declared_tips=data.get("declared_tips", 0),
    )


def _correction(data: dict[str, Any]) -> Correction:
    created_at = _time(data["created_at"])
    assert created_at is not None
    return Correction(
        id=UUID(data["id"]),
        action=data["action"],
        created_at=created_at,
        punch_id=UUID(data["punch_id"]),
        at=_time(data.get("at")),
        punch=_punch(data["punch"]) if "punch" in data else None,
    )


def _as_vector(derived: Derived, now: datetime) -> dict[str, Any]:
    def text(at: datetime | None) -> str | None:
        return None if at is None else at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    return {
        "shifts": [
            {
                "id": str(shift.id),
                "started_at": text(shift.started_at),
                "ended_at": text(shift.ended_at),
                "breaks": [
                    {"started_at": text(b.started_at), "ended_at": text(b.ended_at), "paid": b.paid}
                    for b in shift.breaks
                ],
                "seconds": {
                    "regular": shift.seconds(now).regular,
                    "paid_breaks": shift.seconds(now).paid_breaks,
                    "unpaid_breaks": shift.seconds(now).unpaid_breaks,
                },
                "flags": [{"punch_id": str(f.punch_id), "flag": f.flag.value} for f in shift.flags],
                "auto_closed": shift.auto_closed,
                "declared_tips": shift.declared_tips,
                "punch_ids": [str(item) for item in shift.punch_ids],
            }
            for shift in derived.shifts
        ],
        "ignored": [{"punch_id": str(f.punch_id), "flag": f.flag.value} for f in derived.ignored],
    }


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda case: case["name"])
def test_the_server_derives_what_the_shared_vectors_say(case: dict[str, Any]) -> None:
    now = _time(case["now"])
    assert now is not None
    derived = derive(
        [_punch(item) for item in case["punches"]],
        [_correction(item) for item in case["corrections"]],
        now=now,
        auto_close_after=timedelta(minutes=case["auto_close_after_minutes"]),
    )
    assert _as_vector(derived, now) == case["expect"]


EMPLOYEE = UUID(int=1)
LOCATION = UUID(int=2)
START = datetime(2026, 12, 5, 8, tzinfo=UTC)
LIMIT = timedelta(hours=16)

punch_lists = st.lists(
    st.tuples(
        st.sampled_from(list(Kind)),
        st.integers(min_value=0, max_value=40 * 3600),
        st.booleans(),
        st.sampled_from(["", "a", "b"]),
    ),
    min_size=0,
    max_size=14,
).map(
    lambda items: [
        Punch(
            id=UUID(int=1000 + index),
            employee_id=EMPLOYEE,
            location_id=LOCATION,
            kind=kind,
            at=START + timedelta(seconds=offset, microseconds=offset % 7),
            hlc=hlc,
            paid=paid,
        )
        for index, (kind, offset, paid, hlc) in enumerate(items)
    ]
)


@settings(max_examples=300, deadline=None)
@given(punches=punch_lists, data=st.data())
def test_order_and_duplicate_deliveries_derive_the_same_shifts(
    punches: list[Punch], data: st.DataObject
) -> None:
    now = START + timedelta(hours=50)
    delivered = data.draw(
        st.permutations(punches + data.draw(st.lists(st.sampled_from(punches))) if punches else [])
    )
    assert derive(delivered, now=now, auto_close_after=LIMIT) == derive(
        punches, now=now, auto_close_after=LIMIT
    )


@settings(max_examples=300, deadline=None)
@given(punches=punch_lists, hours_later=st.integers(min_value=0, max_value=60))
def test_hours_are_never_negative_and_add_up_and_no_punch_is_lost(
    punches: list[Punch], hours_later: int
) -> None:
    now = START + timedelta(hours=hours_later)
    derived = derive(punches, now=now, auto_close_after=LIMIT)
    for shift in derived.shifts:
        hours = shift.seconds(now)
        assert min(hours.regular, hours.paid_breaks, hours.unpaid_breaks) >= 0
        end = shift.ended_at or max(now, shift.started_at)
        assert hours.regular + hours.paid_breaks + hours.unpaid_breaks == int(
            (end - shift.started_at).total_seconds()
        )
        assert shift.ended_at is None or shift.ended_at - shift.started_at <= LIMIT
    # Every punch either counted towards a shift or is flagged: none vanishes.
    accounted = {item for shift in derived.shifts for item in shift.punch_ids}
    accounted |= {f.punch_id for shift in derived.shifts for f in shift.flags}
    accounted |= {f.punch_id for f in derived.ignored}
    assert accounted == {punch.id for punch in punches}


def test_shifts_do_not_overlap_and_follow_each_other() -> None:
    punches = [
        Punch(UUID(int=i), EMPLOYEE, LOCATION, kind, START + timedelta(hours=h))
        for i, (kind, h) in enumerate(
            [(Kind.clock_in, 0), (Kind.clock_out, 4), (Kind.clock_in, 5), (Kind.clock_out, 9)]
        )
    ]
    shifts = derive(punches, now=START + timedelta(days=1), auto_close_after=LIMIT).shifts
    assert [(s.started_at, s.ended_at) for s in shifts] == [
        (START, START + timedelta(hours=4)),
        (START + timedelta(hours=5), START + timedelta(hours=9)),
    ]


@pytest.mark.parametrize(
    ("seconds", "rate", "pence"),
    [(3600, 1150, 1150), (5 * 3600 + 1800, 1150, 6325), (1, 1150, 0), (2, 1150, 1), (0, 999, 0)],
)
def test_pay_is_rounded_once_half_up(seconds: int, rate: int, pence: int) -> None:
    assert pay(seconds, rate) == pence
