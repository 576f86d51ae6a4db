"""Order pricing: worked examples, refusals, and properties over random baskets."""

from __future__ import annotations

import math
from collections import defaultdict
from fractions import Fraction
from typing import NamedTuple

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.orders.pricing import (
    Discount,
    OrderTotals,
    PricingError,
    PricingLine,
    SplitPart,
    price_order,
    split_by_items,
    split_equally,
)

# No example database (nothing written into the repo); print_blob makes any failure replay.
BASKETS = settings(
    max_examples=1000, derandomize=False, print_blob=True, database=None, deadline=None
)

STANDARD = 2000
REDUCED = 500
ZERO = 0


def line(line_id: str, unit_price: int, quantity: int = 1, **fields: object) -> PricingLine:
    """Build a line, standard-rated unless told otherwise."""
    return msgspec.convert(
        {
            "line_id": line_id,
            "unit_price": unit_price,
            "quantity": quantity,
            "vat_rate_bp": STANDARD,
            **fields,
        },
        type=PricingLine,
    )


def _half_up(exact: Fraction) -> int:
    """Round a non-negative exact amount to the nearest penny, halves up."""
    return math.floor(exact + Fraction(1, 2))


# Worked examples beyond the shared vectors.


def test_vat_is_extracted_per_bucket_not_per_line() -> None:
    """Three 795p glasses carry 397.5p of VAT between them: 398p, not 3 x 133p."""
    totals = price_order([line(f"glass_{n}", 795) for n in range(3)])
    assert [(b.rate_bp, b.gross, b.vat, b.net) for b in totals.vat] == [(2000, 2385, 398, 1987)]


def test_line_and_order_discounts_stack_in_that_order() -> None:
    """The order discount is a percentage of what is left after the line discounts."""
    totals = price_order(
        [line("steak", 2000, discount=Discount(kind="fixed", value=500)), line("wine", 1000)],
        order_discount=Discount(kind="percent", value=1000),
    )
    # (1500 + 1000) x 10% = 250, shared 1500:1000 -> 150 and 100.
    assert [(x.line_discount, x.order_discount, x.total) for x in totals.lines] == [
        (500, 150, 1350),
        (0, 100, 900),
    ]
    assert (totals.subtotal, totals.discount_total, totals.total_after_discounts) == (
        3000,
        750,
        2250,
    )


def test_service_charge_excludes_tip_and_vat_buckets() -> None:
    """Service charge is on the discounted goods; neither it nor the tip enters VAT."""
    totals = price_order([line("pie", 1600)], service_charge_bp=1250, tip=300)
    assert totals.service_charge == 200
    assert [b.gross for b in totals.vat] == [1600]
    assert totals.total_due == 1600 + 200 + 300


def test_split_equally_into_one_part_is_the_whole_bill() -> None:
    """A party of one pays everything."""
    totals = price_order([line("pie", 1600)], service_charge_bp=1250, tip=301)
    assert split_equally(totals, 1) == (
        SplitPart(line_ids=(), goods=1600, service_charge=200, tip=301, total=2101),
    )


def test_split_equally_hands_leftover_pence_round_the_table() -> None:
    """Goods, then service, then tip leftovers carry on round, so parts differ by 1p at most."""
    totals = price_order([line("platter", 1001)], service_charge_bp=1000, tip=2)
    # goods 1001 -> 334, 334, 333 (next: part 2); service 100 -> 33, 33, 34 (next: part 0);
    # tip 2 -> 1, 1, 0.
    parts = split_equally(totals, 3)
    assert [(p.goods, p.service_charge, p.tip, p.total) for p in parts] == [
        (334, 33, 1, 368),
        (334, 33, 1, 368),
        (333, 34, 0, 367),
    ]


def test_split_by_items_may_name_a_voided_line() -> None:
    """A voided line can ride along with a part; it costs nothing."""
    totals = price_order([line("pie", 1600), line("chips", 300, voided=True)], tip=100)
    parts = split_by_items(totals, [["pie", "chips"]])
    assert parts == (
        SplitPart(line_ids=("pie", "chips"), goods=1600, service_charge=0, tip=100, total=1700),
    )


# Refusals: nothing that could price below zero gets through.


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([line("pie", 500, 0)], "quantity must be at least 1"),
        ([line("pie", -1)], "unit price must not be negative"),
        ([line("pie", 500, modifier_deltas=[-300, -201])], "modifiers take the unit price below 0"),
        ([line("pie", 500, vat_rate_bp=-1)], "VAT rate"),
        ([line("pie", 500, vat_rate_bp=10_001)], "VAT rate"),
        ([line("pie", 500), line("pie", 200)], "appears more than once"),
        ([line("pie", 500, discount={"kind": "percent", "value": 10_001})], "percent must be"),
        ([line("pie", 500, discount={"kind": "fixed", "value": -1})], "must not be negative"),
    ],
)
def test_price_order_refuses_impossible_lines(lines: list[PricingLine], message: str) -> None:
    """Bad quantities, prices, rates, ids and discounts raise PricingError, a ValueError."""
    with pytest.raises(PricingError, match=message):
        price_order(lines)
    assert issubclass(PricingError, ValueError)


