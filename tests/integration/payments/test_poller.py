"""The poller settles what webhooks and lost answers left behind, with the same keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import UUID, uuid4

import httpx
import pytest

from server.db.engine import DB
from server.payments import gateway, poller
from server.payments.providers.stripe import StripeProvider
from tests.factories import Tenant, make_order
from tests.fakes.stripe import StripeFake
from tests.integration.payments.api import pay, refund
from tests.integration.payments.conftest import install

PIZZA = [("Pizza", 2500, 1, 2000)]


async def execute(sql: str, *args: object) -> None:
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        await conn.execute(sql, *args)


async def backdate(table: str, row_id: str, minutes: int) -> None:
    await execute(
        f"UPDATE {table} SET created_at = created_at - $2::interval WHERE id = $1",
        UUID(row_id),
        timedelta(minutes=minutes),
    )


@pytest.fixture
async def unreachable_stripe() -> AsyncIterator[StripeProvider]:
    provider = StripeProvider(
        api_key="sk_test_x",
        webhook_secret="whsec_x",
        api_base="http://127.0.0.1:9",
        timeout_seconds=1,
    )
    yield provider
    await provider.aclose()
    gateway.install(None)


async def test_a_creation_that_never_got_an_answer_is_resumed_not_repeated(
    client: httpx.AsyncClient,
    tenant: Tenant,
    stripe_fake: StripeFake,
    unreachable_stripe: StripeProvider,
) -> None:
    install({"stripe": unreachable_stripe})
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    lost = await pay(client, tenant.headers, order_id, method="card", amount=2500)
    assert lost.status_code == 503
    payment_id = await _only_payment(order_id)
    install({"stripe": stripe_fake.provider()})
    await backdate("payments", payment_id, 2)
    report = await poller.sweep()
    assert report.resumed == 1
    read = await client.get(f"/api/v1/payments/{payment_id}", headers=tenant.headers)
    assert read.json()["state"] == "awaiting_customer"
    again = await poller.sweep()
    assert again.resumed == 0  # it has its provider reference now
    assert (await stripe_fake.stats())["payment_intents"] == 1


async def test_a_refund_the_provider_never_heard_of_is_sent_again(
    client: httpx.AsyncClient,
    tenant: Tenant,
    stripe_fake: StripeFake,
    unreachable_stripe: StripeProvider,
) -> None:
    install({"stripe": stripe_fake.provider()})
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
    install({"stripe": unreachable_stripe})
    lost = await refund(client, tenant.headers, payment["id"], amount=500)
    assert lost.status_code == 503
    refund_id = lost.json()["refund_id"]
    install({"stripe": stripe_fake.provider()})
    await backdate("refunds", refund_id, 1)
    report = await poller.sweep()
    assert report.refunds_sent == 1
    listed = await client.get(f"/api/v1/payments/{payment['id']}/refunds", headers=tenant.headers)
    assert [(r["id"], r["state"]) for r in listed.json()] == [(refund_id, "succeeded")]
    assert (await stripe_fake.stats())["by_payment_id"][payment["id"]]["refunded"] == 500


async def test_a_missing_provider_fee_is_fetched(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    install({"stripe": stripe_fake.provider()})
    try:
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
        # Asynchronous capture: paid without a fee; Stripe books it later, no webhook reaches
        # us (none is delivered here), and the sweep fetches it.
        assert payment["fees"]["provider_fee"] is None
        await stripe_fake.release_balance_transactions()
        report = await poller.sweep()
        assert report.fees_recorded >= 1
        read = await client.get(f"/api/v1/payments/{payment['id']}", headers=tenant.headers)
        assert read.json()["fees"]["provider_fee"] == 58
    finally:
        gateway.install(None)


async def test_idempotency_keys_are_kept_their_time_then_purged(
    client: httpx.AsyncClient, tenant: Tenant, cash_only: object
) -> None:
    key = str(uuid4())
    order_id = await make_order(tenant, seq=1)
    await pay(client, tenant.headers, order_id, key=key, method="cash", amount=300, tendered=300)
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        kept = await conn.fetchval(
            "SELECT expires_at - created_at FROM idempotency_keys"
            " WHERE restaurant_id = $1 AND key = $2",
            tenant.restaurant_id,
            key,
        )
    assert kept == timedelta(days=7)
    await execute(
        "UPDATE idempotency_keys SET expires_at = now() - interval '1 second'"
        " WHERE restaurant_id = $1 AND key = $2",
        tenant.restaurant_id,
        key,
    )
    assert (await poller.sweep()).keys_purged >= 1
    async with DB.pool.acquire() as conn:
        left = await conn.fetchval(
            "SELECT count(*) FROM idempotency_keys WHERE restaurant_id = $1 AND key = $2",
            tenant.restaurant_id,
            key,
        )
    assert left == 0


async def _only_payment(order_id: UUID) -> str:
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        rows = await conn.fetch("SELECT id FROM payments WHERE order_id = $1", order_id)
    assert len(rows) == 1
    return str(rows[0]["id"])
