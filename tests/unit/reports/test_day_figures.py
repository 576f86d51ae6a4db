"""Sharing an order's VAT across its lines: the lines add up to the pricing's VAT exactly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from server.orders.pricing import Discount, PricingLine, price_order
from server.reports.day_figures import line_vat

lines = st.lists(
    st.builds(
        lambda n, price, quantity, rate, voided: PricingLine(
            line_id=str(n), unit_price=price, quantity=quantity, vat_rate_bp=rate, voided=voided
        ),
        st.integers(0, 10**6),
        st.integers(0, 50_000),
        st.integers(1, 5),
        st.sampled_from([0, 500, 2000]),
        st.booleans(),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda line: line.line_id,
)


@given(lines, st.integers(0, 10_000))
def test_the_lines_share_exactly_their_orders_vat_at_each_rate(
    sold: list[PricingLine], percent_off: int
) -> None:
    totals = price_order(sold, order_discount=Discount(kind="percent", value=percent_off))
    shares = line_vat(totals)
    for bucket in totals.vat:
        at_rate = [line for line in totals.lines if line.vat_rate_bp == bucket.rate_bp]
        assert sum(shares[line.line_id] for line in at_rate if not line.voided) == bucket.vat
    assert all(shares[line.line_id] == 0 for line in totals.lines if line.voided)
    assert sum(shares.values()) == totals.vat_total


def test_a_worked_example() -> None:
    # 640 at 20% in two lines of 320: 106.67 -> 107 VAT, shared 53.33 each -> 54 and 53.
    totals = price_order(
        [
            PricingLine(line_id="a", unit_price=320, quantity=1, vat_rate_bp=2000),
            PricingLine(line_id="b", unit_price=320, quantity=1, vat_rate_bp=2000),
            PricingLine(line_id="c", unit_price=250, quantity=1, vat_rate_bp=0),
        ]
    )
    assert line_vat(totals) == {"a": 54, "b": 53, "c": 0}
