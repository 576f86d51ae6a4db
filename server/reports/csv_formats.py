"""The reports as CSV, with the same figures as their JSON (``server.reporting_csv``: a
``breakdown`` column naming the JSON list a row comes from, money in decimal units under a
header naming the currency, rates as percentages)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from server.reporting_csv import Column, Kind, Section, render
from server.reports import schemas as s
from server.wire import Wire


class DaySummary(Wire, kw_only=True):
    """A day's single figures in one CSV row (``figures``, ``voids`` and ``orders`` in JSON)."""

    number: int | None
    location_id: UUID
    business_day: date
    gross_sales: int
    discounts: int
    sales_after_discounts: int
    vat: int
    net_sales: int
    service_charge: int
    tips: int
    taken: int
    refunded: int
    platform_fees: int
    drawer_over_short: int
    void_count: int
    void_value: int
    paid_orders: int
    voided_orders: int


def _summary(figures: s.DayFigures, number: int | None) -> DaySummary:
    return DaySummary(
        number=number,
        location_id=figures.location_id,
        business_day=figures.business_day,
        gross_sales=figures.gross_sales,
        discounts=figures.discounts,
        sales_after_discounts=figures.sales_after_discounts,
        vat=figures.vat,
        net_sales=figures.net_sales,
        service_charge=figures.service_charge,
        tips=figures.tips,
        taken=figures.taken,
        refunded=figures.refunded,
        platform_fees=figures.platform_fees,
        drawer_over_short=figures.drawer_over_short,
        void_count=figures.voids.count,
        void_value=figures.voids.value,
        paid_orders=figures.orders.paid,
        voided_orders=figures.orders.voided,
    )


_MONEY: Kind = "money"
_DAY_COLUMNS = [
    Column("number"),
    Column("location_id"),
    Column("business_day"),
    *(
        Column(name, _MONEY)
        for name in (
            "gross_sales",
            "discounts",
            "sales_after_discounts",
            "vat",
            "net_sales",
            "service_charge",
            "tips",
            "taken",
            "refunded",
            "platform_fees",
            "drawer_over_short",
        )
    ),
    Column("void_count"),
    Column("void_value", _MONEY),
    Column("paid_orders"),
    Column("voided_orders"),
    Column("rate_bp", "basis_points"),
    Column("gross", _MONEY),
    Column("net", _MONEY),
    Column("method"),
    Column("payments"),
    Column("refunds"),
    Column("amount", _MONEY),
    Column("surcharges", _MONEY),
    Column("charged", _MONEY),
    Column("provider_fees", _MONEY),
    Column("provider_fees_actual", _MONEY),
    Column("provider_fees_estimated", _MONEY),
    Column("provider_fees_unreported"),
    Column("order_id"),
    Column("voided_by"),
    Column("approved_by"),
    Column("voided_at"),
    Column("session_id"),
    Column("drawer_id"),
    Column("drawer_name"),
    Column("opening_float", _MONEY),
    Column("cash_sales", _MONEY),
    Column("cash_refunds", _MONEY),
    Column("paid_in", _MONEY),
    Column("paid_out", _MONEY),
    Column("expected_cash", _MONEY),
    Column("counted_cash", _MONEY),
    Column("over_short", _MONEY),
    Column("flagged"),
]


def _day(figures: s.DayFigures, number: int | None) -> str:
    sections: list[Section] = [
        ("summary", [_summary(figures, number)]),
        ("vat", figures.vat_by_rate),
        ("payment", figures.payments),
        ("refund", figures.refunds),
        ("void", figures.voids.orders),
        ("drawer", figures.drawers),
    ]
    return render(sections, _DAY_COLUMNS, currency=figures.currency)


def z_report(report: s.ZReport) -> str:
    """One Z-report: its summary row (with its number), then VAT rates, payments and
    refunds by method, voids and drawers. ``void`` rows' ``number`` is the order's."""
    return _day(report.figures, report.number)


def x_report(report: s.XReport) -> str:
    return _day(report.figures, None)


def sales(report: s.SalesReport) -> str:
    columns = [
        Column("key"),
        Column("name"),
        Column("quantity"),
        *(Column(name, _MONEY) for name in ("gross", "discounts", "vat", "net")),
    ]
    sections: list[Section] = [(report.by.value, report.rows), ("total", [report.totals])]
    return render(sections, columns, currency=report.currency)


def vat_return(report: s.VatReturn) -> str:
    columns = [
        Column("box"),
        Column("description"),
        Column("amount", _MONEY),
        Column("rate_bp", "basis_points"),
        Column("gross", _MONEY),
        Column("vat", _MONEY),
        Column("net", _MONEY),
    ]
    sections: list[Section] = [("box", report.boxes), ("rate", report.by_rate)]
    return render(sections, columns, currency=report.currency)


def platform_fees(report: s.PlatformFees) -> str:
    columns = [
        Column("day"),
        Column("method"),
        Column("payments"),
        Column("charged", _MONEY),
        Column("platform_fees", _MONEY),
    ]
    sections: list[Section] = [
        ("day", report.days),
        ("method", report.methods),
        ("total", [report.totals]),
    ]
    return render(sections, columns, currency=report.currency)
