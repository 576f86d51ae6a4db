"""The tips report: who receives each tip, exactly to the penny, nothing lost.

Plain functions over tips taken (``payments.tips.TipsTaken``) and placed shifts; no I/O
(``reports.tips_report`` reads them). The rule (docs/time-clock.md, "Tips"), per business
day and location:

- Card and bank tips: with ``tip_pooling`` ``none``, each payment's tip is the employee's
  who took it (nobody signed in: ``unattributed``). With ``by_hours``, that day's card and
  bank tips at the location, whoever took them, are one pool shared between the employees
  who worked shifts there that day, in proportion to their paid seconds, by
  ``money.allocate_largest_remainder``: the shares add up to the pool exactly and none is
  more than 1p from its exact share. A pool on a day nobody worked is ``unallocated``.
- Cash tips taken at the till stay with whoever took them, as do cash tips an employee
  declares when clocking out (on their shift's business day).

Every penny lands in exactly one place: ``allocated + unattributed + unallocated`` is every
card, cash and declared tip.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal
from uuid import UUID

from server.money import allocate_largest_remainder
from server.payments.tips import TipsTaken
from server.timeclock import report_schemas as s
from server.timeclock.worked import Period, Worked

Pooling = Literal["none", "by_hours"]


def pool_by_hours(pool: int, paid_seconds: Mapping[UUID, int]) -> dict[UUID, int]:
    """Share ``pool`` between employees by their paid seconds (see the module's rule); the
    leftover pence of a tie go to the lowest employee ids, so the answer never varies."""
    employees = sorted(paid_seconds, key=str)
    shares = allocate_largest_remainder(pool, [paid_seconds[e] for e in employees])
    return dict(zip(employees, shares, strict=True))


@dataclass
class _Day:
    card: int = 0
    pooled: int = 0
    unallocated: int = 0
    cash: int = 0
    declared: int = 0
    unattributed: int = 0


@dataclass
class _Person:
    paid_seconds: int = 0
    card: int = 0
    cash: int = 0
    declared: int = 0


def tips_report(
    taken: Sequence[TipsTaken],
    worked: Sequence[Worked],
    *,
    period: Period,
    pooling: Pooling,
    currency: str,
    employee_names: Mapping[UUID, str],
) -> s.TipsReport:
    """The report of ``period``: ``taken`` on its days, and the shifts it holds."""
    shifts = [shift for shift in worked if period.holds(shift)]
    days: dict[tuple[date, UUID], _Day] = defaultdict(_Day)
    people: dict[UUID, _Person] = defaultdict(_Person)
    hours: dict[tuple[date, UUID], dict[UUID, int]] = defaultdict(lambda: defaultdict(int))
    for shift in shifts:
        people[shift.employee_id].paid_seconds += shift.hours.paid
        hours[(shift.day, shift.location_id)][shift.employee_id] += shift.hours.paid
        if shift.declared_tips:
            days[(shift.day, shift.location_id)].declared += shift.declared_tips
            people[shift.employee_id].declared += shift.declared_tips
    for tips in taken:
        day = days[(tips.day, tips.location_id)]
        if tips.kind == "card":
            day.card += tips.amount
        else:
            day.cash += tips.amount
        if tips.kind == "card" and pooling == "by_hours":
            day.pooled += tips.amount  # shared below, once the day's pool is whole
        elif tips.employee_id is None:
            day.unattributed += tips.amount
        elif tips.kind == "card":
            people[tips.employee_id].card += tips.amount
        else:
            people[tips.employee_id].cash += tips.amount
    shares: list[s.TipsShare] = []
    for (day_of, location_id), day in sorted(days.items(), key=lambda item: _key(item[0])):
        if not day.pooled:
            continue
        worked_there = hours.get((day_of, location_id))
        if not worked_there:
            day.unallocated, day.pooled = day.pooled, 0
            continue
        for employee, share in pool_by_hours(day.pooled, worked_there).items():
            people[employee].card += share
            shares.append(
                s.TipsShare(
                    day=day_of,
                    location_id=location_id,
                    employee_id=employee,
                    paid_seconds=worked_there[employee],
                    share=share,
                )
            )
    return s.TipsReport(
        start=period.start,
        end=period.end,
        location_id=period.location_id,
        currency=currency,
        tip_pooling=pooling,
        employees=_employees(people, employee_names),
        days=[
            s.TipsDay(
                day=day_of,
                location_id=location_id,
                card_tips=day.card,
                pooled=day.pooled,
                unallocated=day.unallocated,
                cash_tips=day.cash,
                declared_tips=day.declared,
                unattributed=day.unattributed,
            )
            for (day_of, location_id), day in sorted(days.items(), key=lambda item: _key(item[0]))
        ],
        shares=shares,
        totals=_totals(days.values(), people.values()),
    )


def _employees(people: Mapping[UUID, _Person], names: Mapping[UUID, str]) -> list[s.TipsEmployee]:
    rows = [
        s.TipsEmployee(
            employee_id=employee,
            employee=names.get(employee, ""),
            paid_seconds=person.paid_seconds,
            card_tips=person.card,
            cash_tips=person.cash,
            declared_tips=person.declared,
            total=person.card + person.cash + person.declared,
        )
        for employee, person in people.items()
    ]
    return sorted(rows, key=lambda row: (row.employee, str(row.employee_id)))


def _totals(days: Iterable[_Day], people: Iterable[_Person]) -> s.TipsTotals:
    day_rows, person_rows = list(days), list(people)
    return s.TipsTotals(
        card_tips=sum(day.card for day in day_rows),
        cash_tips=sum(day.cash for day in day_rows),
        declared_tips=sum(day.declared for day in day_rows),
        allocated=sum(p.card + p.cash + p.declared for p in person_rows),
        unattributed=sum(day.unattributed for day in day_rows),
        unallocated=sum(day.unallocated for day in day_rows),
    )


def _key(key: tuple[date, UUID]) -> tuple[date, str]:
    return key[0], str(key[1])
