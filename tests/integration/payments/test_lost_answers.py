"""A provider's answer lost on the way back: whoever comes next ends the payment, once.

The fakes do the work, then hold the answer longer than our client waits (``delay_path``
picks which call loses it: a create, a confirm, a cancel, a refund). Then one of the three
who may come next carries on: the iPad's retry with the same Idempotency-Key, the poller,
or ``fynlo payments sweep`` (``test_sweep_command.py``). Each must reach the same end the
unlost answer would have given, with exactly one PaymentIntent, charge or bank payment at
the provider, and must never leave the order blocked by a payment that cannot finish.

Timeouts are kept short by giving the providers a short ``timeout_seconds`` (in production
``FYNLO_PROVIDER_TIMEOUT_SECONDS``, 10 s); no test sleeps to make its point.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from server.db.engine import DB
from server.payments import gateway, poller
from server.payments.gateway import Gateway
from tests.factories import Tenant, make_order
from tests.fakes import losing_answers_after
from tests.fakes.open_banking import OpenBankingSandbox
from tests.fakes.stripe import StripeFake
from tests.integration.payments.api import keyed, order_payments, pay, payer_starts, refund
from tests.integration.payments.conftest import install
from tests.problems import assert_problem

TIMEOUT = 0.3
"""Our client's patience with a provider in these tests."""
HELD = 0.8
"""How long a fake holds a lost answer back: longer than TIMEOUT."""
PIZZA = [("Pizza", 2500, 1, 2000)]
STRIPE_ROUTE = "/api/v1/payments/webhooks/stripe"

STRIPE_CREATE = r"^/v1/payment_intents$"
STRIPE_CONFIRM = r"^/v1/payment_intents/[^/]+/confirm$"
STRIPE_CANCEL = r"^/v1/payment_intents/[^/]+/cancel$"
STRIPE_REFUND = r"^/v1/refunds$"
BANK_CREATE = r"^/v3/payments$"
BANK_CANCEL = r"/actions/cancel$"
BANK_REFUND = r"^/v3/payments/[^/]+/refunds$"

Resolver = Callable[[], Awaitable[httpx.Response | None]]


@pytest.fixture
def impatient(
    stripe_fake: StripeFake, open_banking_sandbox: OpenBankingSandbox
) -> Iterator[Gateway]:
    # A high threshold keeps the circuit closed: these tests are about answers, not breakers.
    yield install(
        {
            "stripe": stripe_fake.provider(timeout_seconds=losing_answers_after(TIMEOUT)),
            "open_banking": open_banking_sandbox.provider(
                timeout_seconds=losing_answers_after(TIMEOUT)
            ),
        },
        threshold=10_000,
    )
    gateway.install(None)


pytestmark = pytest.mark.usefixtures("impatient")


# --- helpers --------------------------------------------------------------------------------


async def execute(sql: str, *args: object) -> None:
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        await conn.execute(sql, *args)


async def row(payment_id: str) -> dict[str, Any]:
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        found = await conn.fetchrow("SELECT * FROM payments WHERE id = $1", UUID(payment_id))
    assert found is not None
    return dict(found)


async def only_payment(order_id: UUID) -> str:
    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        rows = await conn.fetch("SELECT id FROM payments WHERE order_id = $1", order_id)
    assert len(rows) == 1, rows
    return str(rows[0]["id"])


async def quiet_for(payment_id: str, minutes: int = 3) -> None:
    """As if the payment was made, and last heard of, ``minutes`` ago (its deadline too)."""
    await execute(
        "UPDATE payments SET created_at = created_at - $2::interval,"
        " updated_at = updated_at - $2::interval, expires_at = expires_at - $2::interval"
        " WHERE id = $1",
        UUID(payment_id),
        timedelta(minutes=minutes),
    )


async def sweep_for(payment_id: str) -> None:
    """What the poller (and ``fynlo payments sweep``) does once the payment has gone quiet."""
    await quiet_for(payment_id)
    await poller.sweep()


