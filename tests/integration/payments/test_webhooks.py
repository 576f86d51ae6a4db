"""Provider webhooks through the API: any order, any repeats, same end; forgeries change nothing.

Deliveries are the providers' own signed webhooks, read from the fakes and posted to the
app by the test, so the test decides their order and how often each arrives.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any
from uuid import UUID

import httpx
import pytest
import stripe

from server.db.engine import DB
from tests.factories import Tenant, make_order
from tests.fakes.open_banking import OpenBankingSandbox, signed_webhook
from tests.fakes.stripe import StripeFake
from tests.integration.payments.api import order_payments, pay, payer_starts
from tests.problems import assert_problem

STRIPE_ROUTE = "/api/v1/payments/webhooks/stripe"
BANK_ROUTE = "/api/v1/payments/webhooks/open-banking"
PIZZA = [("Pizza", 2500, 1, 2000)]
SEEDS = range(4)


async def reference_of(payment_id: str) -> str:
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        reference: str = await conn.fetchval(
            "SELECT provider_reference FROM payments WHERE id = $1", UUID(payment_id)
        )
    return reference


async def seen_events(provider: str) -> int:
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM provider_events WHERE provider = $1", provider
        )
    return count


async def deliver(
    client: httpx.AsyncClient, route: str, deliveries: list[tuple[str, dict[str, str]]]
) -> list[int]:
    statuses = []
    for body, headers in deliveries:
        response = await client.post(route, content=body.encode(), headers=headers)
        statuses.append(response.status_code)
    return statuses


def shuffled_with_repeats(items: list[Any], seed: int) -> list[Any]:
    """Each item 1 to 3 times, in a random order (seeded, so a failure can be replayed)."""
    chooser = random.Random(seed)
    repeated = [item for item in items for _ in range(chooser.randint(1, 3))]
    chooser.shuffle(repeated)
    return repeated


# --- Stripe ---------------------------------------------------------------------------------


async def stripe_deliveries(fake: StripeFake, reference: str) -> list[tuple[str, dict[str, str]]]:
    return [
        (item["payload"], item["headers"])
        for item in await fake.webhooks()
        if json.loads(item["payload"])["data"]["object"].get("id") == reference
    ]


async def card_paid_on_the_ipad(
    client: httpx.AsyncClient, tenant: Tenant, fake: StripeFake, seq: int, card: str
) -> tuple[str, UUID]:
    """A card payment the iPad confirmed with Stripe directly: only webhooks tell us."""
    order_id = await make_order(tenant, seq=seq, lines=PIZZA)
    payment = (await pay(client, tenant.headers, order_id, method="card", amount=2500)).json()
    reference = await reference_of(payment["id"])
    await fake.provider().confirm(reference, card)
    return payment["id"], order_id


@pytest.mark.usefixtures("with_stripe")
@pytest.mark.parametrize("card", ["pm_card_visa", "pm_card_chargeDeclined"])
async def test_stripe_webhooks_in_any_order_reach_the_same_end(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake, card: str
) -> None:
    payment_id, order_id = await card_paid_on_the_ipad(client, tenant, stripe_fake, 1, card)
    ordered = await stripe_deliveries(stripe_fake, await reference_of(payment_id))
    assert len(ordered) >= 2
    assert set(await deliver(client, STRIPE_ROUTE, ordered)) == {200}
    expected = (await client.get(f"/api/v1/payments/{payment_id}", headers=tenant.headers)).json()
    assert expected["state"] == ("succeeded" if card == "pm_card_visa" else "failed")
    expected_order = (await order_payments(client, tenant.headers, order_id))["order_status"]

    for seed in SEEDS:
        other_id, other_order = await card_paid_on_the_ipad(
            client, tenant, stripe_fake, 10 + seed, card
        )
        deliveries = await stripe_deliveries(stripe_fake, await reference_of(other_id))
        assert set(
            await deliver(client, STRIPE_ROUTE, shuffled_with_repeats(deliveries, seed))
        ) == {200}
        got = (await client.get(f"/api/v1/payments/{other_id}", headers=tenant.headers)).json()
        assert (got["state"], got["failure_reason"], got["fees"]["provider_fee"]) == (
            expected["state"],
            expected["failure_reason"],
            expected["fees"]["provider_fee"],
        ), f"seed {seed}"
        order = await order_payments(client, tenant.headers, other_order)
        assert order["order_status"] == expected_order


@pytest.mark.usefixtures("with_stripe")
async def test_a_repeated_stripe_event_is_acknowledged_once(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    payment_id, _ = await card_paid_on_the_ipad(client, tenant, stripe_fake, 1, "pm_card_visa")
    [first, *_] = await stripe_deliveries(stripe_fake, await reference_of(payment_id))
    body, headers = first
    answers = [
        (await client.post(STRIPE_ROUTE, content=body.encode(), headers=headers)).json()
        for _ in range(3)
    ]
    assert [a["duplicate"] for a in answers] == [False, True, True]


def forged(body: str, secret: str, kind: str) -> tuple[str, dict[str, str]]:
    if kind == "wrong_secret":
        return body, {
            "stripe-signature": stripe.WebhookSignature.generate_signature_header(
                body, "whsec_forger"
            )
        }  # type: ignore[attr-defined]
    if kind == "tampered":
        header = stripe.WebhookSignature.generate_signature_header(body, secret)  # type: ignore[attr-defined]
        return body.replace('"amount": 2500', '"amount": 1'), {"stripe-signature": header}
    stale = int(time.time()) - 301
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=stale)  # type: ignore[attr-defined]
    return body, {"stripe-signature": header}


@pytest.mark.usefixtures("with_stripe")
@pytest.mark.parametrize("kind", ["wrong_secret", "tampered", "stale"])
async def test_a_forged_tampered_or_stale_stripe_webhook_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake, kind: str
) -> None:
    payment_id, order_id = await card_paid_on_the_ipad(
        client, tenant, stripe_fake, 1, "pm_card_visa"
    )
    succeeded = [
        body
        for body, _ in await stripe_deliveries(stripe_fake, await reference_of(payment_id))
        if json.loads(body)["type"] == "payment_intent.succeeded"
    ]
    before = await seen_events("stripe")
    body, headers = forged(succeeded[0], stripe_fake.secret, kind)
    response = await client.post(STRIPE_ROUTE, content=body.encode(), headers=headers)
    assert_problem(response, 400, "webhook.invalid")
    payment = (await client.get(f"/api/v1/payments/{payment_id}", headers=tenant.headers)).json()
    assert payment["state"] == "awaiting_customer"
    assert (await order_payments(client, tenant.headers, order_id))["order_status"] == "open"
    assert await seen_events("stripe") == before


@pytest.mark.usefixtures("with_stripe")
async def test_an_event_for_a_payment_we_do_not_have_is_retried_later(
    client: httpx.AsyncClient, stripe_fake: StripeFake
) -> None:
    """Not ours (yet): answered 404 so Stripe retries, and nothing is recorded."""
    from server.payments.providers.base import NewPayment

    provider = stripe_fake.provider()
    stranger = await provider.create(
        NewPayment(payment_id=UUID(int=7), amount=999, currency="GBP", reference="elsewhere")
    )
    await provider.confirm(stranger.reference, "pm_card_visa")
    deliveries = await stripe_deliveries(stripe_fake, stranger.reference)
    statuses = await deliver(client, STRIPE_ROUTE, deliveries)
    assert 404 in statuses


# --- pay by bank ----------------------------------------------------------------------------


async def bank_deliveries(
    sandbox: OpenBankingSandbox, reference: str
) -> list[tuple[str, dict[str, str]]]:
    return [
        (item["body"], item["headers"])
        for item in await sandbox.webhooks()
        if json.loads(item["body"]).get("payment_id") == reference
    ]


async def qr_payment(
    client: httpx.AsyncClient, tenant: Tenant, seq: int
) -> tuple[dict[str, Any], UUID, str]:
    order_id = await make_order(tenant, seq=seq, lines=PIZZA)
    response = await pay(client, tenant.headers, order_id, method="open_banking", amount=2500)
    assert response.status_code == 201, response.text
    payment = response.json()
    assert (await payer_starts(client, payment)).status_code == 303
    return payment, order_id, await reference_of(payment["id"])


@pytest.mark.usefixtures("with_bank")
@pytest.mark.parametrize("outcome", ["approve", "decline", "expire"])
async def test_bank_webhooks_in_any_order_reach_the_same_end(
    client: httpx.AsyncClient,
    tenant: Tenant,
    open_banking_sandbox: OpenBankingSandbox,
    outcome: str,
) -> None:
    async def happen(reference: str) -> None:
        await open_banking_sandbox.open_page(reference)
        if outcome == "approve":
            await open_banking_sandbox.approve(reference)
        elif outcome == "decline":
            await open_banking_sandbox.decline(reference)

    runs = []
    for seq in range(1 + len(SEEDS)):
        payment, order_id, reference = await qr_payment(client, tenant, seq + 1)
        runs.append((payment["id"], order_id, reference))
        await happen(reference)
    if outcome == "expire":
        await open_banking_sandbox.advance_clock(15 * 60 + 1)

    ends = []
    for index, (payment_id, order_id, reference) in enumerate(runs):
        deliveries = await bank_deliveries(open_banking_sandbox, reference)
        assert deliveries, "the sandbox sent no webhook"
        if index:
            deliveries = shuffled_with_repeats(deliveries, seed=index)
        assert set(await deliver(client, BANK_ROUTE, deliveries)) == {200}
        got = (await client.get(f"/api/v1/payments/{payment_id}", headers=tenant.headers)).json()
        order = await order_payments(client, tenant.headers, order_id)
        ends.append((got["state"], got["failure_reason"], got["fallback"], order["order_status"]))
    expected = {
        "approve": ("succeeded", None, [], "paid"),
        "decline": (
            "failed",
            "authorization_failed",
            ["card", "apple_pay", "card_present", "cash"],
            "open",
        ),
        "expire": ("expired", "expired", ["card", "apple_pay", "card_present", "cash"], "open"),
    }[outcome]
    assert ends == [expected] * len(runs)


@pytest.mark.usefixtures("with_bank")
@pytest.mark.parametrize("kind", ["other_key", "tampered", "stale", "foreign_jku"])
async def test_a_forged_tampered_or_stale_bank_webhook_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant, open_banking_sandbox: OpenBankingSandbox, kind: str
) -> None:
    from server.payments.fakes.keys import generate_key_pair

    payment, order_id, reference = await qr_payment(client, tenant, 1)
    await open_banking_sandbox.approve(reference)
    [(body, headers)] = [
        d
        for d in await bank_deliveries(open_banking_sandbox, reference)
        if json.loads(d[0])["type"] == "payment_executed"
    ]
    sandbox = open_banking_sandbox
    now = headers["X-TL-Webhook-Timestamp"]
    sign: dict[str, Any] = {
        "private_key_pem": sandbox.signing_private_key_pem,
        "kid": sandbox.signing_kid,
        "jku": sandbox.jwks_url,
        "path": BANK_ROUTE,
        "timestamp": now,
    }
    if kind == "other_key":
        sign["private_key_pem"] = generate_key_pair()[0]
    elif kind == "tampered":
        headers = signed_webhook(body, **sign)
        body = body.replace('"payment_executed"', '"payment_executed" ')
    elif kind == "stale":
        sign["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 301))
    else:
        sign["jku"] = "http://127.0.0.1:9/.well-known/jwks.json"
    if kind != "tampered":
        headers = signed_webhook(body, **sign)
    before = await seen_events("open_banking")
    response = await client.post(BANK_ROUTE, content=body.encode(), headers=headers)
    assert_problem(response, 400, "webhook.invalid")
    got = (await client.get(f"/api/v1/payments/{payment['id']}", headers=tenant.headers)).json()
    assert got["state"] == "awaiting_customer"
    assert (await order_payments(client, tenant.headers, order_id))["order_status"] == "open"
    assert await seen_events("open_banking") == before
