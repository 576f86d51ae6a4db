"""The reports on the wire. Amounts are integer minor units of ``currency``; rates are basis
points (2000 = 20%). Definitions of every figure: docs/reports.md."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from server.wire import Input, Wire


class VatRate(Wire, kw_only=True):
    """Sales at one VAT rate: ``gross`` (VAT included, after discounts) ``= net + vat``."""

    rate_bp: int
    gross: int
    vat: int
    net: int


class VoidFigure(Wire, kw_only=True):
    """One voided order: what it was worth (its ``total_due``), who voided it (an employee,
    or a back-office user) and who approved it (None: within the voider's own limits)."""

    order_id: UUID
    number: str
    amount: int
    voided_by: UUID | None
    approved_by: UUID | None
    voided_at: datetime


class Voids(Wire, kw_only=True):
    count: int
    value: int
    orders: list[VoidFigure]


class MethodTakings(Wire, kw_only=True):
    """Succeeded payments of one method. ``charged = amount + tips + surcharges``. Provider
    fees are the provider's own figure where it reported one (``provider_fees_actual``), else
    our estimate (``provider_fees_estimated``, of ``provider_fees_unreported`` payments);
    ``provider_fees`` is their sum."""

    method: str
    payments: int
    amount: int
    tips: int
    surcharges: int
    charged: int
    provider_fees: int
    provider_fees_actual: int
    provider_fees_estimated: int
    provider_fees_unreported: int
    platform_fees: int


class MethodRefunds(Wire, kw_only=True):
    method: str
    refunds: int
    amount: int


class DrawerFigure(Wire, kw_only=True):
    """A drawer session closed on the day (docs/cash-up.md): ``expected_cash = opening_float +
    cash_sales - cash_refunds + paid_in - paid_out`` and ``over_short = counted_cash -
    expected_cash``."""

    session_id: UUID
    drawer_id: UUID
    drawer_name: str
    opening_float: int
    cash_sales: int
    cash_refunds: int
    paid_in: int
    paid_out: int
    expected_cash: int
    counted_cash: int
    over_short: int
    flagged: bool


class OrderCounts(Wire, kw_only=True):
    paid: int
    voided: int


class DayFigures(Wire, kw_only=True):
    """One location's business day, from its orders, payments, refunds, voids and drawer
    sessions alone: the same figures whenever they are computed again, unless something
    dated that day arrives later (an iPad offline until then)."""

    location_id: UUID
    business_day: date
    currency: str
    starts_at: datetime
    ends_at: datetime
    gross_sales: int
    discounts: int
    sales_after_discounts: int
    vat: int
    net_sales: int
    service_charge: int
    tips: int
    vat_by_rate: list[VatRate]
    voids: Voids
    payments: list[MethodTakings]
    taken: int
    """Every payment's ``charged``, all methods."""
    refunds: list[MethodRefunds]
    refunded: int
    platform_fees: int
    drawers: list[DrawerFigure]
    drawer_over_short: int
    orders: OrderCounts


class OpenOrder(Wire, kw_only=True):
    order_id: UUID
    number: str
    status: str
    total_due: int
    opened_at: datetime


class AtClose(Wire, kw_only=True):
    """What stood when the day was closed: not reproducible, kept apart from the figures.
    Orders still open are listed (a warning, not a refusal): their sales count on the day
    they are paid."""

    open_orders: list[OpenOrder]


class StoredZ(Wire, kw_only=True):
    """What ``z_reports.figures`` holds."""

    figures: DayFigures
    at_close: AtClose


class ZReport(Wire, kw_only=True):
    id: UUID
    location_id: UUID
    number: int
    business_day: date
    currency: str
    issued_by: UUID | None
    issued_at: datetime
    figures: DayFigures
    at_close: AtClose
    warnings: list[str]
    recomputed: DayFigures | None = None
    """With ``?recompute=true``: the day's figures computed now."""
    matches: bool | None = None
    """With ``?recompute=true``: whether ``recomputed`` equals ``figures``."""
    differences: list[str] | None = None
    """With ``?recompute=true``: the figures (members) that differ."""


class ZReportSummary(Wire, kw_only=True):
    id: UUID
    location_id: UUID
    number: int
    business_day: date
    currency: str
    issued_by: UUID | None
    issued_at: datetime
    gross_sales: int
    net_sales: int
    vat: int
    taken: int


class ZReportList(Wire, kw_only=True):
    reports: list[ZReportSummary]


class CloseDay(Input, kw_only=True):
    location_id: UUID
    business_day: date


class XReport(Wire, kw_only=True):
    """The day so far: not stored, not numbered."""

    at: datetime
    figures: DayFigures
    open_orders: list[OpenOrder]
    z_number: int | None
    """The Z-report's number if the day is closed already."""


class SalesBy(StrEnum):
    product = "product"
    category = "category"
    hour = "hour"
    employee = "employee"


class SalesRow(Wire, kw_only=True):
    """Sales of one product, category, hour of the day or employee. ``net = gross -
    discounts - vat``."""

    key: str | None
    """The product's, category's or employee's id, or the hour (``"13"``); None: none known."""
    name: str
    quantity: int
    gross: int
    discounts: int
    vat: int
    net: int


class SalesReport(Wire, kw_only=True):
    start: date
    end: date
    location_id: UUID | None
    by: SalesBy
    currency: str
    rows: list[SalesRow]
    totals: SalesRow


class VatBox(Wire, kw_only=True):
    box: str
    description: str
    amount: int


class VatReturn(Wire, kw_only=True):
    """What the till knows of a UK VAT return (docs/reports.md, "VAT return")."""

    start: date
    end: date
    location_id: UUID | None
    currency: str
    boxes: list[VatBox]
    by_rate: list[VatRate]
    outside_scope: int
    """Service charge and tips: not consideration for a supply, so in no box."""
    refunded: int
    """Refunds made in the period, not taken off the boxes: a refund does not say what it
    gave back; the accountant adjusts for them."""
    not_from_the_till: list[str]
    """Boxes about purchases and EU trade the till cannot know."""


class PlatformFeeRow(Wire, kw_only=True):
    day: date | None
    """None on the totals per method."""
    method: str | None
    """None on the grand total."""
    payments: int
    charged: int
    platform_fees: int


class PlatformFees(Wire, kw_only=True):
    start: date
    end: date
    location_id: UUID | None
    currency: str
    days: list[PlatformFeeRow]
    methods: list[PlatformFeeRow]
    totals: PlatformFeeRow
