"""StripeProvider against the fake Stripe: outcomes, lost answers, refunds and webhooks."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import uuid4

import msgspec
import pytest
import stripe

from server.money import round_half_up
from server.payments.providers.apple_pay_gateway import apple_pay_merchant_session
from server.payments.providers.base import (
    NewPayment,
    Provider,
    ProviderRefused,
    ProviderUnavailable,
    WebhookRejected,
)
from server.payments.providers.stripe import StripeProvider
from server.payments.states import PaymentState, RefundState
from tests.fakes import losing_answers_after
from tests.fakes.stripe import StripeFake, start_stripe_fake, start_webhook_receiver


def new_payment(amount: int = 1234, *, wallet_token: str | None = None) -> NewPayment:
    return NewPayment(
        payment_id=uuid4(),
        amount=amount,
        currency="GBP",
        reference="Order 42",
        wallet_token=wallet_token,
    )


def stripe_fee(amount: int) -> int:
    return round_half_up(amount * 150, 10_000) + 20


async def paid(provider: StripeProvider, amount: int = 1234) -> str:
    created = await provider.create(new_payment(amount))
    confirmed = await provider.confirm(created.reference, "pm_card_visa")
    assert confirmed.state is PaymentState.succeeded
    return confirmed.reference


async def test_the_provider_fits_the_provider_interface(stripe_fake: StripeFake) -> None:
    provider: Provider = stripe_fake.provider()

    assert provider.name == "stripe"


async def test_a_card_payment_waits_for_the_ipad_then_succeeds_and_its_fee_comes_later(
    stripe_fake: StripeFake,
) -> None:
    provider = stripe_fake.provider()
    payment = new_payment()

    created = await provider.create(payment)
    confirmed = await provider.confirm(created.reference, "pm_card_visa")
    before_fee = await provider.status(created.reference)
    await stripe_fake.release_balance_transactions()
    status = await provider.status(created.reference)

    assert created.state is PaymentState.awaiting_customer
    assert created.client_secret is not None and created.client_secret.startswith("pi_")
    # Asynchronous capture (the pinned version's default): paid now, Stripe's fee later.
    assert (confirmed.state, confirmed.provider_fee) == (PaymentState.succeeded, None)
    assert before_fee == confirmed
    assert (status.state, status.provider_fee) == (PaymentState.succeeded, stripe_fee(1234))
    stats = await stripe_fake.stats()
    assert stats["by_payment_id"][str(payment.payment_id)] == {
        "payment_intents": 1,
        "succeeded_charges": 1,
        "refunded": 0,
    }


async def test_a_declined_card_is_a_failed_payment_not_an_error(stripe_fake: StripeFake) -> None:
    provider = stripe_fake.provider()
    created = await provider.create(new_payment())

    declined = await provider.confirm(created.reference, "pm_card_chargeDeclined")

    assert (declined.reference, declined.state) == (created.reference, PaymentState.failed)
    assert declined.failure_reason == "generic_decline"
    status = await provider.status(created.reference)
    assert (status.state, status.failure_reason) == (PaymentState.failed, "generic_decline")


async def test_confirming_twice_returns_the_same_outcome(stripe_fake: StripeFake) -> None:
    provider = stripe_fake.provider()
    created = await provider.create(new_payment())

    first = await provider.confirm(created.reference, "pm_card_visa")
    again = await provider.confirm(created.reference, "pm_card_visa")

    assert first == again
    assert (await stripe_fake.stats())["succeeded_charges"] == 1


async def test_an_apple_pay_token_is_charged_at_once(stripe_fake: StripeFake) -> None:
    provider = stripe_fake.provider()

    token = await stripe_fake.apple_pay_token()

    payment = await provider.create(new_payment(2000, wallet_token=token))

    assert (payment.state, payment.provider_fee) == (PaymentState.succeeded, None)
    [charged] = [hook for hook in await stripe_fake.webhooks("charge.succeeded")]
    charge = json.loads(charged["payload"])["data"]["object"]
    assert charge["payment_method_details"]["card"]["wallet"]["type"] == "apple_pay"


async def test_a_declined_apple_pay_token_is_a_failed_payment(stripe_fake: StripeFake) -> None:
    provider = stripe_fake.provider()

    payment = await provider.create(new_payment(wallet_token="tok_chargeDeclinedInsufficientFunds"))

    assert (payment.state, payment.failure_reason) == (PaymentState.failed, "insufficient_funds")
    assert payment.reference.startswith("pi_")


async def test_cancel_ends_a_waiting_payment_but_reports_one_already_paid(
    stripe_fake: StripeFake,
) -> None:
    provider = stripe_fake.provider()
    waiting = await provider.create(new_payment())
    already_paid = await paid(provider)

    await stripe_fake.release_balance_transactions()

    canceled = await provider.cancel(waiting.reference)
    too_late = await provider.cancel(already_paid)

    assert canceled.state is PaymentState.canceled
    assert (too_late.state, too_late.provider_fee) == (PaymentState.succeeded, stripe_fee(1234))


async def test_creating_the_same_payment_twice_makes_one_intent(stripe_fake: StripeFake) -> None:
    provider = stripe_fake.provider()
    payment = new_payment()

    first = await provider.create(payment)
    second = await provider.create(payment)

    assert first.reference == second.reference
    assert (await stripe_fake.stats())["by_payment_id"][str(payment.payment_id)][
        "payment_intents"
    ] == 1


async def test_the_same_payment_id_with_another_amount_is_refused(stripe_fake: StripeFake) -> None:
    provider = stripe_fake.provider()
    payment = new_payment(1000)
    await provider.create(payment)

    with pytest.raises(ProviderRefused) as refused:
        await provider.create(msgspec.structs.replace(payment, amount=1100))

    assert refused.value.reason == "idempotency_error"


async def test_an_amount_below_stripes_minimum_is_refused(stripe_fake: StripeFake) -> None:
    with pytest.raises(ProviderRefused) as refused:
        await stripe_fake.provider().create(new_payment(10))

    assert refused.value.reason == "amount_too_small"


async def test_a_lost_answer_is_unavailable_and_the_retry_finds_the_same_intent(
    stripe_fake: StripeFake,
) -> None:
    provider = stripe_fake.provider(timeout_seconds=losing_answers_after(0.3))
    payment = new_payment()
    await stripe_fake.faults(delay_next=1, delay_seconds=1.0)

    with pytest.raises(ProviderUnavailable):
        await provider.create(payment)
    retried = await provider.create(payment)

    assert retried.state is PaymentState.awaiting_customer
    stats = await stripe_fake.stats()
    assert stats["payment_intents"] == 1
    assert stats["by_payment_id"][str(payment.payment_id)]["payment_intents"] == 1


async def test_a_lost_charge_answer_never_charges_twice(stripe_fake: StripeFake) -> None:
    provider = stripe_fake.provider(timeout_seconds=losing_answers_after(0.3))
    payment = new_payment(wallet_token=await stripe_fake.apple_pay_token())
    await stripe_fake.faults(delay_next=1, delay_seconds=1.0, delay_path="/payment_intents$")

    with pytest.raises(ProviderUnavailable):
        await provider.create(payment)
    retried = await provider.create(payment)

    assert retried.state is PaymentState.succeeded
    assert (await stripe_fake.stats())["by_payment_id"][str(payment.payment_id)] == {
        "payment_intents": 1,
        "succeeded_charges": 1,
        "refunded": 0,
    }


async def test_a_concurrent_create_of_the_same_payment_is_unavailable_not_doubled(
    stripe_fake: StripeFake,
) -> None:
    provider = stripe_fake.provider()
    payment = new_payment()
    await stripe_fake.faults(stall_next=1, stall_seconds=0.5)

    outcomes = await asyncio.gather(
        provider.create(payment), provider.create(payment), return_exceptions=True
    )

    assert sorted(type(outcome).__name__ for outcome in outcomes) == [
        "ProviderPayment",
        "ProviderUnavailable",
    ]
    assert (await stripe_fake.stats())["payment_intents"] == 1
    [made] = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
    assert (await provider.create(payment)).reference == made.reference


async def test_a_stripe_500_is_unavailable_and_changes_nothing(stripe_fake: StripeFake) -> None:
    provider = stripe_fake.provider()
    payment = new_payment()
    await stripe_fake.faults(fail_next=1)

    with pytest.raises(ProviderUnavailable):
        await provider.create(payment)

    assert (await stripe_fake.stats())["payment_intents"] == 0
    assert (await provider.create(payment)).state is PaymentState.awaiting_customer


async def test_an_unreachable_stripe_is_unavailable() -> None:
    fake = start_stripe_fake()
    fake.stop()
    provider = StripeProvider(
        api_key="sk_test_x", webhook_secret="whsec_x", api_base=fake.url, timeout_seconds=2
    )
    try:
        with pytest.raises(ProviderUnavailable):
            await provider.status("pi_anything")
    finally:
        await provider.aclose()


async def test_refunds_partial_then_the_rest_and_never_more(stripe_fake: StripeFake) -> None:
    provider = stripe_fake.provider()
    reference = await paid(provider, 1000)
    first_id = uuid4()

    first = await provider.refund(reference, refund_id=first_id, amount=400, currency="GBP")
    repeated = await provider.refund(reference, refund_id=first_id, amount=400, currency="GBP")
    with pytest.raises(ProviderRefused) as too_much:
        await provider.refund(reference, refund_id=uuid4(), amount=601, currency="GBP")
    rest = await provider.refund(reference, refund_id=uuid4(), amount=600, currency="GBP")
    with pytest.raises(ProviderRefused) as nothing_left:
        await provider.refund(reference, refund_id=uuid4(), amount=1, currency="GBP")

    assert (first.state, rest.state) == (RefundState.succeeded, RefundState.succeeded)
    assert repeated == first
    assert too_much.value.reason == "amount_too_large"
    assert nothing_left.value.reason == "charge_already_refunded"
    assert (await stripe_fake.stats())["refunded"] == 1000


async def test_refunding_an_unpaid_payment_is_refused(stripe_fake: StripeFake) -> None:
    provider = stripe_fake.provider()
    waiting = await provider.create(new_payment())

    with pytest.raises(ProviderRefused) as refused:
        await provider.refund(waiting.reference, refund_id=uuid4(), amount=100, currency="GBP")

    assert refused.value.reason == "charge_not_found"


async def test_a_verified_webhook_becomes_our_event(stripe_fake: StripeFake) -> None:
    provider = stripe_fake.provider()
    payment = new_payment()
    created = await provider.create(payment)
    await provider.confirm(created.reference, "pm_card_visa")
    await provider.refund(created.reference, refund_id=uuid4(), amount=100, currency="GBP")

    hooks = await stripe_fake.webhooks()
    events = {
        hook["type"]: await provider.verify_webhook(hook["headers"], hook["payload"].encode())
        for hook in hooks
    }
    sent = {hook["type"]: json.loads(hook["payload"]) for hook in hooks}

    succeeded = events["payment_intent.succeeded"]
    assert succeeded is not None
    assert (succeeded.kind, succeeded.reference, succeeded.payment_id) == (
        "payment",
        created.reference,
        payment.payment_id,
    )
    assert succeeded.state is PaymentState.succeeded
    assert succeeded.occurred_at == datetime.fromtimestamp(
        sent["payment_intent.succeeded"]["created"], UTC
    )
    assert succeeded.event_id == sent["payment_intent.succeeded"]["id"]
    refund = events["refund.created"]
    assert refund is not None
    assert (refund.kind, refund.state) == ("refund", RefundState.succeeded)
    assert events["charge.succeeded"] is None
    assert events["charge.refunded"] is None


async def test_a_declined_payment_webhook_carries_the_reason(stripe_fake: StripeFake) -> None:
    provider = stripe_fake.provider()
    created = await provider.create(new_payment())
    await provider.confirm(created.reference, "pm_card_chargeDeclined")

    [hook] = await stripe_fake.webhooks("payment_intent.payment_failed")
    event = await provider.verify_webhook(hook["headers"], hook["payload"].encode())

    assert event is not None
    assert (event.state, event.failure_reason) == (PaymentState.failed, "generic_decline")


@pytest.fixture
def signed_body() -> Iterator[tuple[str, str]]:
    """A payment_intent.succeeded event body and the secret to sign it with."""
    body = json.dumps(
        {
            "id": "evt_1",
            "type": "payment_intent.succeeded",
            "created": int(time.time()),
            "data": {"object": {"id": "pi_1", "status": "succeeded", "metadata": {}}},
        }
    )
    yield body, "whsec_fynlo_test_secret"


def stripe_headers(body: str, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)
    return {"stripe-signature": header}


async def test_a_webhook_signed_right_is_accepted(
    stripe_fake: StripeFake, signed_body: tuple[str, str]
) -> None:
    body, secret = signed_body

    event = await stripe_fake.provider().verify_webhook(stripe_headers(body, secret), body.encode())

    assert event is not None and event.reference == "pi_1"


@pytest.mark.parametrize(
    ("case", "sign_with", "age_seconds", "tamper"),
    [
        ("tampered body", "whsec_fynlo_test_secret", 0, True),
        ("wrong secret", "whsec_someone_else", 0, False),
        ("older than 300 s", "whsec_fynlo_test_secret", 301, False),
    ],
)
async def test_a_webhook_that_does_not_verify_is_rejected(
    stripe_fake: StripeFake,
    signed_body: tuple[str, str],
    case: str,
    sign_with: str,
    age_seconds: int,
    tamper: bool,
) -> None:
    body, _ = signed_body
    headers = stripe_headers(body, sign_with, timestamp=int(time.time()) - age_seconds)
    sent = body.replace("pi_1", "pi_2") if tamper else body

    with pytest.raises(WebhookRejected):
        await stripe_fake.provider().verify_webhook(headers, sent.encode())


async def test_a_webhook_without_signature_or_with_bad_json_is_rejected(
    stripe_fake: StripeFake,
) -> None:
    provider = stripe_fake.provider()
    garbage = "not json"

    with pytest.raises(WebhookRejected):
        await provider.verify_webhook({}, b"{}")
    with pytest.raises(WebhookRejected):
        await provider.verify_webhook(stripe_headers(garbage, stripe_fake.secret), garbage.encode())


async def test_webhooks_are_delivered_signed_and_retried_until_accepted() -> None:
    receiver = start_webhook_receiver(fail_first=2)
    fake = start_stripe_fake(webhook_url=receiver.url)
    try:
        provider = fake.provider()
        created = await provider.create(new_payment())
        await provider.confirm(created.reference, "pm_card_visa")

        arrived = await receiver.wait_for(lambda got: len(got) >= 3)

        events = [await provider.verify_webhook(got.headers, got.body) for got in arrived]
        assert {(e.kind, e.state) for e in events if e is not None} == {
            ("payment", PaymentState.awaiting_customer),
            ("payment", PaymentState.succeeded),
        }
        deliveries = await fake.webhooks()
        for _ in range(100):  # the fake marks a delivery done once it has read the answer
            if all(delivery["delivered"] for delivery in deliveries):
                break
            await asyncio.sleep(0.05)
            deliveries = await fake.webhooks()
        assert all(delivery["delivered"] for delivery in deliveries)
        assert sorted(len(delivery["attempts"]) for delivery in deliveries) in (
            [1, 1, 3],
            [1, 2, 2],
        )
    finally:
        await fake.aclose()
        fake.stop()
        receiver.stop()


def test_a_webhook_url_off_this_machine_is_refused() -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        start_stripe_fake(webhook_url="https://example.com/webhooks/stripe")


async def test_apple_pay_merchant_validation_returns_apples_session(
    stripe_fake: StripeFake,
) -> None:
    session = await apple_pay_merchant_session(
        gateway_url=f"{stripe_fake.url}/_fake/apple/paymentSession",
        merchant_id="merchant.com.fynlo",
        display_name="Fynlo",
        domain="till.fynlo.test",
        timeout_seconds=5,
    )

    assert session["domainName"] == "till.fynlo.test"
    assert session["displayName"] == "Fynlo"
    assert session["expiresAt"] > session["epochTimestamp"]
    assert {"merchantSessionIdentifier", "nonce", "signature"} <= set(session)


async def test_apple_pay_merchant_validation_failures_are_unavailable(
    stripe_fake: StripeFake,
) -> None:
    with pytest.raises(ProviderUnavailable):
        await apple_pay_merchant_session(
            gateway_url=f"{stripe_fake.url}/_fake/apple/paymentSession",
            merchant_id="",
            display_name="Fynlo",
            domain="till.fynlo.test",
            timeout_seconds=5,
        )
