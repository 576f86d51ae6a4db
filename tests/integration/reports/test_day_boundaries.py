"""Which business day a sale belongs to: the location's wall clock less ``day_starts_at``,
across the night and across the clock going back (a 25-hour day)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx

from tests.factories import Tenant
from tests.integration.reports.api import clock_at, close_day, x_report
from tests.integration.timeclock.punch_fixtures import local
from tests.integration.timeclock.report_fixtures import paid_order, payment

TEA = [("Tea", 300, 1, 2000)]
CAKE = [("Cake", 450, 1, 0)]


async def sold(tenant: Tenant, at: datetime, lines: list[tuple[str, int, int, int]]) -> None:
    order = await paid_order(tenant, at, lines)
    total = sum(price * quantity for _, price, quantity, _ in lines)
    await payment(tenant, order, method="cash", tip=0, at=at, employee=None, amount=total)


async def test_a_sale_at_half_past_one_belongs_to_the_evening_before(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    day = date(2026, 11, 24)  # GMT
    await sold(tenant, local(day, "22:00"), TEA)
    await sold(tenant, local(day + timedelta(days=1), "01:30"), CAKE)  # before 04:00
    await sold(tenant, local(day + timedelta(days=1), "04:30"), TEA)  # the next day's
    evening = await x_report(client, tenant.headers, tenant.location_id, day)
    morning = await x_report(client, tenant.headers, tenant.location_id, day + timedelta(1))
    assert (evening["figures"]["gross_sales"], evening["figures"]["orders"]["paid"]) == (750, 2)
    # Tea 300 at 20%: 300 x 2000 / 12000 = 50 VAT; cake 450 at 0%.
    assert evening["figures"]["vat_by_rate"] == [
        {"rate_bp": 0, "gross": 450, "vat": 0, "net": 450},
        {"rate_bp": 2000, "gross": 300, "vat": 50, "net": 250},
    ]
    assert (morning["figures"]["gross_sales"], morning["figures"]["taken"]) == (300, 300)


async def test_the_day_the_clocks_go_back_has_25_hours_and_keeps_its_night(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # BST ends at 02:00 BST on the last Sunday of October 2025 (26th): 01:00 UTC.
    saturday = date(2025, 10, 25)
    first_half_past_one = datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # 01:30 BST
    second_half_past_one = datetime(2025, 10, 26, 1, 30, tzinfo=UTC)  # 01:30 GMT
    half_past_three = datetime(2025, 10, 26, 3, 30, tzinfo=UTC)  # 03:30 GMT
    four = datetime(2025, 10, 26, 4, 0, tzinfo=UTC)  # 04:00 GMT: Sunday's first instant
    for at in (first_half_past_one, second_half_past_one, half_past_three):
        await sold(tenant, at, TEA)
    await sold(tenant, four, CAKE)
    with clock_at(datetime(2025, 10, 26, 4, 0, tzinfo=UTC)):
        closed = await close_day(client, tenant.headers, tenant.location_id, saturday)
    assert closed.status_code == 201, closed.text
    figures = closed.json()["figures"]
    starts = datetime.fromisoformat(figures["starts_at"])
    ends = datetime.fromisoformat(figures["ends_at"])
    assert (starts, ends) == (datetime(2025, 10, 25, 3, tzinfo=UTC), four)
    assert ends - starts == timedelta(hours=25)
    assert (figures["orders"]["paid"], figures["gross_sales"], figures["vat"]) == (3, 900, 150)
    sunday = await x_report(client, tenant.headers, tenant.location_id, date(2025, 10, 26))
    assert (sunday["figures"]["gross_sales"], sunday["figures"]["vat"]) == (450, 0)
