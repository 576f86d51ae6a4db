"""The fee quote a customer is shown, the surcharge policy, and the daily money report."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.factories import Tenant, make_order
from tests.integration.payments.api import cash, refund
from tests.problems import assert_problem

pytestmark = pytest.mark.usefixtures("cash_only")


async def test_the_quote_shows_every_method_cheapest_first(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get("/api/v1/payments/quote?amount=2500", headers=tenant.headers)
    assert response.status_code == 200, response.text
    quote = response.json()
    assert (quote["amount"], quote["currency"], quote["surcharge_policy"]) == (
        2500,
        "GBP",
        "absorb",
    )
    by_method = {m["method"]: m for m in quote["methods"]}
    assert [m["method"] for m in quote["methods"]] == [
        "cash",
        "open_banking",
        "card_present",
        "card",
        "apple_pay",
    ]
    # £25.00 by bank: 0.2% = 5p to the provider, 1% = 25p to Fynlo; by card 2.9% + 30p + 1%
    # = 127.5p, rounded once, half up, to 128p.
    assert by_method["open_banking"] | {"surcharge": 0} == {
        "method": "open_banking",
        "provider_fee": 5,
        "platform_fee": 25,
        "total_fee": 30,
        "saving_vs_card": 98,
        "surcharge": 0,
        "customer_pays": 2500,
    }
    assert (by_method["card"]["total_fee"], by_method["card"]["provider_fee"]) == (128, 103)
    # In person (Stripe Terminal): 1.4% + 10p = 45p, and Fynlo's 25p.
    in_person = by_method["card_present"]
    assert (in_person["total_fee"], in_person["provider_fee"], in_person["saving_vs_card"]) == (
        70,
        45,
        58,
    )
    assert by_method["cash"]["total_fee"] == 0


async def test_a_pass_on_policy_offers_the_fee_as_a_surcharge(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    policy = await client.put(
        "/api/v1/payments/policy", json={"surcharge": "pass_on"}, headers=tenant.headers
    )
    assert policy.json() == {"surcharge": "pass_on"}
    quote = (await client.get("/api/v1/payments/quote?amount=2500", headers=tenant.headers)).json()
    by_method = {m["method"]: m for m in quote["methods"]}
    assert (by_method["card"]["surcharge"], by_method["card"]["customer_pays"]) == (128, 2628)
    assert by_method["cash"]["surcharge"] == 0
    read = await client.get("/api/v1/payments/policy", headers=tenant.headers)
    assert read.json() == {"surcharge": "pass_on"}


@pytest.mark.parametrize("amount", ["0", "-5", "abc", "100000001"])
async def test_a_bad_quote_amount_names_the_field(
    client: httpx.AsyncClient, tenant: Tenant, amount: str
) -> None:
    response = await client.get(f"/api/v1/payments/quote?amount={amount}", headers=tenant.headers)
    assert_problem(response, 400, "validation_failed", "amount")


async def test_the_daily_report_totals_takings_tips_and_refunds(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    first = await make_order(tenant, seq=1, lines=[("Pizza", 1000, 1, 2000)])
    payment = (await cash(client, tenant.headers, first, 1000, tip=100)).json()
    await cash(client, tenant.headers, await make_order(tenant, seq=2), 300)
    await refund(client, tenant.headers, payment["id"], amount=250)
    today = datetime.now(ZoneInfo("Europe/London")).date().isoformat()  # the location's day
    response = await client.get(
        f"/api/v1/payments/reports/daily?start={today}&end={today}", headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    [row] = response.json()
    assert row == {
        "day": today,
        "method": "cash",
        "currency": "GBP",
        "payments": 2,
        "charged": 1400,
        "tips": 100,
        "surcharges": 0,
        "refunded": 250,
        "platform_fees": 0,
        "estimated_provider_fees": 0,
        "provider_fees": 0,
        "fees_unreported": 0,
    }


async def test_a_report_range_is_checked(client: httpx.AsyncClient, tenant: Tenant) -> None:
    backwards = await client.get(
        "/api/v1/payments/reports/daily?start=2026-11-02&end=2026-11-01", headers=tenant.headers
    )
    assert_problem(backwards, 400, "validation_failed", "end")