async def read(client: httpx.AsyncClient, tenant: Tenant, payment_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/payments/{payment_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def deliver_stripe(client: httpx.AsyncClient, fake: StripeFake, kind: str) -> None:
    """Post the fake's signed deliveries of one event type to our webhook route."""
    for item in await fake.webhooks(kind):
        response = await client.post(
            STRIPE_ROUTE, content=item["payload"].encode(), headers=item["headers"]
        )
        assert response.status_code == 200, response.text


async def stripe_counts(fake: StripeFake, payment_id: str) -> tuple[int, int]:
    """(PaymentIntents, succeeded charges) the fake holds for our payment."""
    mine = (await fake.stats())["by_payment_id"].get(payment_id, {})
    return mine.get("payment_intents", 0), mine.get("succeeded_charges", 0)


async def bank_payments(sandbox: OpenBankingSandbox, payment_id: str) -> int:
    created: dict[str, int] = (await sandbox.stats())["created_by_payment_id"]
    return created.get(payment_id, 0)


def card_body(**extra: Any) -> dict[str, Any]:
    return {"method": "card", "amount": 2500, **extra}


# --- the finding: a lost card answer, a webhook, then the retry -----------------------------


async def test_a_lost_card_answer_overtaken_by_its_webhook_is_charged_by_the_retry(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    key, body = str(uuid4()), card_body(payment_method="pm_card_visa")
    await stripe_fake.faults(delay_next=1, delay_seconds=HELD, delay_path=STRIPE_CREATE)

    lost = await pay(client, tenant.headers, order_id, key=key, **body)
    assert_problem(lost, 503, "payment.provider_unavailable")
    await stripe_fake.answers_released()
    # Stripe's payment_intent.created reaches us before the till tries again.
    await deliver_stripe(client, stripe_fake, "payment_intent.created")
    retried = await pay(client, tenant.headers, order_id, key=key, **body)

    assert retried.status_code == 201, retried.text
    payment = retried.json()
    assert (payment["state"], payment["client_secret"]) == ("succeeded", None)
    assert await stripe_counts(stripe_fake, payment["id"]) == (1, 1)
    summary = await order_payments(client, tenant.headers, order_id)
    assert (summary["order_status"], summary["remaining"]) == ("paid", 0)


# --- card charged at once (the reader's PaymentMethod in the create) -----------------------


@pytest.mark.parametrize("lost", [STRIPE_CREATE, STRIPE_CONFIRM], ids=["create", "confirm"])
@pytest.mark.parametrize("resolver", ["retry", "poller"])
async def test_a_card_charged_at_once_ends_succeeded_with_one_charge(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake, lost: str, resolver: str
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    key, body = str(uuid4()), card_body(payment_method="pm_card_visa")
    await stripe_fake.faults(delay_next=1, delay_seconds=HELD, delay_path=lost)

    assert_problem(
        await pay(client, tenant.headers, order_id, key=key, **body),
        503,
        "payment.provider_unavailable",
    )
    await stripe_fake.answers_released()
    payment_id = await only_payment(order_id)
    if resolver == "retry":
        retried = await pay(client, tenant.headers, order_id, key=key, **body)
        assert retried.status_code == 201, retried.text
    else:
        await sweep_for(payment_id)

    assert (await read(client, tenant, payment_id))["state"] == "succeeded"
    assert await stripe_counts(stripe_fake, payment_id) == (1, 1)
    assert (await order_payments(client, tenant.headers, order_id))["order_status"] == "paid"
    if resolver == "poller":  # and a later retry from the till answers the same
        late = await pay(client, tenant.headers, order_id, key=key, **body)
        assert (late.status_code, late.json()["state"]) == (201, "succeeded")
        assert await stripe_counts(stripe_fake, payment_id) == (1, 1)


async def test_a_declined_card_whose_answer_was_lost_ends_failed_and_frees_the_order(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    body = card_body(payment_method="pm_card_chargeDeclined")
    await stripe_fake.faults(delay_next=1, delay_seconds=HELD, delay_path=STRIPE_CONFIRM)

    assert (await pay(client, tenant.headers, order_id, **body)).status_code == 503
    await stripe_fake.answers_released()
    payment_id = await only_payment(order_id)
    await sweep_for(payment_id)

    payment = await read(client, tenant, payment_id)
    assert (payment["state"], payment["failure_reason"]) == ("failed", "generic_decline")
    summary = await order_payments(client, tenant.headers, order_id)
    assert (summary["in_flight"], summary["remaining"]) == (0, 2500)


# --- card waiting for the reader, then confirmed or canceled --------------------------------


async def waiting_card(client: httpx.AsyncClient, tenant: Tenant, order_id: UUID) -> str:
    waiting = await pay(client, tenant.headers, order_id, **card_body())
    assert waiting.json()["state"] == "awaiting_customer", waiting.text
    return str(waiting.json()["id"])


@pytest.mark.parametrize("resolver", ["retry", "poller"])
async def test_a_confirm_whose_answer_was_lost_ends_succeeded(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake, resolver: str
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    payment_id = await waiting_card(client, tenant, order_id)
    headers = keyed(tenant.headers)
    await stripe_fake.faults(delay_next=1, delay_seconds=HELD, delay_path=STRIPE_CONFIRM)

    async def confirm() -> httpx.Response:
        return await client.post(
            f"/api/v1/payments/{payment_id}/confirm",
            json={"payment_method": "pm_card_visa"},
            headers=headers,
        )

    assert_problem(await confirm(), 503, "payment.provider_unavailable")
    await stripe_fake.answers_released()
    if resolver == "retry":
        retried = await confirm()
        assert (retried.status_code, retried.json()["state"]) == (200, "succeeded")
    else:
        await sweep_for(payment_id)

    assert (await read(client, tenant, payment_id))["state"] == "succeeded"
    assert await stripe_counts(stripe_fake, payment_id) == (1, 1)


@pytest.mark.parametrize("resolver", ["retry", "poller"])
async def test_a_cancel_whose_answer_was_lost_ends_canceled(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake, resolver: str
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    payment_id = await waiting_card(client, tenant, order_id)
    headers = keyed(tenant.headers)
    await stripe_fake.faults(delay_next=1, delay_seconds=HELD, delay_path=STRIPE_CANCEL)

    async def cancel() -> httpx.Response:
        return await client.post(f"/api/v1/payments/{payment_id}/cancel", headers=headers)

    assert_problem(await cancel(), 503, "payment.provider_unavailable")
    await stripe_fake.answers_released()
    if resolver == "retry":
        assert (await cancel()).json()["state"] == "canceled"
    else:
        await sweep_for(payment_id)

    assert (await read(client, tenant, payment_id))["state"] == "canceled"
    assert (await order_payments(client, tenant.headers, order_id))["remaining"] == 2500
    assert await stripe_counts(stripe_fake, payment_id) == (1, 0)


async def test_a_waiting_card_nobody_comes_back_for_is_canceled_at_its_deadline(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    """The create's answer was lost and the till never retried: the payment must not hold
    the order forever. At its deadline (15 minutes) it is canceled at Stripe and expires."""
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    await stripe_fake.faults(delay_next=1, delay_seconds=HELD, delay_path=STRIPE_CREATE)
    assert (await pay(client, tenant.headers, order_id, **card_body())).status_code == 503
    await stripe_fake.answers_released()
    payment_id = await only_payment(order_id)

    await sweep_for(payment_id)  # found at Stripe, still waiting for a card
    assert (await read(client, tenant, payment_id))["state"] == "awaiting_customer"
    await quiet_for(payment_id, minutes=16)
    await poller.sweep()

    payment = await read(client, tenant, payment_id)
    assert (payment["state"], payment["fallback"][:1]) == ("expired", ["apple_pay"])
    assert (await order_payments(client, tenant.headers, order_id))["remaining"] == 2500
    intent = (await row(payment_id))["provider_reference"]
    canceled = [
        json.loads(item["payload"])["data"]["object"]["id"]
        for item in await stripe_fake.webhooks("payment_intent.canceled")
    ]
    assert canceled == [intent]


# --- Apple Pay (created and charged in one call) --------------------------------------------


async def apple_pay_body(fake: StripeFake) -> dict[str, Any]:
    """An Apple Pay payment with a fresh single-use token, as PassKit gives the iPad."""
    return {"method": "apple_pay", "amount": 2500, "wallet_token": await fake.apple_pay_token()}


@pytest.mark.parametrize("resolver", ["retry", "webhook_then_retry", "poller"])
async def test_an_apple_pay_charge_whose_answer_was_lost_ends_succeeded(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake, resolver: str
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    key, body = str(uuid4()), await apple_pay_body(stripe_fake)
    await stripe_fake.faults(delay_next=1, delay_seconds=HELD, delay_path=STRIPE_CREATE)

    assert (await pay(client, tenant.headers, order_id, key=key, **body)).status_code == 503
    await stripe_fake.answers_released()
    payment_id = await only_payment(order_id)
    if resolver == "poller":
        await sweep_for(payment_id)
    else:
        if resolver == "webhook_then_retry":
            await deliver_stripe(client, stripe_fake, "payment_intent.created")
        retried = await pay(client, tenant.headers, order_id, key=key, **body)
        assert (retried.status_code, retried.json()["state"]) == (201, "succeeded")

    assert (await read(client, tenant, payment_id))["state"] == "succeeded"
    assert await stripe_counts(stripe_fake, payment_id) == (1, 1)
    assert (await order_payments(client, tenant.headers, order_id))["order_status"] == "paid"


async def test_an_apple_pay_charge_that_never_reached_stripe_fails_and_frees_the_order(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    """We never keep the wallet token, so the poller cannot send the charge again; it looks
    for the PaymentIntent by our id and, finding none, ends the payment."""
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    key, body = str(uuid4()), await apple_pay_body(stripe_fake)
    await stripe_fake.faults(fail_next=1)
    assert (await pay(client, tenant.headers, order_id, key=key, **body)).status_code == 503
    payment_id = await only_payment(order_id)

    await sweep_for(payment_id)

    payment = await read(client, tenant, payment_id)
    assert (payment["state"], payment["failure_reason"]) == ("failed", "never_reached_provider")
    assert (await order_payments(client, tenant.headers, order_id))["remaining"] == 2500
    # The till's late retry is answered from the ended payment; nothing is charged.
    late = await pay(client, tenant.headers, order_id, key=key, **body)
    assert (late.status_code, late.json()["state"]) == (201, "failed")
    assert await stripe_counts(stripe_fake, payment_id) == (0, 0)


# --- pay by bank ----------------------------------------------------------------------------


@pytest.mark.parametrize("resolver", ["retry", "poller"])
async def test_a_bank_payment_whose_create_answer_was_lost_shows_one_qr_and_is_paid(
    client: httpx.AsyncClient,
    tenant: Tenant,
    open_banking_sandbox: OpenBankingSandbox,
    resolver: str,
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    made = await pay(client, tenant.headers, order_id, method="open_banking", amount=2500)
    payment = made.json()
    # The bank payment is made when the payer gives their details; that answer is lost.
    await open_banking_sandbox.faults(delay_next=1, delay_seconds=HELD, delay_path=BANK_CREATE)
    lost = await payer_starts(client, payment)
    assert lost.status_code == 503 and "try again" in lost.text
    await open_banking_sandbox.answers_released()
    payment_id = payment["id"]
    if resolver == "retry":  # the payer presses the button again
        assert (await payer_starts(client, payment)).status_code == 303
    else:
        await sweep_for(payment_id)
    shown = await read(client, tenant, payment_id)
    assert shown["state"] == "awaiting_customer" and shown["qr"]["link"]

    await open_banking_sandbox.approve((await row(payment_id))["provider_reference"])
    await sweep_for(payment_id)

    assert (await read(client, tenant, payment_id))["state"] == "succeeded"
    assert await bank_payments(open_banking_sandbox, payment_id) == 1
    assert (await order_payments(client, tenant.headers, order_id))["order_status"] == "paid"


@pytest.mark.parametrize("resolver", ["retry", "poller"])
async def test_a_bank_cancel_whose_answer_was_lost_ends_canceled(
    client: httpx.AsyncClient,
    tenant: Tenant,
    open_banking_sandbox: OpenBankingSandbox,
    resolver: str,
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    created = await pay(client, tenant.headers, order_id, method="open_banking", amount=2500)
    payment_id = created.json()["id"]
    assert (await payer_starts(client, created.json())).status_code == 303
    headers = keyed(tenant.headers)
    await open_banking_sandbox.faults(delay_next=1, delay_seconds=HELD, delay_path=BANK_CANCEL)

    async def cancel() -> httpx.Response:
        return await client.post(f"/api/v1/payments/{payment_id}/cancel", headers=headers)

    assert_problem(await cancel(), 503, "payment.provider_unavailable")
    await open_banking_sandbox.answers_released()
    if resolver == "retry":
        assert (await cancel()).json()["state"] == "canceled"
    else:
        await sweep_for(payment_id)

    assert (await read(client, tenant, payment_id))["state"] == "canceled"
    assert (await order_payments(client, tenant.headers, order_id))["remaining"] == 2500


# --- refunds --------------------------------------------------------------------------------


async def paid_by_card(client: httpx.AsyncClient, tenant: Tenant, order_id: UUID) -> str:
    paid = await pay(client, tenant.headers, order_id, **card_body(payment_method="pm_card_visa"))
    assert paid.json()["state"] == "succeeded", paid.text
    return str(paid.json()["id"])


async def paid_by_bank(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: OpenBankingSandbox, order_id: UUID
) -> str:
    created = await pay(client, tenant.headers, order_id, method="open_banking", amount=2500)
    payment_id = str(created.json()["id"])
    assert (await payer_starts(client, created.json())).status_code == 303
    await sandbox.approve((await row(payment_id))["provider_reference"], until="executed")
    await sandbox.settle((await row(payment_id))["provider_reference"])
    await sweep_for(payment_id)
    shown = await read(client, tenant, payment_id)
    assert (shown["state"], shown["settlement"]) == ("succeeded", "settled")
    return payment_id


@pytest.mark.parametrize("method", ["card", "open_banking"])
@pytest.mark.parametrize("resolver", ["retry", "poller"])
async def test_a_refund_whose_answer_was_lost_is_made_once(
    client: httpx.AsyncClient,
    tenant: Tenant,
    stripe_fake: StripeFake,
    open_banking_sandbox: OpenBankingSandbox,
    method: str,
    resolver: str,
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    if method == "card":
        payment_id = await paid_by_card(client, tenant, order_id)
        fake: StripeFake | OpenBankingSandbox = stripe_fake
        await stripe_fake.faults(delay_next=1, delay_seconds=HELD, delay_path=STRIPE_REFUND)
    else:
        payment_id = await paid_by_bank(client, tenant, open_banking_sandbox, order_id)
        fake = open_banking_sandbox
        await open_banking_sandbox.faults(delay_next=1, delay_seconds=HELD, delay_path=BANK_REFUND)
    key = str(uuid4())

    lost = await refund(client, tenant.headers, payment_id, key=key, amount=1000)
    refund_id = assert_problem(lost, 503, "payment.provider_unavailable")["refund_id"]
    await fake.answers_released()
    if resolver == "retry":
        retried = await refund(client, tenant.headers, payment_id, key=key, amount=1000)
        assert (retried.status_code, retried.json()["id"]) == (201, refund_id)
    else:
        await execute(
            "UPDATE refunds SET created_at = created_at - interval '1 minute' WHERE id = $1",
            UUID(refund_id),
        )
        await poller.sweep()

    assert DB.pool is not None
    async with DB.pool.acquire() as conn:
        sent = await conn.fetchrow(
            "SELECT state, provider_reference FROM refunds WHERE id = $1", UUID(refund_id)
        )
    assert sent is not None and sent["provider_reference"] is not None
    if method == "card":
        assert sent["state"] == "succeeded"
        assert (await stripe_fake.stats())["by_payment_id"][payment_id]["refunded"] == 1000
    else:
        assert (await open_banking_sandbox.stats())["refunds"] == 1


# --- a cancel, or a retry past the deadline, after a lost create -----------------------------


async def test_canceling_a_card_whose_create_answer_was_lost_cancels_it_at_stripe(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    await stripe_fake.faults(delay_next=1, delay_seconds=HELD, delay_path=STRIPE_CREATE)
    assert (await pay(client, tenant.headers, order_id, **card_body())).status_code == 503
    await stripe_fake.answers_released()
    payment_id = await only_payment(order_id)

    canceled = await client.post(
        f"/api/v1/payments/{payment_id}/cancel", headers=keyed(tenant.headers)
    )

    assert (canceled.status_code, canceled.json()["state"]) == (200, "canceled")
    [intent] = [
        json.loads(item["payload"])["data"]["object"]
        for item in await stripe_fake.webhooks("payment_intent.canceled")
    ]
    assert intent["metadata"]["payment_id"] == payment_id
    assert (await order_payments(client, tenant.headers, order_id))["remaining"] == 2500


async def test_canceling_an_apple_pay_charge_whose_answer_was_lost_tells_the_money_was_taken(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    await stripe_fake.faults(delay_next=1, delay_seconds=HELD, delay_path=STRIPE_CREATE)
    assert (
        await pay(client, tenant.headers, order_id, **await apple_pay_body(stripe_fake))
    ).status_code == 503
    await stripe_fake.answers_released()
    payment_id = await only_payment(order_id)

    cancel = await client.post(
        f"/api/v1/payments/{payment_id}/cancel", headers=keyed(tenant.headers)
    )

    # Stripe took the money before the cancel: the answer says so, and the order is paid.
    assert (cancel.status_code, cancel.json()["state"]) == (200, "succeeded")
    assert await stripe_counts(stripe_fake, payment_id) == (1, 1)
    assert (await order_payments(client, tenant.headers, order_id))["order_status"] == "paid"


async def test_a_retry_after_the_deadline_makes_nothing_at_the_provider(
    client: httpx.AsyncClient, tenant: Tenant, stripe_fake: StripeFake
) -> None:
    """The charge never reached Stripe and the till retries it 16 minutes later: the
    customer has gone, so nothing is charged now; the payment ends and frees the order."""
    order_id = await make_order(tenant, seq=1, lines=PIZZA)
    key, body = str(uuid4()), await apple_pay_body(stripe_fake)
    await stripe_fake.faults(fail_next=1)
    assert (await pay(client, tenant.headers, order_id, key=key, **body)).status_code == 503
    await quiet_for(await only_payment(order_id), minutes=16)

    late = await pay(client, tenant.headers, order_id, key=key, **body)

    payment = late.json()
    assert (late.status_code, payment["state"]) == (201, "failed")
    assert payment["failure_reason"] == "never_reached_provider"
    assert await stripe_counts(stripe_fake, payment["id"]) == (0, 0)
    assert (await order_payments(client, tenant.headers, order_id))["remaining"] == 2500
