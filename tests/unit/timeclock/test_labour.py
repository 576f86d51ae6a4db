"""The labour report's rules (``server.timeclock.labour``) and its CSV, without a database."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from server.timeclock import csv_format
from server.timeclock.labour import clock_time, cost, labour_report, overtime
from server.timeclock.services import Rate, Rates
from server.timeclock.shifts import Hours
from server.timeclock.worked import Period, Worked, monday_of

PROPERTY = settings(max_examples=300, derandomize=False, print_blob=True, database=None)
ALICE = UUID(int=1)
FLOOR = UUID(int=10)
MONDAY = date(2026, 10, 19)


def worked(day: date, paid: int, *, employee: UUID = ALICE, unpaid: int = 0) -> Worked:
    return Worked(
        shift_id=uuid4(),
        employee_id=employee,
        location_id=UUID(int=99),
        job_role_id=FLOOR,
        day=day,
        started_at=datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9),
        hours=Hours(regular=paid, unpaid_breaks=unpaid),
    )


def test_the_shift_that_crosses_the_threshold_has_the_part_past_it() -> None:
    shifts = [worked(MONDAY + timedelta(days=n), 4 * 3600) for n in range(4)]  # 16 hours
    assert [overtime(shifts, threshold_seconds=10 * 3600)[s.shift_id] for s in shifts] == [
        0,
        0,
        2 * 3600,
        4 * 3600,
    ]


def test_exactly_at_the_threshold_is_no_overtime_and_a_new_week_starts_afresh() -> None:
    shifts = [worked(MONDAY, 10 * 3600), worked(MONDAY + timedelta(days=7), 3600)]
    assert set(overtime(shifts, threshold_seconds=10 * 3600).values()) == {0}


@PROPERTY
@given(
    st.lists(st.tuples(st.integers(0, 13), st.integers(0, 16 * 3600)), max_size=20),
    st.integers(3600, 10080 * 60),
)
def test_a_weeks_overtime_is_what_its_paid_time_passes_the_threshold_by(
    days_and_seconds: list[tuple[int, int]], threshold: int
) -> None:
    shifts = [worked(MONDAY + timedelta(days=d), paid) for d, paid in days_and_seconds]
    over = overtime(shifts, threshold_seconds=threshold)
    for monday in (MONDAY, MONDAY + timedelta(days=7)):
        week = [s for s in shifts if monday_of(s.day) == monday]
        paid = sum(s.hours.paid for s in week)
        assert sum(over[s.shift_id] for s in week) == max(0, paid - threshold)
        assert all(0 <= over[s.shift_id] <= s.hours.paid for s in week)


def test_a_rate_in_another_currency_is_no_rate() -> None:
    rates = Rates([Rate(ALICE, FLOOR, 1200, "EUR", date(2026, 1, 1))])
    assert cost(worked(MONDAY, 3600), rates, "GBP") is None
    assert cost(worked(MONDAY, 3600), rates, "EUR") == 1200


def test_clock_time_is_exact() -> None:
    assert [clock_time(s) for s in (0, 59, 3600, 135_000, 360_061)] == [
        "0:00:00",
        "0:00:59",
        "1:00:00",
        "37:30:00",
        "100:01:01",
    ]


@PROPERTY
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 12 * 3600), st.integers(0, 3600))))
def test_every_row_adds_up_and_the_rows_add_up_to_the_total(
    shifts: list[tuple[int, int, int]],
) -> None:
    rates = Rates([Rate(ALICE, FLOOR, 1111, "GBP", date(2026, 1, 1))])
    report = labour_report(
        [worked(MONDAY + timedelta(days=d), paid, unpaid=unpaid) for d, paid, unpaid in shifts],
        period=Period(MONDAY, MONDAY + timedelta(days=6), None),
        rates=rates,
        currency="GBP",
        net_sales={MONDAY: 12_345},
        weekly_overtime_minutes=600,
        costs_visible=True,
        employee_names={},
        role_names={},
    )
    for row in [*report.days, *report.roles, *report.employees, report.totals]:
        assert row.regular_seconds + row.paid_break_seconds == row.paid_seconds
        assert row.paid_seconds + row.unpaid_break_seconds == row.clocked_seconds
    for member in ("paid_seconds", "clocked_seconds", "overtime_seconds", "labour_cost"):
        total = getattr(report.totals, member)
        for rows in (report.days, report.roles, report.employees):
            assert sum(getattr(row, member) for row in rows) == total


def test_labour_percentage_is_basis_points_half_up_and_null_without_sales() -> None:
    rates = Rates([Rate(ALICE, FLOOR, 1000, "GBP", date(2026, 1, 1))])
    # 1 hour at 10.00 = 1000 over 3 sales days: 1000 / 3000 = 33.333% -> 3333 bp;
    # over 1600: 62.5% -> 6250 bp; over 7: 142857.14 -> 1428571 bp; none: null.
    report = labour_report(
        [worked(MONDAY + timedelta(days=d), 3600) for d in range(4)],
        period=Period(MONDAY, MONDAY + timedelta(days=3), None),
        rates=rates,
        currency="GBP",
        net_sales={MONDAY: 3000, MONDAY + timedelta(days=1): 1600, MONDAY + timedelta(days=2): 7},
        weekly_overtime_minutes=600,
        costs_visible=True,
        employee_names={},
        role_names={},
    )
    assert [day.labour_bp for day in report.days] == [3333, 6250, 1428571, None]


def test_money_in_the_csv_is_plain_decimal_pounds() -> None:
    assert [csv_format.hundredths(n) for n in (0, 5, 99, 100, 1234, -5, -1234)] == [
        "0.00",
        "0.05",
        "0.99",
        "1.00",
        "12.34",
        "-0.05",
        "-12.34",
    ]


def test_a_name_a_spreadsheet_would_run_is_written_as_text() -> None:
    """OWASP CSV injection: a cell starting ``=`` is a formula in a spreadsheet."""
    report = labour_report(
        [worked(MONDAY, 3600)],
        period=Period(MONDAY, MONDAY, None),
        rates=Rates([]),
        currency="GBP",
        net_sales={},
        weekly_overtime_minutes=600,
        costs_visible=True,
        employee_names={ALICE: '=HYPERLINK("http://x")'},
        role_names={FLOOR: "Floor"},
    )
    rows = list(csv.DictReader(io.StringIO(csv_format.labour(report), newline="")))
    [employee] = [row for row in rows if row["breakdown"] == "employee"]
    assert employee["employee"] == '\'=HYPERLINK("http://x")'
