"""The Cash-up page's words and groupings, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from server.cashup.drawers_schemas import ExpectedLine
from server.errors import ValidationFailed
from server.office.cashup_reads import DayPayment
from server.office.cashup_views import (
    expected_parts,
    flag_words,
    latest_day_over,
    over_short_words,
    parse_day,
    payments_by_method,
    refusal_words,
)
from server.reports.errors import DayAlreadyClosed, DayNotOver
from server.reports.schemas import MethodTakings


def taking(method: str, payments: int, charged: int) -> MethodTakings:
    return MethodTakings(
        method=method,
        payments=payments,
        amount=charged,
        tips=0,
        surcharges=0,
        charged=charged,
        provider_fees=0,
        provider_fees_actual=0,
        provider_fees_estimated=0,
        provider_fees_unreported=0,
        platform_fees=0,
    )


def paid(method: str, charged: int, number: str) -> DayPayment:
    return DayPayment(
        id=uuid4(),
        method=method,
        order_id=uuid4(),
        order_number=number,
        amount=charged,
        tip=0,
        surcharge=0,
        charged=charged,
        platform_fee=0,
        employee_id=None,
    )


@pytest.mark.parametrize(
    ("over_short", "words"),
    [
        (50, "over by £0.50"),
        (-200, "short by £2.00"),
        (0, "exact"),
        (-123456, "short by £1,234.56"),
        (None, "not counted yet"),
    ],
)
def test_over_short_in_words(over_short: int | None, words: str) -> None:
    assert over_short_words(over_short, "GBP") == words


def test_flags_in_words_name_the_threshold_and_each_flag() -> None:
    assert flag_words(False, 500, [], "GBP") == ""
    assert flag_words(None, None, [], "GBP") == ""
    assert flag_words(True, 500, ["late_cash"], "GBP") == (
        "over/short beyond the £5.00 threshold;"
        " cash synced after the close changed the expected figure"
    )
    assert flag_words(False, 500, ["merged_floats", "something_new"], "GBP") == (
        "another iPad opened the same drawer: its float is not counted; something new"
    )


def test_the_page_opens_on_the_day_before_today_and_reads_a_chosen_day() -> None:
    assert latest_day_over(date(2027, 1, 1)) == date(2026, 12, 31)
    assert parse_day("2026-12-03") == date(2026, 12, 3)
    assert parse_day("") is None and parse_day(None) is None
    with pytest.raises(ValidationFailed) as refused:
        parse_day("03/12/2026")
    assert refused.value.field == "day"


def test_expected_parts_by_label() -> None:
    lines = [
        ExpectedLine(label="opening float", sign="+", amount=8800),
        ExpectedLine(label="paid out", sign="-", amount=1500),
    ]
    assert expected_parts(lines) == {"opening float": 8800, "paid out": 1500}


def test_each_methods_payments_are_listed_under_it_and_checked_against_its_figure() -> None:
    card, cash, late = (
        paid("card", 2505, "T-0001"),
        paid("cash", 1400, "T-0002"),
        paid("cash", 300, "T-0003"),
    )
    lines = payments_by_method([taking("cash", 1, 1400), taking("card", 1, 2505)], [card, cash])
    assert [(m.figure.method, m.payments, m.adds_up) for m in lines] == [
        ("cash", [cash], True),
        ("card", [card], True),
    ]
    # A cash payment dated the day that arrived after the figure was stored: it shows, and
    # the method no longer adds up.
    moved = payments_by_method([taking("cash", 1, 1400)], [cash, late])
    assert [(m.figure.method, len(m.payments), m.adds_up) for m in moved] == [("cash", 2, False)]
    # A method with payments but no figure at all is listed, never hidden.
    extra = payments_by_method([], [card])
    assert [(m.figure.method, m.figure.charged, m.payments, m.adds_up) for m in extra] == [
        ("card", 0, [card], False)
    ]


def test_why_a_day_was_not_closed_in_words() -> None:
    day = date(2026, 12, 4)
    ends = datetime(2026, 12, 5, 4, 0, tzinfo=UTC)
    closed = DayAlreadyClosed("closed", number=7)
    assert refusal_words(closed, day, ends) == (
        "Not issued: business day Fri 04 Dec 2026 is already closed by Z-report 7."
    )
    assert refusal_words(DayNotOver("not over"), day, ends) == (
        "Not issued: business day Fri 04 Dec 2026 is not over yet."
        " It ends at 04:00 UTC on 05 Dec; close it after that."
    )
