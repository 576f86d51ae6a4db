from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from server.payments.fees import DEFAULT_SCHEDULE, Method, fee_for, quote


def test_the_product_plan_on_25_pounds() -> None:
    bank = fee_for(2500, Method.open_banking)
    # 0.2% of £25 is 5p to the bank provider, 1% is 25p to the platform.
    assert (bank.provider_fee, bank.platform_fee, bank.total_fee) == (5, 25, 30)
    card = fee_for(2500, Method.card)
    # 2.9% of £25 = 72.5p, + 30p fixed = 102.5p provider; +25p platform: 127.5p → 128p once.
    assert card.total_fee == 128
    assert (card.provider_fee, card.platform_fee) == (103, 25)
    assert bank.saving_vs_card == 98
    assert fee_for(2500, Method.cash).total_fee == 0


def test_the_quote_lists_the_cheapest_first() -> None:
    methods = [fee.method for fee in quote(1000)]
    assert methods[0] == Method.cash and methods[1] == Method.open_banking


@settings(max_examples=1000)
@given(amount=st.integers(min_value=0, max_value=10_000_000), method=st.sampled_from(list(Method)))
def test_parts_add_up_and_nothing_is_negative(amount: int, method: Method) -> None:
    fee = fee_for(amount, method)
    assert fee.provider_fee + fee.platform_fee == fee.total_fee
    assert min(fee.provider_fee, fee.platform_fee, fee.total_fee) >= 0
    assert fee.saving_vs_card >= 0
    rates = DEFAULT_SCHEDULE.methods[method]
    exact = (
        Fraction(amount * (rates.provider_bp + rates.platform_bp), 10_000) + rates.provider_fixed
    )
    assert abs(fee.total_fee - exact) <= Fraction(1, 2)  # rounded once, to the nearest penny
