"""Adding a day up: pure functions from the rows ``day_queries`` reads to the figures.

Every amount of a sale comes from ``server.orders.pricing`` as it priced the order: gross,
discounts and VAT are never worked out a second way. VAT is extracted once per order and
rate (pricing rule 4); where a report needs it per line (sales by product, category, hour or
employee) an order's VAT at a rate is shared across its lines at that rate by largest
remainder in proportion to their totals, so the lines add up to the order's VAT exactly and
every breakdown's totals equal the Z-report's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from server.cashup.drawers import DrawerDay
from server.money import allocate_largest_remainder
from server.orders.pricing import OrderTotals
from server.reports import schemas as s
from server.reports.day_queries import (
    RefundMade,
    Sale,
    Taking,
    VoidMade,
)


@dataclass(frozen=True)
class SoldLine:
    """One line of a paid order as the sales reports count it."""

    sale: Sale
    line_id: str
    quantity: int
    gross: int
    discounts: int
    vat: int


def line_vat(totals: OrderTotals) -> dict[str, int]:
    """Each line's share of its order's VAT at its rate (voided lines: 0)."""
    shares: dict[str, int] = {line.line_id: 0 for line in totals.lines}
    for bucket in totals.vat:
        lines = [
            line for line in totals.lines if not line.voided and line.vat_rate_bp == bucket.rate_bp
        ]
        parts = allocate_largest_remainder(bucket.vat, [line.total for line in lines])
        for line, part in zip(lines, parts, strict=True):
            shares[line.line_id] = part
    return shares


def sold_lines(sales: Iterable[Sale]) -> list[SoldLine]:
    """The lines sold, voided ones left out (they were not sold; their value is 0)."""
    sold = []
    for sale in sales:
        vat = line_vat(sale.totals)
        for line in sale.totals.lines:
            if line.voided:
                continue
            sold.append(
                SoldLine(
                    sale=sale,
                    line_id=line.line_id,
                    quantity=line.quantity,
                    gross=line.gross,
                    discounts=line.line_discount + line.order_discount,
                    vat=vat[line.line_id],
                )
            )
    return sold


def vat_by_rate(sales: Iterable[Sale]) -> list[s.VatRate]:
    """The orders' own VAT buckets, summed per rate, lowest rate first."""
    gross: dict[int, int] = defaultdict(int)
    vat: dict[int, int] = defaultdict(int)
    for sale in sales:
        for bucket in sale.totals.vat:
            gross[bucket.rate_bp] += bucket.gross
            vat[bucket.rate_bp] += bucket.vat
    return [
        s.VatRate(rate_bp=rate, gross=gross[rate], vat=vat[rate], net=gross[rate] - vat[rate])
        for rate in sorted(gross)
    ]


def method_takings(takings: Iterable[Taking]) -> list[s.MethodTakings]:
    by_method: dict[str, list[Taking]] = defaultdict(list)
    for taking in takings:
        by_method[taking.method].append(taking)
    return [_takings_of(method, by_method[method]) for method in sorted(by_method)]


def _takings_of(method: str, takings: Sequence[Taking]) -> s.MethodTakings:
    actual = sum(t.provider_fee for t in takings if t.provider_fee is not None)
    unreported = [t for t in takings if t.provider_fee is None]
    estimated = sum(t.estimated_provider_fee for t in unreported)
    return s.MethodTakings(
        method=method,
        payments=len(takings),
        amount=sum(t.amount for t in takings),
        tips=sum(t.tip for t in takings),
        surcharges=sum(t.surcharge for t in takings),
        charged=sum(t.charged for t in takings),
        provider_fees=actual + estimated,
        provider_fees_actual=actual,
        provider_fees_estimated=estimated,
        # Cash has no provider: nothing to report, nothing unreported.
        provider_fees_unreported=sum(1 for t in unreported if t.method != "cash"),
        platform_fees=sum(t.platform_fee for t in takings),
    )


def method_refunds(refunds: Iterable[RefundMade]) -> list[s.MethodRefunds]:
    by_method: dict[str, list[int]] = defaultdict(list)
    for refund in refunds:
        by_method[refund.method].append(refund.amount)
    return [
        s.MethodRefunds(method=method, refunds=len(amounts), amount=sum(amounts))
        for method, amounts in sorted(by_method.items())
    ]


