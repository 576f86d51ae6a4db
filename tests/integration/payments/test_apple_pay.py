"""Apple Pay on the web: the merchant session comes from Apple, and only from Apple's URLs."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from server.settings import get_settings
from tests.factories import Tenant
from tests.fakes.stripe import StripeFake
from tests.problems import assert_problem

ROUTE = "/api/v1/payments/apple-pay/merchant-session"


@pytest.fixture
def apple_at_the_fake(stripe_fake: StripeFake) -> Iterator[str]:
    """Apple's validation URL, served by the fake, allowed for this test only."""
    url = f"{stripe_fake.url}/_fake/apple/paymentSession"
    os.environ["FYNLO_APPLE_PAY_VALIDATION_URLS"] = url
    get_settings.cache_clear()
    yield url
    del os.environ["FYNLO_APPLE_PAY_VALIDATION_URLS"]
    get_settings.cache_clear()


async def test_a_merchant_session_is_fetched_from_apple(
    client: httpx.AsyncClient, tenant: Tenant, apple_at_the_fake: str
) -> None:
    response = await client.post(
        ROUTE,
        json={"validation_url": apple_at_the_fake, "domain": "pay.demo.fynlo.app"},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    session = response.json()
    assert (session["domainName"], session["displayName"]) == ("pay.demo.fynlo.app", "Fynlo")
    assert session["merchantSessionIdentifier"]
    assert session["signature"]


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "https://apple-pay-gateway.apple.com.evil.example/paymentSession",
        "http://127.0.0.1:8000/api/v1/orders",
    ],
)
async def test_any_other_validation_url_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, url: str
) -> None:
    response = await client.post(
        ROUTE, json={"validation_url": url, "domain": "pay.demo.fynlo.app"}, headers=tenant.headers
    )
    assert_problem(response, 400, "apple_pay.validation_url", "validation_url")