def test_price_order_refuses_an_unknown_discount_kind() -> None:
    """Structs built in code skip msgspec's decode-time checks, so pricing checks the kind."""
    odd = Discount(kind="voucher", value=1)  # type: ignore[arg-type]
    with pytest.raises(PricingError, match="unknown kind 'voucher'"):
        price_order([line("pie", 500)], order_discount=odd)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"order_discount": Discount(kind="percent", value=-1)}, "order discount"),
        ({"service_charge_bp": -1}, "service charge"),
        ({"service_charge_bp": 10_001}, "service charge"),
        ({"tip": -1}, "tip must not be negative"),
    ],
)
def test_price_order_refuses_bad_order_settings(arguments: dict[str, object], message: str) -> None:
    """Order discount, service charge and tip are range-checked too."""
    with pytest.raises(PricingError, match=message):
        price_order([line("pie", 500)], **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ([], "at least 1 part"),
        ([["pie", "chips"], ["ghost"]], "'ghost' is not on this order"),
        ([["pie", "chips"], ["pie"]], "in more than one part"),
        ([["pie"]], r"\['chips'\] are not in any part"),
        (["pie", "chips"], "not the string 'pie'"),
    ],
)
def test_split_by_items_refuses_a_bad_assignment(groups: list[list[str]], message: str) -> None:
    """Every charged line in exactly one part, and only lines from this order."""
    totals = price_order([line("pie", 1600), line("chips", 300)])
    with pytest.raises(PricingError, match=message):
        split_by_items(totals, groups)


def test_split_equally_refuses_no_parts() -> None:
    """A bill cannot be split zero ways."""
    with pytest.raises(PricingError, match="at least 1 part"):
        split_equally(price_order([line("pie", 1600)]), 0)


# Properties over random baskets.

discounts = st.one_of(
    st.none(),
    st.builds(Discount, kind=st.just("percent"), value=st.integers(0, 10_000)),
    st.builds(Discount, kind=st.just("fixed"), value=st.integers(0, 30_000)),
)


class Basket(NamedTuple):
    """A drawn order: its lines and what applies to the whole order."""

    lines: list[PricingLine]
    order_discount: Discount | None
    service_charge_bp: int
    tip: int


def _drawn_line(
    unit_price: int,
    modifier_deltas: list[int],
    quantity: int,
    vat_rate_bp: int,
    discount: Discount | None,
    voided: bool,
) -> PricingLine:
    """Build a line from drawn values; its id is given once it has a place in the basket."""
    return PricingLine(
        line_id="",
        # Lift the menu price just enough that modifiers never take a unit below 0.
        unit_price=max(unit_price, -sum(modifier_deltas)),
        quantity=quantity,
        vat_rate_bp=vat_rate_bp,
        modifier_deltas=tuple(modifier_deltas),
        discount=discount,
        voided=voided,
    )


def _numbered(lines: list[PricingLine]) -> list[PricingLine]:
    """Give each drawn line a unique id."""
    return [msgspec.structs.replace(line, line_id=f"line_{n}") for n, line in enumerate(lines)]


# Builds rather than composites: drawing 1,000 baskets a test is mostly Hypothesis overhead.
pricing_lines = st.builds(
    _drawn_line,
    unit_price=st.integers(0, 20_000),
    modifier_deltas=st.lists(st.integers(-500, 500), max_size=3),
    quantity=st.integers(1, 12),
    vat_rate_bp=st.sampled_from([ZERO, REDUCED, STANDARD]),
    discount=discounts,
    voided=st.integers(0, 5).map(lambda n: n == 0),
)
baskets = st.builds(
    Basket,
    lines=st.lists(pricing_lines, min_size=1, max_size=30).map(_numbered),
    order_discount=discounts,
    service_charge_bp=st.sampled_from([0, 1000, 1250, 1500]) | st.integers(0, 10_000),
    tip=st.integers(0, 10_000),
)


def _price(basket: Basket) -> OrderTotals:
    """Price a drawn basket."""
    return price_order(
        basket.lines,
        order_discount=basket.order_discount,
        service_charge_bp=basket.service_charge_bp,
        tip=basket.tip,
    )


