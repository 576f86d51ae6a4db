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
    Payer,
    ProviderEvent,
    ProviderPayment,
    ProviderRefused,
    ProviderUnavailable,
    Settlement,
)
from server.payments.providers.open_banking import OpenBankingProvider, truelayer_hosts
from server.payments.providers.open_banking_references import statement_reference
from server.payments.states import PaymentState, RefundState
from tests.fakes import losing_answers_after
from tests.fakes.open_banking import (
    EUR_MERCHANT_ACCOUNT_ID,
    MERCHANT_ACCOUNT_ID,
    RETURN_URI,
    OpenBankingSandbox,
    new_bank_payment,
)

RETRY_SECONDS = 0.1
RETRY_ATTEMPTS = 100


def new_payment(amount: int = 1234, **more: object) -> NewPayment:
    return new_bank_payment(amount, **more)  # type: ignore[arg-type]


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


async def test_a_customer_who_approves_on_the_page_pays_and_the_payment_settles(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    payment = new_payment(1234)

    created = await provider.create(payment)
    assert created.state is PaymentState.awaiting_customer
    assert created.link is not None
    link = urlsplit(created.link)
    assert f"{link.scheme}://{link.netloc}{link.path}" == f"{open_banking_sandbox.url}/payments"
    query = parse_qs(link.query)
    assert query["payment_id"] == [created.reference]
    assert query["return_uri"] == [RETURN_URI]
    async with httpx.AsyncClient(trust_env=False, follow_redirects=True) as browser:
        banks = await browser.get(created.link)
        assert "£12.34" in banks.text and "Choose your bank" in banks.text
        assert (await provider.status(created.reference)).state is PaymentState.authorizing
        fields = {"resource_token": query["resource_token"][0], "return_uri": RETURN_URI}
        base = f"{open_banking_sandbox.url}/payments/{created.reference}"
        await browser.post(
            f"{base}/provider", data=fields | {"provider_id": "mock-payments-gb-redirect"}
        )
        bank = await browser.post(f"{base}/consent", data=fields)
        assert "Order 42" in bank.text  # the statement reference, as the bank shows it
        result = await browser.post(f"{base}/bank", data=fields | {"decision": "approve"})
        assert f"{RETURN_URI}?payment_id={created.reference}" in result.text

    status = await provider.status(created.reference)
    assert (status.state, status.settlement) == (PaymentState.succeeded, Settlement.settled)
    executed = await event_of(provider, open_banking_sandbox, "payment_executed")
    assert executed.kind == "payment"
    assert executed.reference == created.reference
    assert executed.payment_id == payment.payment_id
    assert (executed.state, executed.settlement) == (PaymentState.succeeded, Settlement.executed)
    authorized = await event_of(provider, open_banking_sandbox, "payment_authorized")
    assert (authorized.state, authorized.settlement) == (PaymentState.authorizing, None)
    settled = await event_of(provider, open_banking_sandbox, "payment_settled")
    assert (settled.state, settled.settlement) == (PaymentState.succeeded, Settlement.settled)
    creditable = await event_of(provider, open_banking_sandbox, "payment_creditable")
    assert creditable.settlement is Settlement.creditable


async def test_each_step_after_execution_is_succeeded_with_where_the_money_stands(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    held = await provider.create(new_payment())
    await open_banking_sandbox.approve(held.reference, until="authorized")
    assert (await provider.status(held.reference)).state is PaymentState.authorizing

    await open_banking_sandbox.execute(held.reference, hold=True)
    executed = await provider.status(held.reference)
    await open_banking_sandbox.creditable(held.reference)
    await open_banking_sandbox.stall(held.reference)
    await open_banking_sandbox.settle(held.reference)
    await open_banking_sandbox.reverse(held.reference)

    assert (executed.state, executed.settlement) == (PaymentState.succeeded, Settlement.executed)
    settled = await provider.status(held.reference)
    assert (settled.state, settled.settlement) == (PaymentState.succeeded, Settlement.settled)
    events = {
        kind: await event_of(provider, open_banking_sandbox, kind)
        for kind in (
            "payment_creditable",
            "payment_settlement_stalled",
            "payment_settled",
            "payment_reversed",
        )
    }
    assert {kind: (e.state, e.settlement) for kind, e in events.items()} == {
        "payment_creditable": (PaymentState.succeeded, Settlement.creditable),
        "payment_settlement_stalled": (PaymentState.succeeded, Settlement.stalled),
        "payment_settled": (PaymentState.succeeded, Settlement.settled),
        "payment_reversed": (PaymentState.succeeded, Settlement.reversed),
    }


async def test_a_failed_attempt_of_a_retryable_payment_is_still_authorizing(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    token = await open_banking_sandbox.access_token()
    created = await provider.create(new_payment())
    # Our client never asks for retries; mark this payment as one that did, as TrueLayer would.
    sandbox_payment = open_banking_sandbox.app.state.sandbox.bank.payment(created.reference)
    sandbox_payment.retry = True
    await open_banking_sandbox.attempt_fail(created.reference)

    status = await provider.status(created.reference)

    assert token
    assert status.state is PaymentState.authorizing  # not unknown: no circuit breaker trip
    assert status.failure_reason == "provider_rejected"


async def test_a_payer_who_cancels_fails_with_the_reason_truelayer_gives(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    created = await provider.create(new_payment())

    await open_banking_sandbox.payer_cancel(created.reference)

    status = await provider.status(created.reference)
    assert (status.state, status.failure_reason) == (
        PaymentState.failed,
        "user_canceled_at_provider",
    )


async def test_payer_details_a_merchant_account_and_a_return_uri_are_needed_before_any_call(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    before = (await open_banking_sandbox.stats())["api_requests"]

    refusals = {}
    for name, payment in {
        "no payer": new_payment(payer=None),
        "no contact": new_payment(payer=Payer(name="Only A Name")),
        "no account": new_payment(currency="PLN"),
        "no return": new_payment(return_uri=None),
    }.items():
        with pytest.raises(ProviderRefused) as refused:
            await provider.create(payment)
        refusals[name] = refused.value.reason

    assert refusals == {
        "no payer": "payer_details_missing",
        "no contact": "payer_details_missing",
        "no account": "no_merchant_account",
        "no return": "return_uri_missing",
    }
    assert (await open_banking_sandbox.stats())["api_requests"] == before


async def test_payments_go_to_the_merchant_account_of_their_currency(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    token = await open_banking_sandbox.access_token()

    euros = await provider.create(new_payment(500, currency="EUR", reference="Tisch 4 / Café"))
    own = await provider.create(new_payment(700, merchant_account_id=MERCHANT_ACCOUNT_ID))

    async with httpx.AsyncClient(
        base_url=open_banking_sandbox.url,
        headers={"Authorization": f"Bearer {token}"},
        trust_env=False,
    ) as http:
        euro_view = (await http.get(f"/v3/payments/{euros.reference}")).json()
        own_view = (await http.get(f"/v3/payments/{own.reference}")).json()
    euro_beneficiary = euro_view["payment_method"]["beneficiary"]
    assert euro_beneficiary["merchant_account_id"] == EUR_MERCHANT_ACCOUNT_ID
    assert euro_beneficiary["statement_reference"] == "Tisch 4 / Cafe"
    assert own_view["payment_method"]["beneficiary"]["merchant_account_id"] == MERCHANT_ACCOUNT_ID


def test_truelayer_hosts_are_the_documented_ones() -> None:
    assert truelayer_hosts("sandbox") == (
        "https://api.truelayer-sandbox.com",
        "https://auth.truelayer-sandbox.com",
        "https://payment.truelayer-sandbox.com",
    )
    assert truelayer_hosts("live") == (
        "https://api.truelayer.com",
        "https://auth.truelayer.com",
        "https://payment.truelayer.com",
    )


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


async def test_only_a_settled_payment_can_be_refunded(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    waiting = await provider.create(new_payment(1000))
    executed = await provider.create(new_payment(1000))
    await open_banking_sandbox.approve(executed.reference, until="executed")
    refund_id = uuid.uuid4()

    with pytest.raises(ProviderRefused) as never_paid:
        await provider.refund(waiting.reference, refund_id=uuid.uuid4(), amount=100, currency="GBP")
    with pytest.raises(ProviderRefused) as not_settled:
        await provider.refund(executed.reference, refund_id=refund_id, amount=100, currency="GBP")
    assert (await open_banking_sandbox.stats())["refunds"] == 0
    await open_banking_sandbox.settle(executed.reference)
    # The server sends the same refund again once the payment settles.
    resent = await provider.refund(
        executed.reference, refund_id=refund_id, amount=100, currency="GBP"
    )
    again = await provider.refund(
        executed.reference, refund_id=refund_id, amount=100, currency="GBP"
    )

    assert never_paid.value.reason == "invalid-state"
    assert not_settled.value.reason == "payment_not_settled"
    assert resent.state is RefundState.pending
    assert again == resent
    assert (await open_banking_sandbox.stats())["refunds"] == 1


async def test_a_refund_the_balance_cannot_cover_waits_for_money_to_arrive(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    reference = await paid(provider, open_banking_sandbox, 1000)
    await open_banking_sandbox.change_balance(-900)  # swept out as a payout would

    waiting = await provider.refund(reference, refund_id=uuid.uuid4(), amount=500, currency="GBP")
    await open_banking_sandbox.advance_clock(60)
    still = await provider.refund_status(reference, waiting.reference)
    await open_banking_sandbox.change_balance(400)
    await open_banking_sandbox.advance_clock(5)
    done = await provider.refund_status(reference, waiting.reference)

    assert waiting.state is still.state is RefundState.pending
    assert done.state is RefundState.succeeded
    assert (await open_banking_sandbox.stats())["balances"]["GBP"] == 1000 - 900 + 400 - 500


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
    # Euros into the pound account: TrueLayer takes only the account's own currency.
    mismatched = new_payment(100, currency="EUR", merchant_account_id=MERCHANT_ACCOUNT_ID)

    with pytest.raises(ProviderRefused) as bad:
        await provider.create(mismatched)
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


@pytest.mark.parametrize(
    ("reference", "printed"),
    [
        ("Order 42", "Order 42"),
        ("Order #42 (Café)", "Order 42 Cafe"),
        ("Table 12 - Fynlo Restaurant", "Table 12 - Fynlo R"),
        ("#!?", None),
    ],
)
def test_statement_references_are_cut_to_what_a_uk_statement_prints(
    reference: str, printed: str | None
) -> None:
    assert statement_reference(reference) == printed
    assert statement_reference(reference) == statement_reference(reference)
