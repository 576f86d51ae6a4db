"""OpenBankingProvider against the sandbox on 127.0.0.1: payments, refunds and faults."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from server.payments.fakes.keys import generate_key_pair
from server.payments.providers.base import (
    NewPayment,
    ProviderEvent,
    ProviderPayment,
    ProviderRefused,
    ProviderUnavailable,
)
from server.payments.providers.open_banking import OpenBankingProvider
from server.payments.states import PaymentState, RefundState
from tests.fakes import losing_answers_after
from tests.fakes.open_banking import OpenBankingSandbox

RETRY_SECONDS = 0.1
RETRY_ATTEMPTS = 100


def new_payment(amount: int = 1234) -> NewPayment:
    return NewPayment(payment_id=uuid.uuid4(), amount=amount, currency="GBP", reference="Order 42")


async def event_of(
    provider: OpenBankingProvider, sandbox: OpenBankingSandbox, kind: str
) -> ProviderEvent:
    """The one recorded webhook of ``kind``, verified by the provider."""
    [webhook] = await sandbox.webhooks(kind)
    event = await provider.verify_webhook(webhook["headers"], webhook["body"].encode())
    assert event is not None
    return event


async def paid(provider: OpenBankingProvider, sandbox: OpenBankingSandbox, amount: int) -> str:
    payment = await provider.create(new_payment(amount))
    await sandbox.approve(payment.reference)
    return payment.reference


async def test_a_customer_who_approves_on_the_page_pays(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    payment = new_payment(1234)

    created = await provider.create(payment)
    assert created.state is PaymentState.awaiting_customer
    assert created.link is not None and created.link.startswith(open_banking_sandbox.url)
    token = parse_qs(urlsplit(created.link).query)["resource_token"][0]
    async with httpx.AsyncClient(trust_env=False) as browser:
        page = await browser.get(created.link)
        assert "£12.34" in page.text
        assert (await provider.status(created.reference)).state is PaymentState.authorizing
        form_action = f"{open_banking_sandbox.url}/pay/{created.reference}/approve"
        await browser.post(form_action, data={"resource_token": token})

    assert (await provider.status(created.reference)).state is PaymentState.succeeded
    executed = await event_of(provider, open_banking_sandbox, "payment_executed")
    assert executed.kind == "payment"
    assert executed.reference == created.reference
    assert executed.payment_id == payment.payment_id
    assert executed.state is PaymentState.succeeded
    authorized = await event_of(provider, open_banking_sandbox, "payment_authorized")
    assert authorized.state is PaymentState.authorizing


async def test_a_customer_who_declines_fails_the_payment(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    created = await provider.create(new_payment())

    await open_banking_sandbox.decline(created.reference)

    status = await provider.status(created.reference)
    assert status.state is PaymentState.failed
    assert status.failure_reason == "authorization_failed"
    failed = await event_of(provider, open_banking_sandbox, "payment_failed")
    assert (failed.state, failed.failure_reason) == (PaymentState.failed, "authorization_failed")


async def test_a_bank_that_rejects_after_authorisation_fails_the_payment(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    created = await provider.create(new_payment())

    await open_banking_sandbox.reject(created.reference)

    status = await provider.status(created.reference)
    assert (status.state, status.failure_reason) == (PaymentState.failed, "provider_rejected")


async def test_an_abandoned_payment_expires_after_fifteen_minutes(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    payment = new_payment()
    created = await provider.create(payment)
    await open_banking_sandbox.open_page(created.reference)

    await open_banking_sandbox.advance_clock(15 * 60)

    status = await provider.status(created.reference)
    assert (status.state, status.failure_reason) == (PaymentState.expired, "expired")
    expired = await event_of(provider, open_banking_sandbox, "payment_failed")
    assert expired.state is PaymentState.expired
    assert expired.failure_reason == "expired"
    assert expired.payment_id == payment.payment_id
    with pytest.raises(ProviderRefused):
        await open_banking_sandbox.provider().cancel(created.reference)


async def test_staff_can_cancel_until_the_customer_has_authorised(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    waiting = await provider.create(new_payment())
    done = await paid(provider, open_banking_sandbox, 500)

    canceled = await provider.cancel(waiting.reference)
    again = await provider.cancel(waiting.reference)  # same key: the first answer again
    with pytest.raises(ProviderRefused) as too_late:
        await provider.cancel(done)

    assert canceled.state is again.state is PaymentState.canceled
    assert too_late.value.reason == "payment-not-actionable"
    assert (await provider.status(done)).state is PaymentState.succeeded
    event = await event_of(provider, open_banking_sandbox, "payment_failed")
    assert (event.state, event.failure_reason) == (PaymentState.canceled, "canceled")


async def test_creating_the_same_payment_twice_makes_one_payment(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    payment = new_payment()

    first = await provider.create(payment)
    second = await open_banking_sandbox.provider().create(payment)

    assert second == first
    stats = await open_banking_sandbox.stats()
    assert stats["payments"] == 1
    assert stats["created_by_payment_id"] == {str(payment.payment_id): 1}


async def test_a_lost_answer_and_a_concurrent_retry_still_make_one_payment(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    impatient = open_banking_sandbox.provider(timeout_seconds=losing_answers_after(0.2))
    provider = open_banking_sandbox.provider()
    payment = new_payment()
    # The sandbox creates the payment, then holds the answer back past the client's timeout.
    await open_banking_sandbox.faults(delay_next=1, delay_seconds=3.0)

    with pytest.raises(ProviderUnavailable, match="Timeout"):
        await impatient.create(payment)
    # A retry while the first request is still running meets 409, a "try again later".
    with pytest.raises(ProviderUnavailable, match="409"):
        await provider.create(payment)
    retried = await _retry_create(provider, payment)

    assert retried.state is PaymentState.awaiting_customer
    stats = await open_banking_sandbox.stats()
    assert stats["created_by_payment_id"] == {str(payment.payment_id): 1}


async def test_concurrent_creates_of_one_payment_agree_on_one_reference(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    payment = new_payment()

    outcomes = await asyncio.gather(
        *(provider.create(payment) for _ in range(4)), return_exceptions=True
    )
    settled = await _retry_create(provider, payment)

    for outcome in outcomes:
        assert outcome == settled or isinstance(outcome, ProviderUnavailable), outcome
    assert (await open_banking_sandbox.stats())["payments"] == 1


async def test_refunds_add_up_to_at_most_the_payment(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    reference = await paid(provider, open_banking_sandbox, 1000)
    first_id, second_id = uuid.uuid4(), uuid.uuid4()

    first = await provider.refund(reference, refund_id=first_id, amount=400, currency="GBP")
    repeated = await provider.refund(reference, refund_id=first_id, amount=400, currency="GBP")
    second = await provider.refund(reference, refund_id=second_id, amount=600, currency="GBP")
    with pytest.raises(ProviderRefused) as over:
        await provider.refund(reference, refund_id=uuid.uuid4(), amount=1, currency="GBP")

    assert repeated == first
    assert first.state is second.state is RefundState.pending
    assert over.value.reason == "refund-amount-exceeded"
    assert (await provider.refund_status(reference, first.reference)).state is RefundState.pending
    await open_banking_sandbox.advance_clock(5)
    assert (await provider.refund_status(reference, first.reference)).state is (
        RefundState.succeeded
    )
    stats = await open_banking_sandbox.stats()
    assert stats["refunded_in_minor"] == {reference: 1000}
    webhooks = await open_banking_sandbox.webhooks("refund_executed")
    events = [await provider.verify_webhook(w["headers"], w["body"].encode()) for w in webhooks]
    assert {(e.kind, e.reference, e.state, e.refund_id) for e in events if e} == {
        ("refund", first.reference, RefundState.succeeded, first_id),
        ("refund", second.reference, RefundState.succeeded, second_id),
    }


async def test_only_an_executed_payment_can_be_refunded(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    waiting = await provider.create(new_payment(1000))

    with pytest.raises(ProviderRefused) as refused:
        await provider.refund(waiting.reference, refund_id=uuid.uuid4(), amount=100, currency="GBP")

    assert refused.value.reason == "refund-not-allowed"
    assert (await open_banking_sandbox.stats())["refunds"] == 0


async def test_a_returned_refund_fails_and_frees_its_amount(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    reference = await paid(provider, open_banking_sandbox, 1000)
    returned = await provider.refund(reference, refund_id=uuid.uuid4(), amount=1000, currency="GBP")

    await open_banking_sandbox.fail_refund(returned.reference)

    status = await provider.refund_status(reference, returned.reference)
    assert status.state is RefundState.failed
    event = await event_of(provider, open_banking_sandbox, "refund_failed")
    assert (event.kind, event.state, event.reference) == (
        "refund",
        RefundState.failed,
        returned.reference,
    )
    retry = await provider.refund(reference, refund_id=uuid.uuid4(), amount=1000, currency="GBP")
    assert retry.state is RefundState.pending


async def test_a_failing_or_unreachable_api_is_unavailable_and_changes_nothing(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    payment = new_payment()
    await open_banking_sandbox.faults(fail_next=1)

    with pytest.raises(ProviderUnavailable):
        await provider.create(payment)
    assert (await open_banking_sandbox.stats())["payments"] == 0
    assert (await provider.create(payment)).state is PaymentState.awaiting_customer
    unreachable = open_banking_sandbox.provider(api_base="http://127.0.0.1:1")
    with pytest.raises(ProviderUnavailable):
        await unreachable.status("anything")


async def test_bad_requests_and_unknown_payments_are_refused(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    dollars = NewPayment(payment_id=uuid.uuid4(), amount=100, currency="USD", reference="x")

    with pytest.raises(ProviderRefused) as bad:
        await provider.create(dollars)
    with pytest.raises(ProviderRefused) as unknown:
        await provider.status(str(uuid.uuid4()))
    not_our_key, _ = generate_key_pair()
    wrong_key = open_banking_sandbox.provider(private_key_pem=not_our_key)
    with pytest.raises(ProviderRefused) as unsigned:
        await wrong_key.create(new_payment())

    assert bad.value.reason == "invalid-parameters"
    assert unknown.value.reason == "not-found"
    assert unsigned.value.reason == "invalid-signature"
    assert (await open_banking_sandbox.stats())["payments"] == 0


async def _retry_create(provider: OpenBankingProvider, payment: NewPayment) -> ProviderPayment:
    """Create until the sandbox stops saying "try later", as the payments service would."""
    for _ in range(RETRY_ATTEMPTS):
        try:
            return await provider.create(payment)
        except ProviderUnavailable:
            await asyncio.sleep(RETRY_SECONDS)
    raise AssertionError(f"still unavailable after {RETRY_ATTEMPTS} tries")
