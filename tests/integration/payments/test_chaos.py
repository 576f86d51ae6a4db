"""Lost answers, retries and concurrent duplicates never charge a customer twice.

The fake Stripe performs each call and then holds its answer longer than our client waits,
so the server sees a timeout after the charge happened (a "dropped response"). The till
then does what a till does: retries each payment up to 5 times, each time with several
concurrent requests carrying the same Idempotency-Key. At the end every order is paid once
and the fake holds exactly one PaymentIntent and one charge per payment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from uuid import UUID, uuid4

import httpx
import pytest

from server.payments import gateway
from server.payments.gateway import Gateway
from tests.factories import Tenant, make_order
from tests.fakes import losing_answers_after
from tests.fakes.stripe import StripeFake
from tests.integration.payments.api import order_payments, pay
from tests.integration.payments.conftest import install

PAYMENTS = 8
ATTEMPTS = 5
CONCURRENT = 3
CLIENT_TIMEOUT = 0.3
HELD_ANSWER = 0.6


@pytest.fixture
def impatient_stripe(stripe_fake: StripeFake) -> Iterator[Gateway]:
    # A high threshold keeps the circuit closed: this test is about duplicates, not breakers.
    yield install(
        {"stripe": stripe_fake.provider(timeout_seconds=losing_answers_after(CLIENT_TIMEOUT))},
        threshold=10_000,
    )
    gateway.install(None)


async def till_pays(
    client: httpx.AsyncClient, tenant: Tenant, order_id: UUID, answers: list[int]
) -> dict[str, object] | None:
    """Retry one card payment like an iPad: same key, several at once, at most 5 rounds."""
    key = str(uuid4())
    for _ in range(ATTEMPTS):
        round_ = await asyncio.gather(
            *(
                pay(
                    client,
                    tenant.headers,
                    order_id,
                    key=key,
                    method="card",
                    amount=2500,
                    payment_method="pm_card_visa",
                )
                for _ in range(CONCURRENT)
            )
        )
        answers += [r.status_code for r in round_]
        done = [r for r in round_ if r.status_code == 201]
        if done:
            body: dict[str, object] = done[0].json()
            return body
        await asyncio.sleep(HELD_ANSWER + 0.1)  # let the held answers go
    return None


@pytest.mark.usefixtures("impatient_stripe")
async def test_dropped_answers_and_retries_never_charge_twice(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    orders = [
        await make_order(tenant, seq=n, lines=[("Pizza", 2500, 1, 2000)])
        for n in range(1, 1 + PAYMENTS)
    ]
    await stripe_fake.faults(delay_next=PAYMENTS, delay_seconds=HELD_ANSWER)
    answers: list[int] = []
    paid = await asyncio.gather(*(till_pays(client, tenant, o, answers) for o in orders))

    assert all(p is not None and p["state"] == "succeeded" for p in paid), paid
    assert 503 in answers, "no answer was lost: the test did not exercise retries"
    assert set(answers) <= {201, 409, 503}, answers
    stats = await stripe_fake.stats()
    assert stats["payment_intents"] == PAYMENTS
    for payment in paid:
        assert payment is not None
        charges = stats["by_payment_id"][payment["id"]]
        assert (charges["payment_intents"], charges["succeeded_charges"]) == (1, 1)
    for order_id in orders:
        summary = await order_payments(client, tenant.headers, order_id)
        assert (summary["order_status"], len(summary["payments"])) == ("paid", 1)
