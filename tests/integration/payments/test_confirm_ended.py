"""Confirming a card payment that has already ended is a 409, never a quiet 200.

A new confirm (a new Idempotency-Key) of a payment that succeeded, failed, was canceled or
expired answers ``payment.not_confirmable``; the retry of a confirm that was already
answered, or whose answer was lost, still gets that confirm's own outcome.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from server.db.engine import DB
from server.payments import poller
from tests.factories import Tenant, make_order
from tests.fakes.stripe import StripeFake
from tests.integration.payments.api import keyed, pay
from tests.problems import assert_problem

pytestmark = pytest.mark.usefixtures("with_stripe")

PIZZA = [("Pizza", 2500, 1, 2000)]


async def confirm(
    client: httpx.AsyncClient, tenant: Tenant, payment_id: str, key: str | None = None
) -> httpx.Response:
    return await client.post(
        f"/api/v1/payments/{payment_id}/confirm",
        json={"payment_method": "pm_card_visa"},
        headers=keyed(tenant.headers, key),
    )


async def ended_card(client: httpx.AsyncClient, tenant: Tenant, ending: str) -> dict[str, Any]:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    if ending in ("succeeded", "failed"):
        card = "pm_card_visa" if ending == "succeeded" else "pm_card_chargeDeclined"
        payment: dict[str, Any] = (
            await pay(client, tenant.headers, order_id, method="card", amount=2500,
                      payment_method=card)
        ).json()  # fmt: skip
    else:
        payment = (await pay(client, tenant.headers, order_id, method="card", amount=2500)).json()
        if ending == "canceled":
            canceled = await client.post(
                f"/api/v1/payments/{payment['id']}/cancel", headers=keyed(tenant.headers)
            )
            payment = canceled.json()
        else:  # its time ran out: the poller cancels it at Stripe and it expires
            assert DB.pool is not None
            async with DB.pool.acquire() as conn:
                await conn.execute(
                    "UPDATE payments SET expires_at = now() - interval '1 second' WHERE id = $1",
                    UUID(payment["id"]),
                )
            await poller.sweep()
            payment = (
                await client.get(f"/api/v1/payments/{payment['id']}", headers=tenant.headers)
            ).json()
    assert payment["state"] == ending, payment
    return payment


@pytest.mark.parametrize("ending", ["succeeded", "failed", "canceled", "expired"])
async def test_confirming_an_ended_card_payment_is_not_confirmable(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake, ending: str
) -> None:
    payment = await ended_card(client, tenant, ending)
    before = await stripe_fake.stats()

    refused = await confirm(client, tenant, payment["id"])

    assert_problem(refused, 409, "payment.not_confirmable")
    after = await client.get(f"/api/v1/payments/{payment['id']}", headers=tenant.headers)
    assert after.json()["state"] == ending
    assert (await stripe_fake.stats())["succeeded_charges"] == before["succeeded_charges"]


async def test_the_retry_of_a_confirm_that_succeeded_replays_its_answer(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    waiting = (await pay(client, tenant.headers, order_id, method="card", amount=2500)).json()
    key = str(uuid4())
    first = await confirm(client, tenant, waiting["id"], key)
    again = await confirm(client, tenant, waiting["id"], key)
    assert (first.status_code, first.json()["state"]) == (200, "succeeded")
    assert (again.status_code, again.content) == (200, first.content)
    assert_problem(await confirm(client, tenant, waiting["id"]), 409, "payment.not_confirmable")
