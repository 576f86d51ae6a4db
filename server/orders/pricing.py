"""What an order costs: line totals, discounts, VAT, service charge, tip and split bills.

Pure functions over frozen Structs; every amount is an ``int`` of pence and every rate an
``int`` of basis points (2000 = 20%). The rules, in the order they are applied:

1. **Lines.** Menu prices include VAT. A line's unit price is its menu price plus its
   modifier deltas (a delta may be negative, but no unit may price below 0); its gross is
   unit price x quantity. A voided line stays on the order with every charged amount 0.
2. **Line discount.** A percentage (basis points, 0..10000) of the line's gross, rounded
   half up to 1p, or a fixed amount capped at the line's gross.
3. **Order discount.** Worked out the same way on the sum of the lines after their own
   discounts, then shared back across the lines by largest remainder in proportion to those
   amounts, so every line knows what it finally costs and no line drops below 0.
4. **VAT.** Extracted once per order per rate, not per line: the lines' final totals are
   summed into one bucket per rate and ``vat = gross x rate / (10000 + rate)`` is rounded
   to the nearest 1p, an exact half penny going up (our choice; HMRC only asks for the
   nearest penny). HMRC sets out its rounding rules in VAT Notice 700 section 17 (17.5,
   with 17.6 for retailers): a retailer working from VAT-inclusive prices may round up and
   down to the nearest 1p but should not simply round VAT down (see also internal manual
   VATREC12020). https://www.gov.uk/guidance/vat-guide-notice-700
5. **Service charge.** A discretionary percentage of the order's total after discounts,
   rounded half up, added outside VAT: HMRC accepts that a genuinely optional service
   charge is not consideration for the meal and so falls outside the scope of VAT (VAT
   Notice 709/1; internal manual VATSC06130). A compulsory service charge would be part
   of the price of the meal and is not modelled here.
   https://www.gov.uk/hmrc-internal-manuals/vat-supply-and-consideration/vatsc06130
6. **Tip.** Freely given, kept apart from everything above and added last:
   ``total_due = total_after_discounts + service_charge + tip``.

Splitting a bill never re-prices it; it shares the priced totals so that, component by
component, the parts add up to the order exactly:

- :func:`split_equally` shares goods, service charge and tip into N parts. Leftover pence go
  round the table: the goods' to the first parts, the service charge's carrying on from
  where those stopped, then the tip's, so no part pays more than 1p more than another.
- :func:`split_by_items` gives each part the lines assigned to it. Every line that is not
  voided belongs to exactly one part (a voided line may be left out); splitting one line
  across parts is out of scope. Service charge and tip are shared by largest remainder in
  proportion to each part's goods, or equally when no part has any goods. VAT stays on the
  order's receipt and is not shared out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec

from server.money import allocate_largest_remainder, round_half_up

__all__ = [
    "Discount",
    "LineTotal",
    "OrderTotals",
    "PricingError",
    "PricingLine",
    "SplitPart",
    "VatBucket",
    "price_order",
    "split_by_items",
    "split_equally",
]

BASIS_POINTS = 10_000
"""Basis points in a whole: 10000 bp = 100%."""


class PricingError(ValueError):
    """An order that cannot be priced as given: a negative price, a bad rate, a stray line."""


class Discount(msgspec.Struct, frozen=True, kw_only=True):
    """A price reduction: ``percent`` in basis points (0..10000) or ``fixed`` in pence."""

    kind: Literal["percent", "fixed"]
    value: int


class PricingLine(msgspec.Struct, frozen=True, kw_only=True):
    """One line of an order as rung up: a menu item, its quantity and modifiers."""

    line_id: str
    unit_price: int
    """Menu price of one unit in pence, VAT included."""
    quantity: int
    vat_rate_bp: int
    modifier_deltas: tuple[int, ...] = ()
    """Pence added to (or, if negative, taken off) each unit, e.g. extra cheese or no bun."""
    discount: Discount | None = None
    voided: bool = False


class LineTotal(msgspec.Struct, frozen=True, kw_only=True):
    """What one line costs once discounts are shared out."""

    line_id: str
    vat_rate_bp: int
    quantity: int
    unit_price: int
    """Unit price including modifiers; kept on a voided line so a receipt can show it."""
    gross: int
    line_discount: int
    order_discount: int
    """This line's share of the order discount."""
    total: int
    """``gross - line_discount - order_discount``, VAT included."""
    voided: bool