@dataclass(frozen=True)
class DayRows:
    """Everything read for one location's business day."""

    sales: list[Sale]
    takings: list[Taking]
    refunds: list[RefundMade]
    voids: list[VoidMade]
    drawers: list[DrawerDay]


def day_figures(
    rows: DayRows,
    *,
    location_id: UUID,
    business_day: date,
    currency: str,
    starts_at: datetime,
    ends_at: datetime,
) -> s.DayFigures:
    totals = [sale.totals for sale in rows.sales]
    after_discounts = sum(t.total_after_discounts for t in totals)
    vat = sum(t.vat_total for t in totals)
    payments = method_takings(rows.takings)
    refunds = method_refunds(rows.refunds)
    return s.DayFigures(
        location_id=location_id,
        business_day=business_day,
        currency=currency,
        starts_at=starts_at,
        ends_at=ends_at,
        gross_sales=sum(t.subtotal for t in totals),
        discounts=sum(t.discount_total for t in totals),
        sales_after_discounts=after_discounts,
        vat=vat,
        net_sales=after_discounts - vat,
        service_charge=sum(t.service_charge for t in totals),
        tips=sum(m.tips for m in payments),
        vat_by_rate=vat_by_rate(rows.sales),
        voids=s.Voids(
            count=len(rows.voids),
            value=sum(v.amount for v in rows.voids),
            orders=[
                s.VoidFigure(
                    order_id=v.order_id,
                    number=v.number,
                    amount=v.amount,
                    voided_by=v.voided_by,
                    approved_by=v.approved_by,
                    voided_at=v.voided_at,
                )
                for v in rows.voids
            ],
        ),
        payments=payments,
        taken=sum(m.charged for m in payments),
        refunds=refunds,
        refunded=sum(r.amount for r in refunds),
        platform_fees=sum(m.platform_fees for m in payments),
        drawers=[
            s.DrawerFigure(
                session_id=d.session_id,
                drawer_id=d.drawer_id,
                drawer_name=d.drawer_name,
                opening_float=d.opening_float,
                cash_sales=d.cash_sales,
                cash_refunds=d.cash_refunds,
                paid_in=d.paid_in,
                paid_out=d.paid_out,
                expected_cash=d.expected_cash,
                counted_cash=d.counted_cash,
                over_short=d.over_short,
                flagged=d.flagged,
            )
            for d in rows.drawers
        ],
        drawer_over_short=sum(d.over_short for d in rows.drawers),
        orders=s.OrderCounts(paid=len(rows.sales), voided=len(rows.voids)),
    )


def differences(stored: s.DayFigures, again: s.DayFigures) -> list[str]:
    """The members of a day's figures that differ between two computations."""
    return [
        name
        for name in s.DayFigures.__struct_fields__
        if getattr(stored, name) != getattr(again, name)
    ]


Group = Callable[[SoldLine], tuple[str | None, str]]
"""A line's row: its key (an id, an hour; None when there is none) and the row's name."""


def sales_rows(lines: Iterable[SoldLine], group: Group) -> list[s.SalesRow]:
    """One row per key and name, ordered by name then key; every amount a plain sum."""
    grouped: dict[tuple[str | None, str], list[SoldLine]] = defaultdict(list)
    for line in lines:
        grouped[group(line)].append(line)
    rows = [_row(key, name, members) for (key, name), members in grouped.items()]
    return sorted(rows, key=lambda row: (row.name, row.key or ""))


def totals_row(rows: Sequence[s.SalesRow]) -> s.SalesRow:
    return s.SalesRow(
        key=None,
        name="total",
        quantity=sum(r.quantity for r in rows),
        gross=sum(r.gross for r in rows),
        discounts=sum(r.discounts for r in rows),
        vat=sum(r.vat for r in rows),
        net=sum(r.net for r in rows),
    )


def _row(key: str | None, name: str, lines: Sequence[SoldLine]) -> s.SalesRow:
    gross = sum(line.gross for line in lines)
    discounts = sum(line.discounts for line in lines)
    vat = sum(line.vat for line in lines)
    return s.SalesRow(
        key=key,
        name=name,
        quantity=sum(line.quantity for line in lines),
        gross=gross,
        discounts=discounts,
        vat=vat,
        net=gross - discounts - vat,
    )
