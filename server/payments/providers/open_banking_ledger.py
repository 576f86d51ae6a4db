"""The merchant account's transactions, as the LedgerEntry list reconciliation compares.

TrueLayer lists money in and out of a merchant account at
``GET /v3/merchant-accounts/{id}/transactions?from=…&to=…`` (both inclusive), a page at a time:
each page's ``pagination.next_cursor`` is the next request's ``cursor``, and there is none on
the last (docs.truelayer.com/docs/get-your-merchant-account-transactions-or-payment-sources).
A settled ``merchant_account_payment`` is one of our payments arriving and an executed
``refund`` one of our refunds leaving (types and statuses as in TrueLayer/truelayer-dotnet
``MerchantAccounts/Model/GetTransactions.cs``). ``payout``s (withdrawals, sweeps) and
``external_payment``s (transfers nobody made through the Payments API) are not ours to match,
and pending movements have not happened yet. No transaction carries a fee, so no entry has
one: TrueLayer bills its fees outside the API.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

import msgspec

from server.payments.providers.base import LedgerEntry, ProviderUnavailable

# A thousand transactions a page: a million movements is far more than one window holds.
MAX_LEDGER_PAGES = 1000


class _Transaction(msgspec.Struct, frozen=True):
    type: str
    id: str
    amount_in_minor: int
    currency: str
    status: str
    settled_at: datetime | None = None
    executed_at: datetime | None = None
    payment_id: str | None = None
    refund_id: str | None = None
    metadata: dict[str, str] = {}


class _Pagination(msgspec.Struct, frozen=True):
    next_cursor: str | None = None


class _Page(msgspec.Struct, frozen=True):
    items: list[_Transaction]
    pagination: _Pagination = _Pagination()


FetchPage = Callable[[Mapping[str, str]], Awaitable[bytes]]
"""One GET of the transactions endpoint with these query parameters; the body comes back."""


async def read_ledger(fetch: FetchPage, since: datetime, until: datetime) -> list[LedgerEntry]:
    """Every payment and refund between ``since`` and ``until``, following the cursor."""
    params = {"from": rfc3339(since), "to": rfc3339(until)}
    transactions: list[_Transaction] = []
    for _ in range(MAX_LEDGER_PAGES):
        try:
            page = msgspec.json.decode(await fetch(params), type=_Page)
        except msgspec.DecodeError as exc:
            raise ProviderUnavailable(f"unreadable merchant account transactions: {exc}") from exc
        transactions.extend(page.items)
        cursor = page.pagination.next_cursor
        if not cursor or not page.items:
            return ledger_entries(transactions)
        params = params | {"cursor": cursor}
    raise ProviderUnavailable(
        f"more than {MAX_LEDGER_PAGES} pages of merchant account transactions in one window"
    )


def ledger_entries(transactions: list[_Transaction]) -> list[LedgerEntry]:
    """Our movements in our terms; a refund takes our payment id from its payment when listed."""
    ours_by_theirs = {
        t.payment_id: _our_id(t.metadata)
        for t in transactions
        if t.type == "merchant_account_payment" and t.payment_id is not None
    }
    entries: list[LedgerEntry] = []
    for t in transactions:
        if t.type == "merchant_account_payment" and t.status == "settled":
            if t.payment_id is None or t.settled_at is None:
                continue
            entries.append(_entry(t, "payment", t.payment_id, _our_id(t.metadata), t.settled_at))
        elif t.type == "refund" and t.status == "executed" and t.executed_at is not None:
            payment_id = _our_id(t.metadata) or ours_by_theirs.get(t.payment_id or "")
            entries.append(_entry(t, "refund", t.refund_id or t.id, payment_id, t.executed_at))
    return entries


def rfc3339(moment: datetime) -> str:
    """UTC with milliseconds and a ``Z``, as TrueLayer writes and reads timestamps."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _entry(
    t: _Transaction,
    kind: Literal["payment", "refund"],
    reference: str,
    payment_id: UUID | None,
    at: datetime,
) -> LedgerEntry:
    return LedgerEntry(
        kind=kind,
        reference=reference,
        payment_id=payment_id,
        amount=abs(t.amount_in_minor),
        currency=t.currency.upper(),
        fee=None,
        at=at,
    )


def _our_id(metadata: Mapping[str, str]) -> UUID | None:
    try:
        return UUID(metadata["payment_id"])
    except (KeyError, ValueError):
        return None