@BASKETS
@given(baskets)
def test_a_priced_order_adds_up(basket: Basket) -> None:
    """Lines sum to the total, VAT to its buckets, and nothing is negative."""
    lines, order_discount, service_charge_bp, tip = basket
    totals = _price(basket)

    for entered, priced in zip(lines, totals.lines, strict=True):
        assert priced.total == priced.gross - priced.line_discount - priced.order_discount
        assert min(priced.gross, priced.line_discount, priced.order_discount, priced.total) >= 0
        if entered.voided:
            assert (priced.gross, priced.line_discount, priced.order_discount) == (0, 0, 0)
    assert totals.total_after_discounts == sum(x.total for x in totals.lines)
    assert totals.subtotal == sum(x.gross for x in totals.lines)
    assert totals.subtotal - totals.discount_total == totals.total_after_discounts
    assert totals.discount_total <= totals.subtotal

    # The order discount lands within a penny of each line's exact proportional share.
    after_line = [x.gross - x.line_discount for x in totals.lines]
    order_discount_total = sum(x.order_discount for x in totals.lines)
    if order_discount is None:
        assert order_discount_total == 0
    elif order_discount.kind == "percent":
        exact_discount = Fraction(sum(after_line) * order_discount.value, 10_000)
        assert order_discount_total == _half_up(exact_discount)
    else:
        assert order_discount_total == min(order_discount.value, sum(after_line))
    if sum(after_line):
        for priced, weight in zip(totals.lines, after_line, strict=True):
            exact = Fraction(order_discount_total * weight, sum(after_line))
            assert math.floor(exact) <= priced.order_discount <= math.ceil(exact)

    gross_by_rate: dict[int, int] = defaultdict(int)
    for priced in totals.lines:
        if not priced.voided:
            gross_by_rate[priced.vat_rate_bp] += priced.total
    assert [b.rate_bp for b in totals.vat] == sorted(gross_by_rate)
    for bucket in totals.vat:
        assert bucket.gross == gross_by_rate[bucket.rate_bp]
        assert bucket.net + bucket.vat == bucket.gross
        assert 0 <= bucket.vat <= bucket.gross
        exact_vat = Fraction(bucket.gross * bucket.rate_bp, 10_000 + bucket.rate_bp)
        assert bucket.vat == _half_up(exact_vat)
    assert totals.vat_total == sum(b.vat for b in totals.vat)
    assert sum(b.gross for b in totals.vat) == totals.total_after_discounts

    exact_service = Fraction(totals.total_after_discounts * service_charge_bp, 10_000)
    assert totals.service_charge == _half_up(exact_service) >= 0
    assert totals.tip == tip
    assert totals.total_due == totals.total_after_discounts + totals.service_charge + tip
    order_amounts = (
        totals.subtotal,
        totals.discount_total,
        totals.total_after_discounts,
        totals.vat_total,
        totals.service_charge,
        totals.total_due,
    )
    assert min(order_amounts) >= 0


def _assert_parts_sum_to_the_whole(totals: OrderTotals, parts: tuple[SplitPart, ...]) -> None:
    """Each component of the parts adds up exactly to the order's, and none is negative."""
    assert sum(p.goods for p in parts) == totals.total_after_discounts
    assert sum(p.service_charge for p in parts) == totals.service_charge
    assert sum(p.tip for p in parts) == totals.tip
    assert sum(p.total for p in parts) == totals.total_due
    for part in parts:
        assert part.total == part.goods + part.service_charge + part.tip
        assert min(part.goods, part.service_charge, part.tip) >= 0


@BASKETS
@given(baskets, st.integers(1, 12))
def test_equal_split_parts_sum_to_the_whole_within_a_penny(basket: Basket, party_size: int) -> None:
    """Equal parts add up exactly and no guest pays more than 1p more than another."""
    totals = _price(basket)
    parts = split_equally(totals, party_size)
    assert len(parts) == party_size
    _assert_parts_sum_to_the_whole(totals, parts)
    for component in ("goods", "service_charge", "tip", "total"):
        amounts = [getattr(part, component) for part in parts]
        assert max(amounts) - min(amounts) <= 1


@BASKETS
@given(baskets, st.data())
def test_split_by_items_parts_sum_to_the_whole(basket: Basket, data: st.DataObject) -> None:
    """Any assignment of lines to guests shares every component exactly, in proportion."""
    totals = _price(basket)
    party_size = data.draw(st.integers(1, 8), label="party_size")
    seats = data.draw(
        st.lists(
            st.integers(0, party_size - 1), min_size=len(totals.lines), max_size=len(totals.lines)
        ),
        label="seats",
    )
    # Voided lines may ride along with a part or be left off every part.
    leave_out_voided = data.draw(st.booleans(), label="leave out voided lines")
    groups: list[list[str]] = [[] for _ in range(party_size)]
    for priced, seat in zip(totals.lines, seats, strict=True):
        if not (priced.voided and leave_out_voided):
            groups[seat].append(priced.line_id)

    parts = split_by_items(totals, groups)
    _assert_parts_sum_to_the_whole(totals, parts)
    total_by_id = {priced.line_id: priced.total for priced in totals.lines}
    for part, group in zip(parts, groups, strict=True):
        assert part.line_ids == tuple(group)
        assert part.goods == sum(total_by_id[line_id] for line_id in group)
    goods = totals.total_after_discounts
    for part in parts:
        # Largest remainder: each share within a penny of its exact proportion of the goods.
        for share, whole in ((part.service_charge, totals.service_charge), (part.tip, totals.tip)):
            exact = Fraction(whole * part.goods, goods) if goods else Fraction(whole, party_size)
            assert math.floor(exact) <= share <= math.ceil(exact)
