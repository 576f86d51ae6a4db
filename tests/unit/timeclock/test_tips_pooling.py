"""Tips pooled by hours (``server.timeclock.tips``): exact to the penny, nothing lost."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction
from uuid import UUID, uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from server.payments.tips import TipsTaken
from server.timeclock.shifts import Hours
from server.timeclock.tips import Pooling, pool_by_hours, tips_report
from server.timeclock.worked import Period, Worked

# No example database: failures replay from the printed blob instead of files in the repo.
PROPERTY = settings(max_examples=500, derandomize=False, print_blob=True, database=None)

pools = st.integers(min_value=0, max_value=10**8)
hours = st.dictionaries(
    st.uuids(), st.integers(min_value=0, max_value=7 * 24 * 3600), min_size=1, max_size=25
)


@PROPERTY
@given(pools, hours)
def test_shares_sum_to_the_pool_none_negative_each_within_a_penny(
    pool: int, worked: dict[UUID, int]
) -> None:
    shares = pool_by_hours(pool, worked)
    assert set(shares) == set(worked)
    assert sum(shares.values()) == pool
    total = sum(worked.values())
    for employee, share in shares.items():
        exact = Fraction(pool * worked[employee], total) if total else Fraction(pool, len(worked))
        assert share >= 0
        assert abs(share - exact) < 1


@PROPERTY
@given(pools, hours)
def test_the_shares_do_not_depend_on_the_order_hours_are_given_in(
    pool: int, worked: dict[UUID, int]
) -> None:
    backwards = dict(reversed(list(worked.items())))
    assert pool_by_hours(pool, worked) == pool_by_hours(pool, backwards)


def test_a_tie_gives_the_odd_penny_to_the_lowest_id() -> None:
    first, second = UUID(int=1), UUID(int=2)
    assert pool_by_hours(101, {second: 3600, first: 3600}) == {first: 51, second: 50}


POOLINGS: list[Pooling] = ["none", "by_hours"]
DAY = date(2026, 10, 23)
HERE = uuid4()


def worked(employee: UUID, paid: int, day: date = DAY) -> Worked:
    return Worked(
        shift_id=uuid4(),
        employee_id=employee,
        location_id=HERE,
        job_role_id=None,
        day=day,
        started_at=datetime(2026, 10, 23, 12, tzinfo=UTC),
        hours=Hours(regular=paid),
    )


tips = st.lists(
    st.builds(
        TipsTaken,
        day=st.sampled_from([DAY, date(2026, 10, 24)]),
        location_id=st.just(HERE),
        employee_id=st.one_of(st.none(), st.sampled_from([UUID(int=1), UUID(int=2)])),
        kind=st.sampled_from(["card", "cash"]),
        amount=st.integers(min_value=1, max_value=10**6),
    ),
    max_size=12,
)


@PROPERTY
@given(tips, st.sampled_from(POOLINGS), st.integers(0, 36000), st.integers(0, 36000))
def test_every_penny_lands_once_whatever_the_day_held(
    taken: list[TipsTaken], pooling: Pooling, alice: int, bob: int
) -> None:
    """Friday was worked, Saturday not: allocated + unattributed + unallocated is every tip."""
    shifts = [worked(UUID(int=1), alice), worked(UUID(int=2), bob)]
    report = tips_report(
        taken,
        shifts,
        period=Period(DAY, date(2026, 10, 24), None),
        pooling=pooling,
        currency="GBP",
        employee_names={},
    )
    totals = report.totals
    every = sum(t.amount for t in taken)
    assert totals.card_tips + totals.cash_tips + totals.declared_tips == every
    assert totals.allocated + totals.unattributed + totals.unallocated == every
    assert totals.allocated == sum(row.total for row in report.employees)
    assert all(row.total >= 0 for row in report.employees)
    saturday_cards = sum(t.amount for t in taken if t.day != DAY and t.kind == "card")
    assert totals.unallocated == (saturday_cards if pooling == "by_hours" else 0)
