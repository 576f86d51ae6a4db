"""The merchant account's transactions: the sandbox's books, and the provider's ledger of them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from server.payments.providers import open_banking_ledger
from server.payments.providers.base import ProviderUnavailable
from server.payments.providers.open_banking import OpenBankingProvider
from tests.fakes.open_banking import (
    MERCHANT_ACCOUNT_ID,
    OpenBankingSandbox,
    new_bank_payment,
    running_open_banking_sandbox,
)

REFUND_SECONDS = 5
TRANSACTIONS = f"/v3/merchant-accounts/{MERCHANT_ACCOUNT_ID}/transactions"


def window() -> tuple[datetime, datetime]:
    """Wide enough for the sandbox clock, which tests move up to a day ahead."""
    now = datetime.now(UTC)
    return now - timedelta(hours=1), now + timedelta(days=2)


def query(since: datetime, until: datetime, **more: str) -> dict[str, str]:
    return {"from": since.isoformat(), "to": until.isoformat(), **more}


async def paid(
    provider: OpenBankingProvider, sandbox: OpenBankingSandbox, amount: int
) -> tuple[str, uuid.UUID]:
    payment = new_bank_payment(amount, reference="T1")
    created = await provider.create(payment)
    await sandbox.approve(created.reference)
    return created.reference, payment.payment_id


@pytest_asyncio.fixture
async def http(open_banking_sandbox: OpenBankingSandbox) -> AsyncIterator[httpx.AsyncClient]:
    token = await open_banking_sandbox.access_token()
    async with httpx.AsyncClient(
        base_url=open_banking_sandbox.url,
        headers={"Authorization": f"Bearer {token}"},
        trust_env=False,
    ) as client:
        yield client


async def test_settled_payments_and_executed_refunds_are_listed_without_a_fee(
    open_banking_sandbox: OpenBankingSandbox, http: httpx.AsyncClient
) -> None:
    provider = open_banking_sandbox.provider()
    reference, our_id = await paid(provider, open_banking_sandbox, 1250)
    refund = await provider.refund(reference, refund_id=uuid.uuid4(), amount=250, currency="GBP")
    await open_banking_sandbox.advance_clock(REFUND_SECONDS)

    answer = await http.get(TRANSACTIONS, params=query(*window()))

    assert answer.status_code == 200
    payment_in, refund_out = answer.json()["items"]
    assert answer.json()["pagination"] == {}
    assert payment_in["type"] == "merchant_account_payment"
    assert payment_in["status"] == "settled"
    assert payment_in["payment_id"] == reference != payment_in["id"]
    assert (payment_in["amount_in_minor"], payment_in["currency"]) == (1250, "GBP")
    # TrueLayer reports no fee on a transaction; a fee field would be one the client invents.
    assert "fee_in_minor" not in payment_in and "fee_in_minor" not in refund_out
    assert payment_in["metadata"] == {"payment_id": str(our_id)}
    assert payment_in["settled_at"].endswith("Z")
    assert payment_in["payment_source"]["account_identifiers"]
    assert refund_out["type"] == "refund"
    assert refund_out["status"] == "executed"
    assert refund_out["refund_id"] == refund_out["id"] == refund.reference
    assert refund_out["payment_id"] == reference
    assert refund_out["amount_in_minor"] == 250
    assert refund_out["beneficiary"]["type"] == "payment_source"
    assert refund_out["executed_at"] > payment_in["settled_at"]


async def test_only_money_that_moved_into_this_account_in_the_window_is_listed(
    open_banking_sandbox: OpenBankingSandbox, http: httpx.AsyncClient
) -> None:
    provider = open_banking_sandbox.provider()
    reference, _ = await paid(provider, open_banking_sandbox, 1000)
    await provider.create(new_bank_payment(5, reference="x"))
    held = await provider.create(new_bank_payment(6, reference="held"))
    await open_banking_sandbox.approve(held.reference, until="executed")  # not in the account yet
    declined = await provider.create(new_bank_payment(7, reference="y"))
    await open_banking_sandbox.decline(declined.reference)
    await provider.refund(reference, refund_id=uuid.uuid4(), amount=100, currency="GBP")  # pending
    since, until = window()

    everything = await http.get(TRANSACTIONS, params=query(since, until))
    later = await http.get(TRANSACTIONS, params=query(until, until + timedelta(days=1)))
    elsewhere = await http.get(
        f"/v3/merchant-accounts/{uuid.uuid4()}/transactions", params=query(since, until)
    )
    async with httpx.AsyncClient(base_url=open_banking_sandbox.url, trust_env=False) as bare:
        unauthenticated = await bare.get(TRANSACTIONS, params=query(since, until))

    assert [item["payment_id"] for item in everything.json()["items"]] == [reference]
    assert later.json()["items"] == elsewhere.json()["items"] == []
    assert unauthenticated.status_code == 401


@pytest.mark.parametrize(
    "params",
    [
        {"to": "2030-01-01T00:00:00Z"},
        {"from": "yesterday", "to": "2030-01-01T00:00:00Z"},
        {"from": "2024-01-01T00:00:00", "to": "2030-01-01T00:00:00Z"},
        {"from": "2024-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z", "cursor": "not-ours!"},
    ],
    ids=["no-from", "not-a-time", "no-offset", "bad-cursor"],
)
async def test_a_listing_with_bad_parameters_is_refused(
    http: httpx.AsyncClient, params: dict[str, str]
) -> None:
    answer = await http.get(TRANSACTIONS, params=params)

    assert answer.status_code == 400
    assert answer.json()["type"].endswith("#invalid-parameters")


async def test_the_ledger_has_every_payment_and_refund_with_our_ids_and_no_fee(
    open_banking_sandbox: OpenBankingSandbox,
) -> None:
    provider = open_banking_sandbox.provider()
    first, first_id = await paid(provider, open_banking_sandbox, 1234)
    second, second_id = await paid(provider, open_banking_sandbox, 2500)
    done = await provider.refund(first, refund_id=uuid.uuid4(), amount=234, currency="GBP")
    returned = await provider.refund(second, refund_id=uuid.uuid4(), amount=500, currency="GBP")
    await open_banking_sandbox.fail_refund(returned.reference)
    await open_banking_sandbox.advance_clock(REFUND_SECONDS)
    waiting = await provider.refund(second, refund_id=uuid.uuid4(), amount=1, currency="GBP")

    entries = await provider.ledger(*window())

    summary = {(e.kind, e.reference, e.payment_id, e.amount, e.fee) for e in entries}
    assert summary == {
        ("payment", first, first_id, 1234, None),
        ("payment", second, second_id, 2500, None),
        ("refund", done.reference, first_id, 234, None),
    }
    assert waiting.reference not in {e.reference for e in entries}
    assert all(e.currency == "GBP" and e.at.tzinfo is not None for e in entries)
    net = sum(e.amount if e.kind == "payment" else -e.amount for e in entries)
    assert net == 1234 + 2500 - 234
    # TrueLayer's payment resource has no fee: it reaches us only through the ledger.
    assert (await provider.status(first)).provider_fee is None


async def test_the_ledger_follows_the_cursor_across_pages() -> None:
    async with running_open_banking_sandbox(transactions_page_size=2) as sandbox:
        provider = sandbox.provider()
        references = [(await paid(provider, sandbox, 100 * n))[0] for n in range(1, 6)]
        for reference in references[:2]:
            await provider.refund(reference, refund_id=uuid.uuid4(), amount=50, currency="GBP")
        await sandbox.advance_clock(REFUND_SECONDS)
        before = (await sandbox.stats())["api_requests"]

        entries = await provider.ledger(*window())

        # 7 GBP movements at 2 a page, and one empty page of the EUR account.
        assert (await sandbox.stats())["api_requests"] - before == 5
        assert len(entries) == len({(e.kind, e.reference) for e in entries}) == 7
        assert [e.reference for e in entries if e.kind == "payment"] == references
        assert {e.fee for e in entries} == {None}
        first_page = await _page(sandbox, {})
        last_page = await _page(sandbox, {"cursor": first_page["pagination"]["next_cursor"]})
        assert len(first_page["items"]) == len(last_page["items"]) == 2
        assert first_page["items"] != last_page["items"]


async def test_more_pages_than_one_reconciliation_reads_is_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(open_banking_ledger, "MAX_LEDGER_PAGES", 2)
    async with running_open_banking_sandbox(transactions_page_size=1) as sandbox:
        provider = sandbox.provider()
        for amount in (100, 200, 300):
            await paid(provider, sandbox, amount)

        with pytest.raises(ProviderUnavailable, match="pages"):
            await provider.ledger(*window())


async def _page(sandbox: OpenBankingSandbox, more: dict[str, str]) -> dict[str, Any]:
    token = await sandbox.access_token()
    async with httpx.AsyncClient(
        base_url=sandbox.url, headers={"Authorization": f"Bearer {token}"}, trust_env=False
    ) as http:
        since, until = window()
        answer = await http.get(TRANSACTIONS, params=query(since, until, **more))
    answer.raise_for_status()
    page: dict[str, Any] = answer.json()
    return page
