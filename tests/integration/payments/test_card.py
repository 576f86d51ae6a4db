"""Card and Apple Pay through the payments API, with the real Stripe SDK and the fake Stripe."""

from __future__ import annotations

from uuid import uuid4

import httpx
import pytest

from tests.factories import Tenant, make_order
from tests.fakes.stripe import StripeFake
from tests.integration.payments.api import keyed, order_payments, pay, refund
from tests.problems import assert_problem

pytestmark = pytest.mark.usefixtures("with_stripe")

PIZZA = [("Pizza", 2500, 1, 2000)]


async def test_a_card_from_the_reader_pays_at_once_and_records_stripes_fee_when_it_comes(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    response = await pay(
        client, tenant.headers, order_id, method="card", amount=2500, payment_method="pm_card_visa"
    )
    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["state"] == "succeeded"
    # Asynchronous capture: Stripe's fee is not known when the payment succeeds.
    assert payment["fees"]["provider_fee"] is None
    await stripe_fake.release_balance_transactions()
    [updated] = await stripe_fake.webhooks("charge.updated")
    answer = await client.post(
        "/api/v1/payments/webhooks/stripe",
        content=updated["payload"].encode(),
        headers=updated["headers"],
    )
    assert answer.status_code == 200, answer.text
    payment = (await client.get(f"/api/v1/payments/{payment['id']}", headers=tenant.headers)).json()
    # Our estimate from the plan (2.9% + 30p = 103p) next to Stripe's own figure (the fake
    # charges 1.5% + 20p = 57.5p, which Stripe rounds to 58p).
    assert payment["fees"] | {"schedule": None} == {
        "schedule": None,
        "estimated_provider_fee": 103,
        "platform_fee": 25,
        "provider_fee": 58,
    }
    summary = await order_payments(client, tenant.headers, order_id)
    assert (summary["order_status"], summary["paid"]) == ("paid", 2500)
    by_payment = (await stripe_fake.stats())["by_payment_id"][payment["id"]]
    assert (by_payment["payment_intents"], by_payment["succeeded_charges"]) == (1, 1)


async def test_a_waiting_card_is_confirmed_with_the_readers_payment_method(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    waiting = (await pay(client, tenant.headers, order_id, method="card", amount=2500)).json()
    assert waiting["state"] == "awaiting_customer"
    assert waiting["client_secret"]
    confirm = await client.post(
        f"/api/v1/payments/{waiting['id']}/confirm",
        json={"payment_method": "pm_card_visa"},
        headers=keyed(tenant.headers),
    )
    assert confirm.status_code == 200, confirm.text
    assert (confirm.json()["state"], confirm.json()["client_secret"]) == ("succeeded", None)
    assert (await order_payments(client, tenant.headers, order_id))["order_status"] == "paid"


async def test_a_decline_frees_the_amount_and_offers_other_methods(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    declined = await pay(
        client,
        tenant.headers,
        order_id,
        method="card",
        amount=2500,
        payment_method="pm_card_chargeDeclined",
    )
    assert declined.status_code == 201, declined.text
    body = declined.json()
    assert (body["state"], body["failure_reason"]) == ("failed", "generic_decline")
    assert body["fallback"] == ["apple_pay", "card_present", "open_banking", "cash"]
    summary = await order_payments(client, tenant.headers, order_id)
    assert (summary["remaining"], summary["order_status"]) == (2500, "open")
    retry = await pay(
        client, tenant.headers, order_id, method="apple_pay", amount=2500, wallet_token="tok_visa"
    )
    assert retry.json()["state"] == "succeeded"


async def test_apple_pay_charges_the_wallet_token(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    response = await pay(
        client,
        tenant.headers,
        order_id,
        method="apple_pay",
        amount=2500,
        tip=250,
        wallet_token=await stripe_fake.apple_pay_token(),
    )
    payment = response.json()
    assert (payment["state"], payment["charged"], payment["tip"]) == ("succeeded", 2750, 250)
    assert (await stripe_fake.stats())["by_payment_id"][payment["id"]]["succeeded_charges"] == 1


async def test_an_accepted_surcharge_is_charged_on_top(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await client.put(
        "/api/v1/payments/policy", json={"surcharge": "pass_on"}, headers=tenant.headers
    )
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    accepted = (
        await pay(
            client,
            tenant.headers,
            order_id,
            method="card",
            amount=1000,
            accept_surcharge=True,
            payment_method="pm_card_visa",
        )
    ).json()
    assert (accepted["surcharge"], accepted["charged"]) == (69, 1069)  # 3.9% + 30p of £10
    declined = (
        await pay(
            client,
            tenant.headers,
            order_id,
            method="card",
            amount=1500,
            payment_method="pm_card_visa",
        )
    ).json()
    assert (declined["surcharge"], declined["charged"]) == (0, 1500)
    summary = await order_payments(client, tenant.headers, order_id)
    assert (summary["paid"], summary["order_status"]) == (2500, "paid")


async def test_card_refunds_reach_stripe_and_never_pass_the_charge(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    payment = (
        await pay(
            client,
            tenant.headers,
            order_id,
            method="card",
            amount=2500,
            payment_method="pm_card_visa",
        )
    ).json()
    first = await refund(client, tenant.headers, payment["id"], amount=1000)
    assert (first.status_code, first.json()["state"]) == (201, "succeeded")
    rest = await refund(client, tenant.headers, payment["id"])
    assert rest.json()["amount"] == 1500
    assert_problem(
        await refund(client, tenant.headers, payment["id"], amount=1),
        409,
        "refund.exceeds_captured",
        "amount",
    )
    assert (await stripe_fake.stats())["by_payment_id"][payment["id"]]["refunded"] == 2500


async def test_canceling_a_waiting_card_payment_frees_the_order(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    waiting = (await pay(client, tenant.headers, order_id, method="card", amount=2500)).json()
    cancel = await client.post(
        f"/api/v1/payments/{waiting['id']}/cancel", headers=keyed(tenant.headers)
    )
    assert cancel.json()["state"] == "canceled"
    assert (await order_payments(client, tenant.headers, order_id))["remaining"] == 2500
    again = await client.post(
        f"/api/v1/payments/{waiting['id']}/confirm",
        json={"payment_method": "pm_card_visa"},
        headers=keyed(tenant.headers),
    )
    assert_problem(again, 409, "payment.not_confirmable")  # an ended payment never moves again


async def test_a_card_payment_cannot_take_a_cash_confirmation(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order_id = await make_order(tenant, seq=1)
    paid = (
        await pay(client, tenant.headers, order_id, method="cash", amount=300, tendered=300)
    ).json()
    confirm = await client.post(
        f"/api/v1/payments/{paid['id']}/confirm",
        json={"payment_method": "pm_card_visa"},
        headers=keyed(tenant.headers),
    )
    assert_problem(confirm, 409, "payment.not_confirmable")
    cancel = await client.post(
        f"/api/v1/payments/{paid['id']}/cancel", headers=keyed(tenant.headers)
    )
    assert_problem(cancel, 409, "payment.not_cancelable", "state")
    unknown = await client.post(f"/api/v1/payments/{uuid4()}/cancel", headers=keyed(tenant.headers))
    assert_problem(unknown, 404, "not_found")
