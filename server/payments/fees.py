"""What each way of paying costs, shown to the customer before they choose.

A fee schedule is versioned configuration: per method, a provider rate (basis points) plus a
fixed provider fee (minor units) and the platform's rate. The defaults are the product plan:
Open Banking 0.2% + 1% platform; card (and Apple Pay, which is a card) 2.9% + 30p + 1%
platform; cash nothing. Real provider prices differ (Stripe UK charges 1.5% + 20p for
standard cards), so restaurants configure theirs; the provider's actual fee is recorded from
its own data next to our estimate, never recomputed.

Rounding: each method's total fee is computed exactly and rounded once, half up, with the
one rounding function; the provider's share is rounded the same way and the platform gets
the rest, so the two parts always add up to the total.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta

from server.money import round_half_up

BASIS_POINTS = 10_000

Rate = Annotated[int, Meta(ge=0, le=BASIS_POINTS)]
Minor = Annotated[int, Meta(ge=0)]


class Method(StrEnum):
    open_banking = "open_banking"
    card = "card"
    card_present = "card_present"
    """A card tapped or inserted at the till: Tap to Pay on iPad or a Stripe reader."""
    apple_pay = "apple_pay"
    cash = "cash"


class MethodFees(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    provider_bp: Rate = 0
    provider_fixed: Minor = 0
    platform_bp: Rate = 0


class FeeSchedule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    version: str
    """Recorded on every payment, so an old payment's fees can always be explained."""
    methods: dict[Method, MethodFees]


DEFAULT_SCHEDULE = FeeSchedule(
    version="2026-11-plan",
    methods={
        Method.open_banking: MethodFees(provider_bp=20, platform_bp=100),
        Method.card: MethodFees(provider_bp=290, provider_fixed=30, platform_bp=100),
        # Stripe's UK in-person rate (Terminal): lower than keyed or online cards.
        Method.card_present: MethodFees(provider_bp=140, provider_fixed=10, platform_bp=100),
        Method.apple_pay: MethodFees(provider_bp=290, provider_fixed=30, platform_bp=100),
        Method.cash: MethodFees(),
    },
)


class Fee(msgspec.Struct, frozen=True, kw_only=True):
    method: Method
    provider_fee: int
    platform_fee: int
    total_fee: int
    saving_vs_card: int
    """How much less this method's fee is than a card's, for the same amount."""


def fee_for(amount: int, method: Method, schedule: FeeSchedule = DEFAULT_SCHEDULE) -> Fee:
    """The fee for taking ``amount`` minor units by ``method``."""
    if amount < 0:
        raise ValueError("an amount is never negative")
    total = _total(amount, schedule.methods[method])
    card = _total(amount, schedule.methods[Method.card])
    rates = schedule.methods[method]
    provider = min(
        total, round_half_up(amount * rates.provider_bp, BASIS_POINTS) + rates.provider_fixed
    )
    return Fee(
        method=method,
        provider_fee=provider,
        platform_fee=total - provider,
        total_fee=total,
        saving_vs_card=card - total,
    )


def quote(amount: int, schedule: FeeSchedule = DEFAULT_SCHEDULE) -> list[Fee]:
    """Every method's fee for ``amount``, cheapest first (ties in the schedule's order)."""
    fees = [fee_for(amount, method, schedule) for method in schedule.methods]
    return sorted(fees, key=lambda fee: fee.total_fee)


def _total(amount: int, rates: MethodFees) -> int:
    exact_bp = amount * (rates.provider_bp + rates.platform_bp)
    return round_half_up(exact_bp + rates.provider_fixed * BASIS_POINTS, BASIS_POINTS)


def load_schedule(path: Path | None) -> FeeSchedule:
    """The schedule in ``path`` (JSON, same shape as ``FeeSchedule``), else the defaults.

    Every method must be priced: a schedule that forgets one is refused at start-up rather
    than charging it at zero.
    """
    if path is None:
        return DEFAULT_SCHEDULE
    schedule = msgspec.json.decode(path.read_bytes(), type=FeeSchedule)
    missing = set(Method) - set(schedule.methods)
    if missing:
        raise ValueError(f"{path}: no fees for {', '.join(sorted(missing))}")
    return schedule