class VatBucket(msgspec.Struct, frozen=True, kw_only=True):
    """The VAT inside every line charged at one rate: ``gross = net + vat``."""

    rate_bp: int
    gross: int
    vat: int
    net: int


class OrderTotals(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a receipt needs: lines, discounts, VAT by rate, service charge and tip."""

    lines: tuple[LineTotal, ...]
    subtotal: int
    """Sum of the lines' gross, before any discount."""
    discount_total: int
    """Line discounts plus the order discount."""
    total_after_discounts: int
    vat: tuple[VatBucket, ...]
    """One bucket per VAT rate among the lines not voided, lowest rate first."""
    vat_total: int
    service_charge: int
    tip: int
    total_due: int


class SplitPart(msgspec.Struct, frozen=True, kw_only=True):
    """One guest's share of a split bill."""

    line_ids: tuple[str, ...]
    """Lines this part pays for when split by items; empty for an equal split."""
    goods: int
    service_charge: int
    tip: int
    total: int


def price_order(
    lines: Sequence[PricingLine],
    *,
    order_discount: Discount | None = None,
    service_charge_bp: int = 0,
    tip: int = 0,
) -> OrderTotals:
    """Price an order from its lines, following the rules in this module's docstring.

    Raises:
        PricingError: if a line, discount, service charge or tip is out of range.
    """
    _check_order(lines, order_discount, service_charge_bp, tip)
    unit_prices = [line.unit_price + sum(line.modifier_deltas) for line in lines]
    gross = [
        0 if line.voided else unit_price * line.quantity
        for line, unit_price in zip(lines, unit_prices, strict=True)
    ]
    line_discounts = [
        _discount_amount(line.discount, line_gross)
        for line, line_gross in zip(lines, gross, strict=True)
    ]
    after_line_discounts = [
        line_gross - discount for line_gross, discount in zip(gross, line_discounts, strict=True)
    ]
    order_discount_amount = _discount_amount(order_discount, sum(after_line_discounts))
    # A share never exceeds its weight, and a voided line (weight 0) gets none of it.
    order_discount_shares = (
        allocate_largest_remainder(order_discount_amount, after_line_discounts) if lines else []
    )
    line_totals = tuple(
        LineTotal(
            line_id=line.line_id,
            vat_rate_bp=line.vat_rate_bp,
            quantity=line.quantity,
            unit_price=unit_price,
            gross=line_gross,
            line_discount=line_discount,
            order_discount=order_share,
            total=line_gross - line_discount - order_share,
            voided=line.voided,
        )
        for line, unit_price, line_gross, line_discount, order_share in zip(
            lines, unit_prices, gross, line_discounts, order_discount_shares, strict=True
        )
    )
    total_after_discounts = sum(line.total for line in line_totals)
    vat = _vat_buckets(line_totals)
    service_charge = round_half_up(total_after_discounts * service_charge_bp, BASIS_POINTS)
    return OrderTotals(
        lines=line_totals,
        subtotal=sum(gross),
        discount_total=sum(line_discounts) + order_discount_amount,
        total_after_discounts=total_after_discounts,
        vat=vat,
        vat_total=sum(bucket.vat for bucket in vat),
        service_charge=service_charge,
        tip=tip,
        total_due=total_after_discounts + service_charge + tip,
    )


def split_equally(totals: OrderTotals, parts: int) -> tuple[SplitPart, ...]:
    """Split a priced order into ``parts`` equal shares, each within 1p of the others.

    Raises:
        PricingError: if ``parts`` is less than 1.
    """
    if parts < 1:
        raise PricingError(f"a bill splits into at least 1 part, got {parts}")
    goods, next_part = _share_round_the_table(totals.total_after_discounts, parts, 0)
    service, next_part = _share_round_the_table(totals.service_charge, parts, next_part)
    tips, _ = _share_round_the_table(totals.tip, parts, next_part)
    return tuple(
        SplitPart(line_ids=(), goods=g, service_charge=s, tip=t, total=g + s + t)
        for g, s, t in zip(goods, service, tips, strict=True)
    )


def split_by_items(totals: OrderTotals, groups: Sequence[Sequence[str]]) -> tuple[SplitPart, ...]:
    """Split a priced order by who had what: one part per group of line ids.

    Raises:
        PricingError: if there are no groups, a line id is unknown or in two groups, or a
            line that is not voided is in none.
    """
    if not groups:
        raise PricingError("a bill splits into at least 1 part, got none")
    line_by_id = {line.line_id: line for line in totals.lines}
    assigned: set[str] = set()
    for group in groups:
        if isinstance(group, str):
            raise PricingError(f"a part is a sequence of line ids, not the string {group!r}")
        for line_id in group:
            if line_id not in line_by_id:
                raise PricingError(f"line {line_id!r} is not on this order")
            if line_id in assigned:
                raise PricingError(f"line {line_id!r} is in more than one part")
            assigned.add(line_id)
    unassigned = [
        line.line_id for line in totals.lines if not line.voided and line.line_id not in assigned
    ]
    if unassigned:
        raise PricingError(f"lines {unassigned!r} are not in any part")
    goods = [sum(line_by_id[line_id].total for line_id in group) for group in groups]
    service = allocate_largest_remainder(totals.service_charge, goods)
    tips = allocate_largest_remainder(totals.tip, goods)
    return tuple(
        SplitPart(line_ids=tuple(group), goods=g, service_charge=s, tip=t, total=g + s + t)
        for group, g, s, t in zip(groups, goods, service, tips, strict=True)
    )


def _discount_amount(discount: Discount | None, base: int) -> int:
    """Pence a discount takes off ``base``; never more than ``base``."""
    if discount is None:
        return 0
    if discount.kind == "percent":
        return round_half_up(base * discount.value, BASIS_POINTS)
    return min(discount.value, base)


def _vat_buckets(lines: Sequence[LineTotal]) -> tuple[VatBucket, ...]:
    """Extract VAT once per rate from the lines' VAT-inclusive totals."""
    gross_by_rate: dict[int, int] = {}
    for line in lines:
        if not line.voided:
            gross_by_rate[line.vat_rate_bp] = gross_by_rate.get(line.vat_rate_bp, 0) + line.total
    buckets = []
    for rate_bp, gross in sorted(gross_by_rate.items()):
        vat = round_half_up(gross * rate_bp, BASIS_POINTS + rate_bp)
        buckets.append(VatBucket(rate_bp=rate_bp, gross=gross, vat=vat, net=gross - vat))
    return tuple(buckets)


def _share_round_the_table(amount: int, parts: int, first_part: int) -> tuple[list[int], int]:
    """Share ``amount`` equally, leftover pence going to parts from ``first_part`` round.

    Returns the shares and the part the next leftover penny should go to.
    """
    shares = allocate_largest_remainder(amount, [1] * parts)
    # allocate_largest_remainder puts leftover pence on parts 0, 1, ...; rotate them along.
    rotated = [shares[(part - first_part) % parts] for part in range(parts)]
    return rotated, (first_part + amount % parts) % parts


def _check_order(
    lines: Sequence[PricingLine],
    order_discount: Discount | None,
    service_charge_bp: int,
    tip: int,
) -> None:
    """Refuse anything that would price below zero or make no sense on a bill."""
    seen: set[str] = set()
    for line in lines:
        if line.line_id in seen:
            raise PricingError(f"line id {line.line_id!r} appears more than once")
        seen.add(line.line_id)
        if line.quantity < 1:
            raise PricingError(f"line {line.line_id!r}: quantity must be at least 1")
        if line.unit_price < 0:
            raise PricingError(f"line {line.line_id!r}: unit price must not be negative")
        if line.unit_price + sum(line.modifier_deltas) < 0:
            raise PricingError(
                f"line {line.line_id!r}: modifiers take the unit price below 0 "
                f"({line.unit_price} {list(line.modifier_deltas)})"
            )
        if not 0 <= line.vat_rate_bp <= BASIS_POINTS:
            raise PricingError(f"line {line.line_id!r}: VAT rate must be 0..10000 basis points")
        check_discount(line.discount, f"line {line.line_id!r}")
    check_discount(order_discount, "order")
    if not 0 <= service_charge_bp <= BASIS_POINTS:
        raise PricingError("service charge must be 0..10000 basis points")
    if tip < 0:
        raise PricingError("tip must not be negative")


def check_discount(discount: Discount | None, owner: str) -> None:
    """Refuse a discount of an unknown kind or an out-of-range value."""
    if discount is None:
        return
    if discount.kind == "percent":
        if not 0 <= discount.value <= BASIS_POINTS:
            raise PricingError(f"{owner} discount: percent must be 0..10000 basis points")
    elif discount.kind == "fixed":
        if discount.value < 0:
            raise PricingError(f"{owner} discount: fixed amount must not be negative")
    else:
        raise PricingError(f"{owner} discount: unknown kind {discount.kind!r}")
