"""A provider that is down answers a clear 503 at once; the same key carries on once it is back."""

from __future__ import annotations

from uuid import uuid4

import httpx

from server.payments import gateway
from server.payments.providers.stripe import StripeProvider
from tests.factories import Tenant, make_order
from tests.fakes.stripe import StripeFake
from tests.integration.payments.api import order_payments, pay
from tests.integration.payments.conftest import install
from tests.problems import assert_problem

PIZZA = [("Pizza", 2500, 1, 2000)]


async def test_an_unreachable_provider_is_a_503_and_the_retry_charges_once(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    nowhere = StripeProvider(
        api_key="sk_test_x",
        webhook_secret="whsec_x",
        api_base="http://127.0.0.1:9",
        timeout_seconds=1,
    )
    install({"stripe": nowhere})
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    key = str(uuid4())
    body = {"method": "card", "amount": 2500, "payment_method": "pm_card_visa"}
    try:
        down = await pay(client, tenant.headers, order_id, key=key, **body)
        problem = assert_problem(down, 503, "payment.provider_unavailable")
        assert down.headers["retry-after"] == problem["retry_after_seconds"].__str__() == "5"
        summary = await order_payments(client, tenant.headers, order_id)
        assert (summary["payments"][0]["state"], summary["in_flight"]) == ("created", 2500)

        install({"stripe": stripe_fake.provider()})  # Stripe is back
        back = await pay(client, tenant.headers, order_id, key=key, **body)
        assert (back.status_code, back.json()["state"]) == (201, "succeeded")
        assert back.json()["id"] == summary["payments"][0]["id"]
        assert (await stripe_fake.stats())["payment_intents"] == 1
    finally:
        await nowhere.aclose()
        gateway.install(None)


async def test_a_failing_provider_opens_its_circuit_and_then_fails_fast(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    install({"stripe": stripe_fake.provider()}, threshold=2)
    try:
        await stripe_fake.faults(fail_next=2)
        for seq in (1, 2):
            order_id = await make_order(tenant, seq=seq, lines=PIZZA)
            failing = await pay(client, tenant.headers, order_id, method="card", amount=2500)
            assert_problem(failing, 503, "payment.provider_unavailable")
        # Stripe has recovered, but the circuit is open: no call reaches it for a while.
        order_id = await make_order(tenant, seq=3, lines=PIZZA)
        fast = await pay(client, tenant.headers, order_id, method="card", amount=2500)
        assert "circuit open" in assert_problem(fast, 503, "payment.provider_unavailable")["detail"]
        assert (await stripe_fake.stats())["payment_intents"] == 0
        # Cash never goes through Stripe's circuit.
        cash_order = await make_order(tenant, seq=4)
        cash = await pay(
            client, tenant.headers, cash_order, method="cash", amount=300, tendered=300
        )
        assert cash.status_code == 201
    finally:
        gateway.install(None)


async def test_a_method_that_is_not_configured_is_a_503(
    client: httpx.AsyncClient, tenant: Tenant, cash_only: object
) -> None:
    order_id = await make_order(tenant, seq=1)
    response = await pay(client, tenant.headers, order_id, method="open_banking", amount=300)
    assert (
        "not configured" in assert_problem(response, 503, "payment.provider_unavailable")["detail"]
    )
